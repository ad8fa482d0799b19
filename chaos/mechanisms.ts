import type { z } from 'zod';
import type { CleanupReport } from './cleanup.js';
import type { Fault, FaultLab, FaultMeta } from './fault.js';
import { processMechanism } from './process/mechanism.js';
import { toxiproxyMechanism } from './toxics/mechanism.js';
import type { FaultMechanism } from './types.js';
import { turnMechanism } from './turn/mechanism.js';
import { udpMechanism } from './udp/mechanism.js';

/** One spec key a mechanism reads, e.g. `toxic:` in `{ id, toxic: { proxy, type, attributes } }`. */
export interface SpecKind<S> {
  /** The value under the key; its issues keep their path below it (`toxic.attributes.latency`). */
  readonly schema: z.ZodType<S>;
  /** What the fault acts on, for the journal and the report: a dependency, `turn-udp`, a process target. */
  target(value: S): string;
  create(value: S, meta: FaultMeta): Fault;
}

/** What cleanupFaults hands a mechanism's recover() and sweep(). */
export interface SweepContext {
  lab: FaultLab;
  /** Each mechanism adds what it did to its own fields. */
  report: CleanupReport;
  /** Runs one step; a failure lands in report.errors as `<what>: <message>` and cleanup goes on. */
  attempt(what: string, step: () => Promise<void>): Promise<void>;
}

/**
 * One way of injecting faults: the spec keys it reads (each with its zod schema and how to build
 * the Fault), and how to undo, after a crash, whatever its faults may have left without the journal's
 * help. A new mechanism is a file like toxics/mechanism.ts plus one line in MECHANISMS.
 */
export interface Mechanism<Specs extends object> {
  readonly name: FaultMechanism;
  readonly specs: { readonly [K in keyof Specs]: SpecKind<Specs[K]> };
  /** Before the journal is rolled back: make the lab able to answer the rollbacks (resume, restart). */
  recover?(c: SweepContext): Promise<void>;
  /** After the journal: remove every trace of this mechanism's faults, found by name (`sch-*` toxics, `fault-*` chains). */
  sweep?(c: SweepContext): Promise<void>;
}

/** Every mechanism; cleanupFaults runs their recover() then their sweep() in this order. */
export const MECHANISMS = [toxiproxyMechanism, udpMechanism, processMechanism, turnMechanism] as const;

/** `{ id, <key>: <value> }` for each spec key of one mechanism. */
type KeyedSpecs<Specs> = { [K in keyof Specs & string]: { id: string } & { [P in K]: Specs[K] } }[keyof Specs & string];

/** A fault as one mechanism action, derived from the registry: `{ id, toxic }`, `{ id, proxyDown }`, `{ id, udp }`, `{ id, process }`. */
export type MechanismSpec = (typeof MECHANISMS)[number] extends infer M ? (M extends Mechanism<infer S> ? KeyedSpecs<S> : never) : never;

export interface RegisteredKind {
  key: string;
  mechanism: FaultMechanism;
  kind: SpecKind<unknown>;
}

/** Every spec key of every mechanism, in registry order (the order error messages list them in). */
export const SPEC_KINDS: readonly RegisteredKind[] = MECHANISMS.flatMap((m) =>
  Object.entries<SpecKind<unknown>>(m.specs).map(([key, kind]) => ({ key, mechanism: m.name, kind })),
);
