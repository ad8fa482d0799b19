import { describe, expect, it } from 'vitest';
import { capacityProblem, participantCores } from '../../src/experiment/generator-capacity.js';
import { machineJiffies, parseSchedstat, partOf } from '../../src/experiment/generator-cpu.js';
import { VideoOptionsSchema } from '../../src/media/video-spec.js';
import { derivePhases } from '../../src/experiment/phases.js';
import { ResultPipeline } from '../../src/results/pipeline.js';
import { evaluateClaims, evaluateHypotheses } from '../../src/verdicts/evaluate.js';
import { HypothesisSchema, type Hypothesis } from '../../src/experiment/spec.js';
import { selectorsOf } from '../../src/verdicts/kinds/index.js';
import type { FaultRecord } from '../../src/results/model.js';
import { BROWSER_METRICS } from '../../src/media/video-stats.js';
import { VIDEO_PROBES } from '../../src/media/video-spec.js';

const video = (o: Record<string, unknown> = {}) => VideoOptionsSchema.parse(o);

describe('what a browser participant costs', () => {
  it('a mesh participant pays per peer, an SFU participant does not; audio and a bigger camera add', () => {
    expect(participantCores(video({ topology: 'mesh', participants: 3, audio: false }))).toBeCloseTo(0.1);
    expect(participantCores(video({ topology: 'mesh', participants: 4, audio: false }))).toBeCloseTo(0.12);
    expect(participantCores(video({ topology: 'sfu', participants: 8, audio: false }))).toBeCloseTo(0.08);
    expect(participantCores(video({ topology: 'sfu', participants: 8, audio: true }))).toBeCloseTo(0.125);
    // 640×360 at 30 fps: 8 × the pixels per second of 320×180 at 15.
    expect(participantCores(video({ topology: 'sfu', participants: 4, audio: false, camera: { width: 640, height: 360, fps: 30 } }))).toBeCloseTo(0.64);
  });

  it('a plan beyond 90 % of the machine\'s cores is refused, naming what it needs, what the machine has and how many fit; beyond the idle cores only warned of', () => {
    const calls = [{ workload: 'call', video: video({ topology: 'sfu', participants: 8, audio: false }) }];
    expect(capacityProblem(calls, { idle: 1.8, cores: 2 })).toBeNull();
    const warn = capacityProblem(calls, { idle: 0.6, cores: 2 })!;
    expect(warn.refuse).toBe(false);
    expect(warn.message).toMatch(/need ~0\.64 cores \(call: 8 × 8 % of a core\), and only 0\.60 of 2 cores were idle at start/);
    const big = [{ workload: 'call', video: video({ topology: 'mesh', participants: 4, audio: false, camera: { width: 640, height: 360, fps: 30 } }) }];
    const refused = capacityProblem(big, { idle: 2, cores: 2 })!;
    expect(refused.refuse).toBe(true);
    expect(refused.message).toMatch(/need ~3\.84 cores \(call: 4 × 96 % of a core\), and this machine has 2 cores \(90 % of them usable: 1\.80\) — at most 1 participant fit/);
    expect(capacityProblem([], { idle: 0, cores: 2 })).toBeNull();
  });
});

describe('the generator\'s CPU', () => {
  it('reads run and wait times from schedstat (ns → s)', () => {
    expect(parseSchedstat('2500000000 500000000 77\n')).toEqual({ run: 2.5, wait: 0.5 });
    expect(parseSchedstat('')).toBeNull();
  });

  it('reads busy and total jiffies from /proc/stat (iowait counts as idle)', () => {
    expect(machineJiffies('cpu  100 5 50 800 20 1 2 0 0 0\ncpu0 1 2 3 4\n')).toEqual({ busy: 158, total: 978 });
    expect(machineJiffies('nothing')).toEqual({ busy: 0, total: 0 });
  });

  it('names its parts by process: Chromium\'s processes are the browsers, k6 is k6, the rest is not the generator', () => {
    expect(['chromium', 'chrome', 'headless_shell', 'k6', 'node', 'turnserver'].map(partOf)).toEqual(['browsers', 'browsers', 'browsers', 'k6', null, null]);
  });
});

