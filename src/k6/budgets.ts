import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { HARNESS_ROOT } from '../lab/paths.js';
import { AuditQuotes, auditDir } from '../util/audit-quotes.js';

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

export interface BudgetsFile {
  version: 1;
  scenarios: Record<string, ScenarioBudgets>;
}

/** k6 `thresholds`: metric (optionally with a tag selector) → threshold expressions. */
export type K6Thresholds = Record<string, string[]>;

export class BudgetError extends Error {
  override name = 'BudgetError';
}

const OPS: readonly BudgetOp[] = ['<', '<=', '>', '>=', '=='];
const UNITS: readonly BudgetUnit[] = ['ms', 'ratio', 'count'];
const STAT = /^(p\((\d{1,2}(\.\d+)?|100)\)|avg|med|min|max|rate|count|value)$/;
const METRIC = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TAG_VALUE = /^[A-Za-z0-9_.-]+$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

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

/** Validate budgets from YAML text; `file` names the source in errors. */
export function parseBudgets(text: string, file: string): BudgetsFile {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new BudgetError(`${file}: not valid YAML: ${(e as Error).message}`);
  }
  const bad = (path: string, msg: string): never => {
    throw new BudgetError(`${file}: ${path}: ${msg}`);
  };
  if (!isObj(doc)) bad('(root)', 'must be a mapping');
  const root = doc as Obj;
  if (root.version !== 1) bad('version', `must be 1 (got ${JSON.stringify(root.version)})`);
  if (!isObj(root.scenarios)) bad('scenarios', 'must be a mapping of scenario name → budgets');
  const scenarios: Record<string, ScenarioBudgets> = {};
  for (const [name, raw] of Object.entries(root.scenarios as Obj)) {
    const p = `scenarios.${name}`;
    if (!isObj(raw)) bad(p, 'must be a mapping with `scenario` and/or `steps`');
    const s = raw as Obj;
    for (const k of Object.keys(s)) if (k !== 'scenario' && k !== 'steps') bad(`${p}.${k}`, 'unknown field (expected scenario, steps)');
    const scenario = s.scenario === undefined ? [] : budgetList(s.scenario, `${p}.scenario`, bad);
    const steps: Record<string, Budget[]> = {};
    if (s.steps !== undefined) {
      if (!isObj(s.steps)) bad(`${p}.steps`, 'must be a mapping of step tag → budgets');
      for (const [step, list] of Object.entries(s.steps as Obj)) {
        if (!TAG_VALUE.test(step)) bad(`${p}.steps.${step}`, 'a step tag may only use letters, digits, _ . -');
        steps[step] = budgetList(list, `${p}.steps.${step}`, bad);
      }
    }
    scenarios[name] = { scenario, steps };
  }
  return { version: 1, scenarios };
}

function budgetList(v: unknown, path: string, bad: (path: string, msg: string) => never): Budget[] {
  if (!Array.isArray(v)) return bad(path, 'must be a list of budgets');
  return v.map((b, i) => budget(b, `${path}[${i}]`, bad));
}

function budget(v: unknown, path: string, bad: (path: string, msg: string) => never): Budget {
  if (!isObj(v)) return bad(path, 'must be a mapping');
  const known = ['metric', 'stat', 'op', 'value', 'unit', 'optional', 'source'];
  for (const k of Object.keys(v)) if (!known.includes(k)) bad(`${path}.${k}`, `unknown field (expected ${known.join(', ')})`);
  const { metric, stat, op, value, unit, optional, source } = v;
  if (typeof metric !== 'string' || !METRIC.test(metric)) bad(`${path}.metric`, `must be a k6 metric name (got ${JSON.stringify(metric)})`);
  if (typeof stat !== 'string' || !STAT.test(stat)) bad(`${path}.stat`, `must be p(NN), avg, med, min, max, rate, count or value (got ${JSON.stringify(stat)})`);
  if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op)) bad(`${path}.op`, `must be one of ${OPS.join(' ')} (got ${JSON.stringify(op)})`);
  if (typeof value !== 'number' || !Number.isFinite(value)) bad(`${path}.value`, `must be a finite number (got ${JSON.stringify(value)})`);
  if (typeof unit !== 'string' || !(UNITS as readonly string[]).includes(unit)) bad(`${path}.unit`, `must be one of ${UNITS.join(', ')} (got ${JSON.stringify(unit)})`);
  const n = value as number;
  if (unit === 'ratio' && (n < 0 || n > 1)) bad(`${path}.value`, `a ratio must be within 0..1 (got ${n})`);
  if ((unit === 'ms' || unit === 'count') && n < 0) bad(`${path}.value`, `must not be negative (got ${n})`);
  if (stat === 'rate' && unit !== 'ratio') bad(`${path}.unit`, 'a rate is a ratio');
  if (optional !== undefined && typeof optional !== 'boolean') bad(`${path}.optional`, `must be true or false (got ${JSON.stringify(optional)})`);
  return {
    metric: metric as string, stat: stat as string, op: op as BudgetOp, value: n, unit: unit as BudgetUnit,
    optional: optional === true, source: budgetSource(source, `${path}.source`, bad),
  };
}

function budgetSource(v: unknown, path: string, bad: (path: string, msg: string) => never): BudgetSource {
  if (!isObj(v)) return bad(path, 'must name the audit it comes from: { file, line, section, quote }');
  const { file, line, section, quote } = v;
  if (typeof file !== 'string' || !/^[\w.-]+\.txt$/.test(file)) bad(`${path}.file`, `must be an audit file name (got ${JSON.stringify(file)})`);
  if (typeof line !== 'number' || !Number.isInteger(line) || line < 1) bad(`${path}.line`, `must be a line number ≥ 1 (got ${JSON.stringify(line)})`);
  if (typeof section !== 'string' || section.trim() === '') bad(`${path}.section`, 'must be a non-empty string');
  if (typeof quote !== 'string' || quote.trim() === '') bad(`${path}.quote`, 'must be a non-empty string');
  return { file: file as string, line: line as number, section: section as string, quote: quote as string };
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
  return problems;
}
