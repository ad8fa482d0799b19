import type { DependencyName } from '../src/topology/topology.js';

/** Toxiproxy's toxic types (proxy-down is not a toxic: the proxy is disabled). */
export const TOXIC_TYPES = ['latency', 'bandwidth', 'timeout', 'reset_peer', 'slicer', 'limit_data', 'slow_close'] as const;
export type ToxicType = (typeof TOXIC_TYPES)[number];
export type ToxicStream = 'upstream' | 'downstream';

export interface ToxicSpec {
  proxy: DependencyName;
  type: ToxicType;
  attributes: Record<string, number>;
  stream?: ToxicStream;
  /** Share of connections affected, 0..1 (Toxiproxy's default 1). */
  toxicity?: number;
}

export type UdpAction = 'loss' | 'outage' | 'rate-cap';
export interface UdpSpec {
  action: UdpAction;
  /** loss: share of packets dropped, each direction (0..100). */
  percent?: number;
  /** rate-cap: allowed rate per direction. */
  kbytesPerSecond?: number;
}

export type ProcessAction = 'pause' | 'kill-restart';
export interface ProcessFaultSpec {
  action: ProcessAction;
  /** A lab service (`redis`, `postgres`, …) or a target service (`target:chat`, `target:<instance>:chat`). */
  target: string;
}

/** A fault as an experiment file writes it: a named fault, or one mechanism action. */
export type FaultSpec =
  | { id: string; fault: string; params?: Record<string, unknown> }
  | { id: string; toxic: ToxicSpec }
  | { id: string; proxyDown: DependencyName }
  | { id: string; udp: UdpSpec }
  | { id: string; process: ProcessFaultSpec };
