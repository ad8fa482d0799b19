/**
 * What the SFU participant page (browser/sfu-call-page.ts) and its Node driver (sfu-participant.ts) exchange.
 * The page runs mediasoup-client; Node holds the signaling socket and speaks the reference target's SFU
 * extension on it (fixtures/secureconnect/contract/ws-messages.ts: `sfu-*` requests answered by
 * `sfu-response`, notifications `sfu-new-producer` / `sfu-producer-closed`). The page's snapshot has the
 * mesh page's shape (mesh-protocol.ts), so video-stats.ts converts both alike: one entry per remote
 * participant (its consumers' inbound streams, `ownConnection: false`), plus the two transports as
 * entries `sfu-send` (outbound bytes, selected pair) and `sfu-recv` (selected pair).
 */
import type { MeshPageConfig, PageSnapshot } from './mesh-protocol.js';

export type SfuPageConfig = MeshPageConfig;

/** The transports' pseudo-peer ids in a snapshot (their `track` tag). */
export const SFU_SEND = 'sfu-send';
export const SFU_RECV = 'sfu-recv';

/** Node's answer to one request the page made: the server's `data`, or why there is none. */
export type SfuRequestAnswer = { ok: true; data: Record<string, unknown> } | { ok: false; error: string; timedOut?: boolean };

/** A notification frame from the server, passed to the page as is. */
export interface SfuNotificationIn {
  type: 'sfu-new-producer' | 'sfu-producer-closed';
  data: { producerId: string; peerId: string; kind?: 'audio' | 'video' };
}

/** window.scSfu in the page. */
export interface SfuPageApi {
  /** Start the fake camera / microphone. */
  start(config: SfuPageConfig): Promise<void>;
  /**
   * Join the SFU room over the open socket: router capabilities, a send and a receive transport, a producer per
   * track; consumers for every producer announced (before or after). Rejects when a request fails.
   */
  join(): Promise<void>;
  onNotification(frame: SfuNotificationIn): void;
  snapshot(): Promise<PageSnapshot>;
  close(): void;
}

/** Page → Node: exposed by puppeteer as window.scSfuRequest(type, JSON data) → JSON SfuRequestAnswer. */
export const SFU_REQUEST_BINDING = 'scSfuRequest';
