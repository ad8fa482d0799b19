/**
 * An experiment: target + workloads (Jepsen's client + schedule) + fault timeline (nemesis) +
 * hypotheses (checker) and the claims they verify. Written in TypeScript with `defineExperiment`,
 * stored as plain data (the run manifest holds it as JSON, so a run can be replayed).
 */
import { z } from 'zod';
import { PROFILES as LOAD_PROFILES } from '../k6/run.js';
import { FaultSpecSchema } from '../../chaos/spec.js';

const ID = /^[a-z0-9][a-z0-9-]*$/;
const id = () => z.string().regex(ID, 'lower-case letters, digits and dashes');
const tags = z.record(z.string(), z.string());

export const SelectorSchema = z.object({ metric: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a k6 metric name'), tags: tags.optional() }).strict();

export const STATS = ['p50', 'p90', 'p95', 'p99', 'max', 'min', 'mean', 'rate', 'count', 'sum', 'perSecond'] as const;
export type StatName = (typeof STATS)[number];
export const OPS = ['<', '<=', '>', '>=', '=='] as const;
export type Op = (typeof OPS)[number];

const claims = z.array(z.string().regex(/^[A-Z][A-Z0-9-]*$/, 'a claim id from fixtures/claims.yaml (upper case)')).min(1);

/** A budget on one phase: `stat(select) op value`; INCONCLUSIVE with fewer than minSamples samples. */
export const ThresholdHypothesisSchema = z.object({
  kind: z.literal('threshold').default('threshold'),
  id: id(),
  description: z.string().min(1),
  claims,
  /** `baseline`, `fault:<faultId>`, `recovery:<faultId>`, `run`, or `fault:*` / `recovery:*` (every fault). */
  phase: z.string().regex(/^(baseline|run|(fault|recovery):([a-z0-9][a-z0-9-]*|\*))$/, 'baseline | run | fault:<id> | recovery:<id> | fault:* | recovery:*'),
  select: SelectorSchema,
  stat: z.enum(STATS),
  op: z.enum(OPS),
  value: z.number(),
  unit: z.enum(['ms', 'ratio', 'count', 's']).default('count'),
  minSamples: z.number().int().min(0).default(3),
}).strict();

/** After the fault is removed, `stat(select)` is back within tolerance of its baseline within `withinS`. */
export const RecoversHypothesisSchema = z.object({
  kind: z.literal('recovers'),
  id: id(),
  description: z.string().min(1),
  claims,
  /** A fault id, or `*` for every fault of the timeline. */
  fault: z.string().regex(/^([a-z0-9][a-z0-9-]*|\*)$/),
  select: SelectorSchema,
  stat: z.enum(STATS),
  /** Back means: for latency stats ≤ baseline × factor + slack; for `rate` ≥ baseline − slack. */
  factor: z.number().positive().default(1.5),
  /** Default: 50 (ms) for latency stats, 0.05 for rate. */
  slack: z.number().min(0).optional(),
  withinS: z.number().positive(),
  /** Window the statistic is computed over while scanning (s). */
  windowS: z.number().positive().default(3),
  minSamples: z.number().int().min(1).default(3),
}).strict();

/** Every acknowledged chat message reached every online member exactly once, in order, and is in history. */
export const NothingLostHypothesisSchema = z.object({
  kind: z.literal('nothing-lost'),
  id: id(),
  description: z.string().min(1),
  claims,
  /** The workload (a chat-fanout scenario) whose messages are reconciled. */
  workload: id(),
  /** Also require no order violation (default true). */
  ordered: z.boolean().default(true),
}).strict();

export const HypothesisSchema = z.union([RecoversHypothesisSchema, NothingLostHypothesisSchema, ThresholdHypothesisSchema]);

export const WorkloadSchema = z.object({
  id: id(),
  /** A scenario in scenarios/ (e.g. probes, chat-fanout, registration). */
  scenario: z.string().regex(ID),
  profile: z.enum(LOAD_PROFILES).default('smoke'),
  /** k6 -e variables (SC_DURATION is set from the experiment's duration unless given). */
  env: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'an upper-case variable name'), z.string()).default({}),
}).strict();

/** A fault on the timeline: when, how long, and what (a chaos/ fault spec, validated by chaos/). */
export const TimelineEntrySchema = z.object({
  id: id(),
  startS: z.number().min(0),
  durationS: z.number().positive(),
}).loose();

export const EmbeddedTargetSchema = z.object({
  kind: z.literal('embedded'),
  profile: z.enum(['audited', 'hardened']).default('audited'),
  /** Target process environment (knobs like RATE_LIMIT_PER_MINUTE, single switches SC_SWITCH_*). */
  env: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'an upper-case variable name'), z.string()).default({}),
  services: z.array(z.enum(['auth', 'chat', 'video', 'storage', 'gateway'])).optional(),
}).strict();

