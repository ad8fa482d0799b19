import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { run } from '../../src/lab/exec.js';
import { BudgetError, loadBudgets } from '../../src/k6/budgets.js';
import { ScenarioInputError, probeTarget, runScenario } from '../../src/k6/run.js';
import { parseEnvPair, scenarioDescription } from '../../src/cli/scenario-commands.js';
import { closedPort } from './closed-port.js';

/** Bad input is refused before any load: unknown scenario / profile, unreachable target, malformed budgets; and the CLI's exit codes. */
const tmp = mkdtempSync(join(tmpdir(), 'sch-scen-input-'));
let server: Server;
let healthy: string;
let sick: string;


beforeAll(async () => {
  // /health answers 200 on "/ok", 503 on "/sick"; everything else 500 (a target whose every call fails).
  server = createServer((req, res) => {
    if (req.url === '/ok/health') { res.writeHead(200).end('{"status":"healthy"}'); return; }
    if (req.url === '/sick/health') { res.writeHead(503).end(); return; }
    res.writeHead(500, { 'content-type': 'application/json' }).end('{"success":false}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  healthy = `http://127.0.0.1:${port}/ok`;
  sick = `http://127.0.0.1:${port}/sick`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const sch = (args: string[], timeoutMs = 60_000) => run(process.execPath, ['--import', 'tsx', join(HARNESS_ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: HARNESS_ROOT, timeoutMs, env: { ...process.env, NO_COLOR: '1' } });

describe('runScenario refuses bad input before any load', () => {
  it('an unreachable target: "target <url> is not reachable: …", fast, and nothing is written', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const out = join(tmp, 'unreachable');
    const t0 = Date.now();
    await expect(runScenario({ name: 'registration', baseUrl: url, profile: 'smoke', outDir: out })).rejects.toThrow(ScenarioInputError);
    await expect(runScenario({ name: 'registration', baseUrl: url, profile: 'smoke', outDir: out })).rejects.toThrow(new RegExp(`^target ${url} is not reachable: ECONNREFUSED`));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(existsSync(out)).toBe(false);
  });

  it('a target that does not answer in time, or answers /health with a 5xx', async () => {
    // 192.0.2.0/24 (TEST-NET-1) is never routed: the probe times out.
    await expect(probeTarget('http://192.0.2.1:80', 300)).rejects.toThrow(/^target http:\/\/192\.0\.2\.1:80 is not reachable: /);
    await expect(probeTarget(sick)).rejects.toThrow(`target ${sick} is not reachable: ${sick}/health answered HTTP 503`);
    await expect(probeTarget(healthy)).resolves.toBeUndefined();
  });

  it('an unreachable SC_VIDEO_URL is named too', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    await expect(runScenario({ name: 'call-signaling', baseUrl: healthy, profile: 'smoke', outDir: join(tmp, 'v'), env: { SC_VIDEO_URL: url } })).rejects.toThrow(`target ${url} is not reachable`);
  });

  it('unknown scenario, unknown profile, not a URL', async () => {
    await expect(runScenario({ name: 'nope', baseUrl: healthy, profile: 'smoke', outDir: join(tmp, 'x') })).rejects.toThrow(/unknown scenario "nope" \(known: .*call-signaling/);
    await expect(runScenario({ name: 'registration', baseUrl: healthy, profile: 'blast' as 'smoke', outDir: join(tmp, 'x') })).rejects.toThrow(/unknown profile "blast"/);
    await expect(runScenario({ name: 'registration', baseUrl: 'ftp://x', profile: 'smoke', outDir: join(tmp, 'x') })).rejects.toThrow(ScenarioInputError);
  });

  it('malformed budgets: the file and the field path are named', async () => {
    const file = join(tmp, 'budgets.yaml');
    writeFileSync(file, `version: 1
scenarios:
  registration:
    scenario:
      - { metric: http_req_failed, stat: rate, op: "<", value: 0.05, unit: ratio, source: { file: 003_x.txt, line: 1, section: s, quote: q } }
      - { metric: http_req_duration, stat: p95, op: "<", value: 1000, unit: ms, source: { file: 003_x.txt, line: 1, section: s, quote: q } }
`);
    expect(() => loadBudgets(file)).toThrow(BudgetError);
    expect(() => loadBudgets(file)).toThrow(`${file}: scenarios.registration.scenario[1].stat: must be p(NN)`);
    await expect(runScenario({ name: 'registration', baseUrl: healthy, profile: 'smoke', outDir: join(tmp, 'b'), budgetsFile: file })).rejects.toThrow(`${file}: scenarios.registration.scenario[1].stat`);
  });
});

describe('sch scenario (CLI)', () => {
  it('list: every scenario with its budgets and description', async () => {
    const r = await sch(['scenario', 'list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; budgets: boolean; description: string }[];
    expect(rows.map((x) => x.name)).toEqual(expect.arrayContaining(['call-signaling', 'chat-fanout', 'registration', 'uploads']));
    expect(rows.every((x) => x.budgets)).toBe(true);
    expect(scenarioDescription('call-signaling')).toBe('Call signaling workload');
  });

  it('run: bad input exits 2 with the message, before any load', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const cases: [string[], RegExp][] = [
      [['scenario', 'run', 'nope', '--base-url', healthy], /error: unknown scenario "nope"/],
      [['scenario', 'run', 'registration', '--base-url', healthy, '--load', 'blast'], /option '--load <profile>' argument 'blast' is invalid\. Allowed choices are smoke, load, stress, spike, soak/],
      [['scenario', 'run', 'registration', '--base-url', url], new RegExp(`error: target ${url} is not reachable`)],
      [['scenario', 'run', 'registration', '--lab', 'no-such-lab'], /no --target-url given and no lab "no-such-lab" is up/],
      [['scenario', 'run', 'registration', '--base-url', healthy, '--env', 'NOEQUALS'], /option '-e, --env <KEY=value>' argument 'NOEQUALS' is invalid\. "NOEQUALS" is not KEY=value/],
      [['scenario', 'run', 'registration', '--base-url', healthy, '--load', 'soak', '--soak-duration', 'forever'], /soak duration "forever"/],
    ];
    for (const [args, msg] of cases) {
      const r = await sch(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    expect(parseEnvPair('SC_X=a=b')).toEqual(['SC_X', 'a=b']);
  }, 60_000);

  it('run: a target whose every call fails crosses the thresholds: exit 99, the crossed ones listed; steps never reached read "NO DATA", not "ok"', async () => {
    const out = join(tmp, 'cli-fail');
    const r = await sch(['scenario', 'run', 'registration', '--base-url', healthy, '--load', 'smoke', '--out-dir', out, '--quiet'], 90_000);
    expect(r.code, r.stderr.slice(-1500)).toBe(99);
    expect(r.stdout).toMatch(/http_req_failed\s+rate<0\.05\s+CROSSED/);
    expect(r.stderr).toMatch(/thresholds crossed: .*http_req_failed: rate<0\.05/);
    // register fails, so no later step ever ran: their p(95) is k6's 0 over nothing.
    for (const step of ['login', 'refresh', 'profile', 'logout', 'revoked']) {
      expect(r.stdout).toMatch(new RegExp(`sc_step_duration\\{step:${step}\\}\\s+p\\(95\\)<1000\\s+NO DATA`));
      expect(r.stderr).toContain(`sc_step_duration{step:${step}}: p(95)<1000 (no data)`);
    }
    expect(r.stdout).toMatch(/sc_revoked_token_accepted\s+count<1\s+no data \(optional\)/);
    expect(existsSync(join(out, 'summary.json'))).toBe(true);
  }, 90_000);

  it('--help documents the exit codes', async () => {
    const r = await sch(['scenario', 'run', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/99/);
    expect(r.stdout).toMatch(/-e, --env <KEY=value>/);
    expect(r.stdout).toMatch(/130 interrupted/);
  });
});
