/**
 * Reads one getStats() report into the counters a participant page reports (mesh-protocol.ts): inbound and
 * outbound RTP streams and the selected candidate pair. Shared by the mesh page and the SFU page.
 */
import type { RawInbound, RawOutbound, RawPair } from '../mesh-protocol.js';

export interface ReadReport {
  /** Inbound audio / video streams, each with its `mid` (an SFU page maps it to a consumer). */
  inbound: (RawInbound & { mid: string | null })[];
  outbound: RawOutbound[];
  pair: RawPair | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function readReport(report: RTCStatsReport): ReadReport {
  const byId = new Map<string, Record<string, unknown>>();
  report.forEach((s: Record<string, unknown>) => byId.set(String(s.id), s));
  const inbound: ReadReport['inbound'] = [];
  const outbound: RawOutbound[] = [];
  let pairId: string | null = null;
  for (const s of byId.values()) {
    if (s.type === 'inbound-rtp' && (s.kind === 'audio' || s.kind === 'video')) {
      inbound.push({
        kind: s.kind, trackId: String(s.trackIdentifier ?? s.mid ?? s.id), mid: typeof s.mid === 'string' ? s.mid : null,
        packetsReceived: num(s.packetsReceived) ?? 0, packetsLost: num(s.packetsLost) ?? 0, bytesReceived: num(s.bytesReceived) ?? 0,
        jitter: num(s.jitter), framesReceived: num(s.framesReceived), framesDecoded: num(s.framesDecoded), framesDropped: num(s.framesDropped),
        freezeCount: num(s.freezeCount), nackCount: num(s.nackCount), totalFreezesDuration: num(s.totalFreezesDuration), frameWidth: num(s.frameWidth), frameHeight: num(s.frameHeight),
      });
    }
    if (s.type === 'outbound-rtp' && (s.kind === 'audio' || s.kind === 'video')) outbound.push({ kind: s.kind, bytesSent: num(s.bytesSent) ?? 0, packetsSent: num(s.packetsSent) ?? 0 });
    if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') pairId = s.selectedCandidatePairId;
  }
  let pair: RawPair | null = null;
  const cp = pairId ? byId.get(pairId) : undefined;
  if (cp) {
    const local = byId.get(String(cp.localCandidateId));
    const remote = byId.get(String(cp.remoteCandidateId));
    pair = {
      localType: typeof local?.candidateType === 'string' ? local.candidateType : null,
      remoteType: typeof remote?.candidateType === 'string' ? remote.candidateType : null,
      currentRoundTripTime: num(cp.currentRoundTripTime), availableOutgoingBitrate: num(cp.availableOutgoingBitrate),
    };
  }
  return { inbound, outbound, pair };
}

/**
 * A sink for a received video track (Chromium decodes a rendered track), and the time of its first frame:
 * the first presented frame, or — headless Chromium may present none — the first decoded one, looked for
 * every 100 ms (bounded: 300 looks, or until `done()`).
 */
export function watchFirstFrame(track: MediaStreamTrack, size: { width: number; height: number }, label: string, decoded: () => Promise<number>, onFirst: (atMs: number) => void, done: () => boolean): void {
  let seen = false;
  const first = () => {
    if (seen) return;
    seen = true;
    onFirst(Date.now());
  };
  const el = document.createElement('video');
  el.muted = true;
  el.autoplay = true;
  el.playsInline = true;
  el.width = size.width;
  el.height = size.height;
  el.dataset.peer = label;
  el.srcObject = new MediaStream([track]);
  document.body.appendChild(el);
  el.requestVideoFrameCallback(first);
  void el.play().catch(() => undefined);
  let looks = 0;
  const look = setInterval(() => {
    if (seen || ++looks > 300 || done()) return clearInterval(look);
    void decoded().then((n) => {
      if (n > 0) first();
    }).catch(() => undefined);
  }, 100);
}
