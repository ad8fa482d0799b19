/**
 * Issue 11, "experiments that are easy to write": each mistake of the six attempts at a 20 s Redis
 * outage in YAML now gets a message naming its field (and the nearest valid key or value), before any load;
 * the worked example of the README validates; the published JSON Schemas match the zod schemas; an early
 * fault calibrates.
 */
import { describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import formatsModule from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { checkExperiment, validateExperiment, type Experiment } from '../../src/experiment/spec.js';
import { listExperiments, loadExperiment, readExperiment } from '../../src/experiment/load.js';
import { preflightExperiment, scenarioMetrics, workloadLoadSeconds } from '../../src/experiment/preflight.js';
import { validateExperimentFile } from '../../src/cli/validate-commands.js';
import { jsonSchemas, schemaText } from '../../src/experiment/json-schema.js';
import { nearest } from '../../src/experiment/issues.js';
import { calibrate } from '../../src/experiment/calibration.js';
import { derivePhases } from '../../src/experiment/phases.js';
import { ResultPipeline } from '../../src/results/pipeline.js';
import type { FaultRecord, Sample } from '../../src/results/model.js';

const EXAMPLE = join(HARNESS_ROOT, 'fixtures', 'examples', 'redis-outage-20s.yaml');
const example = (): Record<string, unknown> & { hypotheses: Record<string, unknown>[]; workloads: Record<string, unknown>[]; faults: Record<string, unknown>[] } =>
  parse(readFileSync(EXAMPLE, 'utf8')) as ReturnType<typeof example>;

/** Structure first, then (when it holds) what preflight finds: every message of both. */
function problems(raw: unknown): string[] {
  const c = checkExperiment(raw, 'x.yaml');
  return c.experiment ? preflightExperiment(c.experiment, 'x.yaml').errors : c.errors;
}

describe('the worked example', () => {
  it('validates: no error, no warning', async () => {
    const r = await validateExperimentFile(EXAMPLE);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.experiment?.durationS).toBe(20);
    expect(r.experiment?.faults[0]).toMatchObject({ id: 'redis', startS: 6, durationS: 8 });
  });
});

