/**
 * result.json: a RunResult written with a stable key order (diffable between runs) and every
 * string passed through redact(); read back with a shape check whose errors name the file and the
 * field (`claims[2].verdict`), so a hand-edited or truncated result gives a clear message.
 *
 * Versions (`schemaVersion`, RESULT_SCHEMA_VERSION in the model): a file without one is schema 1
 * (`experiment` a name, `description` beside it, no claim `expectation`); readResultJson checks it as
 * schema 1 and upgrades it (upgradeResult), so `sch report` on an old run rewrites it as the current
 * schema. A newer version than this harness knows is refused, naming both.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RESULT_SCHEMA_VERSION, type ClaimResult, type Expectation, type FaultMechanism, type ReportedClaim, type RunResult, type Verdict } from '../src/results/model.js';
import { redact } from '../src/util/redact.js';

/** Top-level keys in the order the model declares them; other keys follow alphabetically. */
const TOP_LEVEL_ORDER: readonly string[] = [
  'schemaVersion', 'runId', 'experiment', 'target', 'startedAtMs', 'endedAtMs', 'exitCode', 'error', 'interrupted',
  'phases', 'faults', 'calibration', 'hypotheses', 'claims', 'phaseTable', 'series', 'workloads', 'filmstrips', 'files',
];

const SECRET_KEY = /password|passwd|secret|token|access_key|authorization|credential/i;

