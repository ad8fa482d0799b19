import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { ClaimResult, RunResult } from '../../src/results/model.js';
import { toJUnit } from '../../reports/junit.js';

const SAMPLE = 'fixtures/sample-run/result.json';
const sample = (): RunResult => JSON.parse(readFileSync(SAMPLE, 'utf8')) as RunResult;

/** The <testcase> elements of a JUnit document, with their attributes and children (flat, no nesting: as toJUnit writes them). */
function testcases(xml: string): { classname: string; name: string; body: string }[] {
  return [...xml.matchAll(/<testcase classname="([^"]*)" name="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)].map((m) => ({
    classname: m[1]!,
    name: m[2]!,
    body: m[3]!,
  }));
}
const attr = (xml: string, el: string, name: string): string | undefined => new RegExp(`<${el}\\b[^>]*\\s${name}="([^"]*)"`).exec(xml)?.[1];

const claim = (over: Partial<ClaimResult>): ClaimResult => ({
  id: 'C-X', title: 'a claim', source: { file: '002_x.txt', section: '5', line: 1, quote: 'q' },
  verdict: 'PASS', expected: 'PASS', asExpected: true, hypotheses: [], reason: 'because', kind: 'fault', ...over,
});

describe('toJUnit', () => {
  it('has one testcase per claim and per hypothesis, and counts failures as the claims say', () => {
    const r = sample();
    const xml = toJUnit(r);
    const cases = testcases(xml);
    const claims = cases.filter((c) => c.classname === 'claims');
    const hyps = cases.filter((c) => c.classname === 'hypotheses');
    expect(claims).toHaveLength(r.claims.length);
    expect(hyps).toHaveLength(r.hypotheses.length);
    expect(claims.map((c) => c.name)).toEqual(r.claims.map((c) => `${c.id}: ${c.title}`));

    const claimFailures = claims.filter((c) => c.body.includes('<failure'));
    const notAsExpected = r.claims.filter((c) => c.verdict !== c.expected);
    expect(claimFailures.map((c) => c.name.split(':')[0])).toEqual(notAsExpected.map((c) => c.id));
    // The sample: the INCONCLUSIVE presence claim (expected PASS) fails; the expected FAIL that FAILed passes.
    expect(notAsExpected.map((c) => c.id)).toEqual(['REDIS-CHAT']);
    const hypFailures = hyps.filter((c) => c.body.includes('<failure'));
    expect(hypFailures.map((c) => c.name.split(':')[0])).toEqual(['delivers-during-outage']);

    const failures = claimFailures.length + hypFailures.length;
    expect(attr(xml, 'testsuite', 'tests')).toBe(String(cases.length));
    expect(attr(xml, 'testsuite', 'failures')).toBe(String(failures));
    expect(attr(xml, 'testsuite', 'errors')).toBe('0');
    expect(attr(xml, 'testsuite', 'name')).toBe('redis-outage');
    expect(xml.match(/<testsuite\b/g)).toHaveLength(1);
  });

  it('passes an expected FAIL that FAILed and says so in system-out', () => {
    const xml = toJUnit(sample());
    const revocation = testcases(xml).find((c) => c.name.startsWith('REDIS-REVOCATION'))!;
    expect(revocation.body).not.toContain('<failure');
    expect(revocation.body).toMatch(/<system-out>Expected FAIL and FAILed: the defect this profile has was detected/);
    expect(revocation.body).toContain('revoked-refused-during-outage [fault:redis] FAIL');
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
    ];
    r.hypotheses = [];
    const cases = testcases(toJUnit(r));
    const failed = Object.fromEntries(cases.map((c) => [c.name.split(':')[0], /<failure message="([^"]*)"/.exec(c.body)?.[1] ?? null]));
    expect(failed).toEqual({
      A: 'verdict FAIL, expected PASS: p95 1240 ms &gt; 1000 ms',
      B: 'verdict PASS, expected FAIL: defect not reproduced',
      C: 'verdict INCONCLUSIVE, expected FAIL: calibration failed',
      D: null,
      E: 'verdict INCONCLUSIVE, expected no expectation: no samples',
      F: null,
    });
    expect(cases.find((c) => c.name.startsWith('A:'))!.body).toMatch(/<failure [^>]*>Reason: p95 1240 ms &gt; 1000 ms\nAudit: 002_x\.txt §5, line 1: q<\/failure>/);
  });

  it('reports a run that failed itself as an errored testcase', () => {
    const r = { ...sample(), error: 'k6 exited 107: script error', exitCode: 2 };
    const xml = toJUnit(r);
    expect(attr(xml, 'testsuite', 'errors')).toBe('1');
    expect(xml).toContain('<testcase classname="run" name="run" time="0">\n      <error message="k6 exited 107: script error"');
  });

  it('escapes < & " \' in names, messages and evidence, and drops characters XML cannot carry', () => {
    const r = sample();
    const nasty = `<b>"quoted" & 'single'</b> \u0001bell`;
    r.claims = [claim({ id: `C&<1>`, title: nasty, verdict: 'FAIL', expected: 'PASS', reason: nasty, source: { file: 'f.txt', section: `§ <5> & "x"`, line: 3, quote: nasty } })];
    r.hypotheses = [{ ...sample().hypotheses[0]!, id: 'H<1>', description: nasty, phase: 'fault:"x"', claims: ['C&<1>'], verdict: 'FAIL', observed: 1, expected: `p95 < 1000 & "ok"`, evidence: nasty }];
    r.experiment = `exp <"&'>`;
    const xml = toJUnit(r);
    const escaped = '&lt;b&gt;&quot;quoted&quot; &amp; &apos;single&apos;&lt;/b&gt; \uFFFDbell';
    expect(xml).toContain(`name="C&amp;&lt;1&gt;: ${escaped}"`);
    expect(xml).toContain(`<failure message="verdict FAIL, expected PASS: ${escaped}"`);
    expect(xml).toContain(`name="exp &lt;&quot;&amp;&apos;&gt;"`);
    expect(xml).not.toContain('<b>');
    expect(xml).not.toContain('\u0001');
    // Removing every tag (attribute values without < > ") leaves no raw < >; no & that does not start an entity.
    const text = xml.replace(/<[^<>"]*(?:"[^<>"]*"[^<>"]*)*>/g, '');
    expect(text).not.toMatch(/[<>]/);
    expect(xml).not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
  });
});
