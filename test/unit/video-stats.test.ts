import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sample } from '../../src/results/model.js';
import type { PageSnapshot, RawInbound, RawPeer } from '../../src/media/mesh-protocol.js';
import { StreamSummary, VIDEO_METRICS, VideoStatsConverter } from '../../src/media/video-stats.js';
import { SampleWriter } from '../../src/media/sample-writer.js';
import { classifyJoin } from '../../src/media/call-api.js';
import { K6Tail, readK6Samples } from '../../src/results/k6-reader.js';
import { readMetricKinds } from '../../src/k6/metric-kinds.js';
import { checkExperiment } from '../../src/experiment/spec.js';

const video = (o: Partial<RawInbound> = {}): RawInbound => ({
  kind: 'video', trackId: 'v', packetsReceived: 0, packetsLost: 0, bytesReceived: 0, jitter: 0.004, framesReceived: 0, framesDecoded: 0, framesDropped: 0,
  freezeCount: 0, totalFreezesDuration: 0, frameWidth: 320, frameHeight: 180, ...o,
});
const peer = (id: string, inbound: RawInbound[], o: Partial<RawPeer> = {}): RawPeer => ({
  peer: id, outbound: [], connectionState: 'connected', iceConnectionState: 'connected', inbound, pair: { localType: 'relay', remoteType: 'host', currentRoundTripTime: 0.012, availableOutgoingBitrate: 300_000 }, firstFrameAtMs: null, ...o,
});
const snap = (atMs: number, peers: RawPeer[], o: Partial<PageSnapshot> = {}): PageSnapshot => ({ atMs, peers, events: [], errors: [], ...o });
const of = (s: Sample[], metric: string) => s.filter((x) => x.metric === metric);

