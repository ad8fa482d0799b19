/**
 * junit.xml for CI, written with xmlbuilder2 (escaping and well-formedness are the library's; every
 * string is redacted and stripped of characters XML cannot carry first, by clean()).
 *
 * One <testsuite> per run (name = experiment). One testcase per claim, classname `<experiment>.<claim>`
 * (the same claim checked by two experiments stays two rows in a CI dashboard), and one per hypothesis,
 * classname `<experiment>.hypotheses`. `time` is the span of the phases the case was judged on.
 * A case not as expected is a <failure> (INCONCLUSIVE included: the run exits 1 for it, and the XML's
 * counts agree with the exit code); an INCONCLUSIVE that was expected is <skipped>; both messages carry
 * the cause. An expected FAIL that FAILed passes — the documented defect was detected — and says so in
 * <system-out>. A run that failed itself (result.error) adds an errored testcase (`<experiment>.run`).
 */
import { create } from 'xmlbuilder2';
import type { ClaimResult, HypothesisResult, RunResult } from '../src/results/model.js';
import { checkLine, claimAsExpected, claimSpanMs, clean, explainClaim, hypothesesOf, hypothesisAsExpected, outcomeText, phaseSpanMs, wantedObserved } from './common.js';

type XMLBuilder = ReturnType<typeof create>;

interface Case {
  classname: string;
  name: string;
  /** Seconds. */
  timeS: number;
  failure?: { message: string; body: string };
  skipped?: { message: string };
  error?: { message: string; body: string };
  out: string;
}

/** Attribute values on one line: a newline in an attribute is read back as a space anyway. */
const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ');

function sourceLine(c: ClaimResult): string {
  return `Audit: ${c.source.file} §${c.source.section}, line ${c.source.line}: ${c.source.quote}`;
}

function claimCase(c: ClaimResult, result: RunResult): Case {
  const why = explainClaim(c, result).lines.join('; ');
  const evidence = [`Reason: ${c.reason}`, ...hypothesesOf(c, result).map(checkLine), sourceLine(c)].join('\n');
  const expected = c.expected ?? 'no expectation';
  const kase: Case = { classname: `${result.experiment.name}.${c.id}`, name: `${c.id}: ${c.title}`, timeS: claimSpanMs(c, result) / 1000, out: '' };
  if (!claimAsExpected(c)) {
    kase.failure = { message: `verdict ${c.verdict}, expected ${expected}: ${why}`, body: evidence };
  } else if (c.verdict === 'INCONCLUSIVE') {
    kase.skipped = { message: `INCONCLUSIVE, as expected: ${why}` };
    kase.out = evidence;
  } else if (c.verdict === 'FAIL') {
    kase.out = `Expected FAIL and FAILed: the defect this profile has was detected, as the catalogue says.\n${evidence}`;
  } else {
    kase.out = `verdict ${c.verdict}, expected ${expected}\n${evidence}`;
  }
  if (c.contradictsAudit && c.audit) kase.out = `audit: ${c.audit.says} (${c.audit.verdict}) — measured: ${c.verdict}\n${kase.out}`;
  return kase;
}

function hypothesisCase(h: HypothesisResult, result: RunResult): Case {
  const kase: Case = { classname: `${result.experiment.name}.hypotheses`, name: `${h.id}: ${h.description}`, timeS: phaseSpanMs(result, h.phase) / 1000, out: '' };
  const line = `${checkLine(h)}\nClaims: ${h.claims.join(', ') || '—'}`;
  const want = h.expectedVerdict ?? 'no expectation';
  if (!hypothesisAsExpected(h, result)) {
    kase.failure = { message: `${h.verdict} on ${h.phase}, expected ${want}: ${wantedObserved(h)} — ${h.evidence}`, body: line };
  } else if (h.verdict === 'INCONCLUSIVE') {
    kase.skipped = { message: `INCONCLUSIVE on ${h.phase}, as expected: ${h.evidence}${h.gatedBy?.length ? ` (precondition ${h.gatedBy.join(', ')} did not hold)` : ''}` };
    kase.out = line;
  } else {
    kase.out = h.verdict === 'FAIL' ? `FAIL as expected (a claim it serves expects FAIL).\n${line}` : line;
  }
  return kase;
}

function addCase(suite: XMLBuilder, k: Case): void {
  const tc = suite.ele('testcase', { classname: clean(k.classname), name: clean(k.name), time: k.timeS.toFixed(3) });
  if (k.failure) tc.ele('failure', { message: clean(oneLine(k.failure.message)), type: 'NotAsExpected' }).txt(clean(k.failure.body));
  if (k.error) tc.ele('error', { message: clean(oneLine(k.error.message)), type: 'RunError' }).txt(clean(k.error.body));
  if (k.skipped) tc.ele('skipped', { message: clean(oneLine(k.skipped.message)) });
  if (k.out) tc.ele('system-out').txt(clean(k.out));
}

export function toJUnit(result: RunResult): string {
  const cases: Case[] = [
    ...result.claims.map((c) => claimCase(c, result)),
    ...result.hypotheses.map((h) => hypothesisCase(h, result)),
  ];
  const runS = Math.max(0, (result.endedAtMs - result.startedAtMs) / 1000);
  if (result.error !== undefined) {
    cases.push({ classname: `${result.experiment.name}.run`, name: 'run', timeS: runS, error: { message: result.error, body: result.error }, out: '' });
  }
  const counts = {
    tests: String(cases.length),
    failures: String(cases.filter((k) => k.failure).length),
    errors: String(cases.filter((k) => k.error).length),
    skipped: String(cases.filter((k) => k.skipped).length),
    time: runS.toFixed(3),
  };
  const timestamp = Number.isFinite(result.startedAtMs) ? new Date(result.startedAtMs).toISOString().replace(/\.\d+Z$/, '') : '';
  const props: [string, string][] = [
    ['runId', result.runId],
    ['target.kind', result.target.kind],
    ['target.profile', result.target.profile ?? ''],
    ['target.baseUrl', result.target.baseUrl],
    ['exitCode', String(result.exitCode)],
    ['outcome', outcomeText(result)],
  ];
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  const name = clean(result.experiment.name);
  const suite = doc
    .ele('testsuites', { name, ...counts })
    .ele('testsuite', { name, id: clean(result.runId), ...counts, timestamp });
  const properties = suite.ele('properties');
  for (const [n, v] of props) properties.ele('property', { name: clean(n), value: clean(v) });
  for (const k of cases) addCase(suite, k);
  suite.ele('system-out').txt(clean([result.experiment.description, outcomeText(result), ...(result.notes ?? []).map((n) => `note: ${n}`)].join('\n')));
  return `${doc.end({ prettyPrint: true })}\n`;
}
