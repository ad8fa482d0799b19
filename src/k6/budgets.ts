import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { HARNESS_ROOT } from '../lab/paths.js';
import { AuditQuotes, auditDir } from '../util/audit-quotes.js';
import { DEPRECATED_STATS, isDeprecatedStat } from '../verdicts/common.js';
import { describeIssues } from '../experiment/issues.js';
import { SFU_STEP_METRICS, isSfuStepMetric, sfuStepStats, type SfuStepMetric } from '../bench/sfu-step.js';

export const BUDGETS_FILE = join(HARNESS_ROOT, 'fixtures', 'budgets.yaml');
/** @deprecated moved to src/util/audit-quotes.ts (use auditDir(), which follows --audit-dir); kept for existing importers. */
export { AUDIT_DIR } from '../util/audit-quotes.js';

export type BudgetOp = '<' | '<=' | '>' | '>=' | '==';
export type BudgetUnit = 'ms' | 'ratio' | 'count';

export interface BudgetSource {
  file: string;
  line: number;
  section: string;
  quote: string;
}

export interface Budget {
  metric: string;
  /** p(NN) | avg | med | min | max | rate | count */
  stat: string;
  op: BudgetOp;
  value: number;
  unit: BudgetUnit;
  /** The metric may have no samples in a run (e.g. a path only some settings take): then not judged. Default false: no data crosses the budget. */
  optional: boolean;
  source: BudgetSource;
}

export interface ScenarioBudgets {
  /** Budgets on the whole run's metrics. */
  scenario: Budget[];
  /** Budgets on one step: the metric tagged {step:<name>}. */
  steps: Record<string, Budget[]>;
}

/** A knee budget of the SFU benchmark: a Budget on one of the step's measurements (src/bench/sfu-step.ts). */
export interface SfuKneeBudget extends Budget {
  metric: SfuStepMetric;
}

/** The SFU capacity benchmark's budgets (`benches.sfu`). */
export interface SfuBenchBudgets {
  /** A step where any of these does not hold is past the knee. */
  knee: SfuKneeBudget[];
  /** A step where the load generator used more than this share of its core says nothing about the SFU. */
  generatorCpuMax: number;
  /** `--baseline`: a capacity lower than the baseline's by more than this share fails. */
  baselineTolerance: number;
  /** A step where the SFU worker waited for its core more than this share of the window is INCONCLUSIVE (default 0.05). */
  workerWaitMax?: number;
  /** A step where the generator's event loop was late by more than this (p99, ms) is INCONCLUSIVE (default 25). */
  generatorLagMaxMs?: number;
}

export interface BudgetsFile {
  version: 1;
  scenarios: Record<string, ScenarioBudgets>;
  /** Benchmarks' budgets (`sch bench …`), not k6 thresholds. */
  benches?: { sfu?: SfuBenchBudgets };
}

/** k6 `thresholds`: metric (optionally with a tag selector) → threshold expressions. */
export type K6Thresholds = Record<string, string[]>;

export class BudgetError extends Error {
  override name = 'BudgetError';
}

const OPS = ['<', '<=', '>', '>=', '=='] as const satisfies readonly BudgetOp[];
const UNITS = ['ms', 'ratio', 'count'] as const satisfies readonly BudgetUnit[];
/** k6's threshold statistics: p(N), avg, med, min, max (Trend), rate (Rate), count (Counter), value (Gauge). */
const STAT = /^(p\((\d{1,2}(\.\d+)?|100)\)|avg|med|min|max|rate|count|value)$/;
const METRIC = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TAG_VALUE = /^[A-Za-z0-9_.-]+$/;

const got = (v: unknown): string => `(got ${JSON.stringify(v)})`;
/** A schema message that shows what the file said. */
const says = (text: string) => ({ error: (i: { input?: unknown }) => `${text} ${got(i.input)}` });
const mapping = (text: string) => ({ error: (i: { code?: string }) => (i.code === 'invalid_type' ? text : undefined) });
const nonEmpty = z.string({ error: 'must be a non-empty string' }).refine((v) => v.trim() !== '', 'must be a non-empty string');

const BudgetSourceSchema = z.object({
  file: z.string(says('must be an audit file name')).regex(/^[\w.-]+\.txt$/, says('must be an audit file name')),
  line: z.number(says('must be a line number ≥ 1')).int(says('must be a line number ≥ 1')).min(1, says('must be a line number ≥ 1')),
  section: nonEmpty,
  quote: nonEmpty,
}, mapping('must name the audit it comes from: { file, line, section, quote }')).strict();

const statError = (i: { input?: unknown }) => `must be p(NN), avg, med, min, max, rate, count or value — k6's names, as experiments use them ${got(i.input)}${isDeprecatedStat(i.input) ? `: write ${DEPRECATED_STATS[i.input]}` : ''}`;

