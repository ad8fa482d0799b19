/**
 * The fault timeline (Jepsen's nemesis schedule): each fault on its own clock, applied at its start and
 * rolled back at its scheduled end. Verification runs beside the fault and never delays its rollback
 * (a verify() that probes through a slow toxic may still be waiting when the fault is due to end). Every
 * time is recorded as scheduled and as it happened, so the report can show the difference.
 */
import type { Fault, FaultContext } from '../../chaos/index.js';
import type { FaultRecord } from '../results/model.js';
import { sleepUnless } from '../lab/exec.js';

export interface TimelineEntry {
  fault: Fault;
  record: FaultRecord;
  startS: number;
  durationS: number;
}

export type TimelineEvent =
  | { type: 'applied'; record: FaultRecord }
  | { type: 'verified'; record: FaultRecord }
  | { type: 'removed'; record: FaultRecord };

export interface TimelineOptions {
  ctx: FaultContext;
  /** Called on each step (progress lines, manifest writes). */
  onEvent?: (e: TimelineEvent) => void;
  log?: (line: string) => void;
  /** How long a verify() still in flight after the rollback is waited for before it is recorded as unfinished (ms). */
  verifyGraceMs?: number;
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

interface Slot extends TimelineEntry {
  applied: boolean;
  removed: boolean;
  /** Its start came after the load had ended (or the run was stopped). */
  skipped?: boolean;
  verifying?: Promise<void>;
}

export class FaultTimeline {
  private readonly slots: Slot[];
  private readonly o: TimelineOptions;
  private running: Promise<void> | null = null;

  constructor(entries: TimelineEntry[], o: TimelineOptions) {
    this.slots = entries.map((e) => ({ ...e, applied: false, removed: false }));
    this.o = o;
  }

  get records(): FaultRecord[] {
    return this.slots.map((s) => s.record);
  }

  /** Ids of the faults applied and not yet removed. */
  active(): string[] {
    return this.slots.filter((s) => s.applied && !s.removed).map((s) => s.record.id);
  }

  /** The fault most recently removed less than `withinMs` ago, if any. */
  recentlyRemoved(withinMs: number, now = Date.now()): string | undefined {
    return this.slots.filter((s) => s.removed && s.record.removedAtMs !== undefined && now - s.record.removedAtMs < withinMs).map((s) => s.record.id).pop();
  }

  anyApplied(): boolean {
    return this.slots.some((s) => s.applied);
  }

  /**
   * Play the timeline from `runStartMs`. Resolves when every fault has been removed (or skipped). `stop`
   * aborts the waits (the caller then calls rollbackAll); `skip()` true at a fault's start skips it (the
   * load already ended).
   */
  play(runStartMs: number, stop: AbortSignal, skip: () => boolean = () => false): Promise<void> {
    for (const s of this.slots) {
      s.record.scheduledApplyMs = runStartMs + s.startS * 1000;
      s.record.scheduledRemoveMs = runStartMs + (s.startS + s.durationS) * 1000;
    }
    // The cycles of a repeating fault share one Fault: each waits for the one before to be rolled back (a slow
    // rollback delays the next apply, recorded as it happened, rather than applying a fault on top of itself).
    const byFault = new Map<Fault, Slot[]>();
    for (const s of this.slots) byFault.set(s.fault, [...(byFault.get(s.fault) ?? []), s]);
    this.running ??= Promise.all([...byFault.values()].map(async (cycles) => {
      for (const s of cycles.sort((a, b) => a.startS - b.startS)) await this.playOne(s, stop, skip);
    })).then(() => undefined);
    return this.running;
  }

  /** The next fault due (not yet applied, not skipped), by its scheduled start: for the progress line. */
  next(now = Date.now()): { id: string; inMs: number } | undefined {
    const due = this.slots
      .filter((s) => !s.applied && !s.skipped && s.record.scheduledApplyMs !== undefined)
      .sort((a, b) => a.record.scheduledApplyMs! - b.record.scheduledApplyMs!)[0];
    return due ? { id: due.record.id, inMs: Math.max(0, due.record.scheduledApplyMs! - now) } : undefined;
  }

  private async playOne(s: Slot, stop: AbortSignal, skip: () => boolean): Promise<void> {
    const r = s.record;
    await sleepUnless(r.scheduledApplyMs! - Date.now(), stop);
    if (stop.aborted || skip()) {
      s.skipped = true;
      return;
    }
    s.applied = true;
    try {
      await s.fault.apply(this.o.ctx);
      r.appliedAtMs = Date.now();
    } catch (e) {
      r.error = `apply: ${errText(e)}`;
      r.appliedAtMs ??= Date.now();
      this.o.log?.(`fault ${r.id}: ${r.error}`);
    }
    this.o.onEvent?.({ type: 'applied', record: r });
    if (!r.error) s.verifying = this.verify(s);
    await sleepUnless(r.scheduledRemoveMs! - Date.now(), stop);
    if (stop.aborted) return;
    await this.rollbackOne(s);
  }

  private async verify(s: Slot): Promise<void> {
    const r = s.record;
    r.verifyStartedAtMs = Date.now();
    try {
      const v = await s.fault.verify(this.o.ctx);
      r.verified = v.ok;
      r.verifyDetail = v.detail;
    } catch (e) {
      r.verified = false;
      r.verifyDetail = `verify threw: ${errText(e)}`;
    }
    r.verifiedAtMs = Date.now();
    this.o.log?.(`fault ${r.id}: verify ${r.verified ? 'ok' : 'FAILED'}: ${r.verifyDetail}`);
    this.o.onEvent?.({ type: 'verified', record: r });
  }

  private async rollbackOne(s: Slot): Promise<void> {
    if (!s.applied || s.removed) return;
    s.removed = true;
    const r = s.record;
    r.rollbackIssuedAtMs = Date.now();
    try {
      const res = await s.fault.rollback(this.o.ctx);
      r.rolledBack = res.ok;
      if (!res.ok) r.error = `rollback: ${res.detail}`;
    } catch (e) {
      r.rolledBack = false;
      r.error = `rollback: ${errText(e)}`;
    }
    r.removedAtMs = Date.now();
    this.o.onEvent?.({ type: 'removed', record: r });
  }

  /** Roll back whatever is still applied (abort, failure, exception), then wait a bounded while for verifications in flight. */
  async rollbackAll(): Promise<void> {
    for (const s of this.slots) await this.rollbackOne(s);
    const grace = this.o.verifyGraceMs ?? 10_000;
    const pending = this.slots.filter((s) => s.verifying && s.record.verifiedAtMs === undefined);
    if (pending.length === 0) return;
    await Promise.race([Promise.all(pending.map((s) => s.verifying)), new Promise((r) => setTimeout(r, grace).unref())]);
    for (const s of pending) {
      if (s.record.verifiedAtMs === undefined) {
        s.record.verified = false;
        s.record.verifyDetail = `verify() had not finished ${grace} ms after the rollback`;
      }
    }
  }
}
