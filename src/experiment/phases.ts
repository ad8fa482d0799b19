import type { FaultRecord, Phase } from '../results/model.js';
import { isCycleOf } from './schedule.js';

/**
 * The last second before the first fault belongs to no phase: a request started there (an upload's
 * three steps, a delete after its setup) may meet the fault mid-way, and would blame the baseline for it.
 */
export const BASELINE_GUARD_MS = 1000;

/**
 * A Toxiproxy fault's earliest start (s from the load's start). Calibration needs a reading of the target's
 * own connections through the proxy before the fault: the observer starts with the first k6 sample, about
 * 1.1 s after the load's clock starts (1 s before that sample). A latency toxic also needs path round trips
 * before it, and path probes start at 2 s. Preflight refuses earlier starts.
 */
export const MIN_PROXY_FAULT_START_S = 2;
export const MIN_LATENCY_FAULT_START_S = 3;

/** Where the target was observed beyond the load (an experiment's afterLoadS): from before it starts, until after it ends. */
export interface LoadBounds {
  /** The target's own metrics first read (before the load's clock starts). */
  observedFromMs?: number | undefined;
  /** The workloads ended (the after-load window follows, to the run's end). */
  loadEndMs?: number | undefined;
}

/**
 * The run's phases from what really happened (applied / removed times, not the plan):
 * `baseline` from the start to a second before the first fault, then for each applied fault `fault:<id>` while it was
 * on and `recovery:<id>` for `recoveryS` after it was removed (cut at the next fault and at the end).
 * Overlapping faults give overlapping phases; a fault never applied gives none.
 * With `around` (afterLoadS): `before-load` from the first reading of the target to the load's start, and `after-load`
 * from the workloads' end to the run's end (inside `baseline` / `run`, which keep their meaning).
 */
export function derivePhases(runStartMs: number, runEndMs: number, faults: readonly FaultRecord[], recoveryS: number, around: LoadBounds = {}): Phase[] {
  const applied = faults
    .filter((f): f is FaultRecord & { appliedAtMs: number } => typeof f.appliedAtMs === 'number')
    .sort((a, b) => a.appliedAtMs - b.appliedAtMs);
  const firstFault = applied[0] ? applied[0].appliedAtMs - BASELINE_GUARD_MS : runEndMs;
  const phases: Phase[] = [{ id: 'baseline', kind: 'baseline', startMs: runStartMs, endMs: Math.max(runStartMs, Math.min(firstFault, runEndMs)) }];
  for (const f of applied) {
    const removed = Math.min(f.removedAtMs ?? runEndMs, runEndMs);
    phases.push({ id: `fault:${f.id}`, kind: 'fault', faultId: f.id, startMs: f.appliedAtMs, endMs: Math.max(f.appliedAtMs, removed) });
    const next = applied.find((g) => g.appliedAtMs >= removed && g !== f)?.appliedAtMs ?? Infinity;
    const end = Math.min(removed + recoveryS * 1000, next, runEndMs);
    if (end > removed) phases.push({ id: `recovery:${f.id}`, kind: 'recovery', faultId: f.id, startMs: removed, endMs: end });
  }
  const { observedFromMs, loadEndMs } = around;
  if (observedFromMs !== undefined && observedFromMs < runStartMs) phases.push({ id: 'before-load', kind: 'before-load', startMs: observedFromMs, endMs: runStartMs });
  if (loadEndMs !== undefined && loadEndMs >= runStartMs && loadEndMs < runEndMs) phases.push({ id: 'after-load', kind: 'after-load', startMs: loadEndMs, endMs: runEndMs });
  return phases;
}

/**
 * The phases a hypothesis' `phase` pattern names: `fault:*` → every fault phase; `fault:redis` → the phase
 * of fault redis, or of each of its cycles when it repeats (`fault:redis`, `fault:redis#2`, …: schedule.ts).
 */
export function phasesMatching(pattern: string, phases: readonly Phase[]): Phase[] {
  if (pattern === 'run') return [];
  const m = /^(fault|recovery):(.+)$/.exec(pattern);
  if (!m) return phases.filter((p) => p.id === pattern);
  if (m[2] === '*') return phases.filter((p) => p.kind === m[1]);
  return phases.filter((p) => p.kind === m[1] && p.faultId !== undefined && isCycleOf(p.faultId, m[2]!));
}

/**
 * The phases a run that stopped early (interrupted, or killed and analyzed up to its checkpoint) cut before their
 * natural end, each with why: a phase is cut when, had the run gone on, it would have ended after `stoppedAtMs` —
 * each fault as scheduled (its real apply time; removal as planned, or later when it really was), the run to its
 * planned length. 'run' is always among them. What these phases measured proves nothing either way (evaluate.ts).
 */
export function cutShortPhases(phases: readonly Phase[], o: { runStartMs: number; stoppedAtMs: number; plannedDurationS: number; faults: readonly FaultRecord[]; recoveryS: number }): Record<string, string> {
  const at = (ms: number) => `t=${Math.round((ms - o.runStartMs) / 1000)} s`;
  const plannedEndMs = o.runStartMs + o.plannedDurationS * 1000;
  const asPlanned = o.faults.map((f) => {
    const applyMs = f.appliedAtMs ?? f.scheduledApplyMs ?? o.runStartMs + f.plannedStartS * 1000;
    const removeMs = Math.max(f.removedAtMs ?? -Infinity, f.scheduledRemoveMs ?? o.runStartMs + (f.plannedStartS + f.plannedDurationS) * 1000);
    return { ...f, appliedAtMs: applyMs, removedAtMs: removeMs };
  });
  const natural = new Map(derivePhases(o.runStartMs, plannedEndMs, asPlanned, o.recoveryS).map((p) => [p.id, p.endMs]));
  const out: Record<string, string> = { run: `the run stopped at ${at(o.stoppedAtMs)} of its planned ${o.plannedDurationS} s` };
  for (const p of phases) {
    const end = natural.get(p.id);
    if (end !== undefined && end > o.stoppedAtMs + 1) out[p.id] = `${p.id} was cut short: the run stopped at ${at(o.stoppedAtMs)}, the phase would have lasted to ${at(end)}`;
  }
  return out;
}
