/**
 * junit.xml for CI: one <testsuite> per run (name = experiment), one testcase per claim
 * (classname "claims") and per hypothesis (classname "hypotheses"). A claim fails when its verdict
 * is not the catalogue's expected verdict (INCONCLUSIVE included); an expected FAIL that FAILed
 * passes — the documented defect was detected — and says so in <system-out>. A run that failed
 * itself (result.error) adds an errored testcase (classname "run").
 */
import type { ClaimResult, HypothesisResult, RunResult } from '../src/results/model.js';
import { claimAsExpected, esc, fmtNum, hypothesisAsExpected, outcomeText } from './common.js';

interface Case {
  classname: string;
  name: string;
  failure?: { message: string; body: string };
  error?: { message: string; body: string };
  out: string;
}

function sourceLine(c: ClaimResult): string {
  return `Audit: ${c.source.file} §${c.source.section}, line ${c.source.line}: ${c.source.quote}`;
}

function hypothesisLine(h: HypothesisResult): string {
  return `${h.id} [${h.phase}] ${h.verdict}: expected ${h.expected}, observed ${fmtNum(h.observed, 4)}; ${h.evidence}`;
}

function claimCase(c: ClaimResult, result: RunResult): Case {
  const hyps = c.hypotheses.map((id) => result.hypotheses.find((h) => h.id === id)).filter((h): h is HypothesisResult => h !== undefined);
  const evidence = [`Reason: ${c.reason}`, ...hyps.map(hypothesisLine), sourceLine(c)].join('\n');
  const expected = c.expected ?? 'no expectation';
  const kase: Case = { classname: 'claims', name: `${c.id}: ${c.title}`, out: '' };
  if (!claimAsExpected(c)) {
    kase.failure = { message: `verdict ${c.verdict}, expected ${expected}: ${c.reason}`, body: evidence };
  } else if (c.verdict === 'FAIL') {
    kase.out = `Expected FAIL and FAILed: the defect this profile has was detected, as the catalogue says.\n${evidence}`;
  } else {
    kase.out = `verdict ${c.verdict}, expected ${expected}\n${evidence}`;
  }
  if (c.contradictsAudit && c.audit) kase.out = `audit: ${c.audit.says} (${c.audit.verdict}) — measured: ${c.verdict}\n${kase.out}`;
  return kase;
}

function hypothesisCase(h: HypothesisResult, result: RunResult): Case {
  const kase: Case = { classname: 'hypotheses', name: `${h.id}: ${h.description}`, out: '' };
  const line = `${hypothesisLine(h)}\nClaims: ${h.claims.join(', ') || '—'}`;
  if (!hypothesisAsExpected(h, result)) {
    kase.failure = { message: `${h.verdict} on ${h.phase}: expected ${h.expected}, observed ${fmtNum(h.observed, 4)}`, body: line };
  } else {
    kase.out = h.verdict === 'FAIL' ? `FAIL as expected (a claim it serves expects FAIL).\n${line}` : line;
  }
  return kase;
}

function renderCase(k: Case): string {
  const parts = [`    <testcase classname="${esc(k.classname)}" name="${esc(k.name)}" time="0">`];
  if (k.failure) parts.push(`      <failure message="${esc(k.failure.message)}" type="NotAsExpected">${esc(k.failure.body)}</failure>`);
  if (k.error) parts.push(`      <error message="${esc(k.error.message)}" type="RunError">${esc(k.error.body)}</error>`);
  if (k.out) parts.push(`      <system-out>${esc(k.out)}</system-out>`);
  parts.push('    </testcase>');
  return parts.join('\n');
}

export function toJUnit(result: RunResult): string {
  const cases: Case[] = [
    ...result.claims.map((c) => claimCase(c, result)),
    ...result.hypotheses.map((h) => hypothesisCase(h, result)),
  ];
  if (result.error !== undefined) {
    cases.push({ classname: 'run', name: 'run', error: { message: result.error, body: result.error }, out: '' });
  }
  const tests = cases.length;
  const failures = cases.filter((k) => k.failure).length;
  const errors = cases.filter((k) => k.error).length;
  const seconds = Math.max(0, (result.endedAtMs - result.startedAtMs) / 1000).toFixed(3);
  const timestamp = Number.isFinite(result.startedAtMs) ? new Date(result.startedAtMs).toISOString().replace(/\.\d+Z$/, '') : '';
  const props: [string, string][] = [
    ['runId', result.runId],
    ['target.kind', result.target.kind],
    ['target.profile', result.target.profile ?? ''],
    ['target.baseUrl', result.target.baseUrl],
    ['exitCode', String(result.exitCode)],
    ['outcome', outcomeText(result)],
  ];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${esc(result.experiment)}" tests="${tests}" failures="${failures}" errors="${errors}" time="${seconds}">`,
    `  <testsuite name="${esc(result.experiment)}" id="${esc(result.runId)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="0" time="${seconds}" timestamp="${esc(timestamp)}">`,
    '    <properties>',
    ...props.map(([n, v]) => `      <property name="${esc(n)}" value="${esc(v)}"/>`),
    '    </properties>',
    ...cases.map(renderCase),
    `    <system-out>${esc([result.description, outcomeText(result), ...(result.notes ?? []).map((n) => `note: ${n}`)].join('\n'))}</system-out>`,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
