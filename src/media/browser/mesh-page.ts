/**
 * Browser participant of a SecureConnect mesh call: one RTCPeerConnection per other participant, fake
 * camera (and microphone) sent on each. Signaling goes through Node (window.scSendSignal), which holds the
 * signaling socket: a participant already in the call offers to each newcomer (its `join` frame), the
 * newcomer answers; candidates follow, each targeted at its peer. When a connection's ICE stays down (failed, or
 * disconnected for RESTART_AFTER_MS), or the server says TURN is back (`turn_available`), the side that offered
 * restarts ICE: restartIce() and a new offer relayed by signaling, as the mesh relay carries any offer. Bundled by
 * esbuild (iife) and driven by puppeteer through window.scMesh (mesh-protocol.ts).
 */
import type { MeshPageApi, MeshPageConfig, PageSnapshot, RawPeer, SignalFrame, StateEvent } from '../mesh-protocol.js';
import { readReport, watchFirstFrame } from './rtc-stats.js';

interface Peer {
  pc: RTCPeerConnection;
  /** Candidates that came before the remote description. */
  pending: RTCIceCandidateInit[];
  firstFrameAtMs: number | null;
  /** This side made the first offer: it alone restarts ICE (no glare). */
  offerer: boolean;
  /** Since when ICE is disconnected or failed (null: up). */
  downSinceMs: number | null;
  lastRestartMs: number;
  restarts: number;
}

/** A disconnected connection gets an ICE restart after this long (failed: at once). */
const RESTART_AFTER_MS = 3000;
/** At most one restart per connection this often (a restart's TURN allocation needs time), and this many in all. */
const RESTART_EVERY_MS = 4000;
const MAX_RESTARTS = 30;

type SendSignal = (frame: string) => Promise<void>;

class MeshPage implements MeshPageApi {
  private config: MeshPageConfig | null = null;
  private stream: MediaStream | null = null;
  private readonly peers = new Map<string, Peer>();
  private events: StateEvent[] = [];
  private errors: string[] = [];
  private watchdog: ReturnType<typeof setInterval> | null = null;

