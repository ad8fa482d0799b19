import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { convert } from 'xmlbuilder2';
import type { ReportedClaim, RunResult } from '../../src/results/model.js';
import { toJUnit } from '../../reports/junit.js';

const SAMPLE = 'fixtures/sample-run/result.json';
const sample = (): RunResult => JSON.parse(readFileSync(SAMPLE, 'utf8')) as RunResult;

interface Outcome {
  message: string;
  text: string;
}
interface TestCase {
  classname: string;
  name: string;
  time: string;
  failure?: Outcome;
  error?: Outcome;
  skipped?: Outcome;
  out?: string;
}
interface Suite {
  attrs: Record<string, string>;
  cases: TestCase[];
}

type XmlNode = { [k: string]: XmlNode | XmlNode[] | string | undefined };
/** xmlbuilder2's reader leaves entities as written: decode the five XML ones and numeric references. */
const decode = (s: string): string =>
  s.replace(/&(lt|gt|quot|apos|amp|#x[0-9a-f]+|#\d+);/gi, (_, e: string) =>
    e.startsWith('#x') || e.startsWith('#X') ? String.fromCodePoint(Number.parseInt(e.slice(2), 16))
      : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1)))
        : ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' } as Record<string, string>)[e.toLowerCase()]!);
const one = (v: XmlNode | XmlNode[] | string | undefined): XmlNode | undefined => (Array.isArray(v) ? v[0] : typeof v === 'object' ? v : undefined);
const many = (v: XmlNode | XmlNode[] | string | undefined): XmlNode[] => (Array.isArray(v) ? v : typeof v === 'object' ? [v] : []);
const text = (v: XmlNode | XmlNode[] | string | undefined): string => decode(typeof v === 'string' ? v : typeof one(v)?.['#'] === 'string' ? (one(v)?.['#'] as string) : '');
const attr = (n: XmlNode, name: string): string => decode(String(n[`@${name}`] ?? ''));
const outcome = (v: XmlNode | XmlNode[] | string | undefined): Outcome | undefined => {
  const n = one(v);
  return n ? { message: attr(n, 'message'), text: text(n) } : undefined;
};

/** junit.xml read back by an XML parser (xmlbuilder2's), as a CI server would read it (report-render.test.ts also parses it in Chromium). */
function parse(xml: string): Suite {
  const doc = convert(xml, { format: 'object' }) as unknown as XmlNode;
  const suite = one(one(doc.testsuites)?.testsuite);
  if (!suite) throw new Error('no <testsuite>');
  const attrs = Object.fromEntries(Object.keys(suite).filter((k) => k.startsWith('@')).map((k) => [k.slice(1), attr(suite, k.slice(1))]));
  const cases = many(suite.testcase).map((c) => {
    const tc: TestCase = { classname: attr(c, 'classname'), name: attr(c, 'name'), time: attr(c, 'time') };
    const failure = outcome(c.failure);
    const error = outcome(c.error);
    const skipped = outcome(c.skipped);
    if (failure) tc.failure = failure;
    if (error) tc.error = error;
    if (skipped) tc.skipped = skipped;
    if (c['system-out'] !== undefined) tc.out = text(c['system-out']);
    return tc;
  });
  return { attrs, cases };
}

const claim = (over: Partial<ReportedClaim>): ReportedClaim => ({
  id: 'C-X', title: 'a claim', source: { file: '002_x.txt', section: '5', line: 1, quote: 'q' },
  verdict: 'PASS', expected: 'PASS', expectation: { profile: 'audited', source: 'catalogue' }, asExpected: true, hypotheses: [], reason: 'because', kind: 'fault', ...over,
});

