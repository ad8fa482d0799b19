/**
 * An experiment: target + workloads (Jepsen's client + schedule) + fault timeline (nemesis) +
 * hypotheses (checker) and the claims they verify. Written in TypeScript with `defineExperiment`,
 * stored as plain data (the run manifest holds it as JSON, so a run can be replayed).
 */
import { z } from 'zod';
import { PROFILES as LOAD_PROFILES } from '../k6/run.js';
import { FaultSpecSchema } from '../../chaos/spec.js';
import { SPEC_KINDS, type MECHANISMS, type Mechanism } from '../../chaos/mechanisms.js';
import { NAMED_FAULT_NAMES } from '../../chaos/named.js';
import { HYPOTHESIS_KINDS, HypothesisSchema as HypothesisInput } from '../verdicts/kinds/index.js';
import { DEPRECATED_STATS, isDeprecatedStat, seconds } from '../verdicts/common.js';
import { REFERENCE_PROFILES } from '../util/profiles.js';
import { describeIssues } from './issues.js';
import { cycleCount, scheduleProblems } from './schedule.js';
import { VIDEO_DEFAULTS, VideoOptionsSchema } from '../media/video-spec.js';
import { redact } from '../util/redact.js';

const ID = /^[a-z0-9][a-z0-9-]*$/;
const id = () => z.string().regex(ID, 'lower-case letters, digits and dashes');
const tags = z.record(z.string(), z.string());

export { SelectorSchema, type Selector } from '../verdicts/common.js';
export { HypothesisSchema, type Hypothesis, type ThresholdHypothesis, type OutcomesHypothesis, type RecoversHypothesis, type NothingLostHypothesis } from '../verdicts/kinds/index.js';
export { STATS, OPS } from '../verdicts/kinds/threshold.js';
export { DEPRECATED_STATS } from '../verdicts/common.js';
export type { StatName, Op } from '../verdicts/common.js';

/** A k6 workload: a scenario of scenarios/ or a k6 script of your own. Without `kind`, a workload is this. */
export const K6WorkloadSchema = z.object({
  id: id(),
  kind: z.literal('k6'),
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
  /**
   * Split the workload over this many load generators (k6 execution segments; each in a network namespace of
   * its own on the lab's network, as separate hosts would be): together exactly the planned load, setup()
   * run once for all. `sch run --generators N` sets it for every workload.
   */
  generators: z.number().int().min(1).max(8).default(1),
  /**
   * Where its requests enter: `gateway` (straight to it, as the harness always did) or `edge`, the lab's nginx in
   * front of it (target.edge), over the URL the profile's clients use (HTTPS with the lab certificate on hardened).
   */
  via: z.enum(['gateway', 'edge']).default('gateway'),
}).strict();

/** A video workload: browser participants in one call (src/media/video-workload.ts); its samples are read as a k6 workload's. */
export const VideoWorkloadSchema = z.object({
  id: id(),
  kind: z.literal('video'),
  video: VideoOptionsSchema.default(VIDEO_DEFAULTS),
}).strict();

/** `kind` picks the schema (k6 without it), so an error names the field of that kind. */
export const WorkloadSchema = z.preprocess(
  (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) && !('kind' in v) ? { ...v, kind: 'k6' } : v),
  z.discriminatedUnion('kind', [K6WorkloadSchema, VideoWorkloadSchema]),
);

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

/** The spec keys of the fault mechanisms (`toxic`, `proxyDown`, `udp`, `process`), from the registry. */
type MechanismKey = (typeof MECHANISMS)[number] extends infer M ? (M extends Mechanism<infer S> ? keyof S & string : never) : never;
const mechanismKeys = Object.fromEntries(SPEC_KINDS.map((k) => [k.key, k.kind.schema.optional()])) as { [K in MechanismKey]: z.ZodOptional<z.ZodType<unknown>> };

/**
 * A fault on the timeline: when, how long, and what — a named fault (`fault:` + `params:`) or exactly one
 * mechanism action (`toxic:`, `proxyDown:`, `udp:`, `process:`; chaos/mechanisms.ts). The keys are listed
 * here (so a typo is named with its nearest key, and editors complete them); chaos/spec.ts' FaultSpecSchema
 * then checks "exactly one" and the named fault's params.
 */
