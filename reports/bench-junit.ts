/**
 * junit.xml of an SFU capacity benchmark (bench.json): one test case, `sfu-capacity.<shape>`, plus
 * `sfu-capacity.<shape>.baseline` with --baseline and `.cross-check` with --cross-check. PASS passes, FAIL is a
 * failure, INCONCLUSIVE is skipped with its reason (CI shows it; it never counts as a pass).
 */
import { create } from 'xmlbuilder2';
import type { BenchResult } from '../src/bench/bench-result.js';
import { capacityText } from '../src/bench/bench-result.js';
import type { Verdict } from '../src/results/model.js';
import { clean } from './common.js';

interface Case {
  name: string;
  verdict: Verdict;
  message: string;
}

export function toBenchJUnit(r: BenchResult): string {
  const base = `sfu-capacity.${r.shape.kind}`;
  const cases: Case[] = [{ name: base, verdict: r.baseline ? ownVerdict(r) : r.verdict, message: r.baseline ? `capacity ${capacityText(r.result)} consumers` : r.reason }];
  if (r.baseline) cases.push({ name: `${base}.baseline`, verdict: r.baseline.verdict, message: `${r.baseline.reason} (baseline ${r.baseline.run})` });
  if (r.crossCheck) cases.push({ name: `${base}.cross-check`, verdict: r.crossCheck.agree ? 'PASS' : 'FAIL', message: r.crossCheck.note });
  const count = (v: Verdict) => String(cases.filter((c) => c.verdict === v).length);
  const attrs = { tests: String(cases.length), failures: count('FAIL'), errors: '0', skipped: count('INCONCLUSIVE'), time: r.durationS.toFixed(3) };
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  const suite = doc.ele('testsuites', { name: 'sch bench sfu', ...attrs }).ele('testsuite', { name: base, id: clean(r.id), ...attrs, timestamp: r.startedAt.replace(/\.\d+Z$/, '') });
  const props = suite.ele('properties');
  for (const [n, v] of [['target.kind', r.target.kind], ['target.baseUrl', r.target.baseUrl], ['target.profile', r.target.profile ?? ''], ['capacity', capacityText(r.result)], ['verdict', r.verdict]] as const) props.ele('property', { name: n, value: clean(v) });
  for (const c of cases) {
    const tc = suite.ele('testcase', { classname: 'sfu-capacity', name: c.name, time: '0' });
    if (c.verdict === 'FAIL') tc.ele('failure', { message: clean(c.message), type: 'FAIL' }).txt(clean(c.message));
    else if (c.verdict === 'INCONCLUSIVE') tc.ele('skipped', { message: clean(`INCONCLUSIVE: ${c.message}`) });
    tc.ele('system-out').txt(clean(`${c.verdict}: ${c.message}`));
  }
  return `${doc.end({ prettyPrint: true })}\n`;
}

/** The run's own verdict, before the baseline comparison. */
function ownVerdict(r: BenchResult): Verdict {
  return r.result.status === 'knee' ? 'PASS' : 'INCONCLUSIVE';
}
