import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCH, sch as runSch } from '../sch.js';
import { OutputError, outputsForWorkload, parseK6Output } from '../../src/k6/outputs.js';
import { ScenarioInputError, loadFlags } from '../../src/k6/run.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { closedPort } from './closed-port.js';

/**
 * What a k6 user types, through bin/sch as a subprocess started from a directory outside the checkout:
 * each habit either works (reaches the point where the missing lab, experiment or target is refused, exit
 * 2, never "unknown option") or is refused with exit 2 and a message naming the flag meant. No lab.
 */
const cwd = mkdtempSync(join(tmpdir(), 'sch-k6-habits-'));
const NO_LAB = 'k6habits-none';

/** bin/sch from a directory outside the checkout. */
const sch = (args: string[], timeoutMs = 30_000) => runSch(args, { cwd, timeoutMs });


let closed: string;
beforeAll(async () => {
  closed = `http://127.0.0.1:${await closedPort()}`;
});

describe('sch from any directory', () => {
  it('--help from outside the checkout; no arguments at all is a usage error (2)', async () => {
    const help = await sch(['--help']);
    expect(help.code, help.err).toBe(0);
    expect(help.out).toMatch(/scenario/);
    expect((await sch([])).code).toBe(2);
  });

  it('run and scenario run list the k6 flags', async () => {
    const run = await sch(['run', '--help']);
    for (const f of ['-d, --duration <time>', '-e, --env <KEY=value>', '-o, --out <output>', '--out-dir <dir>', '--target-profile <profile>', '--target-env <KEY=value>']) expect(run.out).toContain(f);
    const sc = await sch(['scenario', 'run', '--help']);
    for (const f of ['--load <profile>', '-d, --duration <time>', '-u, --vus <n>', '-i, --iterations <n>', '-e, --env <KEY=value>', '-o, --out <output>', '--out-dir <dir>']) expect(sc.out).toContain(f);
  });
});

