/**
 * Browser side of the SFU probe, bundled by esbuild (iife) into the probe page. Talks to the Node
 * side through POST /rpc and exposes `window.sfuProbe` for puppeteer to drive.
 */
import { Device, type types } from 'mediasoup-client';
import type {
  CandidateInfo,
  InboundVideoStats,
  PageStats,
  SelectedCandidatePair,
  SfuProbePageApi,
  SfuRpc,
  SfuRpcMethod,
} from '../sfu-protocol.js';

async function rpc<M extends SfuRpcMethod>(method: M, params: SfuRpc[M]['params']): Promise<SfuRpc[M]['result']> {
  const res = await fetch('/rpc', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method, params }),
  });
  const msg = (await res.json()) as { result?: SfuRpc[M]['result']; error?: string };
  if (msg.error !== undefined) throw new Error(msg.error);
  return msg.result as SfuRpc[M]['result'];
}

let devicePromise: Promise<Device> | undefined;
function device(): Promise<Device> {
  devicePromise ??= (async () => {
    const d = new Device();
    await d.load({ routerRtpCapabilities: await rpc('getRouterRtpCapabilities', {}) });
    return d;
  })();
  return devicePromise;
}

async function createTransport(direction: 'send' | 'recv'): Promise<types.Transport> {
  const d = await device();
  const opts = await rpc('createWebRtcTransport', { direction });
  const transport = direction === 'send' ? d.createSendTransport(opts) : d.createRecvTransport(opts);
  transport.on('connect', ({ dtlsParameters }, callback, errback) => {
    rpc('connectTransport', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
  });
  if (direction === 'send') {
    transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
      rpc('produce', { transportId: transport.id, kind, rtpParameters }).then(callback, errback);
    });
  }
  return transport;
}

let recvTransport: types.Transport | undefined;

async function produceCamera(): Promise<string> {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  const track = stream.getVideoTracks()[0];
  if (!track) throw new Error('getUserMedia returned no video track');
  const transport = await createTransport('send');
  const producer = await transport.produce({ track });
  return producer.id;
}

async function consume(producerId: string): Promise<string> {
  const d = await device();
  recvTransport ??= await createTransport('recv');
  const params = await rpc('consume', {
    transportId: recvTransport.id,
    producerId,
    rtpCapabilities: d.rtpCapabilities,
  });
  const consumer = await recvTransport.consume(params);
  // Render it so Chromium surely decodes (a track without a sink may not be decoded).
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.srcObject = new MediaStream([consumer.track]);
  document.body.appendChild(video);
  void video.play().catch(() => undefined);
  // Created paused on the server; resume now that the browser side is ready to receive.
  await rpc('resumeConsumer', { consumerId: consumer.id });
  return consumer.id;
}

type StatsEntry = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

function candidate(report: Map<string, StatsEntry>, id: unknown): CandidateInfo {
  const c = typeof id === 'string' ? report.get(id) : undefined;
  return {
    address: str(c?.['address']) ?? str(c?.['ip']),
    port: num(c?.['port']),
    protocol: str(c?.['protocol']),
    candidateType: str(c?.['candidateType']),
  };
}

async function stats(): Promise<PageStats> {
  if (!recvTransport) return { inboundVideo: [], selectedCandidatePair: null };
  const report = new Map<string, StatsEntry>();
  (await recvTransport.getStats()).forEach((s: StatsEntry) => report.set(String(s['id']), s));

  const inboundVideo: InboundVideoStats[] = [];
  let pair: SelectedCandidatePair | null = null;
  for (const s of report.values()) {
    if (s['type'] === 'inbound-rtp' && s['kind'] === 'video') {
      inboundVideo.push({
        mid: str(s['mid']),
        framesDecoded: num(s['framesDecoded']) ?? 0,
        framesPerSecond: num(s['framesPerSecond']),
        packetsLost: num(s['packetsLost']) ?? 0,
        packetsReceived: num(s['packetsReceived']) ?? 0,
      });
    } else if (s['type'] === 'transport' && typeof s['selectedCandidatePairId'] === 'string') {
      const p = report.get(s['selectedCandidatePairId']);
      if (p) pair = { local: candidate(report, p['localCandidateId']), remote: candidate(report, p['remoteCandidateId']) };
    }
  }
  return { inboundVideo, selectedCandidatePair: pair };
}

const api: SfuProbePageApi = { produceCamera, consume, stats };
(window as unknown as { sfuProbe: SfuProbePageApi }).sfuProbe = api;