const BudgetSchema = z.object({
  metric: z.string(says('must be a k6 metric name')).regex(METRIC, says('must be a k6 metric name')),
  stat: z.string({ error: statError }).regex(STAT, { error: statError }),
  op: z.enum(OPS, says(`must be one of ${OPS.join(' ')}`)),
  value: z.number(says('must be a finite number')),
  unit: z.enum(UNITS, says(`must be one of ${UNITS.join(', ')}`)),
  /** The metric may have no samples in a run: then not judged. */
  optional: z.boolean(says('must be true or false')).optional(),
  source: BudgetSourceSchema,
}, mapping('must be a mapping')).strict().superRefine((b, ctx) => {
  if (b.unit === 'ratio' && (b.value < 0 || b.value > 1)) ctx.addIssue({ code: 'custom', path: ['value'], message: `a ratio must be within 0..1 (got ${b.value})` });
  if ((b.unit === 'ms' || b.unit === 'count') && b.value < 0) ctx.addIssue({ code: 'custom', path: ['value'], message: `must not be negative (got ${b.value})` });
  if (b.stat === 'rate' && b.unit !== 'ratio') ctx.addIssue({ code: 'custom', path: ['unit'], message: 'a rate is a ratio' });
});

const BudgetListSchema = z.array(BudgetSchema, { error: 'must be a list of budgets' });

const ScenarioBudgetsSchema = z.object({
  /** Budgets on the whole run's metrics. */
  scenario: BudgetListSchema.optional(),
  /** Budgets on one step: the metric tagged {step:<name>}. */
  steps: z.record(z.string().regex(TAG_VALUE, 'a step tag may only use letters, digits, _ . -'), BudgetListSchema, mapping('must be a mapping of step tag → budgets')).optional(),
}, mapping('must be a mapping with `scenario` and/or `steps`')).strict();

const share = (text: string) => z.number(says(text)).min(0, says(text)).max(1, says(text));

/** A knee budget names one of the step's measurements, with a stat the step has for it. */
const SfuKneeBudgetSchema = BudgetSchema.superRefine((b, ctx) => {
  if (!isSfuStepMetric(b.metric)) ctx.addIssue({ code: 'custom', path: ['metric'], message: `must be one of the SFU step's measurements: ${Object.keys(SFU_STEP_METRICS).join(', ')} (got ${JSON.stringify(b.metric)})` });
  else if (!sfuStepStats(b.metric).includes(b.stat)) ctx.addIssue({ code: 'custom', path: ['stat'], message: `${b.metric} has ${sfuStepStats(b.metric).join(', ')} (got ${JSON.stringify(b.stat)})` });
});

const SfuBenchSchema = z.object({
  /** A step where any of these does not hold is past the knee. */
  knee: z.array(SfuKneeBudgetSchema, { error: 'must be a list of budgets' }).min(1, 'needs at least one budget'),
  /** A step where the load generator used more than this share of its core says nothing about the SFU. */
  generatorCpuMax: share('must be a share of one core, 0..1'),
  /** `--baseline`: a capacity lower than the baseline's by more than this share fails. */
  baselineTolerance: share('must be a share, 0..1'),
  /** A step where the SFU worker waited for its core more than this share of the window says nothing about the SFU alone. */
  workerWaitMax: share('must be a share of the window, 0..1').optional(),
  /** A step where the generator's event loop was late by more than this (p99, ms) measured its own delay. */
  generatorLagMaxMs: z.number(says('must be milliseconds')).positive(says('must be positive')).optional(),
}, mapping('must be a mapping with knee, generatorCpuMax, baselineTolerance (workerWaitMax, generatorLagMaxMs optional)')).strict();

/** fixtures/budgets.yaml (schemas/budgets.schema.json is generated from this). */
export const BudgetsFileSchema = z.object({
  version: z.literal(1, says('must be 1')),
  /** YAML anchors of the audit lines the budgets quote (`source: *latency`). */
  sources: z.record(z.string(), BudgetSourceSchema).optional(),
  scenarios: z.record(z.string(), ScenarioBudgetsSchema, mapping('must be a mapping of scenario name → budgets')),
  /** Benchmarks' budgets (`sch bench …`): what a step of the benchmark must keep, not k6 thresholds. */
  benches: z.object({ sfu: SfuBenchSchema.optional() }, mapping('must be a mapping of benchmark → budgets')).strict().optional(),
}, mapping('must be a mapping')).strict();

/** Load and validate the budgets file; any malformed field → a BudgetError naming the file and the field path. */
export function loadBudgets(file: string = BUDGETS_FILE): BudgetsFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new BudgetError(`${file}: cannot read: ${(e as Error).message}`);
  }
  return parseBudgets(text, file);
}