export const TimelineEntrySchema = z.object({
  id: id(),
  /** When the fault is applied, from the load's start. */
  startS: seconds({ min: 0 }),
  /** How long it stays on (each cycle, when it repeats). */
  durationS: seconds({ positive: true }),
  /** Repeat: a cycle starts every so long from startS (longer than durationS + jitterS: cycles never overlap). */
  everyS: seconds({ positive: true }).optional(),
  /** How many cycles (with everyS); default: as many as end before the load does — `--duration 2h` fills two hours. */
  cycles: z.number().int().min(1).max(100_000).optional(),
  /** Each start shifted later by up to this much, drawn from the experiment's seed (the manifest's: a replay keeps the schedule). */
  jitterS: seconds({ min: 0 }).optional(),
  fault: z.enum(NAMED_FAULT_NAMES).optional().meta({ description: 'a named fault (chaos/named.ts; `sch list`)' }),
  params: z.record(z.string(), z.unknown()).optional().meta({ description: 'the named fault\'s parameters (e.g. latencyMs, jitterMs, percent)' }),
}).extend(mechanismKeys).strict();

export const EmbeddedTargetSchema = z.object({
  kind: z.literal('embedded'),
  profile: z.enum(REFERENCE_PROFILES).default('audited'),
  /** Target process environment (knobs like RATE_LIMIT_PER_MINUTE, single switches SC_SWITCH_*). */
  env: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'an upper-case variable name'), z.string()).default({}),
  services: z.array(z.enum(['auth', 'chat', 'video', 'storage', 'gateway'])).optional(),
  /** The lab's public entry (nginx) in front of the gateway, configured for the profile; workloads get SC_EDGE_* URLs. */
  edge: z.boolean().optional().meta({ description: 'put the lab\'s nginx in front of the gateway (workloads get SC_EDGE_URL, SC_EDGE_PLAIN_URL, SC_EDGE_TLS_URL; k6 trusts the lab certificate through SSL_CERT_FILE)' }),
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
  /** The JSON Schema an editor validates this file with (JSON files; YAML files use a `# yaml-language-server: $schema=…` comment). */
  $schema: z.string().optional(),
  name: id(),
  description: z.string().min(1),
  target: z.discriminatedUnion('kind', [EmbeddedTargetSchema, ExternalTargetSchema]),
  /** Total length of the load ("20s", "1m30s", or seconds); the workloads run this long, faults must end before it. */
  durationS: seconds({ positive: true, max: 24 * 3600 }),
  workloads: z.array(WorkloadSchema).min(1),
  faults: z.array(TimelineEntrySchema).default([]),
  /** Length of each recovery phase (s) after a fault is removed (cut at the next fault). */
  recoveryS: seconds({ positive: true }).default(10),
  hypotheses: z.array(HypothesisInput).min(1),
  /**
   * Observe the target beyond the load: its own metrics are read from before the workloads start (phase
   * `before-load`) until this long after they end (phase `after-load`), so a level can be seen to come back
   * (returns-to-baseline). 0: neither phase, the run ends with the load.
   */
  afterLoadS: seconds({ min: 0, max: 600 }).default(0),
  params: DeploymentParamsSchema.default({ rateLimitPerMinute: 100, wsMaxConnections: 1000 }),
  /** Seed for anything random in the run (run ids, jitter); the manifest records it. */
  seed: z.number().int().optional(),
}).strict();

export type ExperimentInput = z.input<typeof ExperimentSchema>;
export type Experiment = z.output<typeof ExperimentSchema>;
export type Workload = z.output<typeof WorkloadSchema>;
export type K6Workload = z.output<typeof K6WorkloadSchema>;
export type VideoWorkload = z.output<typeof VideoWorkloadSchema>;
export type TimelineEntry = z.output<typeof TimelineEntrySchema>;

/** A timeline entry's fault spec (chaos/spec.ts): the entry without its timing. */
export function faultSpec(f: TimelineEntry): Record<string, unknown> {
  const { startS: _s, durationS: _d, everyS: _e, cycles: _c, jitterS: _j, ...spec } = f;
  return spec;
}

export class ExperimentError extends Error {
  override name = 'ExperimentError';
}

