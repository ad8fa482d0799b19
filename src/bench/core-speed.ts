/**
 * How fast one core runs a fixed piece of work (SHA-256 over 64 KiB, in a child process pinned to the core with
 * `taskset`): measured on the SFU worker's core while no room is open, at the start and at the end of a run. On a
 * shared host the same step has cost the worker 60 % of its core in one run and 73 % in the next; this shows how
 * far the host's speed moves, so a capacity that moved with it is read as such.
 */
import { runOk } from '../lab/exec.js';

/** The child: hashes for `ms`, prints hashes per second. Small and dependency-free. */
const PROBE = `const c=require('crypto');const b=Buffer.alloc(65536,7);const ms=Number(process.argv[1]);let n=0;const t=process.hrtime.bigint();while(Number(process.hrtime.bigint()-t)<ms*1e6){c.createHash('sha256').update(b).digest();n++;}process.stdout.write(String(n*1000/ms));`;

/** Hashes per second on `core`, the best of `rounds` (the least disturbed). */
export async function measureCoreSpeed(core: number, o: { rounds?: number; ms?: number } = {}): Promise<number> {
  const rounds = o.rounds ?? 3;
  const ms = o.ms ?? 300;
  let best = 0;
  for (let i = 0; i < rounds; i++) {
    const out = (await runOk('taskset', ['-c', String(core), process.execPath, '-e', PROBE, String(ms)], { timeoutMs: ms + 10_000 })).trim();
    const v = Number(out);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`core speed probe printed "${out}"`);
    best = Math.max(best, v);
  }
  return best;
}

/** A change of speed worth telling: more than 5 % either way; "at 87 % of" the reference. */
export function speedChange(now: number, reference: number): string | null {
  const r = now / reference;
  return Math.abs(r - 1) > 0.05 ? `at ${(r * 100).toFixed(0)} % of` : null;
}

export interface CoreSpeed {
  core: number;
  before: number;
  after: number;
}

/** What a run's reason says of the probe: a change during the run, and against the baseline run's start. */
export function coreSpeedNotes(s: CoreSpeed, baseline?: CoreSpeed): string[] {
  const during = speedChange(s.after, s.before);
  const vsBaseline = baseline ? speedChange(s.before, baseline.before) : null;
  return [
    ...(during ? [`the worker's core ran the speed probe ${during} its start speed at the end of the run`] : []),
    ...(vsBaseline ? [`the worker's core ran the speed probe ${vsBaseline} the baseline run's speed at the start`] : []),
  ];
}
