/**
 * What every hypothesis kind shares: the narrow view of the statistics it reads, the fields every
 * hypothesis has (id, claims, role, expected verdicts), and small helpers. Pure: no I/O.
 */
import { z } from 'zod';
import type { AlertRow, CalibrationResult, FittedTrend, Phase, SeriesSelector, Stats, Verdict } from '../results/model.js';
import type { FanoutData } from '../k6/fanout-checker.js';
import { selectorLabel } from '../results/pipeline.js';
import { phasesMatching } from '../experiment/phases.js';
import { parseDuration } from '../util/duration.js';
import type { MetricsDialect } from '../experiment/server-quantities.js';

/** What the checker needs from the result pipeline. A sample is counted in the phase in which its request started. */
export interface StatsSource {
  stats(selector: SeriesSelector, phaseId: string): Stats;
  windowStats(selector: SeriesSelector, fromMs: number, toMs: number): Stats;
}

export interface EvaluationInput {
  phases: Phase[];
  source: StatsSource;
  /** Per fault id: did it land on the target's path (all calibration rows of the fault ok)? */
  calibration: CalibrationResult[];
  /** Fan-out records and histories per workload id (or why there are none). */
  fanout: Record<string, FanoutData | { error: string }>;
  /** When each applied fault was removed (epoch ms), per id; absent: never applied. */
  removedAtMs: Record<string, number | undefined>;
  runEndMs: number;
  /** Probes whose own setup failed in the workload (probe → why, from its SC_PROBE_SETUP line): their checks are INCONCLUSIVE. */
  setupFailures?: Record<string, string>;
  /**
   * What the load generator's browsers measure (metrics and probes of video workloads): a hypothesis reading them in
   * a phase where the generator's machine had no CPU to spare (`sc_generator_busy`) is INCONCLUSIVE.
   */
  generatorBound?: { metrics: readonly string[]; probes: readonly string[] };
  /** Which names the target's /metrics speaks (server-quantities.ts); absent: the reference target's. */
  dialect?: MetricsDialect;
  /**
   * A run that stopped early (interrupted, or killed and judged up to its checkpoint): the phases it cut before their
   * natural end, 'run' among them (phase id → why; phases.ts cutShortPhases). A hypothesis reading one is INCONCLUSIVE.
   */
  cutShort?: Record<string, string>;
}

/**
 * The generator counts as saturated over a phase when its machine's cores were this busy on average: no headroom
 * left, whoever took it (k6's own advice: watch the generator's CPU; past ~80–90 % its numbers are suspect).
 * Not the browsers' run-queue wait (sc_generator_starved): bench/video-participants.ts saw it at 77–82 % with
 * every stream at 15 fps on a machine shared with other work, so it is reported, not judged by.
 */
export const GENERATOR_SATURATED_BUSY = 0.95;
export const GENERATOR_BUSY_METRIC = 'sc_generator_busy';

const ID = /^[a-z0-9][a-z0-9-]*$/;
export const hypothesisId = () => z.string().regex(ID, 'lower-case letters, digits and dashes');
const VERDICT = z.enum(['PASS', 'FAIL', 'INCONCLUSIVE']);