describe('each earlier mistake is named, with the nearest valid key or value', () => {
  it('`duration` instead of durationS', () => {
    const { durationS, ...rest } = example();
    const p = problems({ ...rest, duration: durationS });
    expect(p).toContain('x.yaml: duration: unknown field; did you mean durationS? (fields here: $schema, name, description, target, durationS, workloads, faults, recoveryS, hypotheses, afterLoadS, params, seed)');
    expect(p).toContainEqual(expect.stringMatching(/^x\.yaml: durationS: missing/));
  });

  it('a misspelt hypothesis field is named by its own path', () => {
    const e = example();
    e.hypotheses[2] = { ...e.hypotheses[2], shar: 0.9 };
    expect(problems(e)).toEqual([expect.stringMatching(/^x\.yaml: hypotheses\[2\]\.shar: unknown field; did you mean share\?/)]);
  });

  it('a bad statistic names hypotheses[0].stat, the valid values and the nearest', () => {
    const e = example();
    e.hypotheses = [{ id: 't', description: 'd', claims: ['LOGIN'], phase: 'baseline', select: { metric: 'sc_probe_duration', tags: { probe: 'login' } }, stat: 'p95x', op: '<', value: 1000 }];
    const [line] = problems(e);
    expect(line).toMatch(/^x\.yaml: hypotheses\[0\]\.stat: "p95x" is not one of p\(50\), p\(90\), p\(95\), p\(99\), med, avg, min, max, rate, count, sum, perSecond/);
    expect(line).toMatch(/did you mean p\(95\)\?$/);
  });

  it('a misspelt kind names hypotheses[0].kind and the kinds', () => {
    const e = example();
    e.hypotheses[0] = { ...e.hypotheses[0], kind: 'outcome' };
    expect(problems(e)).toEqual(['x.yaml: hypotheses[0].kind: "outcome" is not one of threshold, outcomes, recovers, nothing-lost, no-growth, drift, alerts, returns-to-baseline, server-agrees; did you mean outcomes?']);
  });

  it('an outcomes hypothesis written without kind is told which kind its fields belong to', () => {
    const e = example();
    const { kind: _k, ...noKind } = e.hypotheses[2]!;
    e.hypotheses[2] = noKind;
    expect(problems(e)).toContainEqual(expect.stringMatching(/^x\.yaml: hypotheses\[2\]\.probe: unknown field: a field of kind outcomes — without `kind` a hypothesis is a threshold; add kind: outcomes/));
  });

  it('p95 / mean still work, with one deprecation note per old name', () => {
    const e = example();
    const t = (id: string, stat: string) => ({ id, description: 'd', claims: ['REDIS-LOGIN'], phase: 'fault:redis', select: { metric: 'sc_probe_duration', tags: { probe: 'login' } }, stat, op: '<', value: 1000, unit: 'ms' });
    e.hypotheses.push(t('a', 'p95'), t('b', 'p95'), t('c', 'mean'));
    const c = checkExperiment(e, 'x.yaml');
    expect(c.errors).toEqual([]);
    expect(c.warnings).toEqual([
      'x.yaml: stat "p95" is deprecated: write "p(95)", k6\'s name, as budgets.yaml does (hypotheses[3].stat, hypotheses[4].stat)',
      'x.yaml: stat "mean" is deprecated: write "avg", k6\'s name, as budgets.yaml does (hypotheses[5].stat)',
    ]);
    expect(c.experiment!.hypotheses.slice(3).map((h) => (h.kind === 'threshold' ? h.stat : null))).toEqual(['p(95)', 'p(95)', 'avg']);
  });

  it('a fault form typo is named with the form it meant', () => {
    const e = example();
    e.faults = [{ id: 'redis', toxc: { proxy: 'redis', type: 'latency', attributes: { latency: 100 } }, startS: '6s', durationS: '8s' }];
    expect(problems(e)).toContainEqual(expect.stringMatching(/^x\.yaml: faults\[0\]\.toxc: unknown field; did you mean toxic\? \(fields here: id, startS, durationS, everyS, cycles, jitterS, fault, params, toxic, proxyDown, udp, process\)/));
    e.faults = [{ id: 'redis', proxydown: 'redis', startS: 6, durationS: 8 }];
    expect(problems(e)).toContainEqual(expect.stringMatching(/faults\[0\]\.proxydown: unknown field; did you mean proxyDown\?/));
    e.faults = [{ id: 'redis', proxyDown: 'rediss', startS: 6, durationS: 8 }];
    expect(problems(e)).toContainEqual(expect.stringMatching(/faults\[0\]\.proxyDown: "rediss" is not one of .*redis.*; did you mean redis\?/));
    e.faults = [{ id: 'redis', fault: 'redis-outage', toxic: { proxy: 'redis', type: 'latency', attributes: { latency: 100 } }, startS: 6, durationS: 8 }];
    expect(problems(e)).toContainEqual(expect.stringMatching(/faults\[0\]: give exactly one of fault, toxic, proxyDown, udp, process \(got fault, toxic\)/));
  });

  it('a workload shorter than the timeline is an error, not a fault silently skipped', () => {
    const e = example();
    e.workloads.push({ id: 'reg', scenario: 'registration', profile: 'smoke' });
    expect(problems(e)).toEqual(['x.yaml: workloads[1]: registration (profile smoke) gives 7 s of load, but faults[0] (redis) lasts until 14 s: the fault would meet no load, or not be applied at all — its length is its profile\'s stages: give env SC_STAGES, or another profile']);
    e.workloads[1] = { id: 'short', scenario: 'probes', env: { SC_PROBES: 'login', SC_DURATION: '10s' } };
    expect(problems(e)).toEqual([expect.stringMatching(/^x\.yaml: workloads\[1\]: probes \(profile smoke, with its env\) gives 10 s of load, but faults\[0\] \(redis\) lasts until 14 s/)]);
  });

  it('an unknown scenario, a misspelt metric, a probe no workload runs, an unknown claim', () => {
    const e = example();
    e.workloads[0] = { ...e.workloads[0], scenario: 'probe' };
    expect(problems(e)).toContainEqual(expect.stringMatching(/^x\.yaml: workloads\[0\]\.scenario: no scenario "probe" in scenarios\/; did you mean probes\?/));
    const f = example();
    f.hypotheses.push({ id: 't', description: 'd', claims: ['REDIS-LOGIN'], phase: 'fault:redis', select: { metric: 'sc_probe_okk', tags: { probe: 'login' } }, stat: 'rate', op: '>=', value: 0.95 });
    f.hypotheses[1] = { ...f.hypotheses[1], probe: 'logni' };
    f.hypotheses[2] = { ...f.hypotheses[2], claims: ['REDIS-LOGN'] };
    const p = problems(f);
    expect(p).toContainEqual(expect.stringMatching(/^x\.yaml: hypotheses\[3\]\.select\.metric: no workload of this experiment emits "sc_probe_okk"; did you mean sc_probe_ok\?/));
    expect(p).toContainEqual(expect.stringMatching(/^x\.yaml: hypotheses\[1\]\.probe: probe "logni" is not run by any workload; did you mean login\?/));
    expect(p).toContainEqual(expect.stringMatching(/^x\.yaml: hypotheses\[2\]\.claims\[0\]: no claim "REDIS-LOGN" in fixtures\/claims\.yaml; did you mean REDIS-LOGIN\?/));
  });

  it('a claim of your own is a warning (judged without an expected verdict); one near a catalogued claim is a typo', () => {
    const e = example();
    e.hypotheses.push({ kind: 'outcomes', id: 'mine', description: 'd', claims: ['MY-OWN-CLAIM'], phase: 'fault:redis', probe: 'login', accept: ['served'] });
    const c = checkExperiment(e, 'x.yaml');
    expect(preflightExperiment(c.experiment!, 'x.yaml')).toEqual({ errors: [], warnings: [expect.stringMatching(/^x\.yaml: hypotheses\[3\]\.claims\[0\]: "MY-OWN-CLAIM" is not in fixtures\/claims\.yaml: it is judged, with no expected verdict/)] });
  });

  it('a claim whose baseline requirement is not checked, and a Toxiproxy fault too early to calibrate', () => {
    const e = example();
    e.hypotheses.shift(); // the LOGIN check
    expect(problems(e)).toEqual([expect.stringMatching(/^x\.yaml: hypotheses\[0\]\.claims\[0\]: REDIS-LOGIN requires the baseline claim LOGIN, which no check here judges/)]);
    const f = example();
    f.faults[0] = { ...f.faults[0], startS: '1500ms' };
    expect(problems(f)).toEqual([expect.stringMatching(/^x\.yaml: faults\[0\]\.startS: 1\.5 s is too early: a Toxiproxy fault needs 2 s of load before it/)]);
    f.faults[0] = { id: 'redis', toxic: { proxy: 'redis', type: 'latency', attributes: { latency: 200 } }, startS: 2, durationS: 8 };
    expect(problems(f)).toEqual([expect.stringMatching(/^x\.yaml: faults\[0\]\.startS: 2 s is too early: a latency toxic needs 3 s of load before it/)]);
  });

  it('durations are strings or seconds everywhere a time is given', () => {
    const e = example();
    const c = checkExperiment({ ...e, durationS: '1m30s', recoveryS: 7, faults: [{ id: 'redis', fault: 'redis-outage', startS: '6s', durationS: '1m' }] }, 'x.yaml');
    expect(c.errors).toEqual([]);
    expect(c.experiment).toMatchObject({ durationS: 90, recoveryS: 7, faults: [{ startS: 6, durationS: 60 }] });
    expect(checkExperiment({ ...e, durationS: 'soon' }, 'x.yaml').errors).toEqual(['x.yaml: durationS: "soon" is not a duration like 20s, 1m30s, 500ms, or a number of seconds']);
    const rec = { kind: 'recovers', id: 'r', description: 'd', claims: ['REDIS-LOGIN'], fault: 'redis', select: { metric: 'sc_probe_ok', tags: { probe: 'login' } }, stat: 'rate', withinS: '15s', windowS: '2s' };
    const r = checkExperiment({ ...e, durationS: 40, hypotheses: [...e.hypotheses, rec] }, 'x.yaml');
    expect(r.errors).toEqual([]);
    expect(r.experiment!.hypotheses[3]).toMatchObject({ withinS: 15, windowS: 2 });
  });

  it('the suggestion is a near key only', () => {
    expect(nearest('duration', ['durationS', 'description'])).toBe('durationS');
    expect(nearest('shar', ['share', 'phase'])).toBe('share');
    expect(nearest('completely-else', ['share', 'phase'])).toBeUndefined();
  });
});

