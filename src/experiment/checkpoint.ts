/**
 * The run's checkpoint (`checkpoint.json` in the run directory): rewritten atomically every `intervalMs` while the
 * load runs, so a run killed outright (SIGKILL, OOM, a lost machine) still leaves a history `sch analyze` can judge
 * up to the checkpoint. It says up to when the history is complete, which faults were on, how each workload stood,
 * and the harness's own memory (also recorded as observations: `sc_harness_memory_mib{kind}`).
 *
 * "Complete up to" is the checkpoint's time minus COMPLETE_LAG_MS: k6 flushes its CSV output every second and the
 * observers append theirs at once, so samples older than that are on disk whatever happens next.
 */
import { renameSync, writeFileSync, existsSync } from 'node:fs';
import { readJson } from './history.js';
import { join } from 'node:path';
import { z } from 'zod';
import type { Sample } from '../results/model.js';

export const CHECKPOINT_FILE = 'checkpoint.json';
/** Every 30 s by default: a soak killed at 1 h 50 min loses at most that much of what it saw. */
export const DEFAULT_CHECKPOINT_EVERY_MS = 30_000;
/** How far behind the clock the history is surely complete (k6's CSV flush period, with a margin). */
export const COMPLETE_LAG_MS = 2000;
export const HARNESS_MEMORY_METRIC = 'sc_harness_memory_mib';

export const CheckpointSchema = z.object({
  /** Bumped at each write: how many checkpoints the run wrote. */
  seq: z.number().int().min(1),
  atMs: z.number(),
  /** Epoch ms up to which samples, observations and the fault timeline are on disk: what analyze judges. */
  completeToMs: z.number(),
  runStartMs: z.number(),
  /** The runner's pid (to tell a dead run from a live one). */
  pid: z.number().int(),
  /** Faults on at the checkpoint (their records, with applied times, are in the manifest's timeline). */
  faultsOn: z.array(z.string()),
  workloads: z.array(z.object({ id: z.string(), state: z.enum(['running', 'ended']), exitCode: z.number().int().nullable().optional() }).strict()),
  /** The harness's own memory at the checkpoint (MiB): resident, and the JS heap in use. */
  harness: z.object({ rssMib: z.number(), heapMib: z.number() }).strict(),
}).strict();
export type Checkpoint = z.output<typeof CheckpointSchema>;

/** Written to a temporary file and renamed over the old one: a kill mid-write leaves the previous checkpoint whole. */
export function writeCheckpoint(dir: string, c: Checkpoint): void {
  const path = join(dir, CHECKPOINT_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(c, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** The run's last checkpoint; null when it wrote none; a damaged one is an error naming the file. */
export function readCheckpoint(dir: string): Checkpoint | null {
  return existsSync(join(dir, CHECKPOINT_FILE)) ? readJson(dir, CHECKPOINT_FILE, CheckpointSchema) : null;
}

const mib = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

/** The harness's own memory now, as observations (what the soak benchmark plots) and for the checkpoint. */
export function harnessMemory(atMs = Date.now()): { rssMib: number; heapMib: number; samples: Sample[] } {
  const m = process.memoryUsage();
  const rssMib = mib(m.rss);
  const heapMib = mib(m.heapUsed);
  return { rssMib, heapMib, samples: [{ metric: HARNESS_MEMORY_METRIC, time: atMs, value: rssMib, tags: { kind: 'rss' } }, { metric: HARNESS_MEMORY_METRIC, time: atMs, value: heapMib, tags: { kind: 'heap' } }] };
}
