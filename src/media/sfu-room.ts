/**
 * Node side of the probe's signaling: one mediasoup Router plus the WebRtcTransports, producers
 * and consumers the pages create through RPC. Consumers start paused and are resumed only when the
 * page asks (after it created its side), so the first keyframe is not lost.
 */
import type { types as ms } from 'mediasoup';
import type { SfuRpc, SfuRpcMethod } from './sfu-protocol.js';

export interface SfuListenOptions {
  /** Address mediasoup binds (and announces, unless announcedAddress is set). */
  listenIp: string;
  announcedAddress?: string;
  /** UDP port range for transports (inclusive). */
  portRange?: { min: number; max: number };
}

export const PROBE_MEDIA_CODECS: ms.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
];

type Handlers = { [M in SfuRpcMethod]: (p: SfuRpc[M]['params']) => Promise<SfuRpc[M]['result']> };

export class SfuRoom {
  readonly transports = new Map<string, ms.WebRtcTransport>();
  readonly producers = new Map<string, ms.Producer>();
  readonly consumers = new Map<string, ms.Consumer>();

  constructor(
    readonly router: ms.Router,
    private readonly listen: SfuListenOptions,
  ) {}

  private transport(id: string): ms.WebRtcTransport {
    const t = this.transports.get(id);
    if (!t) throw new Error(`unknown transport ${id}`);
    return t;
  }

  private readonly handlers: Handlers = {
    getRouterRtpCapabilities: async () => this.router.rtpCapabilities as SfuRpc['getRouterRtpCapabilities']['result'],
    createWebRtcTransport: async ({ direction }) => {
      const t = await this.router.createWebRtcTransport({
        listenInfos: [
          {
            protocol: 'udp',
            ip: this.listen.listenIp,
            ...(this.listen.announcedAddress ? { announcedAddress: this.listen.announcedAddress } : {}),
            ...(this.listen.portRange ? { portRange: this.listen.portRange } : {}),
          },
        ],
        appData: { direction },
      });
      this.transports.set(t.id, t);
      return {
        id: t.id,
        iceParameters: t.iceParameters,
        iceCandidates: t.iceCandidates,
        dtlsParameters: t.dtlsParameters,
      } as SfuRpc['createWebRtcTransport']['result'];
    },
    connectTransport: async ({ transportId, dtlsParameters }) => {
      await this.transport(transportId).connect({ dtlsParameters: dtlsParameters as ms.DtlsParameters });
      return null;
    },
    produce: async ({ transportId, kind, rtpParameters }) => {
      const p = await this.transport(transportId).produce({
        kind,
        rtpParameters: rtpParameters as ms.RtpParameters,
      });
      this.producers.set(p.id, p);
      return { id: p.id };
    },
    consume: async ({ transportId, producerId, rtpCapabilities }) => {
      const caps = rtpCapabilities as ms.RtpCapabilities;
      if (!this.router.canConsume({ producerId, rtpCapabilities: caps })) {
        throw new Error(`cannot consume producer ${producerId} with the given capabilities`);
      }
      const c = await this.transport(transportId).consume({ producerId, rtpCapabilities: caps, paused: true });
      this.consumers.set(c.id, c);
      return {
        id: c.id,
        producerId,
        kind: c.kind,
        rtpParameters: c.rtpParameters,
      } as SfuRpc['consume']['result'];
    },
    resumeConsumer: async ({ consumerId }) => {
      const c = this.consumers.get(consumerId);
      if (!c) throw new Error(`unknown consumer ${consumerId}`);
      await c.resume();
      return null;
    },
  };

  /** RPC entry point for the page server. Params come from the page: trusted test input. */
  handle = (method: string, params: unknown): Promise<unknown> => {
    if (!Object.hasOwn(this.handlers, method)) return Promise.reject(new Error(`unknown method ${method}`));
    const h = this.handlers[method as SfuRpcMethod] as (p: unknown) => Promise<unknown>;
    return h(params ?? {});
  };
}