describe('what a participant sees: page stats → samples', () => {
  const labels: Record<string, string> = { u2: 'p2', u3: 'p3' };
  // p2 began to join at 1 s, p3 at 2 s (after p1): time to first frame counts from the later join.
  const conv = () => new VideoStatsConverter({ workload: 'call', participant: 'p1' }, (id) => labels[id] ?? 'unknown', (id) => ({ u2: 1_000, u3: 2_000 })[id] ?? 0);

  it('per-second deltas per remote track: fps, frames, loss, freezes, bytes; tagged participant / track / kind', () => {
    const c = conv();
    const first = c.convert(snap(10_000, [peer('u2', [video({ framesDecoded: 10, framesReceived: 10, packetsReceived: 100, bytesReceived: 5_000 })])]));
    // The first poll has nothing to subtract from: no rates yet, but jitter and the pair already.
    expect(of(first, 'sc_video_fps')).toEqual([]);
    expect(of(first, 'sc_media_jitter')[0]).toMatchObject({ value: 4, tags: { workload: 'call', participant: 'p1', track: 'p2', kind: 'video' } });
    const s = c.convert(snap(12_000, [peer('u2', [video({ framesDecoded: 40, framesReceived: 42, framesDropped: 2, packetsReceived: 190, packetsLost: 10, bytesReceived: 25_000, freezeCount: 1, totalFreezesDuration: 0.4 })])]), { stage: 'full' });
    expect(of(s, 'sc_video_fps')).toEqual([{ metric: 'sc_video_fps', time: 12_000, value: 15, tags: { workload: 'call', participant: 'p1', stage: 'full', track: 'p2', kind: 'video' } }]);
    expect(of(s, 'sc_video_frames_decoded')[0]!.value).toBe(30);
    expect(of(s, 'sc_video_frames_received')[0]!.value).toBe(32);
    expect(of(s, 'sc_video_frames_dropped')[0]!.value).toBe(2);
    expect(of(s, 'sc_media_loss')[0]!.value).toBeCloseTo(10 / 100);
    expect(of(s, 'sc_media_bytes_received')[0]!.value).toBe(20_000);
    expect(of(s, 'sc_video_freezes')[0]!.value).toBe(1);
    expect(of(s, 'sc_video_freeze_ms')[0]!.value).toBeCloseTo(400);
  });

  it('bytes sent to each remote participant, per kind, as deltas', () => {
    const c = conv();
    const out = (v: number, a: number) => [{ kind: 'video' as const, bytesSent: v, packetsSent: 1 }, { kind: 'audio' as const, bytesSent: a, packetsSent: 1 }];
    expect(of(c.convert(snap(1_000, [peer('u2', [], { outbound: out(1_000, 100) })])), 'sc_media_bytes_sent')).toEqual([]);
    const s = c.convert(snap(2_000, [peer('u2', [], { outbound: out(31_000, 4_100) })]));
    expect(of(s, 'sc_media_bytes_sent').map((x) => [x.tags.track, x.tags.kind, x.value])).toEqual([['p2', 'audio', 4_000], ['p2', 'video', 30_000]]);
  });

  it('the selected pair: RTT in ms, outgoing bitrate, candidate types, relay as a rate', () => {
    const s = conv().convert(snap(5_000, [peer('u2', []), peer('u3', [], { pair: { localType: 'host', remoteType: 'srflx', currentRoundTripTime: null, availableOutgoingBitrate: null } })]));
    expect(of(s, 'sc_media_rtt')).toEqual([expect.objectContaining({ value: 12, tags: expect.objectContaining({ track: 'p2', kind: 'transport' }) })]);
    expect(of(s, 'sc_media_available_outgoing_bitrate')[0]!.value).toBe(300_000);
    expect(of(s, 'sc_ice_selected').map((x) => [x.tags.track, x.tags.local, x.tags.remote])).toEqual([['p2', 'relay', 'host'], ['p3', 'host', 'srflx']]);
    expect(of(s, 'sc_ice_relay').map((x) => x.value)).toEqual([1, 0]);
    expect(of(s, 'sc_peer_connections')).toEqual([expect.objectContaining({ value: 2, tags: expect.objectContaining({ state: 'connected' }) })]);
  });

  it('time to first frame once per remote participant, from the later of both joins; state changes at their own times', () => {
    const c = conv();
    const a = c.convert(snap(3_000, [peer('u2', [], { firstFrameAtMs: 2_500 })], { events: [{ atMs: 1_800, peer: 'u2', what: 'ice', state: 'checking' }, { atMs: 2_100, peer: 'u2', what: 'connection', state: 'connected' }] }));
    expect(of(a, 'sc_video_first_frame')).toEqual([{ metric: 'sc_video_first_frame', time: 2_500, value: 1_500, tags: { workload: 'call', participant: 'p1', track: 'p2', kind: 'video' } }]);
    expect(of(a, 'sc_ice_state_change').map((x) => [x.time, x.tags.what, x.tags.state])).toEqual([[1_800, 'ice', 'checking'], [2_100, 'connection', 'connected']]);
    expect(of(c.convert(snap(4_000, [peer('u2', [], { firstFrameAtMs: 2_500 })])), 'sc_video_first_frame')).toEqual([]);
  });

  it('a counter going back (a renegotiated stream) gives no negative rate', () => {
    const c = conv();
    c.convert(snap(1_000, [peer('u2', [video({ framesDecoded: 500, packetsReceived: 900 })])]));
    const s = c.convert(snap(2_000, [peer('u2', [video({ framesDecoded: 5, packetsReceived: 10 })])]));
    expect(of(s, 'sc_video_fps')).toEqual([]);
    expect(of(s, 'sc_media_loss')).toEqual([]);
  });
});