/** `faults[2].startS: Too small: expected number to be >=0` — one line per problem (history files use it too). */
export function formatIssues(where: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${where}: ${i.path.length ? i.path.map((p, n) => (typeof p === 'number' ? `[${p}]` : `${n ? '.' : ''}${String(p)}`)).join('') : '(root)'}: ${i.message}`).join('\n');
}

export interface ExperimentCheck {
  /** Absent when there are errors. */
  experiment?: Experiment;
  /** One line per problem, each naming its field: `<where>: hypotheses[0].stat: …`. */
  errors: string[];
  /** Accepted but deprecated (old statistic names): one line per old name, with where it was used. */
  warnings: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The fields of each hypothesis kind but threshold (the kind a hypothesis without `kind` gets). */
const KIND_FIELDS: Record<string, readonly string[]> = Object.fromEntries(
  HYPOTHESIS_KINDS.filter((k) => k.kind !== 'threshold').map((k) => [k.kind, Object.keys(k.schema.shape).filter((f) => !['kind', 'id', 'description', 'claims', 'role', 'requires', 'expected', 'phase', 'select', 'stat', 'minAttempts'].includes(f))]),
);

/** A field of another kind in a hypothesis without `kind` (read as a threshold): say which kind it belongs to. */
function kindHint(input: unknown, path: readonly PropertyKey[], key: string): string | undefined {
  if (path.length !== 2 || path[0] !== 'hypotheses' || !isObj(input) || !Array.isArray(input.hypotheses)) return undefined;
  const h: unknown = input.hypotheses[path[1] as number];
  if (!isObj(h) || h.kind !== undefined) return undefined;
  const kind = Object.keys(KIND_FIELDS).find((k) => KIND_FIELDS[k]!.includes(key));
  return kind ? `: a field of kind ${kind} — without \`kind\` a hypothesis is a threshold; add kind: ${kind}` : undefined;
}

/** Old statistic names in the hypotheses: one warning per name, listing where. */
function deprecations(input: unknown, where: string): string[] {
  if (!isObj(input) || !Array.isArray(input.hypotheses)) return [];
  const used = new Map<string, string[]>();
  input.hypotheses.forEach((h: unknown, i) => {
    if (isObj(h) && isDeprecatedStat(h.stat)) used.set(h.stat, [...(used.get(h.stat) ?? []), `hypotheses[${i}].stat`]);
  });
  return [...used].map(([old, at]) => `${where}: stat "${old}" is deprecated: write "${DEPRECATED_STATS[old as keyof typeof DEPRECATED_STATS]}", k6's name, as budgets.yaml does (${at.join(', ')})`);
}

/**
 * Check an experiment without throwing: structure (every message names its field and the nearest valid
 * key or value), then cross-references (unique ids, hypotheses' phases and faults exist, faults end before
 * the load does, nothing-lost names a chat-fanout workload).
 */
