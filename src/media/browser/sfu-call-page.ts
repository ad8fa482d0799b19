/**
 * Browser participant of a SecureConnect SFU call (the reference target's SFU extension): mediasoup-client,
 * one send and one receive transport, a producer per track of the fake camera (and microphone), a consumer
 * for every producer of the other participants — those announced before this page joined (the server sends
 * them on connect) and those that come later. Requests go through Node (window.scSfuRequest), which holds the
 * signaling socket. A transport whose connection stays down (failed, or disconnected for RESTART_AFTER_MS) asks
 * the server for fresh ICE parameters (`sfu-restart-ice`, where the server serves it) and restarts its ICE.
 * Bundled by esbuild (iife) and driven by puppeteer through window.scSfu (sfu-call-protocol.ts).
 */
import { Device, type types } from 'mediasoup-client';
import type { PageSnapshot, RawPeer, StateEvent } from '../mesh-protocol.js';
import { SFU_RECV, SFU_SEND, type SfuNotificationIn, type SfuPageApi, type SfuPageConfig, type SfuRequestAnswer } from '../sfu-call-protocol.js';
import { readReport, watchFirstFrame } from './rtc-stats.js';

type Request = (type: string, data: string) => Promise<string>;

/** A disconnected transport restarts ICE after this long (failed: at once), at most every RESTART_EVERY_MS, MAX_RESTARTS in all. */
const RESTART_AFTER_MS = 3000;
const RESTART_EVERY_MS = 4000;
const MAX_RESTARTS = 30;

interface Restarts {
  downSinceMs: number | null;
  lastMs: number;
  count: number;
}

interface Remote {
  consumers: Map<string, types.Consumer>;
  firstFrameAtMs: number | null;
}

async function request(type: string, data: object): Promise<Record<string, unknown>> {
  const f = (window as unknown as Record<string, Request>).scSfuRequest;
  if (!f) throw new Error('no request binding');
  const a = JSON.parse(await f(type, JSON.stringify(data))) as SfuRequestAnswer;
  if (!a.ok) throw new Error(`${type}: ${a.error}`);
  return a.data;
}

class SfuCallPage implements SfuPageApi {
  private config: SfuPageConfig | null = null;
  private stream: MediaStream | null = null;
  private device: Device | null = null;
  private send: types.Transport | null = null;
  private recv: types.Transport | null = null;
  private readonly producers: types.Producer[] = [];
  /** Remote participants by user id. */
  private readonly remotes = new Map<string, Remote>();
  /** Producers announced before the receive transport was ready. */
  private pending: SfuNotificationIn['data'][] = [];
  private closed = false;
  private events: StateEvent[] = [];
  private errors: string[] = [];
  private readonly restarts = new Map<types.Transport, Restarts>();
  private watchdog: ReturnType<typeof setInterval> | null = null;