describe('toJUnit', () => {
  it('names each claim <experiment>.<claim> and the hypotheses <experiment>.hypotheses, and counts as the claims say', () => {
    const r = sample();
    const { attrs, cases } = parse(toJUnit(r));
    const claims = cases.filter((c) => !c.classname.endsWith('.hypotheses'));
    const hyps = cases.filter((c) => c.classname === 'redis-outage.hypotheses');
    expect(claims.map((c) => c.classname)).toEqual(r.claims.map((c) => `redis-outage.${c.id}`));
    expect(claims.map((c) => c.name)).toEqual(r.claims.map((c) => `${c.id}: ${c.title}`));
    expect(hyps.map((c) => c.name)).toEqual(r.hypotheses.map((h) => `${h.id}: ${h.description}`));

    // The sample: the INCONCLUSIVE chat claim (expected PASS) fails; the expected FAIL that FAILed passes.
    expect(claims.filter((c) => c.failure).map((c) => c.name.split(':')[0])).toEqual(['REDIS-CHAT']);
    expect(hyps.filter((c) => c.failure).map((c) => c.name.split(':')[0])).toEqual(['delivers-during-outage']);
    expect(attrs).toMatchObject({ name: 'redis-outage', tests: String(cases.length), failures: '2', errors: '0', skipped: '0', time: '40.213' });
  });

  it('gives each case the span of the phases it was judged on, not 0', () => {
    const { cases } = parse(toJUnit(sample()));
    const time = (prefix: string): string => cases.find((c) => c.name.startsWith(prefix))!.time;
    // REDIS-LOGIN: baseline (precondition) to the end of fault:redis.
    expect(time('REDIS-LOGIN')).toBe('25.027');
    expect(time('RECOVERY-LATENCY')).toBe('15.186');
    expect(time('login-works-before')).toBe('10.041');
    expect(time('login-during-outage')).toBe('14.986');
    expect(time('latency-recovered')).toBe('15.186');
    for (const c of cases) expect(Number(c.time), c.name).toBeGreaterThan(0);
  });

  it('puts the cause in every failure message, an INCONCLUSIVE as well', () => {
    const { cases } = parse(toJUnit(sample()));
    const chat = cases.find((c) => c.name.startsWith('REDIS-CHAT'))!;
    expect(chat.failure!.message).toBe('verdict INCONCLUSIVE, expected PASS: delivers-during-outage [fault:redis] INCONCLUSIVE: wanted rate(sc_probe_ok{probe=deliver}) >= 0.95 — calibration failed for fault redis on sc_probe_ok{probe=deliver}: 3 samples during fault:redis, need ≥ 5');
    const hyp = cases.find((c) => c.name.startsWith('delivers-during-outage'))!;
    expect(hyp.failure!.message).toBe('INCONCLUSIVE on fault:redis, expected PASS: wanted rate(sc_probe_ok{probe=deliver}) >= 0.95 — calibration failed for fault redis on sc_probe_ok{probe=deliver}: 3 samples during fault:redis, need ≥ 5');
  });

  it('skips an INCONCLUSIVE that was expected, saying why; fails one that was not', () => {
    const r = sample();
    const chat = r.claims.find((c) => c.id === 'REDIS-CHAT')!;
    chat.expected = 'INCONCLUSIVE';
    chat.asExpected = true;
    const h = r.hypotheses.find((x) => x.id === 'delivers-during-outage')!;
    Object.assign(h, { expectedVerdict: 'INCONCLUSIVE', asExpected: true, gatedBy: ['delivers-before'] });
    const { attrs, cases } = parse(toJUnit(r));
    const c = cases.find((x) => x.name.startsWith('REDIS-CHAT'))!;
    expect(c.failure).toBeUndefined();
    expect(c.skipped!.message).toContain('INCONCLUSIVE, as expected: delivers-during-outage [fault:redis] INCONCLUSIVE');
    expect(c.skipped!.message).toContain('calibration failed for fault redis');
    const hc = cases.find((x) => x.name.startsWith('delivers-during-outage'))!;
    expect(hc.skipped!.message).toBe('INCONCLUSIVE on fault:redis, as expected: calibration failed for fault redis on sc_probe_ok{probe=deliver}: 3 samples during fault:redis, need ≥ 5 (precondition delivers-before did not hold)');
    expect(attrs).toMatchObject({ failures: '0', skipped: '2' });
  });

  it('passes an expected FAIL that FAILed and says so in system-out', () => {
    const { cases } = parse(toJUnit(sample()));
    const revocation = cases.find((c) => c.name.startsWith('REDIS-REVOCATION'))!;
    expect(revocation.failure).toBeUndefined();
    expect(revocation.out).toMatch(/^Expected FAIL and FAILed: the defect this profile has was detected/);
    expect(revocation.out).toContain('revoked-refused-during-outage [fault:redis] FAIL');
  });

  it('fails a claim whose verdict is not the expected one, INCONCLUSIVE included, with evidence', () => {
    const r = sample();
    r.claims = [
      claim({ id: 'A', verdict: 'FAIL', expected: 'PASS', reason: 'p95 1240 ms > 1000 ms' }),
      claim({ id: 'B', verdict: 'PASS', expected: 'FAIL', reason: 'defect not reproduced' }),
      claim({ id: 'C', verdict: 'INCONCLUSIVE', expected: 'FAIL', reason: 'calibration failed' }),
      claim({ id: 'D', verdict: 'FAIL', expected: null, reason: 'external target' }),
      claim({ id: 'E', verdict: 'INCONCLUSIVE', expected: null, reason: 'no samples' }),
      claim({ id: 'F', verdict: 'INCONCLUSIVE', expected: 'INCONCLUSIVE', reason: 'not testable here' }),
      claim({ id: 'G', verdict: 'INCONCLUSIVE', expected: 'PASS', reason: 'requires LOGIN is FAIL here', gatedBy: ['LOGIN'] }),
    ];
    r.hypotheses = [];
    const { cases } = parse(toJUnit(r));
    const byId: Record<string, TestCase> = Object.fromEntries(cases.map((c) => [c.name.split(':')[0], c]));
    expect(Object.fromEntries(Object.entries(byId).map(([id, c]) => [id, c.failure?.message ?? null]))).toEqual({
      A: 'verdict FAIL, expected PASS: p95 1240 ms > 1000 ms',
      B: 'verdict PASS, expected FAIL: defect not reproduced',
      C: 'verdict INCONCLUSIVE, expected FAIL: calibration failed',
      D: null,
      E: 'verdict INCONCLUSIVE, expected no expectation: no samples',
      F: null,
      G: 'verdict INCONCLUSIVE, expected PASS: requires LOGIN, which did not PASS in this run: not judged; requires LOGIN is FAIL here',
    });
    expect(byId.F!.skipped!.message).toBe('INCONCLUSIVE, as expected: not testable here');
    expect(byId.A!.failure!.text).toBe('Reason: p95 1240 ms > 1000 ms\nAudit: 002_x.txt §5, line 1: q');
    expect(byId.A!.classname).toBe('redis-outage.A');
  });

  it('reports a run that failed itself as an errored testcase', () => {
    const r = { ...sample(), error: 'k6 exited 107: script error', exitCode: 2 };
    const { attrs, cases } = parse(toJUnit(r));
    expect(attrs.errors).toBe('1');
    const run = cases.at(-1)!;
    expect(run).toMatchObject({ classname: 'redis-outage.run', name: 'run', time: '40.213', error: { message: 'k6 exited 107: script error', text: 'k6 exited 107: script error' } });
  });

  it('escapes < & " \' in names, messages and evidence, and drops characters XML cannot carry', () => {
    const r = sample();
    const nasty = `<b>"quoted" & 'single'</b> ]]> <![CDATA[ \u0001bell`;
    const shown = nasty.replace('\u0001', '\uFFFD');
    r.claims = [claim({ id: `C&<1>`, title: nasty, verdict: 'FAIL', expected: 'PASS', reason: nasty, source: { file: 'f.txt', section: `§ <5> & "x"`, line: 3, quote: nasty } })];
    r.hypotheses = [{ ...sample().hypotheses[0]!, id: 'H<1>', description: nasty, phase: 'fault:"x"', claims: ['C&<1>'], verdict: 'FAIL', expectedVerdict: 'PASS', asExpected: false, observed: 1, expected: `p95 < 1000 & "ok"`, evidence: nasty }];
    r.experiment.name = `exp <"&'>`;
    const xml = toJUnit(r);
    expect(xml).not.toContain('<b>');
    expect(xml).not.toContain('\u0001');
    const { attrs, cases } = parse(xml);
    expect(attrs.name).toBe(`exp <"&'>`);
    expect(cases[0]).toMatchObject({ classname: `exp <"&'>.C&<1>`, name: `C&<1>: ${shown}` });
    expect(cases[0]!.failure!.text).toBe(`Reason: ${shown}\nAudit: f.txt §§ <5> & "x", line 3: ${shown}`);
    expect(cases[1]!.failure!.message).toContain(`wanted p95 < 1000 & "ok", observed 1 — ${shown}`);
  });
});