export function checkExperiment(input: unknown, where = 'experiment'): ExperimentCheck {
  const warnings = deprecations(input, where);
  const r = ExperimentSchema.safeParse(input);
  if (!r.success) {
    const hinted = new Set<number>();
    const errors = describeIssues(where, r.error.issues, ExperimentSchema, input, {
      aliases: DEPRECATED_STATS,
      unknownKeyHint: (path, key) => {
        const hint = kindHint(input, path, key);
        if (hint) hinted.add(path[1] as number);
        return hint;
      },
    });
    // A hypothesis missing its `kind` is told so: the threshold fields it then lacks are noise.
    const noise = (l: string) => [...hinted].some((n) => l.startsWith(`${where}: hypotheses[${n}].`) && /: missing\b/.test(l));
    return { errors: errors.filter((l) => !noise(l)), warnings };
  }
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
    if (w.kind === 'k6' && w.ownSourceAddress && w.sourceAddresses > 1) problems.push(`${where}: workloads[${i}]: ownSourceAddress and sourceAddresses > 1: say sourceAddresses alone (its addresses are its own)`);
    if (w.kind === 'k6' && w.via === 'edge' && !(e.target.kind === 'embedded' && e.target.edge)) problems.push(`${where}: workloads[${i}].via: edge needs the lab's public entry in front of the target (target.edge: true, an embedded target)`);
    if (w.kind === 'k6' && w.generators > 1 && Math.ceil(w.sourceAddresses / w.generators) > 29) problems.push(`${where}: workloads[${i}].sourceAddresses: ${w.sourceAddresses} over ${w.generators} generators is ${Math.ceil(w.sourceAddresses / w.generators)} each: at most 29 per generator`);
  });
  dup(e.faults, 'faults');
  dup(e.hypotheses, 'hypotheses');
  const faultIds = new Set(e.faults.map((f) => f.id));
  e.faults.forEach((f, i) => {
    const fr = FaultSpecSchema.safeParse(faultSpec(f));
    if (!fr.success) problems.push(...describeIssues(where, fr.error.issues, FaultSpecSchema, faultSpec(f), { prefix: ['faults', i] }));
    for (const [field, message] of scheduleProblems(f, e.durationS)) problems.push(`${where}: faults[${i}]${field ? `.${field}` : ''}: ${message}`);
  });
  const cycles = new Map(e.faults.map((f) => [f.id, f.everyS === undefined ? 0 : cycleCount(f, e.durationS)]));
  /** `redis` or, for a repeating fault, one of its cycles: `redis#2`. */
  const knownFault = (id: string): boolean => {
    const m = /^(.+)#(\d+)$/.exec(id);
    return m ? Number(m[2]) >= 1 && Number(m[2]) <= (cycles.get(m[1]!) ?? 0) : faultIds.has(id);
  };
  const byId = new Map(e.hypotheses.map((h) => [h.id, h]));
  e.hypotheses.forEach((h, i) => {
    if (h.kind === 'threshold' || h.kind === 'outcomes' || h.kind === 'nothing-lost' || h.kind === 'drift' || h.kind === 'server-agrees') {
      const m = /^(fault|recovery):(.+)$/.exec(h.phase);
      if (m && m[2] !== '*' && !knownFault(m[2]!)) problems.push(`${where}: hypotheses[${i}].phase: no fault "${m[2]}" on the timeline${faultIds.size ? ` (faults: ${[...faultIds].join(', ')})` : ''}`);
    }
    if (h.kind === 'returns-to-baseline' && e.afterLoadS === 0) problems.push(`${where}: hypotheses[${i}]: returns-to-baseline compares the level before the load with the level after it: set afterLoadS (e.g. 8s) so the target is observed around the load`);
    if (h.kind === 'recovers') {
      if (h.fault !== '*' && !knownFault(h.fault)) problems.push(`${where}: hypotheses[${i}].fault: no fault "${h.fault}" on the timeline`);
      if (e.faults.length === 0) problems.push(`${where}: hypotheses[${i}]: a recovers hypothesis needs a fault`);
    }
    if (h.kind === 'alerts') {
      for (const f of Object.keys(h.shouldFire)) if (!knownFault(f)) problems.push(`${where}: hypotheses[${i}].shouldFire: no fault "${f}" on the timeline${faultIds.size ? ` (faults: ${[...faultIds].join(', ')})` : ''}`);
    }
    if (h.kind === 'nothing-lost') {
      const w = e.workloads.find((x) => x.id === h.workload);
      if (!w) problems.push(`${where}: hypotheses[${i}].workload: no workload "${h.workload}"`);
      else if (w.kind !== 'k6' || w.scenario !== 'chat-fanout') problems.push(`${where}: hypotheses[${i}].workload: "${h.workload}" runs ${w.kind === 'k6' ? w.scenario : 'a video call'}, nothing-lost needs chat-fanout`);
    }
    (h.requires ?? []).forEach((r, j) => {
      const p = byId.get(r);
      if (!p) problems.push(`${where}: hypotheses[${i}].requires[${j}]: no hypothesis "${r}"`);
      else if (p.role !== 'precondition') problems.push(`${where}: hypotheses[${i}].requires[${j}]: "${r}" is not a precondition (role: precondition)`);
    });
    if (h.role === 'precondition' && h.requires) problems.push(`${where}: hypotheses[${i}].requires: only a check relies on preconditions`);
  });
  return problems.length ? { errors: problems, warnings } : { experiment: e, errors: [], warnings };
}

/** Deprecation notes already printed by this process: each once. */
const noted = new Set<string>();
/** Where notes go: stderr at once (a run refused right after still shows them), or a command's own printer. */
let sink: (warning: string) => void = (w) => process.stderr.write(`warning: ${redact(w)}\n`);

/** Route deprecation notes (e.g. `sch validate` prints them as `warning:` lines); returns the previous sink. */
export function setWarningSink(f: (warning: string) => void): (warning: string) => void {
  const prev = sink;
  sink = f;
  return prev;
}

/** Print each warning once per process (the same old name in the same file is not repeated). */
export function noteWarnings(warnings: readonly string[]): void {
  for (const w of warnings) {
    const key = w.replace(/ \(hypotheses\[.*$/, '');
    if (noted.has(key)) continue;
    noted.add(key);
    sink(w);
  }
}

/**
 * Validate an experiment (checkExperiment); throws an ExperimentError whose message names each bad field.
 * Deprecations are printed once (noteWarnings), not refused.
 */
export function validateExperiment(input: unknown, where = 'experiment'): Experiment {
  const c = checkExperiment(input, where);
  noteWarnings(c.warnings);
  if (!c.experiment) throw new ExperimentError(c.errors.join('\n'));
  return c.experiment;
}

/** Typed helper for experiment files (`export default defineExperiment({...})`); validates at load. */
export function defineExperiment(input: ExperimentInput): Experiment {
  return validateExperiment(input);
}
