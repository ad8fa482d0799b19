/**
 * An experiment: target + workloads (Jepsen's client + schedule) + fault timeline (nemesis) +
 * hypotheses (checker) and the claims they verify. Written in TypeScript with `defineExperiment`,
 * stored as plain data (the run manifest holds it as JSON, so a run can be replayed).
 */
import { z } from 'zod';
import { PROFILES as LOAD_PROFILES } from '../k6/run.js';
import { FaultSpecSchema } from '../../chaos/spec.js';
import { HypothesisSchema as HypothesisInput } from '../verdicts/kinds/index.js';
import { REFERENCE_PROFILES } from '../util/profiles.js';

const ID = /^[a-z0-9][a-z0-9-]*$/;
const id = () => z.string().regex(ID, 'lower-case letters, digits and dashes');
const tags = z.record(z.string(), z.string());

export { SelectorSchema, type Selector } from '../verdicts/common.js';
export { HypothesisSchema, type Hypothesis, type ThresholdHypothesis, type OutcomesHypothesis, type RecoversHypothesis, type NothingLostHypothesis } from '../verdicts/kinds/index.js';
export { STATS, OPS } from '../verdicts/kinds/threshold.js';
export type { StatName, Op } from '../verdicts/common.js';

export const WorkloadSchema = z.object({
  id: id(),
  /** A scenario in scenarios/ (e.g. probes, chat-fanout, registration), or a k6 script of your own (.js / .mjs / .ts, relative to the experiment file). */
  scenario: z.string().regex(/^(?:[a-z0-9][a-z0-9-]*|.+\.(?:m?js|ts))$/, 'a scenario of scenarios/ (sch scenario list) or a k6 script file (.js, .mjs, .ts)'),
  profile: z.enum(LOAD_PROFILES).default('smoke'),
  /** k6 -e variables (SC_DURATION is set from the experiment's duration unless given). */
  env: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'an upper-case variable name'), z.string()).default({}),
  /**
   * Send from a source address of its own in the lab's network (k6 localIPs): the target sees another
   * client, so a per-client guard this workload trips (a rate-limit burst) never reaches the others.
   */
  ownSourceAddress: z.boolean().default(false),
  /**
   * Spread the load over this many client addresses of its own (k6 localIPs; VUs take them in turn), so a
   * per-client-IP rate limit (params.rateLimitPerMinute) is respected on purpose and never confounds the
   * claims this workload's probes are about. 1 = the one host address every workload shares.
   */
  sourceAddresses: z.number().int().min(1).max(64).default(1),
}).strict();

/**
 * The deployment's own limits: what the harness cannot set on a real deployment but sizes its probes by
 * (the saturation opens twice the socket limit, a rate-limit burst goes past three times the per-IP limit).
 * On the reference target's audited / hardened profiles they are also applied (RATE_LIMIT_PER_MINUTE,
 * WS_MAX_CONNECTIONS); the defaults are the real backend's.
 */
export const DeploymentParamsSchema = z.object({
  /** Requests per minute per client IP at the gateway (the real backend: 100, every route). */
  rateLimitPerMinute: z.number().int().positive().default(100),
  /** Open chat sockets per chat-service instance (the real backend: 1000). */
  wsMaxConnections: z.number().int().positive().default(1000),
}).strict();
export type DeploymentParams = z.output<typeof DeploymentParamsSchema>;

/** A fault on the timeline: when, how long, and what (a chaos/ fault spec, validated by chaos/). */
export const TimelineEntrySchema = z.object({
  id: id(),
  startS: z.number().min(0),
  durationS: z.number().positive(),
}).loose();

export const EmbeddedTargetSchema = z.object({
  kind: z.literal('embedded'),
  profile: z.enum(REFERENCE_PROFILES).default('audited'),
  /** Target process environment (knobs like RATE_LIMIT_PER_MINUTE, single switches SC_SWITCH_*). */
  env: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'an upper-case variable name'), z.string()).default({}),
  services: z.array(z.enum(['auth', 'chat', 'video', 'storage', 'gateway'])).optional(),
}).strict();

