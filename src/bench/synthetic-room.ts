/**
 * One call of synthetic participants on the SFU under test, of a given shape (room-shape.ts): joined receivers
 * first, then senders (each sender's producer announced to every receiver already there), held until close().
 * What the benchmark reads from it: the consumers it carries, each consumer's window of received RTP (loss,
 * jitter, forwarding delay), bytes sent into and received from the SFU, and the RTCP feedback the senders got.
 */
import { randomUUID } from 'node:crypto';
import type { CallApi, CallUser } from '../media/call-api.js';
import type { Recording } from '../media/rtp-recording.js';
import type { RtpReplaySender } from '../media/rtp-replay-sender.js';
import type { RtpWindow } from '../media/rtp-stream-stats.js';
import { SyntheticParticipant } from '../media/synthetic-participant.js';
import { consumersOfSeats, type RoomSeat } from './room-shape.js';

export interface SyntheticRoomOptions {
  api: CallApi;
  origin: string;
  recording: Recording;
  seats: RoomSeat[];
  /** One registered user a seat (a user may sit in many rooms, never twice in one). */
  users: CallUser[];
  /** Every synthetic sender of this process by producer id (shared by all rooms: receivers look up send times there). */
  senders: Map<string, RtpReplaySender>;
  label: string;
  log?: (line: string) => void;
}

/** The SFU-facing counters of a room, cumulative. */
export interface RoomCounters {
  bytesIn: number;
  bytesOut: number;
  payloadOut: number;
  nacks: number;
  keyframeRequests: number;
  unannounced: number;
}

export const zeroCounters = (): RoomCounters => ({ bytesIn: 0, bytesOut: 0, payloadOut: 0, nacks: 0, keyframeRequests: 0, unannounced: 0 });

/** `into` += `x`, field by field. */
export function addCounters(into: RoomCounters, x: RoomCounters): void {
  for (const k of Object.keys(into) as (keyof RoomCounters)[]) into[k] += x[k];
}

export class SyntheticRoom {
  readonly callId = randomUUID();
  private readonly people: SyntheticParticipant[];
  /** Consumers the room must carry when every participant is in. */
  readonly wantedConsumers: number;

  constructor(private readonly o: SyntheticRoomOptions) {
    if (o.users.length < o.seats.length) throw new Error(`a room of ${o.seats.length} needs as many users (got ${o.users.length})`);
    this.people = o.seats.map((seat, i) => new SyntheticParticipant({
      label: `${o.label}.${i}`, userId: o.users[i]!.userId, token: o.users[i]!.token, signalingUrl: o.api.signalingUrl(this.callId), origin: o.origin,
      receive: seat.receive, senders: o.senders, ...(seat.send ? { send: o.recording } : {}), ...(o.log ? { log: o.log } : {}),
    }));
    this.wantedConsumers = consumersOfSeats(o.seats);
  }

  /** Receivers, then senders, one at a time (each join is bounded by SyntheticParticipant's own timeout). */
  async join(): Promise<void> {
    for (const [i, p] of this.people.entries()) if (!this.o.seats[i]!.send) await p.join();
    for (const [i, p] of this.people.entries()) if (this.o.seats[i]!.send) await p.join();
  }

  /** Consumers announced and set up so far. */
  get consumers(): number {
    return this.people.reduce((n, p) => n + p.streams.size, 0);
  }

  /** Each consumed stream's window since the last take(); unannounced counts restart too. */
  take(): RtpWindow[] {
    const out = this.people.flatMap((p) => p.take().map((x) => x.window));
    for (const p of this.people) p.unannounced.clear();
    return out;
  }

  counters(): RoomCounters {
    const c = zeroCounters();
    for (const p of this.people) {
      addCounters(c, {
        bytesIn: p.sender?.bytesSent ?? 0, bytesOut: p.bytesReceived, payloadOut: p.payloadBytes, nacks: p.sender?.nacks ?? 0,
        keyframeRequests: p.sender?.keyframeRequests ?? 0, unannounced: [...p.unannounced.values()].reduce((a, b) => a + b, 0),
      });
    }
    return c;
  }

  get errors(): string[] {
    return this.people.flatMap((p) => [...p.errors, ...p.signaling.problems]);
  }

  close(): void {
    for (const p of this.people) p.close();
  }
}
