/**
 * Signaling between the probe page (browser, mediasoup-client) and the Node side (mediasoup),
 * carried by the page server's POST /rpc. Shapes are mediasoup-client's JSON types; the server's
 * mediasoup types are structurally the same JSON.
 */
import type { types as client } from 'mediasoup-client';

export interface SfuRpc {
  getRouterRtpCapabilities: { params: Record<string, never>; result: client.RtpCapabilities };
  createWebRtcTransport: {
    params: { direction: 'send' | 'recv' };
    result: Pick<client.TransportOptions, 'id' | 'iceParameters' | 'iceCandidates' | 'dtlsParameters'>;
  };
  connectTransport: { params: { transportId: string; dtlsParameters: client.DtlsParameters }; result: null };
  produce: {
    params: { transportId: string; kind: client.MediaKind; rtpParameters: client.RtpParameters };
    result: { id: string };
  };
  consume: {
    params: { transportId: string; producerId: string; rtpCapabilities: client.RtpCapabilities };
    result: Pick<client.ConsumerOptions, 'id' | 'producerId' | 'kind' | 'rtpParameters'>;
  };
  resumeConsumer: { params: { consumerId: string }; result: null };
}

export type SfuRpcMethod = keyof SfuRpc;

export interface CandidateInfo {
  address: string | null;
  port: number | null;
  protocol: string | null;
  candidateType: string | null;
}

export interface SelectedCandidatePair {
  local: CandidateInfo;
  remote: CandidateInfo;
}

export interface InboundVideoStats {
  mid: string | null;
  framesDecoded: number;
  framesPerSecond: number | null;
  packetsLost: number;
  packetsReceived: number;
}

export interface PageStats {
  inboundVideo: InboundVideoStats[];
  selectedCandidatePair: SelectedCandidatePair | null;
}

/** What the probe page exposes as `window.sfuProbe`. */
export interface SfuProbePageApi {
  /** Sends the fake camera; resolves with the mediasoup producer id. */
  produceCamera(): Promise<string>;
  /** Receives `producerId`; resolves with the consumer id once the server resumed it. */
  consume(producerId: string): Promise<string>;
  /** Receive-side statistics of the recv transport. */
  stats(): Promise<PageStats>;
}