describe('sch run: k6 habits', () => {
  // An unknown experiment is refused after the flags are parsed: reaching it shows every flag was accepted.
  it('-e FOO=bar, --env, -d 1h30m, -o json=results.json, --profile hardened are accepted (then the unknown experiment is refused)', async () => {
    const r = await sch(['run', 'no-such-experiment', '-e', 'FOO=bar', '--env', 'BAR=baz', '-d', '1h30m', '-o', 'json=results.json', '--profile', 'hardened', '--lab', NO_LAB]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/unknown experiment "no-such-experiment"/);
    expect(r.err).not.toMatch(/unknown option/);
    // The old meaning of --out made a folder of that name.
    expect(readdirSync(cwd)).not.toContain('json=results.json');
  });

  const refused: [string, string[], RegExp][] = [
    ['--out <dir> (the old report folder)', ['--out', './runs'], /--out \.\/runs: -o\/--out is k6's output.*the folder for the run's reports is --out-dir \.\/runs/],
    ['--duration 500ms (a timeline is 1 s to 24 h)', ['--duration', '500ms'], /option '-d, --duration <time>' argument '500ms' is invalid\. between 1 s and 24 h/],
    ['-d soon', ['-d', 'soon'], /option '-d, --duration <time>' argument 'soon' is invalid\. "soon" is not a duration: use k6's form/],
    ['--vus 5', ['--vus', '5'], /option '-u, --vus <n>' argument '5' is invalid\. an experiment sizes each workload itself.*sch scenario run <scenario> --vus N/],
    ['--iterations 3', ['--iterations', '3'], /option '-i, --iterations <n>' argument '3' is invalid\. .*sch scenario run \.\/your-script\.js --iterations N/],
    ['--profile smoke (a load profile)', ['--profile', 'smoke'], /option '--profile <profile>' argument 'smoke' is invalid\. Allowed choices are audited, as-built, hardened/],
    ['--target-profile and --profile disagreeing', ['--target-profile', 'hardened', '--profile', 'audited'], /--target-profile hardened and --profile audited disagree: --profile is the old name of --target-profile/],
    ['-e without =', ['-e', 'FOO'], /option '-e, --env <KEY=value>' argument 'FOO' is invalid\. "FOO" is not KEY=value/],
    ['an unknown option', ['--bogus'], /unknown option '--bogus'/],
  ];
  for (const [what, args, want] of refused) {
    it(`refused with exit 2 naming the flag: ${what}`, async () => {
      const r = await sch(['run', 'redis-outage', '--lab', NO_LAB, '--no-screenshot', ...args]);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(want);
    });
  }

  it('a missing argument is a usage error: 2, not 1', async () => {
    const r = await sch(['run']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/missing required argument 'experiment'/);
  });
});

describe('sch scenario run: k6 habits', () => {
  it('-e, --env, --vus 5, -d 1h30m, -o json=… are accepted; with no --target-url the default lab\'s target is used, and a missing lab is refused (2)', async () => {
    const r = await sch(['scenario', 'run', 'registration', '-e', 'FOO=bar', '--env', 'BAR=baz', '--vus', '5', '-d', '1h30m', '-o', 'json=results.json', '--lab', NO_LAB]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(new RegExp(`no --target-url given and no lab "${NO_LAB}" is up: start one with its reference target \\(sch lab up --name ${NO_LAB} && sch target up --name ${NO_LAB}\\)`));
    expect(r.err).not.toMatch(/unknown option/);
  });

  it('-d 500ms and --duration 20s scale the load (then the closed target is refused)', async () => {
    for (const d of [['-d', '500ms'], ['--duration', '20s']]) {
      const r = await sch(['scenario', 'run', 'registration', '--target-url', closed, ...d]);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(/is not reachable/);
    }
  });

  const refused: [string, string[], RegExp][] = [
    ['--profile (ambiguous: --load or --target-profile)', ['--profile', 'smoke'], /option '--profile <profile>' argument 'smoke' is invalid\. ambiguous here: the load profile is --load smoke\|load\|stress\|spike\|soak; the reference target's profile is --target-profile/],
    ['--load blast', ['--load', 'blast'], /option '--load <profile>' argument 'blast' is invalid\. Allowed choices are smoke, load, stress, spike, soak/],
    ['--iterations 3 on an arrival-rate scenario', ['--iterations', '3'], /--iterations applies to a k6 script of your own \(sch scenario run \.\/my\.js --iterations 3\)/],
    ['--out <dir>', ['--out', '/tmp/somewhere'], /the folder for the run's reports is --out-dir \/tmp\/somewhere/],
    ['-d garbage', ['-d', '10x'], /option '-d, --duration <time>' argument '10x' is invalid/],
    ['--vus 0', ['--vus', '0'], /option '-u, --vus <n>' argument '0' is invalid\. a whole number of at least 1/],
    ['-d with -e SC_DURATION', ['-d', '1m', '-e', 'SC_DURATION=2m'], /-d\/--duration 1m and -e SC_DURATION both set the length: give one/],
  ];
  for (const [what, args, want] of refused) {
    it(`refused with exit 2 naming the flag: ${what}`, async () => {
      const r = await sch(['scenario', 'run', 'uploads', '--target-url', closed, ...args]);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(want);
    });
  }
});

describe('k6 outputs (-o) and load flags, without k6', () => {
  it('-o: a k6 output with its file made absolute; a folder is refused naming --out-dir; several workloads get a file each', () => {
    expect(parseK6Output('json=results.json', '/w')).toBe('json=/w/results.json');
    expect(parseK6Output('csv=/abs/s.csv', '/w')).toBe('csv=/abs/s.csv');
    expect(parseK6Output('experimental-prometheus-rw', '/w')).toBe('experimental-prometheus-rw');
    expect(parseK6Output('csv=fileName=x.csv,timeFormat=unix', '/w')).toBe('csv=fileName=x.csv,timeFormat=unix');
    for (const bad of ['runs', './runs', '/tmp/x', 'json=', 'reports/runs/x']) expect(() => parseK6Output(bad, '/w'), bad).toThrow(OutputError);
    expect(() => parseK6Output('runs', '/w')).toThrow(/--out-dir runs/);
    expect(outputsForWorkload(['json=/w/results.json', 'json=/w/r.json.gz', 'csv=/w/plain', 'experimental-prometheus-rw'], 'probes', true))
      .toEqual(['json=/w/results.probes.json', 'json=/w/r.probes.json.gz', 'csv=/w/plain.probes', 'experimental-prometheus-rw']);
    expect(outputsForWorkload(['json=/w/results.json'], 'probes', false)).toEqual(['json=/w/results.json']);
  });

  it('-d / --vus on a scenario of scenarios/: the stages or SC_DURATION, SC_MAX_VUS; on a script of your own: k6\'s flags', () => {
    const fan = loadFlags({ name: 'chat-fanout', profile: 'load', duration: '10m', vus: 7 });
    expect(fan.env).toEqual({ SC_MAX_VUS: '7', SC_PRE_VUS: '7' });
    expect(fan.plan.stages.length).toBe(3);
    expect(fan.k6Args).toEqual([]);
    expect(loadFlags({ name: 'uploads', profile: 'smoke', duration: '90' }).env).toEqual({ SC_DURATION: '1m30s' });
    expect(() => loadFlags({ name: 'probes', profile: 'smoke', vus: 3 })).toThrow(/--vus: scenario probes sizes its VUs itself/);
    expect(() => loadFlags({ name: 'registration', profile: 'smoke', iterations: 3 })).toThrow(ScenarioInputError);
    const dir = mkdtempSync(join(tmpdir(), 'sch-own-script-'));
    const script = join(dir, 'mine.js');
    writeFileSync(script, 'export default function () {}\n');
    expect(loadFlags({ name: script, profile: 'smoke', duration: '1h30m', vus: 2, iterations: 3 }).k6Args).toEqual(['--vus', '2', '--iterations', '3', '--duration', '1h30m']);
  });
});

describe('a k6 script of your own, with -e, --vus, --iterations and -o json=… (k6 runs, no lab)', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"healthy"}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('runs it as k6 would: 3 iterations on 1 VU, FOO reaches __ENV, the JSON output lands where it was asked, its own thresholds judge it', async () => {
    const dir = join(cwd, 'own');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'my-load.js'), [
      "import http from 'k6/http';",
      "import { check } from 'k6';",
      "export const options = { thresholds: { checks: ['rate==1'] } };",
      'export default function () {',
      '  const r = http.get(`${__ENV.SC_BASE_URL}/health`);',
      "  check(r, { 'healthy': (x) => x.status === 200 });",
      '  console.log(`FOO=${__ENV.FOO}`);',
      '}',
      '',
    ].join('\n'));
    const outDir = join(cwd, 'own-run');
    const r = await sch(['scenario', 'run', './own/my-load.js', '--target-url', base, '-e', 'FOO=bar', '--vus', '1', '--iterations', '3', '-o', 'json=own/results.json', '--out-dir', outDir, '--quiet'], 90_000);
    expect(r.code, r.err.slice(-1500)).toBe(0);
    expect(r.out).toMatch(/checks\s+rate==1\s+ok/);
    const points = readFileSync(join(cwd, 'own', 'results.json'), 'utf8').split('\n').filter((l) => l.includes('"type":"Point"') && l.includes('"metric":"http_reqs"'));
    expect(points).toHaveLength(3);
    expect(readFileSync(join(outDir, 'k6.log'), 'utf8')).toMatch(/FOO=bar/);
    expect(existsSync(join(outDir, 'summary.json'))).toBe(true);
  }, 120_000);

  it('SIGINT mid-run: k6 is stopped and the shell gets 130, not 2', async () => {
    writeFileSync(join(cwd, 'own', 'slow.js'), [
      "import http from 'k6/http';",
      "import { sleep } from 'k6';",
      'export default function () { http.get(`${__ENV.SC_BASE_URL}/health`); sleep(0.2); }',
      '',
    ].join('\n'));
    const c = spawn(SCH, ['scenario', 'run', './own/slow.js', '--target-url', base, '-d', '60s', '--out-dir', join(cwd, 'slow-run')], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((done) => c.on('exit', (code) => done(code)));
    const until = Date.now() + 60_000;
    while (!err.includes('output in') && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 3000)); // k6 running
    c.kill('SIGINT');
    expect(await exited, err).toBe(130);
    expect(err).toMatch(/SIGINT: stopping k6/);
    expect(err).toMatch(/error: interrupted/);
  }, 120_000);
});