describe('the samples file', () => {
  it('is k6\'s CSV: followed live by K6Tail, gzipped at close, read back with the kinds written beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sch-video-'));
    try {
      const live = join(dir, 'samples.csv');
      const path = join(dir, 'samples.csv.gz');
      const w = new SampleWriter(live, path, join(dir, 'metric-kinds.json'), VIDEO_METRICS);
      const samples: Sample[] = [
        { metric: 'sc_attempt', time: 1_795_000_000_000, value: 1, tags: { workload: 'call', participant: 'p5', probe: 'video_join_extra' } },
        { metric: 'sc_video_fps', time: 1_795_000_001_000.5, value: 14.5, tags: { workload: 'call', participant: 'p1', track: 'p2', kind: 'video', stage: 'full' } },
      ];
      const followed: Sample[] = [];
      const tail = new K6Tail(live, (s) => followed.push({ ...s, tags: { ...s.tags } }));
      w.write(samples);
      await tail.poll();
      expect(followed).toEqual(samples);
      w.write([{ metric: 'sc_video_fps', time: 1_795_000_002_000, value: 15, tags: { workload: 'call', participant: 'p1', track: 'p2', kind: 'video', stage: 'full' } }]);
      expect(() => w.write([{ metric: 'sc_nope', time: 0, value: 1, tags: {} }])).toThrow(/undeclared metric sc_nope/);
      await w.close();
      await tail.stop();
      expect(followed.length).toBe(3);
      expect(existsSync(live)).toBe(false);
      expect(readMetricKinds(join(dir, 'metric-kinds.json'))).toMatchObject({ sc_attempt: 'counter', sc_video_fps: 'trend', sc_ice_relay: 'rate' });
      const got: Sample[] = [];
      const r = await readK6Samples(path, (s) => got.push({ ...s, tags: { ...s.tags } }));
      expect(r).toMatchObject({ points: 3, badLines: 0, truncated: false });
      expect(got.slice(0, 2)).toEqual(samples);
      expect(got.map((s) => s.value)).toEqual([1, 14.5, 15]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a join\'s outcome class', () => {
  const a = (status: number, json: unknown = null, durationMs = 20) => ({ status, json, durationMs });
  it('a 4xx naming the limit is refused-full; a 500 is a server error; a plain 4xx a client error', () => {
    expect(classifyJoin(a(200))).toBe('served');
    expect(classifyJoin(a(409, { success: false, error: { code: 'CONFLICT', message: 'call is at full capacity (max 4 participants)' } }))).toBe('refused-full');
    expect(classifyJoin(a(500, { success: false, error: { code: 'INTERNAL_ERROR', message: 'Failed to join call' } }))).toBe('server-error');
    expect(classifyJoin(a(404, { success: false, error: { code: 'NOT_FOUND', message: 'Call not found' } }))).toBe('client-error');
    expect(classifyJoin({ status: 0, json: null, durationMs: 15_000, error: 'TimeoutError: The operation was aborted due to timeout' })).toBe('hang');
    expect(classifyJoin({ status: 0, json: null, durationMs: 3, error: 'TypeError: fetch failed' })).toBe('network-error');
  });
});

describe('a video workload in an experiment', () => {
  const base = { name: 'v', description: 'd', target: { kind: 'embedded' }, durationS: 10, hypotheses: [{ kind: 'outcomes', id: 'h', description: 'd', claims: ['MESH-LIMIT'], phase: 'run', probe: 'video_join', accept: ['served'] }] };
  it('takes kind: video with its defaults; a workload without kind is still k6', () => {
    const c = checkExperiment({ ...base, workloads: [{ id: 'call', kind: 'video', video: { extra: 1, icePolicy: 'relay' } }, { id: 'probes', scenario: 'probes' }] });
    expect(c.errors).toEqual([]);
    expect(c.experiment!.workloads[0]).toEqual({ id: 'call', kind: 'video', video: { topology: 'mesh', participants: 4, extra: 1, staggerS: 1, extraAfterS: 5, initiateOverLimit: false, icePolicy: 'relay', turn: 'api', camera: { width: 320, height: 180, fps: 15 }, audio: true } });
    expect(c.experiment!.workloads[1]).toMatchObject({ kind: 'k6', scenario: 'probes', profile: 'smoke' });
  });
  it('static TURN credentials: the password itself or the variable holding it, exactly one', () => {
    const turn = (t: Record<string, unknown>) => checkExperiment({ ...base, workloads: [{ id: 'call', kind: 'video', video: { icePolicy: 'relay', turn: { urls: ['turn:198.18.0.2:3478?transport=udp'], username: 'u', ...t } } }] }).errors.join('\n');
    expect(turn({ credentialEnv: 'SC_TURN_PASSWORD' })).toBe('');
    expect(turn({ credential: 'p' })).toBe('');
    expect(turn({})).toMatch(/exactly one/);
    expect(turn({ credential: 'p', credentialEnv: 'SC_TURN_PASSWORD' })).toMatch(/exactly one/);
  });

  it('names a bad field of the video block with the nearest one', () => {
    const c = checkExperiment({ ...base, workloads: [{ id: 'call', kind: 'video', video: { particpants: 5, icePolicy: 'turn' } }] });
    expect(c.errors.join('\n')).toMatch(/workloads\[0\]\.video\.particpants: unknown field; did you mean participants\?/);
    expect(c.errors.join('\n')).toMatch(/workloads\[0\]\.video\.icePolicy: "turn" is not one of all, relay/);
  });
});

describe('the progress line', () => {
  it('adds the video tracks heard from in the last 3 s and their mean fps; nothing without video', async () => {
    const { ProgressMeter } = await import('../../src/results/progress.js');
    const m = new ProgressMeter();
    expect(m.line()).not.toMatch(/video/);
    m.add({ metric: 'sc_video_fps', time: 10_000, value: 14, tags: { workload: 'call', participant: 'p1', track: 'p2' } });
    m.add({ metric: 'sc_video_fps', time: 10_000, value: 15, tags: { workload: 'call', participant: 'p2', track: 'p1' } });
    m.add({ metric: 'sc_video_fps', time: 11_000, value: 16, tags: { workload: 'call', participant: 'p1', track: 'p2' } });
    expect(m.line()).toMatch(/video 2 tracks 15\.5 fps$/);
  });
});

describe('preflight of a video workload', () => {
  it('knows its metrics and the probes it runs (video_join_extra only with extra participants)', async () => {
    const { preflightExperiment } = await import('../../src/experiment/preflight.js');
    const { validateExperiment } = await import('../../src/experiment/spec.js');
    const e = (extra: number, hypotheses: unknown[]) => validateExperiment({
      name: 'v', description: 'd', target: { kind: 'embedded' }, durationS: 10, workloads: [{ id: 'call', kind: 'video', video: { extra } }], hypotheses,
    });
    const fps = { id: 'fps', description: 'd', claims: ['MESH-LIMIT'], phase: 'run', select: { metric: 'sc_video_fps', tags: { stage: 'full' } }, stat: 'avg', op: '>', value: 0 };
    const extraJoin = { kind: 'outcomes', id: 'x', description: 'd', claims: ['MESH-LIMIT'], phase: 'run', probe: 'video_join_extra', accept: ['refused-full'] };
    expect(preflightExperiment(e(1, [fps, extraJoin])).errors).toEqual([]);
    expect(preflightExperiment(e(0, [fps, extraJoin])).errors.join('\n')).toMatch(/probe "video_join_extra" is not run by any workload/);
    expect(preflightExperiment(e(1, [{ ...fps, select: { metric: 'sc_video_fsp' } }])).errors.join('\n')).toMatch(/no workload of this experiment emits "sc_video_fsp"; did you mean sc_video_fps\?/);
  });
});

describe('per stage, each remote video track summed up (StreamSummary)', () => {
  const tags = (participant: string, stage: string) => ({ workload: 'call', topology: 'sfu', participant, stage });
  const fps = (participant: string, track: string, stage: string, value: number, time: number): Sample => ({ metric: 'sc_video_fps', time, value, tags: { ...tags(participant, stage), track, kind: 'video' } });
  const freeze = (participant: string, track: string, stage: string, value: number, time: number): Sample => ({ metric: 'sc_video_freeze_ms', time, value, tags: { ...tags(participant, stage), track, kind: 'video' } });

  it('average fps and frozen share per participant, track and stage, at the stage\'s last poll', () => {
    const s = new StreamSummary();
    s.add('p1', 1000, [fps('p1', 'p2', 'full', 14, 1000), freeze('p1', 'p2', 'full', 0, 1000)], tags('p1', 'full'));
    s.add('p1', 2000, [fps('p1', 'p2', 'full', 10, 2000), freeze('p1', 'p2', 'full', 500, 2000)], tags('p1', 'full'));
    s.add('p2', 2000, [fps('p2', 'p1', 'full', 15, 2000), freeze('p2', 'p1', 'full', 0, 2000)], tags('p2', 'full'));
    const out = s.samples();
    const get = (metric: string, p: string, t: string) => out.find((x) => x.metric === metric && x.tags.participant === p && x.tags.track === t);
    expect(get('sc_video_stream_fps', 'p1', 'p2')).toMatchObject({ value: 12, time: 2000, tags: { stage: 'full', topology: 'sfu', kind: 'video' } });
    expect(get('sc_video_stream_frozen', 'p1', 'p2')!.value).toBeCloseTo(0.25);
    expect(get('sc_video_stream_fps', 'p2', 'p1')!.value).toBe(15);
    expect(out).toHaveLength(4);
  });

  it('a track a participant of the stage never received counts as 0 fps, frozen the whole time (not missing)', () => {
    const s = new StreamSummary();
    s.add('p1', 1000, [fps('p1', 'p2', 'full', 15, 1000)], tags('p1', 'full'));
    // p2 is polled but receives nothing from p1 (its SFU transports only: no video samples).
    s.add('p2', 1000, [{ metric: 'sc_peer_connections', time: 1000, value: 2, tags: { ...tags('p2', 'full'), kind: 'transport', state: 'connected' } }], tags('p2', 'full'));
    const never = s.samples().filter((x) => x.tags.participant === 'p2');
    expect(never.map((x) => [x.metric, x.value, x.tags.track, x.tags.stage])).toEqual([['sc_video_stream_fps', 0, 'p1', 'full'], ['sc_video_stream_frozen', 1, 'p1', 'full']]);
  });
});
