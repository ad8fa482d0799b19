/**
 * When each fault of a timeline happens: once (`startS`, `durationS`), or in cycles (`everyS`: a cycle
 * starts every so long from `startS`; `cycles` of them, else as many as end before the load does), each
 * start shifted by a seeded jitter (`jitterS`), so a two-hour soak is chaos throughout and a run is
 * replayed with the same schedule from its manifest's seed. Pure: the runner plays the occurrences,
 * validation and preflight check them, the progress line names the next one.
 */
import { createHash } from 'node:crypto';

/** The timing fields of a timeline entry (spec.ts), in seconds. */
export interface ScheduleEntry {
  id: string;
  startS: number;
  durationS: number;
  everyS?: number | undefined;
  cycles?: number | undefined;
  jitterS?: number | undefined;
}

/** One application of a fault. */
export interface Occurrence {
  /** Its record and phase id: the entry's id for the first (or only) cycle, `<id>#<n>` for the n-th. */
  id: string;
  entryId: string;
  /** 1-based cycle number; absent for a fault that does not repeat. */
  cycle?: number;
  startS: number;
  durationS: number;
}

/** `redis` for the first cycle (so a one-cycle run reads as before), `redis#3` for the third. */
export const cycleId = (entryId: string, n: number): string => (n === 1 ? entryId : `${entryId}#${n}`);

/** Does `id` (a record's) belong to `entryId` — the entry itself or one of its cycles? */
export const isCycleOf = (id: string, entryId: string): boolean => id === entryId || (id.startsWith(`${entryId}#`) && /^\d+$/.test(id.slice(entryId.length + 1)));

/** The latest second a cycle may start after its nominal start: the whole jitter. */
const jitterOf = (f: ScheduleEntry): number => f.jitterS ?? 0;

/** How many cycles end by `loadS` (at least the first must: else 0). */
export function cyclesThatFit(f: ScheduleEntry, loadS: number): number {
  const room = loadS - f.startS - f.durationS - jitterOf(f);
  if (room < -1e-9) return 0;
  if (f.everyS === undefined) return 1;
  return Math.floor(room / f.everyS + 1e-9) + 1;
}

/** The cycles an entry gets in a load of `loadS`: `cycles` when given, else as many as fit (1 when it does not repeat). */
export function cycleCount(f: ScheduleEntry, loadS: number): number {
  if (f.everyS === undefined) return 1;
  return f.cycles ?? Math.max(1, cyclesThatFit(f, loadS));
}

/** When the last cycle ends at the latest (its start jittered fully). */
export function lastEndS(f: ScheduleEntry, loadS: number): number {
  return f.startS + (cycleCount(f, loadS) - 1) * (f.everyS ?? 0) + jitterOf(f) + f.durationS;
}

/** A cycle's jitter as a share of `jitterS`, in [0, 1): from the seed, the entry and the cycle alone (a replay gets the same). */
export function jitterShare(seed: number, entryId: string, cycle: number): number {
  return createHash('sha256').update(`${seed}:${entryId}:${cycle}`).digest().readUInt32BE(0) / 2 ** 32;
}

const ms = (s: number): number => Math.round(s * 1000) / 1000;

/** Every occurrence of every entry, sorted by start. */
export function expandSchedule(entries: readonly ScheduleEntry[], loadS: number, seed: number): Occurrence[] {
  const out: Occurrence[] = [];
  for (const f of entries) {
    const repeats = f.everyS !== undefined;
    const n = cycleCount(f, loadS);
    for (let c = 1; c <= n; c++) {
      const jitter = f.jitterS ? f.jitterS * jitterShare(seed, f.id, c) : 0;
      out.push({ id: repeats ? cycleId(f.id, c) : f.id, entryId: f.id, ...(repeats ? { cycle: c } : {}), startS: ms(f.startS + (c - 1) * (f.everyS ?? 0) + jitter), durationS: f.durationS });
    }
  }
  return out.sort((a, b) => a.startS - b.startS || a.id.localeCompare(b.id));
}

/**
 * What is wrong with an entry's schedule in a load of `loadS`, as `[field, message]` pairs: cycles that
 * would overlap (a fault cannot be applied on top of itself), `cycles` without `everyS`, a last cycle
 * that would end after the load.
 */
export function scheduleProblems(f: ScheduleEntry, loadS: number): [field: string, message: string][] {
  const out: [string, string][] = [];
  if (f.everyS === undefined) {
    if (f.cycles !== undefined) out.push(['cycles', 'only a repeating fault has cycles: give everyS (how often a cycle starts)']);
  } else if (f.everyS <= f.durationS + jitterOf(f)) {
    out.push(['everyS', `${f.everyS} s would overlap the next cycle: a cycle lasts durationS ${f.durationS} s${f.jitterS ? ` and may start jitterS ${f.jitterS} s late` : ''}, so everyS must be longer than ${ms(f.durationS + jitterOf(f))} s`]);
  }
  const end = lastEndS(f, loadS);
  if (end > loadS + 1e-9) {
    const n = cycleCount(f, loadS);
    out.push(f.everyS !== undefined && f.cycles !== undefined
      ? ['cycles', `${n} cycles end at ${ms(end)} s${f.jitterS ? ' (with the whole jitter)' : ''}, after the load (durationS ${loadS} s): at most ${cyclesThatFit(f, loadS)} fit`]
      : ['', `ends at ${ms(end)} s${f.jitterS ? ' (with the whole jitter)' : ''}, after the load (durationS ${loadS})`]);
  }
  return out;
}
