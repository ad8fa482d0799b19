import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { validateExperiment, ExperimentError } from '../../src/experiment/spec.js';
import { listExperiments, loadExperiment, scaleExperiment } from '../../src/experiment/load.js';
import { expandSchedule } from '../../src/experiment/schedule.js';
import { loadClaims } from '../../src/experiment/claims.js';
import { checkTargetAddress, RunRefused } from '../../src/experiment/runner.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';

const good = {
  name: 'x', description: 'd', target: { kind: 'embedded', profile: 'hardened' }, durationS: 30,
  workloads: [{ id: 'probes', scenario: 'probes' }],
  faults: [{ id: 'redis', fault: 'redis-outage', startS: 5, durationS: 10 }],
  hypotheses: [{ id: 'h', description: 'd', claims: ['REDIS-LOGIN'], phase: 'fault:redis', select: { metric: 'sc_probe_ok', tags: { probe: 'login' } }, stat: 'rate', op: '>=', value: 0.95 }],
};

function problems(x: unknown): string {
  try {
    validateExperiment(x, 'exp.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ExperimentError);
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('experiment validation names the field', () => {
  it('accepts a good one', () => {
    expect(validateExperiment(good).faults[0]!.id).toBe('redis');
  });

  it.each([
    [{ ...good, durationS: 'long' }, /exp\.json: durationS: "long" is not a duration like 20s/],
    [{ ...good, faults: [{ ...good.faults[0], params: { latencyMs: 'x' } }] }, /faults\[0\]\.params: only a named fault|faults\[0\]\.params\.latencyMs|faults\[0\]/],
    [{ ...good, faults: [{ id: 'c', fault: 'cassandra-slow', params: { latencyMs: 'x' }, startS: 1, durationS: 2 }] }, /exp\.json: faults\[0\]\.params\.latencyMs: .*expected number/],
    [{ ...good, faults: [{ id: 'c', fault: 'no-such-fault', startS: 1, durationS: 2 }] }, /faults\[0\]\.fault/],
    [{ ...good, faults: [{ ...good.faults[0], startS: 25 }] }, /faults\[0\]: ends at 35 s, after the load \(durationS 30\)/],
    [{ ...good, hypotheses: [{ ...good.hypotheses[0], phase: 'fault:nope' }] }, /hypotheses\[0\]\.phase: no fault "nope"/],
    [{ ...good, hypotheses: [{ ...good.hypotheses[0], stat: 'p42' }] }, /hypotheses\[0\]\.stat: /],
    [{ ...good, hypotheses: [{ kind: 'outcomes', id: 'o', description: 'd', claims: ['REDIS-LOGIN'], phase: 'fault:redis', probe: 'login', accept: ['refused'] }] }, /hypotheses\[0\]\.accept\[0\]: /],
    [{ ...good, hypotheses: [{ ...good.hypotheses[0], requires: ['nope'] }] }, /hypotheses\[0\]\.requires\[0\]: no hypothesis "nope"/],
    [{ ...good, hypotheses: [good.hypotheses[0], { ...good.hypotheses[0], id: 'g', requires: ['h'] }] }, /hypotheses\[1\]\.requires\[0\]: "h" is not a precondition/],
    [{ ...good, hypotheses: [{ ...good.hypotheses[0], role: 'maybe' }] }, /hypotheses\[0\]\.role: /],
    [{ ...good, workloads: [{ id: 'probes', scenario: 'probes', profile: 'turbo' }] }, /workloads\[0\]\.profile/],
    [{ ...good, target: { kind: 'external', baseUrl: 'not a url' } }, /target\.baseUrl/],
    [{ ...good, hypotheses: [{ kind: 'nothing-lost', id: 'n', description: 'd', claims: ['NO-MESSAGE-LOSS'], workload: 'probes' }] }, /hypotheses\[0\]\.workload: "probes" runs probes, nothing-lost needs chat-fanout/],
    [{ ...good, extra: 1 }, /exp\.json: extra: unknown field/],
    [{ ...good, workloads: [{ id: 'probes', scenario: 'probes', via: 'edge' }] }, /exp\.json: workloads\[0\]\.via: edge needs the lab's public entry in front of the target \(target\.edge: true/],
    [{ ...good, workloads: [{ id: 'probes', scenario: 'probes', via: 'nginx' }] }, /workloads\[0\]\.via: .*"gateway".*"edge"|workloads\[0\]\.via: /],
  ])('%#', (bad, re) => {
    expect(problems(bad)).toMatch(re);
  });

  it('a malformed experiment file is refused with its path and the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sch-exp-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: bad\ndescription: d\ntarget: { kind: embedded }\ndurationS: 10\nworkloads: []\nhypotheses: []\n');
    await expect(loadExperiment(file)).rejects.toThrow(new RegExp(`${file}: workloads: `));
    await expect(loadExperiment('no-such-experiment')).rejects.toThrow(/unknown experiment "no-such-experiment" \(known: .*redis-outage/);
  });

  it('every shipped experiment loads, and scaling stretches starts and recovery but keeps fault lengths', async () => {
    expect(listExperiments()).toEqual(expect.arrayContaining(['redis-outage', 'cassandra-slow', 'minio-down', 'api-guards', 'recovery', 'soak-chaos']));
    const e = await loadExperiment('redis-outage');
    const long = scaleExperiment(e, 320);
    expect(long.durationS).toBe(320);
    expect(long.faults.map((f) => f.durationS)).toEqual(e.faults.map((f) => f.durationS));
    expect(long.faults[0]!.startS).toBeCloseTo(e.faults[0]!.startS * 10);
    expect(long.recoveryS).toBeCloseTo(e.recoveryS * 10);
    expect(() => validateExperiment(long)).not.toThrow();
  });

  it('the soak keeps its 3-minute rhythm when stretched: 2 h plays each fault 40 times', async () => {
    const e = await loadExperiment('soak-chaos');
    expect(expandSchedule(e.faults, e.durationS, 1).map((o) => o.id)).toEqual(['redis', 'cassandra', 'minio']);
    const long = scaleExperiment(e, 7200);
    expect(long.faults).toEqual(e.faults);
    expect(long.recoveryS).toBe(e.recoveryS);
    const cycles = expandSchedule(long.faults, long.durationS, 1);
    for (const id of ['redis', 'cassandra', 'minio']) expect(cycles.filter((o) => o.entryId === id)).toHaveLength(40);
    expect(cycles.at(-1)).toMatchObject({ id: 'minio#40', startS: 110 + 39 * 180 });
    expect(() => validateExperiment(long)).not.toThrow();
  });
});

describe('claims catalogue', () => {
  it('every claim quotes its audit line, names an experiment that exists, and is checked by a hypothesis there', async () => {
    const claims = loadClaims();
    const shipped = new Set(listExperiments());
    for (const c of claims) {
      for (const x of c.experiments) {
        expect(shipped.has(x), `${c.id}: ${x}`).toBe(true);
        const e = await loadExperiment(x);
        expect(e.hypotheses.some((h) => h.claims.includes(c.id)), `${c.id} in ${x}`).toBe(true);
      }
    }
    // Every hypothesis of a shipped experiment names catalogued claims.
    for (const x of shipped) for (const h of (await loadExperiment(x)).hypotheses) for (const id of h.claims) expect(claims.find((c) => c.id === id)?.experiments, `${x}: ${id}`).toContain(x);
  });

  it('a required claim must be a baseline claim checked in every experiment of the claim that requires it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sch-claims-'));
    const claim = (id: string, kind: string, experiments: string[], requires: string[] = []) => ({
      id, kind, title: 't', source: { file: '002_x.txt', line: 1, section: 's', quote: 'qqq' }, audit: { verdict: 'PASS', says: 'works' },
      requires, experiments, expected: { audited: 'PASS', 'as-built': 'PASS', hardened: 'PASS' },
    });
    const write = (cs: unknown[]) => {
      const f = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(f, JSON.stringify({ version: 1, claims: cs }));
      return f;
    };
    expect(() => loadClaims(write([claim('LOGIN', 'baseline', ['a']), claim('REDIS-LOGIN', 'fault', ['a', 'b'], ['LOGIN'])]))).toThrow(/claims\[1\]\.requires\[0\]: "LOGIN" is not checked in b/);
    expect(() => loadClaims(write([claim('LOGIN', 'fault', ['a']), claim('REDIS-LOGIN', 'fault', ['a'], ['LOGIN'])]))).toThrow(/"LOGIN" is not a baseline claim/);
    expect(() => loadClaims(write([claim('REDIS-LOGIN', 'fault', ['a'], ['NOPE'])]))).toThrow(/requires\[0\]: no claim "NOPE"/);
    expect(() => loadClaims(write([{ ...claim('LOGIN', 'baseline', ['a']), expected: { audited: 'PASS', hardened: 'PASS' } }]))).toThrow(/claims\[0\]\.expected\.as-built/);
    expect(loadClaims(write([claim('LOGIN', 'baseline', ['a', 'b']), claim('REDIS-LOGIN', 'fault', ['a', 'b'], ['LOGIN'])]))).toHaveLength(2);
  });
});