/** Validate budgets from YAML text; `file` names the source in errors (one line per problem). */
export function parseBudgets(text: string, file: string): BudgetsFile {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new BudgetError(`${file}: not valid YAML: ${(e as Error).message}`);
  }
  const r = BudgetsFileSchema.safeParse(doc);
  if (!r.success) throw new BudgetError(describeIssues(file, r.error.issues, BudgetsFileSchema, doc).join('\n'));
  const scenarios: Record<string, ScenarioBudgets> = {};
  for (const [name, s] of Object.entries(r.data.scenarios)) {
    const list = (bs: z.output<typeof BudgetListSchema> | undefined): Budget[] => (bs ?? []).map((b) => ({ ...b, optional: b.optional === true }));
    scenarios[name] = { scenario: list(s.scenario), steps: Object.fromEntries(Object.entries(s.steps ?? {}).map(([step, bs]) => [step, list(bs)])) };
  }
  const sfu = r.data.benches?.sfu;
  return {
    version: 1,
    scenarios,
    ...(sfu ? { benches: { sfu: { ...sfu, knee: sfu.knee.map((b) => ({ ...b, metric: b.metric as SfuStepMetric, optional: b.optional === true })) } } } : {}),
  };
}

/** The SFU benchmark's budgets; a file without them → a BudgetError naming the section. */
export function sfuBenchBudgets(budgets: BudgetsFile, file: string = BUDGETS_FILE): SfuBenchBudgets {
  const b = budgets.benches?.sfu;
  if (!b) throw new BudgetError(`${file}: no benches.sfu budgets (the SFU benchmark's knee thresholds)`);
  return b;
}

/** A budget as a k6 threshold expression, e.g. `p(95)<1000`, `rate<0.05`. */
export function thresholdExpression(b: Budget): string {
  return `${b.stat}${b.op}${b.value}`;
}

/** One k6 threshold of a scenario: its metric selector and expression, and whether the metric may lack data. */
export interface ThresholdSpec {
  /** `metric` or `metric{step:<step>}`. */
  selector: string;
  expression: string;
  /** Every budget behind this threshold is optional (one that is not demands data). */
  optional: boolean;
}

/** The thresholds of one scenario, one entry per (selector, expression); an unknown scenario → a BudgetError naming it. */
export function thresholdSpecs(budgets: BudgetsFile, scenario: string): ThresholdSpec[] {
  const s = budgets.scenarios[scenario];
  if (!s) throw new BudgetError(`no budgets for scenario "${scenario}" (known: ${Object.keys(budgets.scenarios).join(', ') || 'none'})`);
  const out: ThresholdSpec[] = [];
  const add = (selector: string, b: Budget) => {
    const expression = thresholdExpression(b);
    const prev = out.find((t) => t.selector === selector && t.expression === expression);
    if (prev) prev.optional &&= b.optional;
    else out.push({ selector, expression, optional: b.optional });
  };
  for (const b of s.scenario) add(b.metric, b);
  for (const [step, list] of Object.entries(s.steps)) for (const b of list) add(`${b.metric}{step:${step}}`, b);
  return out;
}

/** The k6 `thresholds` for one scenario; an unknown scenario → an Error naming it. */
export function thresholdsFor(budgets: BudgetsFile, scenario: string): K6Thresholds {
  const out: K6Thresholds = {};
  for (const t of thresholdSpecs(budgets, scenario)) (out[t.selector] ??= []).push(t.expression);
  return out;
}


/**
 * Check each budget's source against the audit: the quoted text is on the named line (compared without
 * non-ASCII characters and with whitespace collapsed). Returns one message per mismatch; audits absent
 * from `auditDir` are reported too.
 */
export function verifySources(budgets: BudgetsFile, dir: string = auditDir()): string[] {
  const problems: string[] = [];
  const quotes = new AuditQuotes(dir);
  for (const [name, s] of Object.entries(budgets.scenarios)) {
    const all: [string, Budget][] = [
      ...s.scenario.map((b, i): [string, Budget] => [`scenarios.${name}.scenario[${i}]`, b]),
      ...Object.entries(s.steps).flatMap(([step, list]) => list.map((b, i): [string, Budget] => [`scenarios.${name}.steps.${step}[${i}]`, b])),
    ];
    for (const [path, b] of all) {
      const p = quotes.problem(b.source);
      if (p) problems.push(`${path}: ${p}`);
    }
  }
  for (const [i, b] of (budgets.benches?.sfu?.knee ?? []).entries()) {
    const p = quotes.problem(b.source);
    if (p) problems.push(`benches.sfu.knee[${i}]: ${p}`);
  }
  return problems;
}