/** Nested objects: these keys first (in this order, for a readable file), then the rest alphabetically. */
const NESTED_ORDER: readonly string[] = [
  'id', 'kind', 'name', 'label', 'title', 'description', 'faultId', 'phase', 'selector', 'metric', 'tags', 't', 'startMs', 'endMs',
  'verdict', 'expected', 'expectation', 'asExpected', 'observed', 'count',
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

/**
 * Indented JSON, except that the rows of the bulk arrays — phaseTable's rows and each series' points — take one line
 * each: a 90-minute soak's result.json was 36 MB indented, two thirds of it whitespace in those rows, and a row per
 * line diffs as well.
 */
function layout(v: unknown, path: readonly (string | number)[], indent: string): string {
  const bulkRow = (path.length === 2 && path[0] === 'phaseTable') || (path.length === 4 && path[0] === 'series' && path[2] === 'points');
  if (bulkRow || v === null || typeof v !== 'object') return JSON.stringify(v);
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x, i) => inner + layout(x, [...path, i], inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(v);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${layout(x, [...path, k], inner)}`).join(',\n')}\n${indent}}`;
}

/** The exact text writeResultJson writes (indented, bulk rows a line each; stable key order, redacted, trailing newline). */
export function resultToJson(result: RunResult): string {
  return `${layout(normalise(result, TOP_LEVEL_ORDER), [], '')}\n`;
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
const MECHANISMS = allOf<FaultMechanism>()(['toxiproxy', 'nft', 'process', 'turn']);
const CLAIM_KINDS = allOf<ClaimResult['kind']>()(['baseline', 'fault', 'guard']);
const EXPECTATION_SOURCES = allOf<Expectation['source']>()(['catalogue', 'experiment', 'none', 'unrecorded']);

/** The schemas readResultJson reads: 1 (no `schemaVersion`, upgraded on reading) and the current one. */
export type ResultSchema = 1 | typeof RESULT_SCHEMA_VERSION;

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${typeof v === 'object' ? '' : String(v)}`.trim();
}

/** Validates `doc` as a RunResult; throws ResultFileError naming `file` and the first bad field. */
export function validateRunResult(doc: unknown, file: string): asserts doc is RunResult {
  validateShape(doc, file, RESULT_SCHEMA_VERSION);
}

/** The shape check of one schema version (1: the old fields, before upgradeResult). */
function validateShape(doc: unknown, file: string, schema: ResultSchema): void {
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

  const v1 = schema === 1;
  const expectation = obj({ profile: (v, f) => (v === null ? undefined : str(v, f)), source: oneOf(EXPECTATION_SOURCES) });
  obj({
    ...(v1 ? {} : { schemaVersion: (v: unknown, f: string) => { if (v !== RESULT_SCHEMA_VERSION) fail(f, `should be ${RESULT_SCHEMA_VERSION}, is ${describe(v)}`); } }),
    runId: str,
    ...(v1 ? { experiment: str, description: str } : { experiment: obj({ name: str, description: str }) }),
    target: obj({ kind: oneOf(['embedded', 'external']), profile: optional(str), baseUrl: str }),
    startedAtMs: num,
    endedAtMs: num,
    phases: arr(obj({ id: str, kind: oneOf(['baseline', 'fault', 'recovery', 'before-load', 'after-load']), faultId: optional(str), startMs: num, endMs: num })),
    faults: arr(
      obj({
        id: str,
        entryId: optional(str),
        cycle: optional(num),
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
        timeline: optional(arr(obj({ id: str, label: str, firing: arr(obj({ startMs: num, endMs: num })), notEvaluable: optional(str) }))),
        trends: optional(arr(obj({ label: str, phase: str, fromMs: num, toMs: num, atMs: num, level: num, slopePerHour: num, unit: str }))),
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
        ...(v1 ? {} : { expectation }),
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
    interrupted: optional(obj({ how: oneOf(['signal', 'killed']), atMs: num, detail: str })),
    notes: optional(strings),
    filmstrips: optional(arr(obj({
      workload: str, participants: strings,
      frames: arr(obj({ phase: str, participant: str, path: str, atMs: num, width: num, height: num, tiles: arr(obj({ track: str, frozen: (v, f) => (v === null ? undefined : bool(v, f)) })) })),
    }))),
    files: arr(obj({ kind: str, path: str })),
  })(doc, '');
}

/** The schema-1 fields that schema 2 moved: what upgradeResult reads. */
interface ResultV1 extends Omit<RunResult, 'schemaVersion' | 'experiment' | 'claims'> {
  experiment: string;
  description: string;
  claims: ClaimResult[];
}

/**
 * Schema 1 → 2: `experiment` + `description` become `experiment: { name, description }`; each claim gets
 * an `expectation` whose source is `unrecorded` (schema 1 kept the verdict, not where it came from) or
 * `none` when there was no expected verdict.
 */
export function upgradeResult(v1: ResultV1): RunResult {
  const { experiment, description, claims, ...rest } = v1;
  const profile = v1.target.profile ?? null;
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    ...rest,
    experiment: { name: experiment, description },
    claims: claims.map((c): ReportedClaim => ({ ...c, expectation: { profile, source: c.expected === null ? 'none' : 'unrecorded' } })),
  };
}

/** Which schema a parsed result.json says it is; a version this harness does not know is refused. */
function schemaOf(doc: unknown, file: string): ResultSchema {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ResultFileError(file, '', `should be an object, is ${describe(doc)}`);
  const v = (doc as Record<string, unknown>).schemaVersion;
  if (v === undefined) return 1;
  if (v === RESULT_SCHEMA_VERSION) return v;
  const newer = typeof v === 'number' && Number.isInteger(v) && v > RESULT_SCHEMA_VERSION;
  throw new ResultFileError(file, 'schemaVersion', newer
    ? `is ${v}, newer than this harness reads (${RESULT_SCHEMA_VERSION}): use the harness version that wrote it`
    : `should be ${RESULT_SCHEMA_VERSION} (or absent: schema 1), is ${describe(v)}`);
}

/** Validates a parsed result.json of either schema; returns it as the current schema (upgrading schema 1). */
export function parseRunResult(doc: unknown, file: string): RunResult {
  const schema = schemaOf(doc, file);
  validateShape(doc, file, schema);
  if (schema !== 1) return doc as RunResult;
  const up = upgradeResult(doc as ResultV1);
  validateRunResult(up, `${file} (upgraded from schema 1)`);
  return up;
}

/** Reads and validates a result.json (schema 1 is upgraded to the current one); errors name the file and the field. */
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
  return parseRunResult(doc, path);
}
