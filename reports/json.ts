/**
 * result.json: a RunResult written with a stable key order (diffable between runs) and every
 * string passed through redact(); read back with a shape check whose errors name the file and the
 * field (`claims[2].verdict`), so a hand-edited or truncated result gives a clear message.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClaimResult, FaultMechanism, RunResult, Verdict } from '../src/results/model.js';
import { redact } from '../src/util/redact.js';

/** Top-level keys in the order the model declares them; other keys follow alphabetically. */
const TOP_LEVEL_ORDER: readonly string[] = [
  'runId', 'experiment', 'description', 'target', 'startedAtMs', 'endedAtMs', 'exitCode', 'error',
  'phases', 'faults', 'calibration', 'hypotheses', 'claims', 'phaseTable', 'series', 'workloads', 'files',
];

const SECRET_KEY = /password|passwd|secret|token|access_key|authorization|credential/i;

/** Nested objects: these keys first (in this order, for a readable file), then the rest alphabetically. */
const NESTED_ORDER: readonly string[] = [
  'id', 'kind', 'name', 'label', 'title', 'description', 'faultId', 'phase', 'selector', 'metric', 'tags', 't', 'startMs', 'endMs',
  'verdict', 'expected', 'asExpected', 'observed', 'count',
];

/** Deep copy with every string redacted and object keys in a fixed order (TOP_LEVEL_ORDER / NESTED_ORDER, then alphabetical). */
function normalise(value: unknown, order: readonly string[] = NESTED_ORDER): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((v) => normalise(v));
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined);
    const rank = (k: string): number => {
      const i = order.indexOf(k);
      return i < 0 ? Number.MAX_SAFE_INTEGER : i;
    };
    keys.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const v = (value as Record<string, unknown>)[k];
      // A string under a key that names a secret: redact() alone would not see the key.
      out[k] = typeof v === 'string' && SECRET_KEY.test(k) && v.length > 0 ? '[REDACTED]' : normalise(v);
    }
    return out;
  }
  return value;
}

/** The exact text writeResultJson writes (pretty, stable key order, redacted, trailing newline). */
export function resultToJson(result: RunResult): string {
  return `${JSON.stringify(normalise(result, TOP_LEVEL_ORDER), null, 2)}\n`;
}

/** Writes `<dir>/result.json`; returns its path. */
export async function writeResultJson(result: RunResult, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'result.json');
  await writeFile(path, resultToJson(result));
  return path;
}

export class ResultFileError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${file}: not a RunResult: ${field ? `field ${field}` : 'the document'} ${problem}`);
    this.name = 'ResultFileError';
  }
}

type Check = (v: unknown, field: string) => void;

/** Every value of a model union, for the runtime check: a value the model gains and the list lacks is a compile error here. */
const allOf = <U extends string>() => <const L extends readonly U[]>(values: L & ([Exclude<U, L[number]>] extends [never] ? unknown : never)): L => values;
const VERDICTS = allOf<Verdict>()(['PASS', 'FAIL', 'INCONCLUSIVE']);
const MECHANISMS = allOf<FaultMechanism>()(['toxiproxy', 'nft', 'process']);
const CLAIM_KINDS = allOf<ClaimResult['kind']>()(['baseline', 'fault', 'guard']);

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${typeof v === 'object' ? '' : String(v)}`.trim();
}

