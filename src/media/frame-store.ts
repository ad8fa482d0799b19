/**
 * The received pictures of a video workload in its run directory (part of the history: `sch analyze` builds the
 * report's filmstrip from them): `workloads/<id>/frames/<participant>-<n>.jpg`, one per participant and capture,
 * and `workloads/<id>/frames.jsonl`, one line per picture (when, whose, which remote participant each tile shows,
 * and whether that tile was frozen at the capture). Lines are appended as pictures are taken; a line cut short by
 * a crash is skipped on reading, any other bad line names the file and line.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonLines } from '../util/jsonl.js';

export const FRAME_FILES = { index: 'frames.jsonl', dir: 'frames' } as const;

export const FrameLineSchema = z.object({
  /** Epoch ms the picture was drawn. */
  atMs: z.number(),
  /** The participant whose page it is (`p1`…): what that participant received. */
  participant: z.string().min(1),
  /** Relative to the workload's folder. */
  file: z.string().regex(/^frames\/[\w.-]+\.jpg$/),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** Left to right, one tile per remote participant. */
  tiles: z.array(z.object({ track: z.string(), frozen: z.boolean().nullable() }).strict()),
}).strict();
export type FrameLine = z.output<typeof FrameLineSchema>;

export class FrameStoreError extends Error {
  override name = 'FrameStoreError';
}

/** Writes pictures and their index into one workload's folder. */
export class FrameStore {
  private n = 0;

  constructor(private readonly workloadDir: string) {}

  /** Saves one picture and appends its line. */
  add(line: Omit<FrameLine, 'file'>, jpeg: Buffer): FrameLine {
    mkdirSync(join(this.workloadDir, FRAME_FILES.dir), { recursive: true });
    const file = `${FRAME_FILES.dir}/${line.participant.replace(/[^\w.-]/g, '_')}-${++this.n}.jpg`;
    writeFileSync(join(this.workloadDir, file), jpeg);
    const full = FrameLineSchema.parse({ ...line, file });
    appendFileSync(join(this.workloadDir, FRAME_FILES.index), `${JSON.stringify(full)}\n`);
    return full;
  }

  get count(): number {
    return this.n;
  }
}

/** Every picture line of a workload's folder ([] when it took none). */
export function readFrameLines(workloadDir: string): FrameLine[] {
  return readJsonLines(join(workloadDir, FRAME_FILES.index), FrameLineSchema, (where, p) => new FrameStoreError(`${where}: ${typeof p === 'string' ? p : p.issues.map((x) => `${x.path.join('.') || '(line)'}: ${x.message}`).join('; ')}`));
}
