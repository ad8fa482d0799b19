import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { loadExperiment } from '../../src/experiment/load.js';
import type { Experiment } from '../../src/experiment/spec.js';
import { runExperiment, type RunOptions } from '../../src/experiment/runner.js';
import { WORKLOAD_FILES, workloadDir } from '../../src/experiment/history.js';
import { readK6Samples } from '../../src/results/k6-reader.js';
import type { RunResult, Sample } from '../../src/results/model.js';
import type { VideoOptions } from '../../src/media/video-spec.js';
import { testLab } from './helpers.js';

/**
 * The video workload and MESH-LIMIT on the reference target, with real browsers: four participants in a mesh
 * call with media flowing (through TURN when relay is asked), a fifth refused; the claim's verdict on hardened
 * (PASS), as-built (FAIL: the real 500) and without its evidence (INCONCLUSIVE).
 */
let lab: Lab;
const runsDir = join(HARNESS_ROOT, 'reports', 'runs', `itest-video-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  mkdirSync(runsDir, { recursive: true });
});

async function meshExperiment(video: Partial<VideoOptions> = {}, durationS?: number): Promise<Experiment> {
  const e = await loadExperiment('video-mesh');
  return {
    ...e, ...(durationS ? { durationS } : {}),
    workloads: e.workloads.map((w) => (w.kind === 'video' ? { ...w, video: { ...w.video, ...video } } : w)),
  };
}

const run = async (experiment: Experiment, o: Partial<RunOptions>) => runExperiment({ experiment, labName: lab.name, runsDir, ...o });
const explain = (r: RunResult) => `${r.error ?? ''}\n${r.hypotheses.map((h) => `${h.id}: ${h.verdict} — ${h.evidence}`).join('\n')}`;
const claim = (r: RunResult) => r.claims.find((c) => c.id === 'MESH-LIMIT')?.verdict;

async function samplesOf(r: RunResult, runId = r.runId): Promise<Sample[]> {
  const out: Sample[] = [];
  await readK6Samples(join(workloadDir(join(runsDir, runId), 'call'), WORKLOAD_FILES.samples), (s) => out.push({ ...s, tags: { ...s.tags } }));
  return out;
}

describe('video-mesh: four browsers in a mesh call, a fifth tries to join', () => {
  it('hardened, ICE relay: every participant receives every other\'s video over TURN relay candidates; the 5th gets a clear 409; MESH-LIMIT PASS', async () => {
    const r = await run(await meshExperiment({ icePolicy: 'relay' }), { profile: 'hardened' });
    expect(r.error, explain(r)).toBeUndefined();
    expect(claim(r), explain(r)).toBe('PASS');
    const s = await samplesOf(r);
    // fps > 0 on all 12 (participant, remote track) pairs once the call is up.
    const fps = new Map<string, number>();
    for (const x of s.filter((x) => x.metric === 'sc_video_fps' && x.tags.stage !== 'joining')) fps.set(`${x.tags.participant}<${x.tags.track}`, Math.max(fps.get(`${x.tags.participant}<${x.tags.track}`) ?? 0, x.value));
    expect(fps.size, [...fps.keys()].join(' ')).toBe(12);
    for (const [pair, v] of fps) expect(v, pair).toBeGreaterThan(0);
    // The selected pair relays on every connection (relay asked: only relay candidates are gathered).
    const selected = s.filter((x) => x.metric === 'sc_ice_selected');
    expect(selected.length).toBeGreaterThan(0);
    expect(new Set(selected.map((x) => x.tags.local))).toEqual(new Set(['relay']));
    expect(s.filter((x) => x.metric === 'sc_outcome' && x.tags.probe === 'video_join_extra').map((x) => x.tags.class)).toEqual(['refused-full']);
    expect(s.filter((x) => x.metric === 'sc_outcome' && x.tags.probe === 'video_initiate_extra').map((x) => x.tags.class)).toEqual(['refused-full']);
    expect(s.filter((x) => x.metric === 'sc_call_join_status' && x.tags.participant === 'p5').map((x) => x.value)).toEqual([409, 409]);
    expect(s.filter((x) => x.metric === 'sc_video_first_frame').length).toBeGreaterThanOrEqual(12);
  });

  it('as-built: a 5th joining and a call of 5 answer 500 (the real JoinCall / InitiateCall), the 4 undisturbed: MESH-LIMIT FAIL', async () => {
    const r = await run(await meshExperiment(), { profile: 'as-built' });
    expect(r.error, explain(r)).toBeUndefined();
    expect(claim(r), explain(r)).toBe('FAIL');
    const v = Object.fromEntries(r.hypotheses.map((h) => [h.id, h.verdict]));
    expect(v, explain(r)).toEqual({ 'four-join': 'PASS', 'media-flows': 'PASS', 'fifth-refused-clearly': 'FAIL', 'call-of-five-refused-clearly': 'FAIL', 'four-undisturbed': 'PASS' });
    for (const id of ['fifth-refused-clearly', 'call-of-five-refused-clearly']) expect(r.hypotheses.find((h) => h.id === id)!.evidence).toMatch(/server-error 1/);
    // Host candidates when ICE may use anything.
    expect((await samplesOf(r)).filter((x) => x.metric === 'sc_ice_relay').every((x) => x.value === 0)).toBe(true);
  });

  it('INCONCLUSIVE when the call never stands (a target whose limit refuses the 4-person call): no verdict from the 5th alone', async () => {
    const r = await run(await meshExperiment({}, 8), { profile: 'hardened', targetEnv: { SC_SWITCH_PARTICIPANT_LIMIT: '2' } });
    expect(r.error, explain(r)).toBeUndefined();
    expect(claim(r), explain(r)).toBe('INCONCLUSIVE');
    expect(r.hypotheses.find((h) => h.id === 'fifth-refused-clearly')!.evidence).toMatch(/precondition four-join/);
  });
});
