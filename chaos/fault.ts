import type { Lab } from '../src/lab/lab.js';
import type { FaultMechanism } from '../src/results/model.js';
import { journalAdd, journalRemove } from './journal.js';
import type { FaultSpec } from './spec-types.js';

export interface FaultContext {
  lab: Lab;
  log?: (line: string) => void;
}

export interface CheckResult {
  ok: boolean;
  detail: string;
}

export interface Fault {
  /** Unique within an experiment. */
  readonly id: string;
  /** Named fault (`redis-outage`, …) or `custom`. */
  readonly name: string;
  readonly mechanism: FaultMechanism;
  /** e.g. `redis`, `turn-udp`, `target:chat`. */
  readonly target: string;
  readonly params: Record<string, unknown>;
  /** For latency-type faults: the added latency (ms) a request through the path should show (calibration). */
  readonly expectedLatencyMs?: number;
  apply(ctx: FaultContext): Promise<void>;
  /** Did it land? Measured on the real path, never taken from the API's word. */
  verify(ctx: FaultContext): Promise<CheckResult>;
  /** Idempotent; safe when apply never ran or half-ran; confirms the path is clean again. */
  rollback(ctx: FaultContext): Promise<CheckResult>;
}

export class FaultError extends Error {
  override name = 'FaultError';
}

/** What every fault shares: identity, and the journal entry written before apply / removed after a clean rollback. */
export interface FaultMeta {
  /** The spec it was created from: the journal keeps it so another process can roll the fault back after a crash. */
  spec: FaultSpec;
  name: string;
  target: string;
  params: Record<string, unknown>;
}

export abstract class BaseFault implements Fault {
  abstract readonly mechanism: FaultMechanism;
  readonly id: string;
  readonly name: string;
  readonly target: string;
  readonly params: Record<string, unknown>;
  readonly spec: FaultSpec;

  constructor(meta: FaultMeta) {
    this.spec = meta.spec;
    this.id = meta.spec.id;
    this.name = meta.name;
    this.target = meta.target;
    this.params = meta.params;
  }

  async apply(ctx: FaultContext): Promise<void> {
    // Journal first: a crash between here and rollback leaves a record cleanupFaults() can act on.
    journalAdd(ctx.lab, { id: this.id, name: this.name, mechanism: this.mechanism, target: this.target, params: this.params, spec: this.spec, appliedAtMs: Date.now(), pid: process.pid });
    ctx.log?.(`fault ${this.id}: apply ${this.name} (${this.mechanism} on ${this.target})`);
    await this.applyFault(ctx);
  }

  async rollback(ctx: FaultContext): Promise<CheckResult> {
    const r = await this.rollbackFault(ctx);
    if (r.ok) journalRemove(ctx.lab, this.id);
    ctx.log?.(`fault ${this.id}: rollback ${r.ok ? 'clean' : 'NOT clean'}: ${r.detail}`);
    return r;
  }

  async verify(ctx: FaultContext): Promise<CheckResult> {
    const r = await this.verifyFault(ctx);
    ctx.log?.(`fault ${this.id}: verify ${r.ok ? 'landed' : 'did NOT land'}: ${r.detail}`);
    return r;
  }

  protected abstract verifyFault(ctx: FaultContext): Promise<CheckResult>;
  protected abstract applyFault(ctx: FaultContext): Promise<void>;
  protected abstract rollbackFault(ctx: FaultContext): Promise<CheckResult>;
}

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
