import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
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
 * The video workload's SFU topology and GROUP-CALL on the reference target, with real browsers: 8 participants
 * in one SFU call (mediasoup-client in Chromium, the target's SFU extension) through TURN relay on hardened (PASS:
 * every participant receives every other's video); a mesh-only limit of 4 refusing the call of 8 on as-built (the
 * real 500) and audited (a clear 409): FAIL; a probe whose media cannot flow (TURN refuses its credential):
 * INCONCLUSIVE, never FAIL.
 */
let lab: Lab;
const runsDir = join(HARNESS_ROOT, 'reports', 'runs', `itest-group-call-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  mkdirSync(runsDir, { recursive: true });
});

async function groupCall(video: Partial<VideoOptions> = {}, durationS?: number): Promise<Experiment> {
  const e = await loadExperiment('group-call');
  return {
    ...e, ...(durationS ? { durationS } : {}),
    workloads: e.workloads.map((w) => (w.kind === 'video' ? { ...w, video: { ...w.video, ...video } } : w)),
  };
}

const run = async (experiment: Experiment, o: Partial<RunOptions>) => runExperiment({ experiment, labName: lab.name, runsDir, ...o });
const explain = (r: RunResult) => `${r.error ?? ''}\n${r.hypotheses.map((h) => `${h.id}: ${h.verdict} — ${h.evidence}`).join('\n')}`;
const claim = (r: RunResult) => r.claims.find((c) => c.id === 'GROUP-CALL')?.verdict;
const verdicts = (r: RunResult) => Object.fromEntries(r.hypotheses.map((h) => [h.id, h.verdict]));
const callDir = (r: RunResult) => workloadDir(join(runsDir, r.runId), 'call');

async function samplesOf(r: RunResult): Promise<Sample[]> {
  const out: Sample[] = [];
  await readK6Samples(join(callDir(r), WORKLOAD_FILES.samples), (s) => out.push({ ...s, tags: { ...s.tags } }));
  return out;
}

describe('group-call: eight browsers in one SFU call', () => {
  it('hardened, ICE relay: all 8 in, every participant receives every other\'s video (56 tracks ≥ 10 fps) over TURN relay candidates; GROUP-CALL PASS', async () => {
    const r = await run(await groupCall({ icePolicy: 'relay' }), { profile: 'hardened' });
    expect(r.error, explain(r)).toBeUndefined();
    expect(verdicts(r), explain(r)).toEqual({ 'sfu-media-flows': 'PASS', 'all-join': 'PASS', 'every-stream-10fps': 'PASS', 'freezes-bounded': 'PASS' });
    expect(claim(r), explain(r)).toBe('PASS');
    const s = await samplesOf(r);
    expect(new Set(s.map((x) => x.tags.topology))).toEqual(new Set(['sfu']));
    // One summary per participant and remote track once the call is up: 8 × 7.
    const streams = s.filter((x) => x.metric === 'sc_video_stream_fps' && x.tags.stage === 'full');
    expect(new Set(streams.map((x) => `${x.tags.participant}<${x.tags.track}`)).size).toBe(56);
    for (const x of streams) expect(x.value, `${x.tags.participant}<${x.tags.track}`).toBeGreaterThanOrEqual(10);
    expect(s.filter((x) => x.metric === 'sc_video_first_frame').length).toBe(56);
    // Each participant's two transports (send, receive) relay through TURN to the SFU.
    const selected = s.filter((x) => x.metric === 'sc_ice_selected');
    expect(new Set(selected.map((x) => x.tags.track))).toEqual(new Set(['sfu-send', 'sfu-recv']));
    expect(new Set(selected.map((x) => x.tags.local))).toEqual(new Set(['relay']));
    // Bytes go to the SFU once, not to each remote participant.
    expect(new Set(s.filter((x) => x.metric === 'sc_media_bytes_sent').map((x) => x.tags.track))).toEqual(new Set(['sfu-send']));
    const log = readFileSync(join(callDir(r), WORKLOAD_FILES.log), 'utf8');
    expect(log).toMatch(/% of a core per participant/);
    process.stderr.write(`[group-call] ${/browser CPU .*/.exec(log)?.[0] ?? ''}\n`);
  });

  it('as-built: the call of 8 answers 500 (the real InitiateCall: mesh only, no SFU, limit checked after the call is stored); GROUP-CALL FAIL', async () => {
    const r = await run(await groupCall(), { profile: 'as-built' });
    expect(r.error, explain(r)).toBeUndefined();
    expect(claim(r), explain(r)).toBe('FAIL');
    const v = verdicts(r);
    expect(v['all-join'], explain(r)).toBe('FAIL');
    expect(r.hypotheses.find((h) => h.id === 'all-join')!.evidence).toMatch(/server-error 1/);
    // Nobody got in: the quality checks have nothing to judge, and the refusal alone decides.
    expect(v['every-stream-10fps']).toBe('INCONCLUSIVE');
    const s = await samplesOf(r);
    expect(s.filter((x) => x.metric === 'sc_call_join_status').map((x) => x.value)).toEqual([500]);
  });

  it('audited: the limit of 4 refuses the call of 8 clearly (409 naming it); GROUP-CALL FAIL all the same', async () => {
    const r = await run(await groupCall(), { profile: 'audited' });
    expect(r.error, explain(r)).toBeUndefined();
    expect(claim(r), explain(r)).toBe('FAIL');
    expect(r.hypotheses.find((h) => h.id === 'all-join')!.evidence, explain(r)).toMatch(/refused-full 1/);
  });

  it('INCONCLUSIVE when the probe\'s media cannot flow (relay only, a TURN credential TURN refuses): all 8 get in, but no frame says anything about quality', async () => {
    const turn = { urls: [`turn:${lab.address}:${lab.directEndpoint('coturn').port}?transport=udp`], username: 'nobody', credential: 'not-the-secret' };
    const r = await run(await groupCall({ icePolicy: 'relay', turn }, 20), { profile: 'hardened' });
    expect(r.error, explain(r)).toBeUndefined();
    expect(claim(r), explain(r)).toBe('INCONCLUSIVE');
    const v = verdicts(r);
    expect(v['all-join'], explain(r)).toBe('PASS');
    expect(v['sfu-media-flows'], explain(r)).not.toBe('PASS');
    expect(r.hypotheses.find((h) => h.id === 'every-stream-10fps')!.evidence).toMatch(/precondition sfu-media-flows/);
  });
});
