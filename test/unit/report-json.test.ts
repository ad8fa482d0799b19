import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../../src/results/model.js';
import { readResultJson, ResultFileError, resultToJson, writeResultJson } from '../../reports/json.js';
import { parse as parseYaml } from 'yaml';
import { AUDIT_DIR } from '../../src/k6/budgets.js';

const CATALOGUE = 'fixtures/claims.yaml';

const SAMPLE = 'fixtures/sample-run/result.json';
const sample = (): RunResult => JSON.parse(readFileSync(SAMPLE, 'utf8')) as RunResult;
const tmp = (): string => mkdtempSync(join(tmpdir(), 'sch-report-json-'));

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

describe('result.json', () => {
  it('reads the sample run back as a RunResult', async () => {
    const r = await readResultJson(SAMPLE);
    expect(r.experiment).toBe('redis-outage');
    expect(r.phases.map((p) => p.id)).toEqual(['baseline', 'fault:redis', 'recovery:redis']);
    expect(r.claims.map((c) => [c.id, c.verdict, c.expected])).toEqual([
      ['REDIS-LOGIN', 'PASS', 'PASS'],
      ['REDIS-REVOCATION', 'FAIL', 'FAIL'],
      ['RECOVERY-LATENCY', 'PASS', 'PASS'],
      ['REDIS-CHAT', 'INCONCLUSIVE', 'PASS'],
    ]);
    expect(r.exitCode).toBe(1);
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

  it('quotes the audit as the claims catalogue does (the quote is on the cited line, compared as ASCII)', () => {
    const ascii = (s: string): string => s.replace(/[^\x20-\x7e]/g, '').replace(/\s+/g, ' ').trim();
    const catalogue = existsSync(CATALOGUE) ? (parseYaml(readFileSync(CATALOGUE, 'utf8')) as { claims: { id: string; title: string; source: unknown }[] }).claims : [];
    for (const c of sample().claims) {
      if (existsSync(AUDIT_DIR)) {
        const lines = readFileSync(join(AUDIT_DIR, c.source.file), 'utf8').split('\n');
        expect(ascii(lines[c.source.line - 1] ?? ''), `${c.id}: ${c.source.file}:${c.source.line}`).toContain(ascii(c.source.quote));
      }
      const inCatalogue = catalogue.find((x) => x.id === c.id);
      if (inCatalogue) expect({ title: c.title, source: c.source }, c.id).toEqual({ title: inCatalogue.title, source: inCatalogue.source });
    }
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
