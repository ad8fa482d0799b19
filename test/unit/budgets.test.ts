import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUDGETS_FILE, BudgetError, loadBudgets, parseBudgets, thresholdsFor, verifySources } from '../../src/k6/budgets.js';
import { auditDirProblem } from '../../src/util/audit-quotes.js';
import { skipWithoutAudits } from './audit-skip.js';

const FILE = 'budgets-under-test.yaml';
const budget = (over: Record<string, unknown> = {}) => ({
  metric: 'sc_step_duration', stat: 'p(95)', op: '<', value: 1000, unit: 'ms',
  source: { file: '003_x.txt', line: 328, section: 'Alerting', quote: 'High latency (p95 > 1s)' }, ...over,
});
const doc = (steps: Record<string, unknown>, scenario: unknown[] = []) => JSON.stringify({ version: 1, scenarios: { reg: { scenario, steps } } });

describe('fixtures/budgets.yaml', () => {
  it('turns into k6 thresholds for the registration scenario: per step and for the whole run', () => {
    const t = thresholdsFor(loadBudgets(), 'registration');
    expect(t).toMatchObject({
      http_req_failed: ['rate<0.05'],
      http_req_duration: ['p(95)<1000'],
      sc_revoked_token_accepted: ['count<1'],
      'sc_step_duration{step:register}': ['p(95)<1000'],
      'sc_step_duration{step:login}': ['p(95)<1000'],
      'sc_step_duration{step:refresh}': ['p(95)<1000'],
      'sc_step_duration{step:profile}': ['p(95)<1000'],
      'sc_step_duration{step:logout}': ['p(95)<1000'],
      'sc_step_duration{step:revoked}': ['p(95)<1000'],
    });
  });

  it('every budget carries its audit source, and the audit reads so on that line', () => {
    const b = loadBudgets();
    for (const s of Object.values(b.scenarios)) {
      for (const x of [...s.scenario, ...Object.values(s.steps).flat()]) {
        expect(x.source.file).toMatch(/^00[23]_[0-9a-f]+\.txt$/);
        expect(x.source.line).toBeGreaterThan(0);
      }
    }
  });

  // The audits live beside the clone (../shared), not in it: where they are absent this is skipped, saying why.
  it('every budget quotes its audit line word for word', (ctx) => {
    skipWithoutAudits(ctx, 'budget quotes');
    expect(verifySources(loadBudgets())).toEqual([]);
  });

  it('the quote check finds a quote that is not on its line, and an audit that is not there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sch-audit-'));
    writeFileSync(join(dir, '003_x.txt'), 'line one\n2. High latency (p95 > 1s)\n');
    expect(auditDirProblem(dir)).toBeNull();
    const at = (line: number, file = '003_x.txt') => parseBudgets(doc({ login: [budget({ source: { file, line, section: 's', quote: 'High latency (p95 > 1s)' } })] }), FILE);
    expect(verifySources(at(2), dir)).toEqual([]);
    expect(verifySources(at(1), dir)).toEqual(['scenarios.reg.steps.login[0]: 003_x.txt:1 does not read "High latency (p95 > 1s)" (it reads "line one")']);
    expect(verifySources(at(1, '002_y.txt'), dir)).toEqual([`scenarios.reg.steps.login[0]: audit 002_y.txt not found in ${dir}`]);
  });

  it('the step tags match the registration scenario\'s steps', () => {
    const src = readFileSync(new URL('../../scenarios/registration.ts', import.meta.url), 'utf8');
    const steps = /STEPS = \[([^\]]+)\]/.exec(src)?.[1]?.match(/'([a-z]+)'/g)?.map((s) => s.slice(1, -1));
    expect(Object.keys(loadBudgets().scenarios.registration!.steps).sort()).toEqual([...(steps ?? [])].sort());
  });
});

describe('malformed budgets are rejected with the file and the field named', () => {
  const cases: [string, string, RegExp][] = [
    ['a value that is not a number', doc({ login: [budget({ value: '1s' })] }), /budgets-under-test\.yaml: scenarios\.reg\.steps\.login\[0\]\.value: must be a finite number/],
    ['an unknown operator', doc({ login: [budget({ op: '=<' })] }), /scenarios\.reg\.steps\.login\[0\]\.op:/],
    ['an unknown statistic', doc({}, [budget({ stat: 'p95' })]), /scenarios\.reg\.scenario\[0\]\.stat:/],
    ['a budget without a source', doc({ login: [budget({ source: undefined })] }), /scenarios\.reg\.steps\.login\[0\]\.source: must name the audit/],
    ['a source without a line', doc({ login: [budget({ source: { file: '003_x.txt', section: 's', quote: 'q' } })] }), /scenarios\.reg\.steps\.login\[0\]\.source\.line:/],
    ['a ratio above 1', doc({}, [budget({ metric: 'http_req_failed', stat: 'rate', value: 5, unit: 'ratio' })]), /scenarios\.reg\.scenario\[0\]\.value: a ratio must be within 0\.\.1/],
    ['a misspelt field', doc({ login: [{ ...budget(), treshold: 1 }] }), /scenarios\.reg\.steps\.login\[0\]\.treshold: unknown field/],
    ['steps as a list', JSON.stringify({ version: 1, scenarios: { reg: { steps: [] } } }), /scenarios\.reg\.steps: must be a mapping/],
    ['no version', JSON.stringify({ scenarios: {} }), /budgets-under-test\.yaml: version:/],
    ['not YAML', 'scenarios: [unclosed', /budgets-under-test\.yaml: not valid YAML/],
  ];
  it.each(cases)('%s', (_what, text, message) => {
    expect(() => parseBudgets(text, FILE)).toThrow(BudgetError);
    expect(() => parseBudgets(text, FILE)).toThrow(message);
  });

  it('an unknown scenario is named', () => {
    expect(() => thresholdsFor(loadBudgets(), 'no-such')).toThrow(/"no-such"/);
  });

  it('a missing file is named', () => {
    expect(() => loadBudgets('/nonexistent/budgets.yaml')).toThrow(/\/nonexistent\/budgets\.yaml/);
    expect(BUDGETS_FILE).toMatch(/fixtures\/budgets\.yaml$/);
  });
});
