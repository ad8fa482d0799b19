/**
 * An RTP video stream recorded once (Chromium's fake camera through the lab's SFU, decrypted by a synthetic
 * recorder) and replayed by synthetic senders: per packet its offset from the first, RTP timestamp relative to
 * the first, marker bit, whether it starts a keyframe, and its payload (VP8 payload descriptor + data) in the
 * clear. Kept in the harness's cache (.cache/sfu-bench/), never committed; zod-validated when read.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { HARNESS_ROOT } from '../lab/paths.js';

export const RECORDING_FILE = join(HARNESS_ROOT, '.cache', 'sfu-bench', 'vp8-camera.json');

const PacketSchema = z.object({
  atMs: z.number().nonnegative(),
  ts: z.number().int().nonnegative(),
  marker: z.boolean(),
  keyframe: z.boolean(),
  payload: z.string().min(1),
}).strict();

export const RecordingSchema = z.object({
  version: z.literal(1),
  mimeType: z.literal('video/VP8'),
  clockRate: z.literal(90000),
  /** What was recorded: source, size, frame rate as asked. */
  source: z.string(),
  packets: z.array(PacketSchema).min(1),
}).strict().refine((r) => r.packets[0]!.keyframe, { message: 'a recording starts with a keyframe' });

export type Recording = z.output<typeof RecordingSchema>;
export type RecordedPacket = Recording['packets'][number];

export function saveRecording(r: Recording, file = RECORDING_FILE): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(RecordingSchema.parse(r)));
}

/** The recording, or null when there is none (yet) or it does not read as one. */
export function loadRecording(file = RECORDING_FILE): Recording | null {
  try {
    const r = RecordingSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/**
 * Whether a VP8 RTP payload starts a keyframe (RFC 7741 §4.2–4.3): the start of partition 0 (S=1, PID=0) whose
 * VP8 frame header has the inverse key frame flag P=0. Returns false for anything it cannot read.
 */
export function isVp8KeyframeStart(p: Buffer): boolean {
  if (p.length < 1) return false;
  const b0 = p[0]!;
  const start = (b0 & 0x10) !== 0 && (b0 & 0x07) === 0;
  if (!start) return false;
  let i = 1;
  if (b0 & 0x80) {
    const x = p[i++];
    if (x === undefined) return false;
    if (x & 0x80) i += (p[i] ?? 0) & 0x80 ? 2 : 1; // picture id: 7 or 15 bits
    if (x & 0x40) i++; // TL0PICIDX
    if (x & 0x30) i++; // TID / KEYIDX
  }
  const h = p[i];
  return h !== undefined && (h & 0x01) === 0;
}