  async start(config: SfuPageConfig): Promise<void> {
    this.config = config;
    this.watchdog = setInterval(() => this.checkIce(), 1000);
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: config.camera.width }, height: { ideal: config.camera.height }, frameRate: { ideal: config.camera.fps, max: config.camera.fps } },
      audio: config.audio,
    });
  }

  private error(e: string): void {
    if (this.errors.length < 50) this.errors.push(e);
  }

  /** Once a second: restart ICE on a transport whose connection stays down. */
  private checkIce(): void {
    const now = Date.now();
    for (const [t, r] of this.restarts) {
      const s = t.connectionState;
      if (t.closed || (s !== 'disconnected' && s !== 'failed')) {
        r.downSinceMs = null;
        continue;
      }
      r.downSinceMs ??= now;
      if ((s === 'failed' || now - r.downSinceMs >= RESTART_AFTER_MS) && now - r.lastMs >= RESTART_EVERY_MS && r.count < MAX_RESTARTS) {
        r.count++;
        r.lastMs = now;
        const label = t.direction === 'send' ? SFU_SEND : SFU_RECV;
        this.events.push({ atMs: now, peer: label, what: 'restart', state: s });
        void request('sfu-restart-ice', { transportId: t.id })
          .then((a) => t.restartIce({ iceParameters: a.iceParameters as types.IceParameters }))
          .catch((e: unknown) => {
            this.events.push({ atMs: Date.now(), peer: label, what: 'restart', state: 'refused' });
            this.error(`ice restart of ${label}: ${e instanceof Error ? e.message : String(e)}`);
          });
      }
    }
  }

  private async transport(direction: 'send' | 'recv'): Promise<types.Transport> {
    const c = this.config!;
    const o = await request('sfu-create-transport', { direction });
    const options = {
      id: String(o.id), iceParameters: o.iceParameters as types.IceParameters, iceCandidates: o.iceCandidates as types.IceCandidate[],
      dtlsParameters: o.dtlsParameters as types.DtlsParameters, iceServers: c.iceServers, iceTransportPolicy: c.icePolicy,
    };
    const t = direction === 'send' ? this.device!.createSendTransport(options) : this.device!.createRecvTransport(options);
    const label = direction === 'send' ? SFU_SEND : SFU_RECV;
    t.on('connect', ({ dtlsParameters }, ok, fail) => {
      request('sfu-connect-transport', { transportId: t.id, dtlsParameters }).then(() => ok(), fail);
    });
    t.on('connectionstatechange', (state) => this.events.push({ atMs: Date.now(), peer: label, what: 'connection', state }));
    this.restarts.set(t, { downSinceMs: null, lastMs: 0, count: 0 });
    if (direction === 'send') {
      t.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
        request('sfu-produce', { transportId: t.id, kind, rtpParameters, appData }).then((r) => ok({ id: String(r.producerId) }), fail);
      });
    }
    return t;
  }

  async join(): Promise<void> {
    const caps = await request('sfu-get-router-rtp-capabilities', {});
    this.device = new Device();
    await this.device.load({ routerRtpCapabilities: caps.rtpCapabilities as types.RtpCapabilities });
    this.send = await this.transport('send');
    this.recv = await this.transport('recv');
    const announced = this.pending;
    this.pending = [];
    for (const p of announced) this.consume(p);
    for (const track of this.stream!.getTracks()) {
      this.producers.push(await this.send.produce({ track, appData: { peerId: this.config!.selfId } }));
    }
  }

  onNotification(f: SfuNotificationIn): void {
    if (this.closed || f.data.peerId === this.config?.selfId) return;
    if (f.type === 'sfu-new-producer') {
      if (this.recv) this.consume(f.data);
      else this.pending.push(f.data);
    } else {
      for (const r of this.remotes.values()) {
        for (const [id, c] of r.consumers) if (c.producerId === f.data.producerId) {
          c.close();
          r.consumers.delete(id);
        }
      }
    }
  }

  /** A consumer for one announced producer; created paused on the server, resumed once wired up here. */
  private consume(p: SfuNotificationIn['data']): void {
    void (async () => {
      const r = await request('sfu-consume', { producerId: p.producerId, rtpCapabilities: this.device!.rtpCapabilities, transportId: this.recv!.id });
      const consumer = await this.recv!.consume({ id: String(r.consumerId), producerId: p.producerId, kind: r.kind as types.MediaKind, rtpParameters: r.rtpParameters as types.RtpParameters });
      let remote = this.remotes.get(p.peerId);
      if (!remote) this.remotes.set(p.peerId, (remote = { consumers: new Map(), firstFrameAtMs: null }));
      const me = remote;
      remote.consumers.set(consumer.id, consumer);
      if (consumer.kind === 'video') {
        watchFirstFrame(consumer.track, this.config!.camera, p.peerId, async () => {
          let n = 0;
          (await consumer.getStats()).forEach((s: Record<string, unknown>) => {
            if (s.type === 'inbound-rtp' && typeof s.framesDecoded === 'number') n = Math.max(n, s.framesDecoded);
          });
          return n;
        }, (at) => {
          me.firstFrameAtMs ??= at;
        }, () => consumer.closed || this.closed);
      }
      await request('sfu-resume-consumer', { consumerId: consumer.id });
    })().catch((e: unknown) => this.error(`consume ${p.kind ?? ''} of ${p.peerId}: ${e instanceof Error ? e.message : String(e)}`));
  }

  async snapshot(): Promise<PageSnapshot> {
    const peers: RawPeer[] = [];
    if (this.recv) {
      const r = readReport(await this.recv.getStats());
      const peerOfMid = new Map<string, string>();
      for (const [id, remote] of this.remotes) for (const c of remote.consumers.values()) peerOfMid.set(c.localId, id);
      for (const [id, remote] of this.remotes) {
        // mediasoup-client's `probator` stream (bandwidth probing) never decodes: it has no consumer, so it is left out.
        peers.push({ peer: id, ownConnection: false, outbound: [], connectionState: this.recv.connectionState, iceConnectionState: this.recv.connectionState, inbound: r.inbound.filter((x) => x.mid !== null && peerOfMid.get(x.mid) === id), pair: null, firstFrameAtMs: remote.firstFrameAtMs });
      }
      peers.push({ peer: SFU_RECV, outbound: [], connectionState: this.recv.connectionState, iceConnectionState: this.recv.connectionState, inbound: [], pair: r.pair, firstFrameAtMs: null });
    }
    if (this.send) {
      const s = readReport(await this.send.getStats());
      peers.push({ peer: SFU_SEND, outbound: s.outbound, connectionState: this.send.connectionState, iceConnectionState: this.send.connectionState, inbound: [], pair: s.pair, firstFrameAtMs: null });
    }
    const out: PageSnapshot = { atMs: Date.now(), peers, events: this.events, errors: this.errors };
    this.events = [];
    this.errors = [];
    return out;
  }

  close(): void {
    this.closed = true;
    if (this.watchdog) clearInterval(this.watchdog);
    for (const p of this.producers) p.close();
    this.send?.close();
    this.recv?.close();
    for (const t of this.stream?.getTracks() ?? []) t.stop();
  }
}

(window as unknown as { scSfu: SfuPageApi }).scSfu = new SfuCallPage();