/** Validates `doc` as a RunResult; throws ResultFileError naming `file` and the first bad field. */
export function validateRunResult(doc: unknown, file: string): asserts doc is RunResult {
  const fail = (field: string, problem: string): never => {
    throw new ResultFileError(file, field, problem);
  };
  const str: Check = (v, f) => {
    if (typeof v !== 'string') fail(f, `should be a string, is ${describe(v)}`);
  };
  const num: Check = (v, f) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(f, `should be a number, is ${describe(v)}`);
  };
  const numOrNull: Check = (v, f) => {
    if (v !== null) num(v, f);
  };
  const bool: Check = (v, f) => {
    if (typeof v !== 'boolean') fail(f, `should be a boolean, is ${describe(v)}`);
  };
  const optional = (c: Check): Check => (v, f) => {
    if (v !== undefined) c(v, f);
  };
  const oneOf = (values: readonly (string | null)[]): Check => (v, f) => {
    if (!values.includes(v as string | null)) fail(f, `should be one of ${values.map((x) => JSON.stringify(x)).join(', ')}, is ${describe(v)}`);
  };
  const obj = (shape: Record<string, Check>): Check => (v, f) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(f, `should be an object, is ${describe(v)}`);
    const o = v as Record<string, unknown>;
    for (const [k, c] of Object.entries(shape)) c(o[k], f ? `${f}.${k}` : k);
  };
  const arr = (item: Check): Check => (v, f) => {
    if (!Array.isArray(v)) fail(f, `should be an array, is ${describe(v)}`);
    (v as unknown[]).forEach((x, i) => item(x, `${f}[${i}]`));
  };
  const record: Check = (v, f) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(f, `should be an object, is ${describe(v)}`);
  };
  const strings = arr(str);
  const selector = obj({ metric: str, tags: optional(record) });
  const stats = obj({ kind: oneOf(['trend', 'rate', 'counter', 'gauge']), count: num });

  obj({
    runId: str,
    experiment: str,
    description: str,
    target: obj({ kind: oneOf(['embedded', 'external']), profile: optional(str), baseUrl: str }),
    startedAtMs: num,
    endedAtMs: num,
    phases: arr(obj({ id: str, kind: oneOf(['baseline', 'fault', 'recovery']), faultId: optional(str), startMs: num, endMs: num })),
    faults: arr(
      obj({
        id: str,
        name: str,
        mechanism: oneOf(MECHANISMS),
        target: str,
        params: record,
        plannedStartS: num,
        plannedDurationS: num,
        scheduledApplyMs: optional(num),
        scheduledRemoveMs: optional(num),
        appliedAtMs: optional(num),
        removedAtMs: optional(num),
        rollbackIssuedAtMs: optional(num),
        verifyStartedAtMs: optional(num),
        verifiedAtMs: optional(num),
        expectedLatencyMs: optional(num),
        verified: bool,
        verifyDetail: str,
        rolledBack: bool,
        error: optional(str),
      }),
    ),
    phaseTable: arr(obj({ selector, label: str, phase: str, stats })),
    series: arr(obj({ selector, label: str, windowMs: num, points: arr(obj({ t: num, stats })) })),
    calibration: arr(obj({ faultId: str, selector, label: str, expected: str, observed: numOrNull, ok: bool, detail: str })),
    hypotheses: arr(
      obj({
        id: str, description: str, role: oneOf(['check', 'precondition']), gatedBy: optional(strings), phase: str, claims: strings, verdict: oneOf(VERDICTS),
        expectedVerdict: oneOf([...VERDICTS, null]), asExpected: bool, observed: numOrNull, expected: str, evidence: str,
      }),
    ),
    claims: arr(
      obj({
        id: str,
        title: str,
        kind: oneOf(CLAIM_KINDS),
        source: obj({ file: str, section: str, line: num, quote: str, lines: optional(arr(num)) }),
        verdict: oneOf(VERDICTS),
        expected: oneOf([...VERDICTS, null]),
        asExpected: bool,
        hypotheses: strings,
        reason: str,
        gatedBy: optional(strings),
        audit: optional(obj({ verdict: oneOf(['PASS', 'FAIL']), says: str })),
        contradictsAudit: optional(bool),
      }),
    ),
    workloads: arr(
      obj({ id: str, scenario: str, profile: str, exitCode: numOrNull, samples: num, failedThresholds: strings }),
    ),
    exitCode: num,
    error: optional(str),
    notes: optional(strings),
    files: arr(obj({ kind: str, path: str })),
  })(doc, '');
}

/** Reads and validates a result.json; errors name the file and the field. */
export async function readResultJson(path: string): Promise<RunResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ResultFileError(path, '', `is not valid JSON (${(err as Error).message})`);
  }
  validateRunResult(doc, path);
  return doc;
}
