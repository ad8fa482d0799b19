/**
 * The rooms a capacity benchmark fills the SFU with. `conference`: k participants, each sends its camera and
 * receives everyone else's (k·(k−1) consumers a room). `webinar`: 1–2 presenters who send (and see each other)
 * and many viewers who only receive (p·(p−1) + v·p consumers a room).
 */
import { z } from 'zod';

export const RoomShapeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('conference'), participants: z.number().int().min(2).max(16) }).strict(),
  z.object({ kind: z.literal('webinar'), presenters: z.number().int().min(1).max(2), viewers: z.number().int().min(1).max(200) }).strict(),
]);

export type RoomShape = z.output<typeof RoomShapeSchema>;
export type RoomShapeKind = RoomShape['kind'];

export const DEFAULT_SHAPES: Record<RoomShapeKind, RoomShape> = {
  conference: { kind: 'conference', participants: 4 },
  webinar: { kind: 'webinar', presenters: 2, viewers: 20 },
};

export interface RoomSeat {
  send: boolean;
  receive: boolean;
}

/** A room's participants, senders first. */
export function seatsOf(s: RoomShape): RoomSeat[] {
  if (s.kind === 'conference') return Array.from({ length: s.participants }, () => ({ send: true, receive: true }));
  return [
    ...Array.from({ length: s.presenters }, () => ({ send: true, receive: s.presenters > 1 })),
    ...Array.from({ length: s.viewers }, () => ({ send: false, receive: true })),
  ];
}

/** Consumers a room of these seats gives the SFU: each receiver consumes every sender but itself. */
export function consumersOfSeats(seats: readonly RoomSeat[]): number {
  const senders = seats.filter((x) => x.send).length;
  return seats.reduce((n, x) => n + (x.receive ? senders - (x.send ? 1 : 0) : 0), 0);
}

export const consumersPerRoom = (s: RoomShape): number => consumersOfSeats(seatsOf(s));

/** Transports one room opens on the SFU (a send and/or a receive transport per participant). */
export function transportsPerRoom(s: RoomShape): number {
  return seatsOf(s).reduce((n, x) => n + (x.send ? 1 : 0) + (x.receive ? 1 : 0), 0);
}

export function describeShape(s: RoomShape): string {
  return s.kind === 'conference'
    ? `conference of ${s.participants} (${consumersPerRoom(s)} consumers a room)`
    : `webinar of ${s.presenters} presenter${s.presenters > 1 ? 's' : ''} and ${s.viewers} viewers (${consumersPerRoom(s)} consumers a room)`;
}