describe('the scenarios, as preflight reads them', () => {
  it('metrics come from each scenario\'s source and the lib files it imports', () => {
    expect(scenarioMetrics('probes')).toEqual(expect.arrayContaining(['sc_attempt', 'sc_outcome', 'sc_probe_ok', 'sc_probe_duration', 'sc_upload_minio_failures']));
    expect(scenarioMetrics('chat-fanout')).toEqual(expect.arrayContaining(['sc_ack_latency', 'sc_delivery_latency']));
  });

  it('each scenario\'s load length under the runner\'s environment', () => {
    const w = (scenario: string, env: Record<string, string> = {}, profile: 'smoke' | 'load' = 'smoke') => ({ id: 'w', kind: 'k6' as const, scenario, profile, env, ownSourceAddress: false, sourceAddresses: 1, generators: 1, via: 'gateway' as const });
    expect(workloadLoadSeconds(w('probes'), 20)).toBe(20);
    expect(workloadLoadSeconds(w('chat-fanout', { SC_WARMUP: '3s' }), 20)).toBe(23);
    expect(workloadLoadSeconds(w('registration'), 20)).toBe(7);
    expect(workloadLoadSeconds(w('registration', {}, 'load'), 20)).toBe(165);
    expect(workloadLoadSeconds(w('uploads', { SC_DURATION: '5s' }), 20)).toBe(5);
  });

  it('every shipped experiment passes preflight', async () => {
    for (const x of listExperiments()) {
      const { experiment, file } = await readExperiment(x);
      expect(preflightExperiment(experiment, file), x).toEqual({ errors: [], warnings: [] });
    }
    await expect(loadExperiment(EXAMPLE)).resolves.toMatchObject({ name: 'redis-outage-20s' });
  });
});

