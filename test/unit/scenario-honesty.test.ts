import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { run } from '../../src/lab/exec.js';
import { BudgetError, parseBudgets, thresholdSpecs, thresholdsFor, loadBudgets } from '../../src/k6/budgets.js';
import {
  checksOf, hasSamples, judgeThresholds, k6Errors, readSamples, readSummary, runFailure, runScenario, SYSTEM_TAGS, type K6Summary,
} from '../../src/k6/run.js';
import { thresholdCell } from '../../src/cli/scenario-commands.js';
import { checkTargetAddress, TargetRefused } from '../../src/util/target-address.js';
import { expectNoSecrets } from '../integration/no-secrets.js';

/**
 * "Honest verdicts": a run that failed is never a pass, a threshold without data is never "ok", and
 * nothing secret reaches a run's files. Pure logic first, then real k6 against a loopback server.
 */

const SOURCE = { file: '003_x.txt', line: 1, section: 's', quote: 'q' };
const summaryOf = (metrics: K6Summary['metrics']): K6Summary => ({ root_group: { name: '', path: '', groups: {}, checks: {} }, metrics });

describe('no data is never "ok"', () => {
  it('a metric has samples when its count, or a rate\'s passes + fails, is above 0', () => {
    expect(hasSamples(undefined)).toBe(false);
    expect(hasSamples({ avg: 0, 'p(95)': 0, count: 0 })).toBe(false);
    expect(hasSamples({ avg: 12, 'p(95)': 30, count: 3 })).toBe(true);
    expect(hasSamples({ value: 0, passes: 0, fails: 0 })).toBe(false);
    expect(hasSamples({ value: 0, passes: 0, fails: 4 })).toBe(true);
    expect(hasSamples({ count: 0, rate: 0 })).toBe(false);
    expect(hasSamples({ count: 2, rate: 0.1 })).toBe(true);
  });

  it('a step whose metric got no sample reads "no data", counted unless its budget is optional; crossed ones stay crossed', () => {
    // The registration table as it was when login failed: k6 judged the empty steps' p(95) as 0 and passed them.
    const s = summaryOf({
      'sc_step_duration{step:register}': { avg: 1500, 'p(95)': 1500, count: 4, thresholds: { 'p(95)<1000': true } },
      'sc_step_duration{step:login}': { avg: 0, 'p(95)': 0, count: 0, thresholds: { 'p(95)<1000': false } },
      sc_revoked_token_accepted: { count: 0, rate: 0, thresholds: { 'count<1': false } },
      http_req_failed: { value: 0, passes: 0, fails: 8, thresholds: { 'rate<0.05': false } },
      sc_extra: { count: 1, rate: 1, thresholds: { 'count<5': false } },
    });
    const r = judgeThresholds(s, [
      { selector: 'sc_step_duration{step:register}', expression: 'p(95)<1000', optional: false },
      { selector: 'sc_step_duration{step:login}', expression: 'p(95)<1000', optional: false },
      { selector: 'sc_revoked_token_accepted', expression: 'count<1', optional: true },
      { selector: 'http_req_failed', expression: 'rate<0.05', optional: false },
      { selector: 'sc_missing', expression: 'rate>0.95', optional: false },
    ]);
    expect(r.map((t) => [t.selector, t.status, thresholdCell(t)])).toEqual([
      ['sc_step_duration{step:register}', 'crossed', 'CROSSED'],
      ['sc_step_duration{step:login}', 'no data', 'NO DATA'],
      ['sc_revoked_token_accepted', 'no data', 'no data (optional)'],
      ['http_req_failed', 'ok', 'ok'],
      ['sc_missing', 'no data', 'NO DATA'],
      // A threshold the budgets do not know (the script's own) is judged too.
      ['sc_extra', 'ok', 'ok'],
    ]);
  });

  it('budgets may say `optional: true`; anything but a boolean is refused with the file and field named', () => {
    const doc = (optional: unknown) => JSON.stringify({ version: 1, scenarios: { reg: { scenario: [
      { metric: 'sc_x', stat: 'count', op: '<', value: 1, unit: 'count', optional, source: SOURCE },
      { metric: 'sc_x', stat: 'count', op: '<', value: 1, unit: 'count', source: SOURCE },
      { metric: 'sc_y', stat: 'p(95)', op: '<', value: 1000, unit: 'ms', optional, source: SOURCE },
    ] } } });
    const b = parseBudgets(doc(true), 'b.yaml');
    // The same threshold from a budget that is not optional demands data.
    expect(thresholdSpecs(b, 'reg')).toEqual([
      { selector: 'sc_x', expression: 'count<1', optional: false },
      { selector: 'sc_y', expression: 'p(95)<1000', optional: true },
    ]);
    expect(b.scenarios.reg!.scenario[1]!.optional).toBe(false);
    expect(() => parseBudgets(doc('yes'), 'b.yaml')).toThrow(BudgetError);
    expect(() => parseBudgets(doc('yes'), 'b.yaml')).toThrow('b.yaml: scenarios.reg.scenario[0].optional: must be true or false (got "yes")');
  });

  it('chat-fanout has a budget on its acked sends: 0 of 12 socket sends echoed crosses it', () => {
    expect(thresholdsFor(loadBudgets(), 'chat-fanout').checks).toEqual(['rate>0.95']);
    const src = readFileSync(join(HARNESS_ROOT, 'scenarios', 'chat-fanout.ts'), 'utf8');
    // The budget is on `checks`: it stands for the acked sends only while those are chat-fanout's only checks.
    expect([...src.matchAll(/check\(/g)].length).toBe(2);
    expect(src).toMatch(/'send: 201 with message_id'/);
    expect(src).toMatch(/'send \(ws\): echoed to the sender'/);
    const s = summaryOf({ checks: { value: 0, passes: 0, fails: 12, thresholds: { 'rate>0.95': true } } });
    expect(judgeThresholds(s, thresholdSpecs(loadBudgets(), 'chat-fanout')).find((t) => t.selector === 'checks')?.status).toBe('crossed');
  });
});

describe('a run that failed is never a pass', () => {
  // As k6 v2 writes it when setup() calls fail().
  const SETUP_FAILED = 'time="2026-11-29T11:06:35Z" level=error msg="GoError: SC_VIDEO_URL is not set (video-service itself)\\n\\tat go.k6.io/k6/v2/internal/js/modules/k6.(*K6).Fail-fm (native)\\n\\tat setup (file:///x.js:4:47(7))\\n" hint="script exception" source=stacktrace';

  it('k6\'s error lines become one message each, without the stack', () => {
    expect(k6Errors(`noise\n${SETUP_FAILED}\n${SETUP_FAILED}\npanic: boom`)).toEqual(['GoError: SC_VIDEO_URL is not set (video-service itself) (script exception)', 'panic: boom']);
    expect(k6Errors('time="x" level=warning msg="Request Failed"')).toEqual([]);
  });

  it('an abort, a timeout, a signal or a missing summary is a failure; exit 0 and 99 with a summary are not', () => {
    const base = { timedOut: false, stderr: SETUP_FAILED, summaryProblem: null };
    expect(runFailure({ ...base, exitCode: 107 })).toBe('k6 exited 107 (script exception): GoError: SC_VIDEO_URL is not set (video-service itself) (script exception)');
    expect(runFailure({ ...base, exitCode: 0 })).toBeNull();
    expect(runFailure({ ...base, exitCode: 99 })).toBeNull();
    expect(runFailure({ ...base, exitCode: 128, timedOut: true, timeoutMs: 5000 })).toMatch(/^k6 did not finish within 5 s and was killed/);
    expect(runFailure({ ...base, exitCode: 128, signal: 'SIGKILL' })).toMatch(/^k6 was killed by SIGKILL/);
    expect(runFailure({ ...base, exitCode: 105, interrupted: true })).toMatch(/^interrupted: k6 was stopped \(exit 105\)/);
    expect(runFailure({ ...base, exitCode: 0, summaryProblem: 'k6 wrote no summary (/x/summary.json)' })).toMatch(/^k6 wrote no summary/);
    expect(runFailure({ exitCode: 1, timedOut: false, stderr: 'line1\nline2', summaryProblem: null })).toBe('k6 exited 1; last lines: line1 | line2');
  });

  it('the failure text is redacted', () => {
    const leaky = 'time="x" level=error msg="GoError: login failed for Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl" hint="script exception"';
    const f = runFailure({ exitCode: 107, timedOut: false, stderr: leaky, summaryProblem: null });
    expect(f).toContain('login failed for [REDACTED]');
    expect(f).not.toContain('eyJ');
  });
});

describe('targets outside loopback and the lab are refused (pure check: nothing is sent here)', () => {
  it('loopback, the lab address and 198.18.0.0/15 pass; anything else needs allowRemote', () => {
    for (const u of ['http://127.0.0.1:8080', 'http://localhost:1', 'http://[::1]:80', 'http://127.1.2.3', 'http://198.18.0.2:21200', 'http://198.19.255.1', 'http://10.1.2.3:80']) {
      expect(() => checkTargetAddress(u, '10.1.2.3', false), u).not.toThrow();
    }
    for (const u of ['http://203.0.113.5:8080', 'http://198.20.0.1', 'http://example.com', 'http://10.1.2.3:80', 'http://0.0.0.0:80', 'http://[::ffff:127.0.0.1]']) {
      expect(() => checkTargetAddress(u, null, false), u).toThrow(TargetRefused);
      expect(() => checkTargetAddress(u, null, true), u).not.toThrow();
    }
    expect(() => checkTargetAddress('http://203.0.113.5:8080', null, false)).toThrow("target http://203.0.113.5:8080 is outside loopback and the lab's network: load and faults would leave this machine. Pass --allow-remote if that is intended.");
    expect(() => checkTargetAddress('http://203.0.113.5', null, false, 'SC_VIDEO_URL')).toThrow(/^SC_VIDEO_URL http:\/\/203\.0\.113\.5 is outside loopback/);
    expect(() => checkTargetAddress('not a url', null, true, 'SC_VIDEO_URL')).toThrow('SC_VIDEO_URL "not a url" is not a URL');
  });
});

// ---- real k6 against a loopback server: a few tiny scenarios of our own (temporary scenarios dir and budgets).

const tmp = mkdtempSync(join(tmpdir(), 'sch-honesty-'));
const scenariosDir = join(tmp, 'scenarios');
mkdirSync(scenariosDir);
let server: Server;
let base: string;
const hits: string[] = [];
/** A made-up bearer token the scenario gets from setup() and puts in URLs: it must reach no file. */
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJob25lc3R5In0.aG9uZXN0eS10ZXN0LXNpZw';

function scenario(name: string, code: string, budgets: unknown[]): { name: string; budgetsFile: string } {
  writeFileSync(join(scenariosDir, `${name}.ts`), code);
  const budgetsFile = join(tmp, `${name}.budgets.yaml`);
  writeFileSync(budgetsFile, JSON.stringify({ version: 1, scenarios: { [name]: { scenario: budgets } } }));
  return { name, budgetsFile };
}
const ONE_ITERATION = "export const options = { scenarios: { one: { executor: 'shared-iterations', vus: 1, iterations: 1, maxDuration: '60s' } } };";

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  server.on('upgrade', (req, socket) => {
    hits.push(req.url ?? '');
    socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(tmp, { recursive: true, force: true });
});

const sch = (args: string[], timeoutMs = 60_000) => run(process.execPath, ['--import', 'tsx', join(HARNESS_ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: HARNESS_ROOT, timeoutMs, env: { ...process.env, NO_COLOR: '1' } });

describe('runScenario with real k6: console output spooled (experiment runs)', () => {
  it('goes to disk redacted as it comes; memory keeps its tail and the error lines; k6.log is whole, the parts gone', async () => {
    const s = scenario('honesty-chatty', `${ONE_ITERATION}\nexport function setup() { console.error('early trouble ${TOKEN}'); }\nexport default function () { for (let i = 0; i < 20000; i++) console.log('DELIVERY ' + i + ' ' + 'x'.repeat(60)); }\n`,
      [{ metric: 'http_req_failed', stat: 'rate', op: '<', value: 0.05, unit: 'ratio', optional: true, source: SOURCE }]);
    const outDir = join(tmp, 'chatty');
    const r = await runScenario({ ...s, scenariosDir, baseUrl: base, profile: 'smoke', outDir, timeoutMs: 60_000, spoolOutput: true });
    expect(r.exitCode).toBe(0);
    const log = readFileSync(join(outDir, 'k6.log'), 'utf8');
    expect(log.match(/DELIVERY \d+ x+/g)?.length).toBe(20000);
    expect(log).toContain('\n--- stderr ---\n');
    expect(log).toMatch(/early trouble/);
    expect(log).not.toContain(TOKEN);
    expect(readdirSync(outDir).filter((f) => /\.part(\.gz)?$/.test(f))).toEqual([]);
    expect(r.stderr.length).toBeLessThan(700 * 1024);
    expect(r.stderr).toMatch(/early trouble/);
  }, 60_000);
});

describe('runScenario with real k6: outcome', () => {
  it('setup() failing (k6 exit 107) is outcome "failed" with k6\'s message, never a pass', async () => {
    const s = scenario('honesty-setup-fails', `import { fail } from 'k6';\n${ONE_ITERATION}\nexport function setup() { fail('the video URL is not set'); }\nexport default function () {}\n`,
      [{ metric: 'http_req_failed', stat: 'rate', op: '<', value: 0.05, unit: 'ratio', optional: true, source: SOURCE }]);
    const r = await runScenario({ ...s, scenariosDir, baseUrl: base, profile: 'smoke', outDir: join(tmp, 'setup-fails'), timeoutMs: 60_000 });
    expect(r.exitCode).toBe(107);
    expect(r.outcome).toBe('failed');
    expect(r.thresholdsPassed).toBe(false);
    expect(r.failure).toBe('k6 exited 107 (script exception): GoError: the video URL is not set (script exception)');
  }, 60_000);

  it('a budget whose metric got no sample crosses (k6 itself exits 0); optional, it does not', async () => {
    const code = `import { Trend } from 'k6/metrics';\n${ONE_ITERATION}\nconst never = new Trend('sc_never', true);\nexport default function () { if (__ENV.FEED === '1') never.add(5); }\n`;
    const strict = scenario('honesty-no-data', code, [{ metric: 'sc_never', stat: 'p(95)', op: '<', value: 1000, unit: 'ms', source: SOURCE }]);
    const r = await runScenario({ ...strict, scenariosDir, baseUrl: base, profile: 'smoke', outDir: join(tmp, 'no-data'), timeoutMs: 60_000 });
    expect(r.exitCode).toBe(0);
    expect(r.outcome).toBe('thresholds');
    expect(r.failedThresholds).toEqual(['sc_never: p(95)<1000']);
    expect(r.noData).toEqual(['sc_never: p(95)<1000']);
    expect(r.thresholdResults).toEqual([{ selector: 'sc_never', expression: 'p(95)<1000', status: 'no data', optional: false }]);

    const fed = await runScenario({ ...strict, scenariosDir, baseUrl: base, profile: 'smoke', outDir: join(tmp, 'fed'), timeoutMs: 60_000, env: { FEED: '1' } });
    expect(fed.outcome).toBe('passed');

    const optional = scenario('honesty-no-data-optional', code, [{ metric: 'sc_never', stat: 'p(95)', op: '<', value: 1000, unit: 'ms', optional: true, source: SOURCE }]);
    const o = await runScenario({ ...optional, scenariosDir, baseUrl: base, profile: 'smoke', outDir: join(tmp, 'no-data-optional'), timeoutMs: 60_000 });
    expect(o.outcome).toBe('passed');
    expect(o.thresholdResults[0]?.status).toBe('no data');
  }, 90_000);

  it('killed at its timeout: outcome "failed", timedOut', async () => {
    const s = scenario('honesty-slow', `import { sleep } from 'k6';\n${ONE_ITERATION}\nexport default function () { sleep(30); }\n`,
      [{ metric: 'http_req_failed', stat: 'rate', op: '<', value: 0.05, unit: 'ratio', optional: true, source: SOURCE }]);
    const r = await runScenario({ ...s, scenariosDir, baseUrl: base, profile: 'smoke', outDir: join(tmp, 'slow'), timeoutMs: 3000 });
    expect(r.timedOut).toBe(true);
    expect(r.outcome).toBe('failed');
    expect(r.failure).toMatch(/^k6 did not finish within 3 s and was killed/);
  }, 30_000);
});

describe('runScenario with real k6: no credential reaches the run\'s files', () => {
  it('setup() data is not in the summary; URLs (and a socket\'s ?token=) are not in the samples; the log is redacted', async () => {
    const s = scenario('honesty-leaky', `import http from 'k6/http';\nimport { check } from 'k6';\nimport { WebSocket } from 'k6/websockets';\n${ONE_ITERATION}
export function setup() { return { token: ${JSON.stringify(TOKEN)}, accounts: [{ token: ${JSON.stringify(TOKEN)} }] }; }
export default function (d) {
  // Named and unnamed requests with the token in the URL, a failing one (k6 logs its URL), and a socket.
  check(http.get(__ENV.SC_BASE_URL + '/v1/me?token=' + d.token, { tags: { name: 'me' } }), { 'me: 200': (r) => r.status === 200 });
  http.get(__ENV.SC_BASE_URL + '/v1/unnamed?token=' + d.token);
  http.get('http://127.0.0.1:1/refused?token=' + d.token);
  const ws = new WebSocket(__ENV.SC_BASE_URL.replace('http', 'ws') + '/v1/ws/chat?token=' + d.token);
  ws.onerror = () => {};
}
`, [{ metric: 'checks', stat: 'rate', op: '>', value: 0.95, unit: 'ratio', source: SOURCE }]);
    const out = join(tmp, 'leaky');
    hits.length = 0;
    const r = await runScenario({ ...s, scenariosDir, baseUrl: base, profile: 'smoke', outDir: out, timeoutMs: 60_000 });
    expect(r.outcome, r.failure ?? r.failedThresholds.join('; ')).toBe('passed');
    // The token really went over the wire: in URLs the server saw, and into k6's own log lines (in memory).
    expect(hits.filter((h) => h.includes(TOKEN)).length).toBeGreaterThanOrEqual(3);
    expect(r.stderr).toContain(TOKEN);
    expectNoSecrets(out, [TOKEN]);

    // What the harness reads from those files still works.
    const summary = readSummary(r.summaryPath);
    expect(Object.keys(summary).sort()).toEqual(['metrics', 'root_group']);
    expect(checksOf(summary)).toEqual({ 'me: 200': { passes: 1, fails: 0 } });
    expect(summary.metrics.checks).toMatchObject({ passes: 1, fails: 0, value: 1, thresholds: { 'rate>0.95': false } });
    // Three requests (the refused one too); only the one the script named has a name.
    expect(summary.metrics.http_req_duration?.count).toBe(3);
    const points = readSamples(r.samplesPath).filter((p) => p.type === 'Point' && p.metric === 'http_req_duration');
    expect(points.map((p) => (p.type === 'Point' ? p.data.tags?.name ?? '(none)' : null)).sort()).toEqual(['(none)', '(none)', 'me']);
    for (const p of readSamples(r.samplesPath)) {
      if (p.type !== 'Point') continue;
      expect(Object.keys(p.data.tags ?? {}).filter((k) => k === 'url' || (k === 'name' && p.data.tags?.name !== 'me'))).toEqual([]);
    }
    expect(readFileSync(join(out, 'k6.log'), 'utf8')).toMatch(/Request Failed/);
    expect(SYSTEM_TAGS).not.toContain('url');
  }, 60_000);

  it('a scenario exporting its own handleSummary is refused (it could write setup() data)', async () => {
    const s = scenario('honesty-own-summary', `${ONE_ITERATION}\nexport default function () {}\nexport function handleSummary(d) { return { 'x.json': JSON.stringify(d) }; }\n`,
      [{ metric: 'checks', stat: 'rate', op: '>', value: 0.95, unit: 'ratio', optional: true, source: SOURCE }]);
    await expect(runScenario({ ...s, scenariosDir, baseUrl: base, profile: 'smoke', outDir: join(tmp, 'own-summary') })).rejects.toThrow(/exports handleSummary/);
    expect(existsSync(join(tmp, 'own-summary'))).toBe(false);
  }, 30_000);
});

describe('sch scenario run (CLI): failed runs exit 2, no data is not "ok"', () => {
  it('call-signaling without SC_VIDEO_URL: setup() aborts (k6 107) → exit 2 "run failed" with k6\'s message, no threshold table', async () => {
    const out = join(tmp, 'cli-no-video');
    const r = await sch(['scenario', 'run', 'call-signaling', '--base-url', `${base}`, '--load', 'smoke', '--out-dir', out, '--quiet'], 90_000);
    expect(r.code, r.stderr.slice(-1500)).toBe(2);
    expect(r.stderr).toMatch(/error: run failed: k6 exited 107 \(script exception\): GoError: SC_VIDEO_URL is not set/);
    expect(r.stdout).not.toMatch(/\bok\b/);
  }, 90_000);
});
