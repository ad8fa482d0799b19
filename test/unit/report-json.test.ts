import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../../src/results/model.js';
import { readResultJson, ResultFileError, resultToJson, upgradeResult, validateRunResult, writeResultJson } from '../../reports/json.js';
import { RESULT_SCHEMA_VERSION } from '../../src/results/model.js';
import { expectationOf } from '../../src/results/expectation.js';
import { parse as parseYaml } from 'yaml';
import { AuditQuotes, auditDir, auditDirProblem } from '../../src/util/audit-quotes.js';

const CATALOGUE = 'fixtures/claims.yaml';

const SAMPLE = 'fixtures/sample-run/result.json';
/** The same run as written before result.json had a schemaVersion (schema 1). */
const SAMPLE_V1 = 'fixtures/sample-run/result-schema1.json';
const sample = (): RunResult => JSON.parse(readFileSync(SAMPLE, 'utf8')) as RunResult;
const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'sch-report-json-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function errorOf(doc: unknown): Promise<ResultFileError> {
  const path = join(tmp(), 'result.json');
  writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
  try {
    await readResultJson(path);
  } catch (err) {
    expect(err).toBeInstanceOf(ResultFileError);
    expect((err as Error).message.startsWith(`${path}: `)).toBe(true);
    return err as ResultFileError;
  }
  throw new Error('readResultJson accepted a bad document');
}

/** Paths (`claims[1].verdict`) where two JSON values differ. */
function diffPaths(a: unknown, b: unknown, path = ''): string[] {
  if (a === b) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const ka = Object.keys(a);
    const keys = [...new Set([...ka, ...Object.keys(b)])];
    return keys.flatMap((k) => diffPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k));
  }
  return [path];
}