describe('JSON Schemas for editors', () => {
  it('schemas/ holds what the zod schemas generate (regenerate: node --import tsx scripts/gen-schemas.ts)', () => {
    for (const [name, schema] of Object.entries(jsonSchemas())) {
      expect(readFileSync(join(HARNESS_ROOT, 'schemas', name), 'utf8'), `schemas/${name} is out of date`).toBe(schemaText(schema));
    }
  });

  it('an editor\'s validator (ajv, draft-07) accepts the example, the budgets and the claims, and flags a typo', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    // ajv-formats is CommonJS: its function is the module or its default, depending on the loader.
    (((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as (a: Ajv) => void)(ajv);
    const check = (name: string, doc: unknown) => {
      const validate = ajv.compile(JSON.parse(readFileSync(join(HARNESS_ROOT, 'schemas', name), 'utf8')) as object);
      return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
    };
    expect(check('experiment.schema.json', example())).toEqual([]);
    expect(check('budgets.schema.json', parse(readFileSync(join(HARNESS_ROOT, 'fixtures', 'budgets.yaml'), 'utf8')))).toEqual([]);
    expect(check('claims.schema.json', parse(readFileSync(join(HARNESS_ROOT, 'fixtures', 'claims.yaml'), 'utf8')))).toEqual([]);
    // A kind-less hypothesis (a threshold) is fine; `duration` is not.
    const e = example();
    e.hypotheses.push({ id: 't', description: 'd', claims: ['LOGIN'], phase: 'baseline', select: { metric: 'sc_probe_ok' }, stat: 'rate', op: '>=', value: 1 });
    expect(check('experiment.schema.json', e)).toEqual([]);
    const { durationS, ...rest } = example();
    expect(check('experiment.schema.json', { ...rest, duration: durationS }).join('\n')).toMatch(/additionalProperty.*duration/);
  });

  it('the experiment schema offers the fields, the fault forms, the statistics, and lets a threshold omit kind', () => {
    const s = JSON.stringify(jsonSchemas()['experiment.schema.json']);
    for (const k of ['durationS', 'recoveryS', 'toxic', 'proxyDown', 'udp', 'process', 'p(95)', 'withinS', 'nothing-lost']) expect(s).toContain(`"${k}"`);
  });
});

describe('an early fault calibrates', () => {
  // The observer's first reading lands ~1.1 s into the load; the baseline ends 1 s before the fault.
  const start = 1_000_000;
  const record: FaultRecord = { id: 'redis', name: 'redis-outage', mechanism: 'toxiproxy', target: 'redis', params: {}, plannedStartS: 2, plannedDurationS: 8, appliedAtMs: start + 2000, removedAtMs: start + 10_000, verified: true, verifyDetail: 'ok', rolledBack: true };
  const readings: Sample[] = [1100, 2100, 3100].map((t) => ({ metric: 'sc_target_connections', time: start + t, value: 5, tags: { proxy: 'redis' } }));
  const pipeline = () => {
    const phases = derivePhases(start, start + 20_000, [record], 5);
    const p = new ResultPipeline({ phases, selectors: [{ metric: 'sc_target_connections', tags: { proxy: 'redis' } }], runStartMs: start, runEndMs: start + 20_000, metricKinds: { sc_target_connections: 'gauge' } });
    for (const s of readings) p.add(s);
    return p;
  };

  it('a fault at 2 s: the reading at 1.1 s, before the fault, shows the target on the proxy', () => {
    const exposure = calibrate({ records: [record], source: pipeline(), exposure: 'processes', runStartMs: start, readings }).find((c) => c.selector.metric === 'sc_target_connections');
    expect(exposure).toMatchObject({ ok: true, observed: 5 });
  });

  it('without the readings (the baseline phase alone, as before) it had no reading at all', () => {
    const exposure = calibrate({ records: [record], source: pipeline(), exposure: 'processes', runStartMs: start }).find((c) => c.selector.metric === 'sc_target_connections');
    expect(exposure?.ok).toBe(false);
    expect(exposure?.detail).toMatch(/no connection count for redis before the fault/);
  });

  it('a reading during the fault does not count as before it', () => {
    const late = readings.filter((s) => s.time >= record.appliedAtMs!);
    const exposure = calibrate({ records: [record], source: pipeline(), exposure: 'processes', runStartMs: start, readings: late }).find((c) => c.selector.metric === 'sc_target_connections');
    expect(exposure?.ok).toBe(false);
  });
});

describe('validateExperiment still throws naming the field', () => {
  it('the first line names the path', () => {
    expect(() => validateExperiment({ ...example(), durationS: undefined }, 'x.yaml')).toThrow(/x\.yaml: durationS: missing/);
    const e: Experiment = validateExperiment(example(), 'x.yaml');
    expect(e.name).toBe('redis-outage-20s');
  });
});
