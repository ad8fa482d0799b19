import { journalAdd, journalRemove } from './journal.js';
import type { FaultSpec } from './spec.js';
import type { DependencyName, FaultMechanism, LabServiceName } from './types.js';

export interface Endpoint {
  host: string;
  port: number;
}

/** A process the lab recorded: enough to find it in /proc and not mistake a process that reused its pid. */
export interface FaultProcessRecord {
  readonly name: string;
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat when it started. */
  readonly startTime: string;
}

/**
 * All chaos/ knows of a lab: what its faults act on and how to put a process back. `Lab`
 * (src/lab/lab.ts) satisfies it structurally; a test can pass a small fake. Narrow on purpose, so
 * how a lab is started and laid out can change without touching a fault.
 */
export interface FaultLab {
  /** Names the journal: stateDir()/<name>/faults.json. */
  readonly name: string;
  /** An external deployment's Toxiproxy: no namespace, no processes, and only the harness's own toxics are touched. */
  readonly isExternal: boolean;
  readonly toxiproxyUrl: string;
  /** Where a target reaches a dependency: its Toxiproxy proxy. */
  endpoint(dep: DependencyName): Endpoint;
  /** The real server, bypassing its proxy: a baseline for latency toxics. */
  directEndpoint(dep: DependencyName): Endpoint;
  /** The lab's network namespace, where nft faults live (null on the host loopback). */
  readonly netns: { readonly name: string } | null;
  /** Address the lab's servers bind, and coturn's UDP listener and relay range there (UDP faults). */
  readonly address: string;
  readonly ports: { readonly service: { readonly coturn: number }; readonly turnRelay: { readonly min: number; readonly max: number } };
  /** The lab's generated secrets: TURN faults allocate with REST credentials from its shared secret (absent: not our TURN). */
  readonly credentials?: { readonly turnSecret: string };
  /** The lab's state file as last read: its services, process records and reference targets. */
  readonly state: {
    readonly services: readonly LabServiceName[];
    readonly processes: readonly FaultProcessRecord[];
    readonly targets?: readonly { readonly instance: string; readonly serviceUrls: Readonly<Record<string, string>> }[];
  };
  /** Re-read the state file: another process (a target, a fault) may have changed it. */
  refreshState(): void;
  /** Restart a lab service exactly as it was started and wait until its probe answers. */
  restartService(name: LabServiceName): Promise<FaultProcessRecord>;
  /** Restart a reference-target process (record `target-<service>[-<instance>]`) and wait for its /health. */
  restartTargetService(recordName: string, healthUrl: string): Promise<FaultProcessRecord>;
  /** The service's own probe (a real request); rejects when it does not answer within timeoutMs. */
  probeService(name: LabServiceName, timeoutMs?: number): Promise<string>;
}

export interface FaultContext {
  lab: FaultLab;
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