export const SelectorSchema = z.object({ metric: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a k6 metric name'), tags: z.record(z.string(), z.string()).optional() }).strict();
export type Selector = z.output<typeof SelectorSchema>;

/** A phase pattern: `baseline`, `run`, `fault:<id>`, `recovery:<id>`, `fault:*`, `recovery:*`. */
/** `fault:redis` names every cycle of a repeating fault; `fault:redis#2` its second alone (schedule.ts). */
/** `before-load` / `after-load`: the target observed around the load (an experiment's afterLoadS). */
export const PhasePattern = z.string().regex(/^(baseline|run|before-load|after-load|(fault|recovery):([a-z0-9][a-z0-9-]*(#[1-9]\d*)?|\*))$/, 'baseline | run | before-load | after-load | fault:<id> | recovery:<id> | fault:<id>#<cycle> | fault:* | recovery:*');

/** Fields of every hypothesis. */
export const hypothesisBase = {
  id: hypothesisId(),
  description: z.string().min(1),
  claims: z.array(z.string().regex(/^[A-Z][A-Z0-9-]*$/, 'a claim id from fixtures/claims.yaml (upper case)')).min(1),
  /**
   * `check` decides PASS / FAIL; `precondition` shows the probe worked before the fault — when it does not
   * hold, the checks that rely on it are INCONCLUSIVE (a broken probe proves nothing either way).
   */
  role: z.enum(['check', 'precondition']).default('check'),
  /** For a check: the preconditions it relies on (default: every precondition of its claims). */
  requires: z.array(hypothesisId()).optional(),
  /** The verdict expected on each reference profile (default: PASS for preconditions; the claim's for checks). */
  expected: z.record(z.string(), VERDICT).optional(),
};

export type HypothesisCommon = {
  id: string; description: string; claims: string[]; role: 'check' | 'precondition'; requires?: string[] | undefined; expected?: Record<string, Verdict> | undefined;
};

/** One evaluated hypothesis before claims and roles are applied. */
export interface KindResult {
  verdict: Verdict;
  observed: number | null;
  /** The condition as text. */
  expected: string;
  phase: string;
  evidence: string;
  /** When each alert rule fired (`alerts`), for the report's timeline. */
  timeline?: AlertRow[];
  /** The lines a `no-growth` check fitted, for the report's chart. */
  trends?: FittedTrend[];
}

/** `metric{tag=value,…}`: the same label the pipeline and the report use. */
export const label = (s: SeriesSelector): string => selectorLabel(s);

/**
 * The statistics a hypothesis reads, in k6's names (as in budgets.yaml and k6 thresholds): the percentiles
 * the result pipeline keeps (p(50), p(90), p(95), p(99)), med (= p(50)), avg, min, max; rate (Rate metrics);
 * count; and the harness's own sum and perSecond (Counter metrics, per phase or window).
 */
export const STATS = ['p(50)', 'p(90)', 'p(95)', 'p(99)', 'med', 'avg', 'min', 'max', 'rate', 'count', 'sum', 'perSecond'] as const;
export type StatName = (typeof STATS)[number];

/** The harness's first names, still read (with a deprecation note): experiment files and old runs' manifests use them. */
export const DEPRECATED_STATS = { p50: 'p(50)', p90: 'p(90)', p95: 'p(95)', p99: 'p(99)', mean: 'avg' } as const satisfies Record<string, StatName>;
export type DeprecatedStatName = keyof typeof DEPRECATED_STATS;

export const isDeprecatedStat = (v: unknown): v is DeprecatedStatName => typeof v === 'string' && Object.hasOwn(DEPRECATED_STATS, v);

/** `stat:` of a hypothesis: k6's names; an old name becomes its k6 name (validateExperiment notes the deprecation). */
export const StatSchema = z.enum([...STATS, ...(Object.keys(DEPRECATED_STATS) as DeprecatedStatName[])], {
  error: (i) => (i.input === undefined ? undefined : `expected one of ${STATS.join(', ')} (k6's names; percentiles kept: p(50), p(90), p(95), p(99))`),
}).transform((v): StatName => (isDeprecatedStat(v) ? DEPRECATED_STATS[v] : v)).meta({
  description: `A statistic in k6's names: ${STATS.join(', ')}. Deprecated, still read: ${Object.entries(DEPRECATED_STATS).map(([o, n]) => `${o} (= ${n})`).join(', ')}.`,
});

/** The named statistic, or null when there is nothing to read. A count or sum over no sample is 0. */
export function statValue(s: Stats, stat: StatName): number | null {
  if (s.count === 0) return stat === 'count' || stat === 'sum' ? 0 : null;
  const v = ({ 'p(50)': s.p50, 'p(90)': s.p90, 'p(95)': s.p95, 'p(99)': s.p99, med: s.p50, avg: s.mean, max: s.max, min: s.min, rate: s.rate, count: s.count, sum: s.sum ?? (s.kind === 'counter' ? 0 : undefined), perSecond: s.perSecond } satisfies Record<StatName, number | undefined>)[stat];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** k6's duration grammar as a pattern, for editors (the JSON Schema); parseDuration decides. */
export const DURATION_PATTERN = '^\\s*(?:(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:ns|us|µs|μs|ms|s|m|h|d))+\\s*$|^\\s*(?:\\d+(?:\\.\\d*)?|\\.\\d+)\\s*$';

/**
 * A time in an experiment file: a duration string in k6's grammar ("20s", "1m30s", "500ms") or a plain
 * number of seconds; read as seconds by the repo's one parser (src/util/duration.ts).
 */
export function seconds(o: { min?: number; positive?: boolean; max?: number } = {}) {
  const what = 'a duration like 20s, 1m30s, 500ms, or a number of seconds';
  // A string that is no duration fails the pattern (the union then reports that member's issue): the same words.
  const expected = () => `expected ${what}`;
  return z.union([z.number({ error: expected }), z.string({ error: expected }).regex(new RegExp(DURATION_PATTERN), { error: expected })], { error: expected })
    .transform((v, ctx): number => {
      let s: number;
      try {
        s = parseDuration(v) / 1000;
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `${(e as Error).message}` });
        return z.NEVER;
      }
      if (o.positive && !(s > 0)) ctx.addIssue({ code: 'custom', message: `must be longer than 0 (got ${JSON.stringify(v)})` });
      if (o.min !== undefined && s < o.min) ctx.addIssue({ code: 'custom', message: `must be at least ${o.min} s (got ${JSON.stringify(v)})` });
      if (o.max !== undefined && s > o.max) ctx.addIssue({ code: 'custom', message: `must be at most ${o.max} s (got ${JSON.stringify(v)})` });
      return s;
    })
    .meta({ description: `${what}` });
}

export type Op = '<' | '<=' | '>' | '>=' | '==';
export function compare(a: number, op: Op, b: number): boolean {
  switch (op) {
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    case '>=': return a >= b;
    case '==': return a === b;
  }
}

export const fmt = (v: number, unit: string): string => {
  const n = Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
  return unit === 'ratio' || unit === 'count' ? n : `${n} ${unit}`;
};

/** Worst first: FAIL outranks INCONCLUSIVE outranks PASS. An empty list has no verdict: INCONCLUSIVE. */
const RANK: Record<Verdict, number> = { FAIL: 2, INCONCLUSIVE: 1, PASS: 0 };
export const worst = (vs: Verdict[]): Verdict => (vs.length === 0 ? 'INCONCLUSIVE' : vs.reduce<Verdict>((w, v) => (RANK[v] > RANK[w] ? v : w), 'PASS'));

/** Why a fault's phase proves nothing (its calibration failed), or null. */
export function calibrationProblem(faultId: string | undefined, cal: readonly CalibrationResult[]): string | null {
  if (!faultId) return null;
  const bad = cal.filter((c) => c.faultId === faultId && !c.ok);
  return bad.length ? `fault ${faultId} did not measurably land on the target's path: ${bad.map((c) => `${c.label}: expected ${c.expected}, ${c.detail}`).join('; ')}` : null;
}

/** The attempt marker every probe writes before its request (counted where the request started). */
export const ATTEMPT_METRIC = 'sc_attempt';
/** One sample per answered attempt, tagged with the outcome class. */
export const OUTCOME_METRIC = 'sc_outcome';

/** The attempts behind a selector: a probe's attempt markers when it names a probe, else the selector's own samples. */
export function attemptsSelector(select: Selector, explicit?: Selector): SeriesSelector {
  if (explicit) return explicit;
  const probe = select.tags?.probe;
  return probe ? { metric: ATTEMPT_METRIC, tags: { probe } } : select;
}

/** Per-phase results folded into one: the worst verdict, its phase and number shown, every phase's evidence. */
export function foldPhases(pattern: string, results: { phase: string; verdict: Verdict; observed: number | null; evidence: string }[]): Pick<KindResult, 'verdict' | 'observed' | 'phase' | 'evidence'> {
  const verdict = worst(results.map((r) => r.verdict));
  const shown = results.find((r) => r.verdict === verdict);
  return { verdict, observed: shown?.observed ?? null, phase: results.length === 1 && shown ? shown.phase : pattern, evidence: groupEvidence(results) };
}

/**
 * Every phase's evidence, phases saying the same thing said once: a soak's 30 Redis outages that all read
 * "400/400 deliveries; lost 0 …" give one line naming the phases, not 30 copies.
 */
export function groupEvidence(results: { phase: string; evidence: string }[]): string {
  const groups = new Map<string, string[]>();
  const loose: string[] = [];
  for (const r of results) {
    const prefix = `${r.phase}: `;
    if (!r.evidence.startsWith(prefix)) { loose.push(r.evidence); continue; }
    const body = r.evidence.slice(prefix.length);
    const g = groups.get(body);
    if (g) g.push(r.phase);
    else groups.set(body, [r.phase]);
  }
  const named = [...groups].map(([body, phases]) => `${phases.length > 3 ? `${phases[0]} … ${phases.at(-1)} (${phases.length} phases, each)` : phases.join(', ')}: ${body}`);
  return [...named, ...loose].join('; ');
}

/** The phases a hypothesis' `phase` pattern names; `run` is the whole run (from the first phase's start to the run's end). */
export function phasesFor(pattern: string, i: Pick<EvaluationInput, 'phases' | 'runEndMs'>): { id: string; faultId?: string | undefined; startMs: number; endMs: number }[] {
  if (pattern !== 'run') return phasesMatching(pattern, i.phases);
  // `run` is the load's clock on: the target observed before it (before-load) is not part of it.
  return [{ id: 'run', faultId: undefined, startMs: Math.min(...i.phases.filter((p) => p.kind !== 'before-load').map((p) => p.startMs), i.runEndMs), endMs: i.runEndMs }];
}