  async start(config: MeshPageConfig): Promise<void> {
    this.config = config;
    this.watchdog = setInterval(() => this.checkIce(), 1000);
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: config.camera.width }, height: { ideal: config.camera.height }, frameRate: { ideal: config.camera.fps, max: config.camera.fps } },
      audio: config.audio,
    });
  }

  setIceServers(servers: MeshPageConfig['iceServers']): void {
    if (this.config) this.config = { ...this.config, iceServers: servers };
  }

  private send(frame: SignalFrame): void {
    const f = (window as unknown as Record<string, SendSignal>).scSendSignal;
    if (f) void f(JSON.stringify(frame)).catch((e: unknown) => this.error(`send ${frame.type}: ${String(e)}`));
  }

  private error(e: string): void {
    if (this.errors.length < 50) this.errors.push(e);
  }

  private peer(id: string): Peer {
    let p = this.peers.get(id);
    if (p) return p;
    const c = this.config!;
    const pc = new RTCPeerConnection({ iceServers: c.iceServers, iceTransportPolicy: c.icePolicy });
    p = { pc, pending: [], firstFrameAtMs: null, offerer: false, downSinceMs: null, lastRestartMs: 0, restarts: 0 };
    const peer = p;
    this.peers.set(id, p);
    for (const t of this.stream!.getTracks()) pc.addTrack(t, this.stream!);
    pc.onicecandidate = (ev) => {
      if (ev.candidate) this.send({ type: 'ice_candidate', target_id: id, candidate: ev.candidate.toJSON() });
    };
    pc.oniceconnectionstatechange = () => this.events.push({ atMs: Date.now(), peer: id, what: 'ice', state: pc.iceConnectionState });
    pc.onconnectionstatechange = () => this.events.push({ atMs: Date.now(), peer: id, what: 'connection', state: pc.connectionState });
    pc.ontrack = (ev) => {
      if (ev.track.kind !== 'video') return;
      // A sink makes Chromium decode and render the track; the first frame is the time to first frame.
      const track = ev.track;
      watchFirstFrame(track, c.camera, id, async () => {
        let n = 0;
        (await pc.getStats(track)).forEach((s: Record<string, unknown>) => {
          if (s.type === 'inbound-rtp' && typeof s.framesDecoded === 'number') n = Math.max(n, s.framesDecoded);
        });
        return n;
      }, (at) => {
        peer.firstFrameAtMs ??= at;
      }, () => peer.firstFrameAtMs !== null || pc.connectionState === 'closed');
    };
    return p;
  }

  /** Once a second: restart ICE where this side offered and ICE stays down. */
  private checkIce(): void {
    const now = Date.now();
    for (const [id, p] of this.peers) {
      const s = p.pc.iceConnectionState;
      if (s !== 'disconnected' && s !== 'failed') {
        p.downSinceMs = null;
        continue;
      }
      p.downSinceMs ??= now;
      if (p.offerer && (s === 'failed' || now - p.downSinceMs >= RESTART_AFTER_MS) && now - p.lastRestartMs >= RESTART_EVERY_MS) void this.restart(id, p, s);
    }
  }

  private async restart(id: string, p: Peer, why: string): Promise<void> {
    if (p.restarts >= MAX_RESTARTS || p.pc.signalingState === 'closed' || p.pc.signalingState === 'have-remote-offer') return;
    p.restarts++;
    p.lastRestartMs = Date.now();
    this.events.push({ atMs: p.lastRestartMs, peer: id, what: 'restart', state: why });
    try {
      p.pc.restartIce();
      await p.pc.setLocalDescription(await p.pc.createOffer({ iceRestart: true }));
      this.send({ type: 'offer', target_id: id, sdp: p.pc.localDescription!.sdp });
    } catch (e) {
      this.error(`ice restart to ${id}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async onSignal(f: SignalFrame): Promise<void> {
    if (!this.config) return;
    if (f.type === 'turn_available') {
      // TURN is back: every connection of ours still down restarts now instead of at its next turn.
      for (const [id, p] of this.peers) if (p.offerer && p.downSinceMs !== null) await this.restart(id, p, 'turn_available');
      return;
    }
    const from = f.sender_id;
    if (!from || from === this.config.selfId) return;
    try {
      if (f.type === 'join') {
        // Already in the call: offer to the newcomer.
        const p = this.peer(from);
        p.offerer = true;
        await p.pc.setLocalDescription(await p.pc.createOffer());
        this.send({ type: 'offer', target_id: from, sdp: p.pc.localDescription!.sdp });
      } else if (f.type === 'offer' && f.sdp) {
        const p = this.peer(from);
        await p.pc.setRemoteDescription({ type: 'offer', sdp: f.sdp });
        await this.flush(p);
        await p.pc.setLocalDescription(await p.pc.createAnswer());
        this.send({ type: 'answer', target_id: from, sdp: p.pc.localDescription!.sdp });
      } else if (f.type === 'answer' && f.sdp) {
        const p = this.peers.get(from);
        if (!p) return;
        await p.pc.setRemoteDescription({ type: 'answer', sdp: f.sdp });
        await this.flush(p);
      } else if (f.type === 'ice_candidate' && f.candidate?.candidate) {
        // The relay broadcasts an untargeted candidate: only the peer it belongs to has a connection for it.
        const p = this.peers.get(from);
        const c: RTCIceCandidateInit = { candidate: f.candidate.candidate, sdpMid: f.candidate.sdpMid ?? null, sdpMLineIndex: f.candidate.sdpMLineIndex ?? null };
        if (!p) return;
        if (p.pc.remoteDescription) await p.pc.addIceCandidate(c);
        else p.pending.push(c);
      } else if (f.type === 'leave') {
        this.peers.get(from)?.pc.close();
        this.peers.delete(from);
      }
    } catch (e) {
      this.error(`${f.type} from ${from}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async flush(p: Peer): Promise<void> {
    const list = p.pending;
    p.pending = [];
    for (const c of list) await p.pc.addIceCandidate(c);
  }

  async snapshot(): Promise<PageSnapshot> {
    const peers: RawPeer[] = [];
    for (const [id, p] of this.peers) {
      const { inbound, outbound, pair } = readReport(await p.pc.getStats());
      peers.push({ peer: id, outbound, connectionState: p.pc.connectionState, iceConnectionState: p.pc.iceConnectionState, inbound, pair, firstFrameAtMs: p.firstFrameAtMs });
    }
    const out: PageSnapshot = { atMs: Date.now(), peers, events: this.events, errors: this.errors };
    this.events = [];
    this.errors = [];
    return out;
  }

  close(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    for (const p of this.peers.values()) p.pc.close();
    this.peers.clear();
    for (const t of this.stream?.getTracks() ?? []) t.stop();
  }
}

(window as unknown as { scMesh: MeshPageApi }).scMesh = new MeshPage();