describe('safety', () => {
  it('a target outside loopback and the lab is refused unless allowRemote', () => {
    expect(() => checkTargetAddress('http://127.0.0.1:8080', null, false)).not.toThrow();
    expect(() => checkTargetAddress('http://198.18.4.2:21500', '198.18.4.2', false)).not.toThrow();
    expect(() => checkTargetAddress('https://api.secureconnect.example', null, false)).toThrow(RunRefused);
    expect(() => checkTargetAddress('https://api.secureconnect.example', null, false)).toThrow(/--allow-remote/);
    expect(() => checkTargetAddress('https://api.secureconnect.example', null, true)).not.toThrow();
  });
});

describe('CLI flags', () => {
  const sch = (args: string[]) => new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(join(HARNESS_ROOT, 'bin', 'sch'), args, { cwd: HARNESS_ROOT, timeout: 30_000 }, (err, _out, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr }));
  });

  it('a bad flag value is refused naming the flag, before anything starts', async () => {
    const d = await sch(['run', 'redis-outage', '--duration', 'soon']);
    expect(d.code).not.toBe(0);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/--duration <time>.*"soon" is not a duration: use k6's form/);
    const p = await sch(['run', 'redis-outage', '--profile', 'paranoid']);
    expect(p.code).not.toBe(0);
    expect(p.stderr).toMatch(/--profile.*paranoid.*audited, as-built, hardened/s);
    const e = await sch(['run', 'no-such-experiment']);
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/unknown experiment "no-such-experiment"/);
  }, 60_000);
});