export const ExternalTargetSchema = z.object({
  kind: z.literal('external'),
  baseUrl: z.url(),
  /** The Toxiproxy API in front of the deployment's dependencies (needed for Toxiproxy faults). */
  toxiproxyUrl: z.url().optional(),
}).strict();

export const ExperimentSchema = z.object({
  name: id(),
  description: z.string().min(1),
  target: z.discriminatedUnion('kind', [EmbeddedTargetSchema, ExternalTargetSchema]),
  /** Total length of the load (s); the workloads run this long, faults must end before it. */
  durationS: z.number().positive().max(24 * 3600),
  workloads: z.array(WorkloadSchema).min(1),
  faults: z.array(TimelineEntrySchema).default([]),
  /** Length of each recovery phase (s) after a fault is removed (cut at the next fault). */
  recoveryS: z.number().positive().default(10),
  hypotheses: z.array(HypothesisSchema).min(1),
  /** Seed for anything random in the run (run ids, jitter); the manifest records it. */
  seed: z.number().int().optional(),
}).strict();

export type ExperimentInput = z.input<typeof ExperimentSchema>;
export type Experiment = z.output<typeof ExperimentSchema>;
export type Hypothesis = z.output<typeof HypothesisSchema>;
export type ThresholdHypothesis = z.output<typeof ThresholdHypothesisSchema>;
export type RecoversHypothesis = z.output<typeof RecoversHypothesisSchema>;
export type NothingLostHypothesis = z.output<typeof NothingLostHypothesisSchema>;
export type Workload = z.output<typeof WorkloadSchema>;
export type TimelineEntry = z.output<typeof TimelineEntrySchema>;
export type Selector = z.output<typeof SelectorSchema>;

export class ExperimentError extends Error {
  override name = 'ExperimentError';
}

/** `faults[2].startS: Too small: expected number to be >=0` — one line per problem. */
export function formatIssues(where: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${where}: ${i.path.length ? i.path.map((p, n) => (typeof p === 'number' ? `[${p}]` : `${n ? '.' : ''}${String(p)}`)).join('') : '(root)'}: ${i.message}`).join('\n');
}

/**
 * Validate an experiment (structure, then cross-references: unique ids, hypotheses' phases and faults
 * exist, faults end before the load does, nothing-lost names a chat-fanout workload). Throws an
 * ExperimentError whose message names each bad field.
 */
export function validateExperiment(input: unknown, where = 'experiment'): Experiment {
  const r = ExperimentSchema.safeParse(input);
  if (!r.success) throw new ExperimentError(formatIssues(where, r.error.issues));
  const e = r.data;
  const problems: string[] = [];
  const dup = (list: { id: string }[], field: string) => {
    const seen = new Set<string>();
    list.forEach((x, i) => {
      if (seen.has(x.id)) problems.push(`${where}: ${field}[${i}].id: duplicate id "${x.id}"`);
      seen.add(x.id);
    });
  };
  dup(e.workloads, 'workloads');
  dup(e.faults, 'faults');
  dup(e.hypotheses, 'hypotheses');
  const faultIds = new Set(e.faults.map((f) => f.id));
  e.faults.forEach((f, i) => {
    const { startS: _s, durationS: _d, ...spec } = f;
    const fr = FaultSpecSchema.safeParse(spec);
    if (!fr.success) problems.push(formatIssues(where, fr.error.issues.map((x) => ({ ...x, path: ['faults', i, ...x.path] }))));
    if (f.startS + f.durationS > e.durationS) problems.push(`${where}: faults[${i}]: ends at ${f.startS + f.durationS} s, after the load (durationS ${e.durationS})`);
  });
  e.hypotheses.forEach((h, i) => {
    if (h.kind === 'threshold') {
      const m = /^(fault|recovery):(.+)$/.exec(h.phase);
      if (m && m[2] !== '*' && !faultIds.has(m[2]!)) problems.push(`${where}: hypotheses[${i}].phase: no fault "${m[2]}" on the timeline`);
    } else if (h.kind === 'recovers') {
      if (h.fault !== '*' && !faultIds.has(h.fault)) problems.push(`${where}: hypotheses[${i}].fault: no fault "${h.fault}" on the timeline`);
      if (e.faults.length === 0) problems.push(`${where}: hypotheses[${i}]: a recovers hypothesis needs a fault`);
    } else {
      const w = e.workloads.find((x) => x.id === h.workload);
      if (!w) problems.push(`${where}: hypotheses[${i}].workload: no workload "${h.workload}"`);
      else if (w.scenario !== 'chat-fanout') problems.push(`${where}: hypotheses[${i}].workload: "${h.workload}" runs ${w.scenario}, nothing-lost needs chat-fanout`);
    }
  });
  if (problems.length) throw new ExperimentError(problems.join('\n'));
  return e;
}

/** Typed helper for experiment files (`export default defineExperiment({...})`); validates at load. */
export function defineExperiment(input: ExperimentInput): Experiment {
  return validateExperiment(input);
}