describe('result.json', () => {
  it('is derived from the RunResult it is given: what changes in the input, and only that, changes in the output', () => {
    const before = JSON.parse(resultToJson(sample())) as unknown;
    const r = sample();
    r.claims[1]!.verdict = 'PASS';
    r.claims[1]!.asExpected = false;
    r.claims[1]!.reason = 'revoked tokens refused throughout';
    r.hypotheses[0]!.observed = 0.5;
    r.faults[0]!.verified = false;
    r.exitCode = 3;
    r.experiment.name = 'renamed-experiment';
    const text = resultToJson(r);
    const after = JSON.parse(text) as unknown;
    validateRunResult(after, 'output');
    expect(diffPaths(before, after).sort()).toEqual(['claims[1].asExpected', 'claims[1].reason', 'claims[1].verdict', 'exitCode', 'experiment.name', 'faults[0].verified', 'hypotheses[0].observed']);
    expect(after).toEqual(JSON.parse(JSON.stringify(r)));
  });

  it('writes what reads back as the same RunResult, in a valid shape', async () => {
    const r = sample();
    r.claims[0]!.verdict = 'INCONCLUSIVE';
    r.claims.pop();
    const dir = tmp();
    await writeResultJson(r, dir);
    const back = await readResultJson(join(dir, 'result.json'));
    expect(back).toEqual(r);
    expect(back.claims.map((c) => c.verdict)).toEqual(r.claims.map((c) => c.verdict));
  });

  it('the sample is already in the writer\'s format, and the writer is stable whatever the key order', async () => {
    const text = readFileSync(SAMPLE, 'utf8');
    expect(resultToJson(sample())).toBe(text);
    // The bulk rows, a line each (a soak has tens of thousands); everything else indented.
    const r = sample();
    const lines = text.split('\n');
    expect(lines.filter((l) => /^ {4}\{"label":/.test(l))).toHaveLength(r.phaseTable.length);
    expect(lines.filter((l) => /^ {8}\{"t":\d+,"stats":\{/.test(l))).toHaveLength(r.series.reduce((a, s) => a + s.points.length, 0));
    expect(text).toMatch(/^ {2}"claims": \[\n {4}\{\n {6}"id": /m);
    // Same data, keys in reverse order at every level: same bytes.
    const reverse = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reverse) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverse(x)])) : v;
    const dir = tmp();
    const path = await writeResultJson(reverse(sample()) as RunResult, dir);
    expect(path).toBe(join(dir, 'result.json'));
    expect(readFileSync(path, 'utf8')).toBe(text);
    expect(text.split('\n')[2]).toBe('  "runId": "20261123T140211Z-redis-outage-a3f9",');
  });

  it("the sample's claims are the catalogue's (title and audit source)", () => {
    const catalogue = (parseYaml(readFileSync(CATALOGUE, 'utf8')) as { claims: { id: string; title: string; source: unknown }[] }).claims;
    for (const c of sample().claims) {
      const inCatalogue = catalogue.find((x) => x.id === c.id);
      expect(inCatalogue, c.id).toBeDefined();
      expect({ title: c.title, source: c.source }, c.id).toEqual({ title: inCatalogue!.title, source: inCatalogue!.source });
    }
  });

  it("the sample's claims quote the audit line they cite", (ctx) => {
    const problem = auditDirProblem();
    if (problem) {
      process.stderr.write(`skipped: ${problem}\n`);
      ctx.skip(problem);
    }
    const quotes = new AuditQuotes(auditDir());
    for (const c of sample().claims) expect(quotes.problem(c.source), c.id).toBeNull();
  });

  it('names the file and the field when the document is not a RunResult', async () => {
    const bad = sample() as unknown as { claims: Record<string, unknown>[]; startedAtMs?: unknown; phases: unknown };
    bad.claims[1]!.verdict = 'OK';
    let e = await errorOf(bad);
    expect(e.field).toBe('claims[1].verdict');
    expect(e.message).toContain('field claims[1].verdict should be one of "PASS", "FAIL", "INCONCLUSIVE", is the string "OK"');

    const noStart = sample() as unknown as Record<string, unknown>;
    delete noStart.startedAtMs;
    e = await errorOf(noStart);
    expect(e.message).toMatch(/field startedAtMs should be a number, is missing$/);

    const badPoint = sample() as unknown as { series: { points: { stats: { count: unknown } }[] }[] };
    badPoint.series[0]!.points[3]!.stats.count = '12';
    expect((await errorOf(badPoint)).field).toBe('series[0].points[3].stats.count');

    expect((await errorOf({ ...sample(), faults: {} })).message).toContain('field faults should be an array, is object');
    expect((await errorOf([])).message).toContain('the document should be an object, is an array');
    expect((await errorOf('{"runId": ')).message).toContain('is not valid JSON');
  });

  it('has a schema version, the experiment as the manifest has it (name, description) and where each expectation came from', () => {
    const text = readFileSync(SAMPLE, 'utf8');
    expect(text.split('\n').slice(1, 3)).toEqual([`  "schemaVersion": ${RESULT_SCHEMA_VERSION},`, '  "runId": "20261123T140211Z-redis-outage-a3f9",']);
    const r = sample();
    expect(r.experiment).toEqual({ name: 'redis-outage', description: expect.stringMatching(/^Redis unreachable/) });
    expect(r.claims.map((c) => [c.id, c.expected, c.expectation])).toEqual([
      ['REDIS-LOGIN', 'PASS', { profile: 'audited', source: 'catalogue' }],
      ['REDIS-REVOCATION', 'FAIL', { profile: 'audited', source: 'catalogue' }],
      ['RECOVERY-LATENCY', 'PASS', { profile: 'audited', source: 'catalogue' }],
      ['REDIS-CHAT', 'PASS', { profile: 'audited', source: 'catalogue' }],
    ]);
  });

  it('names the source of an expectation: the experiment\'s override, the catalogue, or none', () => {
    const entry = { id: 'RECOVERY-LATENCY', expectedIn: { recovery: { 'as-built': 'INCONCLUSIVE' as const } } };
    expect(expectationOf({ expected: 'INCONCLUSIVE' }, entry, 'as-built', 'recovery')).toEqual({ profile: 'as-built', source: 'experiment' });
    expect(expectationOf({ expected: 'PASS' }, entry, 'hardened', 'recovery')).toEqual({ profile: 'hardened', source: 'catalogue' });
    expect(expectationOf({ expected: 'PASS' }, entry, 'as-built', 'redis-outage')).toEqual({ profile: 'as-built', source: 'catalogue' });
    expect(expectationOf({ expected: null }, entry, undefined, 'recovery')).toEqual({ profile: null, source: 'none' });
  });

  it('reads a result.json of schema 1 (no version) as the current schema', async () => {
    const v1 = JSON.parse(readFileSync(SAMPLE_V1, 'utf8')) as Record<string, unknown>;
    expect(v1.schemaVersion).toBeUndefined();
    expect(typeof v1.experiment).toBe('string');
    const read = await readResultJson(SAMPLE_V1);
    const current = sample();
    // Everything as the current sample says, except what schema 1 never recorded: where the expectation came from.
    expect(read).toEqual({ ...current, claims: current.claims.map((c) => ({ ...c, expectation: { profile: 'audited', source: 'unrecorded' } })) });
    // Writing it back writes the current schema.
    const dir = tmp();
    await writeResultJson(read, dir);
    expect(JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')).schemaVersion).toBe(RESULT_SCHEMA_VERSION);
    // No expected verdict: the source is none, not unrecorded.
    const external = upgradeResult({ ...(v1 as unknown as Parameters<typeof upgradeResult>[0]), claims: [{ ...current.claims[0]!, expected: null }], target: { kind: 'external', baseUrl: 'http://127.0.0.1:8080' } });
    expect(external.claims[0]!.expectation).toEqual({ profile: null, source: 'none' });
  });

  it('checks a schema 1 file by its own fields, and refuses a version it does not know', async () => {
    const v1 = JSON.parse(readFileSync(SAMPLE_V1, 'utf8')) as Record<string, unknown>;
    const e = await errorOf({ ...v1, description: 7 });
    expect(e.message).toContain('field description should be a string, is number 7');
    expect((await errorOf({ ...sample(), schemaVersion: 3 })).message).toContain('field schemaVersion is 3, newer than this harness reads (2)');
    expect((await errorOf({ ...sample(), schemaVersion: '2' })).message).toContain('field schemaVersion should be 2 (or absent: schema 1), is the string "2"');
    // A schema 2 file with the old shape of `experiment`: named as such.
    expect((await errorOf({ ...sample(), experiment: 'redis-outage' })).message).toContain('field experiment should be an object, is the string "redis-outage"');
    const noSource = sample() as unknown as { claims: { expectation: Record<string, unknown> }[] };
    noSource.claims[2]!.expectation.source = 'guess';
    expect((await errorOf(noSource)).field).toBe('claims[2].expectation.source');
  });

  it('redacts every string it writes', async () => {
    const r = sample();
    r.claims[0]!.reason = 'login answered with Authorization: Bearer abcdef.ghijkl.mnopqr';
    r.faults[0]!.params = { password: 'hunter2-redis', url: 'redis://u:x@h' };
    const dir = tmp();
    await writeResultJson(r, dir);
    const text = readFileSync(join(dir, 'result.json'), 'utf8');
    expect(text).not.toContain('abcdef.ghijkl.mnopqr');
    expect(text).not.toContain('hunter2-redis');
    expect(JSON.parse(text).faults[0].params.password).toBe('[REDACTED]');
  });
});