describe('an experiment workload running a k6 script of your own (scenario: ./my.js)', () => {
  it('is resolved against the experiment file (so a replay names the same file); a missing one is refused naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sch-own-exp-'));
    mkdirSync(join(dir, 'load'));
    writeFileSync(join(dir, 'load', 'mine.js'), 'export default function () {}\n');
    const exp = {
      name: 'own-script', description: 'a script of my own as a workload', target: { kind: 'embedded' }, durationS: 10,
      workloads: [{ id: 'mine', scenario: './load/mine.js' }],
      hypotheses: [{ id: 'h', description: 'it sends', claims: ['OWN'], phase: 'run', select: { metric: 'http_reqs' }, stat: 'count', op: '>', value: 0 }],
    };
    writeFileSync(join(dir, 'exp.json'), JSON.stringify(exp));
    expect((await loadExperiment(join(dir, 'exp.json'))).workloads[0]).toMatchObject({ kind: 'k6' });
    expect(((await loadExperiment(join(dir, 'exp.json'))).workloads[0] as { scenario: string }).scenario).toBe(join(dir, 'load', 'mine.js'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...exp, workloads: [{ id: 'mine', scenario: './load/missing.ts' }] }));
    await expect(loadExperiment(join(dir, 'bad.json'))).rejects.toThrow(/workloads\[0\]\.scenario: k6 script .*missing\.ts not found/);
  });
});