export const ExternalTargetSchema = z.object({
  kind: z.literal('external'),
  baseUrl: z.url(),
  /** The Toxiproxy API in front of the deployment's dependencies (needed for Toxiproxy faults). */
  toxiproxyUrl: z.url().optional(),
  /** The video service, where the signaling socket lives (the real gateway does not route it). */
  videoUrl: z.url().optional(),
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
  hypotheses: z.array(HypothesisInput).min(1),
  params: DeploymentParamsSchema.default({ rateLimitPerMinute: 100, wsMaxConnections: 1000 }),
  /** Seed for anything random in the run (run ids, jitter); the manifest records it. */
  seed: z.number().int().optional(),
}).strict();

export type ExperimentInput = z.input<typeof ExperimentSchema>;
export type Experiment = z.output<typeof ExperimentSchema>;
export type Workload = z.output<typeof WorkloadSchema>;
export type TimelineEntry = z.output<typeof TimelineEntrySchema>;

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
  e.workloads.forEach((w, i) => {
    if (w.ownSourceAddress && w.sourceAddresses > 1) problems.push(`${where}: workloads[${i}]: ownSourceAddress and sourceAddresses > 1: say sourceAddresses alone (its addresses are its own)`);
  });
  dup(e.faults, 'faults');
  dup(e.hypotheses, 'hypotheses');
  const faultIds = new Set(e.faults.map((f) => f.id));
  e.faults.forEach((f, i) => {
    const { startS: _s, durationS: _d, ...spec } = f;
    const fr = FaultSpecSchema.safeParse(spec);
    if (!fr.success) problems.push(formatIssues(where, fr.error.issues.map((x) => ({ ...x, path: ['faults', i, ...x.path] }))));
    if (f.startS + f.durationS > e.durationS) problems.push(`${where}: faults[${i}]: ends at ${f.startS + f.durationS} s, after the load (durationS ${e.durationS})`);
  });
  const byId = new Map(e.hypotheses.map((h) => [h.id, h]));
  e.hypotheses.forEach((h, i) => {
    if (h.kind === 'threshold' || h.kind === 'outcomes' || h.kind === 'nothing-lost') {
      const m = /^(fault|recovery):(.+)$/.exec(h.phase);
      if (m && m[2] !== '*' && !faultIds.has(m[2]!)) problems.push(`${where}: hypotheses[${i}].phase: no fault "${m[2]}" on the timeline`);
    }
    if (h.kind === 'recovers') {
      if (h.fault !== '*' && !faultIds.has(h.fault)) problems.push(`${where}: hypotheses[${i}].fault: no fault "${h.fault}" on the timeline`);
      if (e.faults.length === 0) problems.push(`${where}: hypotheses[${i}]: a recovers hypothesis needs a fault`);
    }
    if (h.kind === 'nothing-lost') {
      const w = e.workloads.find((x) => x.id === h.workload);
      if (!w) problems.push(`${where}: hypotheses[${i}].workload: no workload "${h.workload}"`);
      else if (w.scenario !== 'chat-fanout') problems.push(`${where}: hypotheses[${i}].workload: "${h.workload}" runs ${w.scenario}, nothing-lost needs chat-fanout`);
    }
    (h.requires ?? []).forEach((r, j) => {
      const p = byId.get(r);
      if (!p) problems.push(`${where}: hypotheses[${i}].requires[${j}]: no hypothesis "${r}"`);
      else if (p.role !== 'precondition') problems.push(`${where}: hypotheses[${i}].requires[${j}]: "${r}" is not a precondition (role: precondition)`);
    });
    if (h.role === 'precondition' && h.requires) problems.push(`${where}: hypotheses[${i}].requires: only a check relies on preconditions`);
  });
  if (problems.length) throw new ExperimentError(problems.join('\n'));
  return e;
}

/** Typed helper for experiment files (`export default defineExperiment({...})`); validates at load. */
export function defineExperiment(input: ExperimentInput): Experiment {
  return validateExperiment(input);
}