describe('a verdict from a saturated generator', () => {
  const T0 = 1_800_000_000_000;
  const at = (sec: number) => T0 + sec * 1000;
  const fault: FaultRecord = { id: 'turn', name: 'turn-loss', mechanism: 'nft', target: 'coturn', params: {}, plannedStartS: 20, plannedDurationS: 15, appliedAtMs: at(20), removedAtMs: at(35), verified: true, verifyDetail: 'ok', rolledBack: true };
  const phases = derivePhases(at(0), at(60), [fault], 15);
  const h = (x: unknown): Hypothesis => HypothesisSchema.parse(x);
  const hs = [
    h({ id: 'fps-holds', claims: ['TURN-LOSS'], description: 'fps', phase: 'fault:turn', select: { metric: 'sc_video_fps' }, stat: 'min', op: '>=', value: 10, unit: 'count', minAttempts: 5 }),
    h({ id: 'rtt', claims: ['X'], description: 'a k6 number', phase: 'fault:turn', select: { metric: 'http_req_duration' }, stat: 'p95', op: '<', value: 500, unit: 'ms', minAttempts: 5 }),
  ];
  /** fps of 12 throughout (the check holds); the machine `busy` in the fault's phase, 50 % elsewhere. */
  function run(busy: number) {
    const sel = [{ metric: 'sc_video_fps' }, { metric: 'http_req_duration' }, { metric: 'sc_generator_busy' }];
    const p = new ResultPipeline({ phases, selectors: sel, runStartMs: T0, windowMs: 1000 });
    for (const m of ['sc_video_fps', 'http_req_duration', 'sc_generator_busy']) p.setMetricKind(m, 'trend');
    for (let t = 0; t < 60; t++) {
      p.add({ metric: 'sc_video_fps', time: at(t), value: 12, tags: {} });
      p.add({ metric: 'http_req_duration', time: at(t), value: 100, tags: {} });
      p.add({ metric: 'sc_generator_busy', time: at(t), value: t >= 20 && t < 35 ? busy : 0.5, tags: {} });
    }
    return evaluateHypotheses(hs, { phases, source: p, calibration: [], fanout: {}, removedAtMs: { turn: at(35) }, runEndMs: at(60), generatorBound: { metrics: ['sc_video_fps'], probes: ['video_join'] } });
  }

  it('is INCONCLUSIVE, naming the phase and how busy the machine was; what k6 measured is judged as usual', () => {
    const r = run(0.97);
    expect(r[0]).toMatchObject({ id: 'fps-holds', verdict: 'INCONCLUSIVE', gatedBy: ['generator:fault:turn'] });
    expect(r[0]!.evidence).toMatch(/load generator was saturated in fault:turn \(its machine 97 % busy on average/);
    expect(r[0]!.evidence).toMatch(/it measured: .*12/);
    expect(r[1]!.verdict).toBe('PASS');
    expect(evaluateClaims([], r, undefined).find((c) => c.id === 'TURN-LOSS')!.verdict).toBe('INCONCLUSIVE');
  });

  it('with CPU to spare (90 % busy) the same numbers PASS', () => {
    expect(run(0.9)[0]!.verdict).toBe('PASS');
  });

  it('a k6 probe beside the browsers is judged as usual: attempts and outcomes are every probe\'s metrics, the video probes\' tag tells the browsers\' apart', () => {
    const checks = ['login', VIDEO_PROBES.join].map((probe) => h({ kind: 'outcomes', id: probe.replace(/_/g, '-'), claims: ['X'], description: probe, phase: 'fault:turn', probe, accept: ['served'], minAttempts: 5 }));
    const sel = [...checks.flatMap((c) => selectorsOf(c)), { metric: 'sc_generator_busy' }];
    const p = new ResultPipeline({ phases, selectors: sel, runStartMs: T0, windowMs: 1000 });
    p.setMetricKind('sc_generator_busy', 'trend');
    for (const m of ['sc_attempt', 'sc_outcome']) p.setMetricKind(m, 'counter');
    for (let t = 0; t < 60; t++) {
      for (const probe of ['login', VIDEO_PROBES.join]) {
        p.add({ metric: 'sc_attempt', time: at(t), value: 1, tags: { probe } });
        p.add({ metric: 'sc_outcome', time: at(t), value: 1, tags: { probe, class: 'served' } });
      }
      p.add({ metric: 'sc_generator_busy', time: at(t), value: 0.97, tags: {} });
    }
    const r = evaluateHypotheses(checks, { phases, source: p, calibration: [], fanout: {}, removedAtMs: { turn: at(35) }, runEndMs: at(60), generatorBound: { metrics: BROWSER_METRICS, probes: Object.values(VIDEO_PROBES) } });
    expect(r.map((x) => [x.id, x.verdict, x.gatedBy])).toEqual([['login', 'PASS', undefined], ['video-join', 'INCONCLUSIVE', ['generator:fault:turn']]]);
  });
});
