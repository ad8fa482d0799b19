import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../../src/results/model.js';
import { readResultJson, ResultFileError, resultToJson, validateRunResult, writeResultJson } from '../../reports/json.js';
import { parse as parseYaml } from 'yaml';
import { AuditQuotes, auditDir, auditDirProblem } from '../../src/util/audit-quotes.js';

const CATALOGUE = 'fixtures/claims.yaml';

const SAMPLE = 'fixtures/sample-run/result.json';
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
    r.experiment = 'renamed-experiment';
    const text = resultToJson(r);
    const after = JSON.parse(text) as unknown;
    validateRunResult(after, 'output');
    expect(diffPaths(before, after).sort()).toEqual(['claims[1].asExpected', 'claims[1].reason', 'claims[1].verdict', 'exitCode', 'experiment', 'faults[0].verified', 'hypotheses[0].observed']);
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
    // Same data, keys in reverse order at every level: same bytes.
    const reverse = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reverse) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverse(x)])) : v;
    const dir = tmp();
    const path = await writeResultJson(reverse(sample()) as RunResult, dir);
    expect(path).toBe(join(dir, 'result.json'));
    expect(readFileSync(path, 'utf8')).toBe(text);
    expect(text.split('\n')[1]).toBe('  "runId": "20261123T140211Z-redis-outage-a3f9",');
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
