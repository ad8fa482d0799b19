import { describe, expect, it } from 'vitest';
import { derivePhases } from '../../src/experiment/phases.js';
import { calibrate, impliedLoss, mediaLossCalibration, turnLossPercent, type MediaPath } from '../../src/experiment/calibration.js';
import { evaluateClaims, evaluateHypotheses } from '../../src/verdicts/evaluate.js';
import { ResultPipeline } from '../../src/results/pipeline.js';
import { HypothesisSchema } from '../../src/experiment/spec.js';
import type { FaultRecord, Phase } from '../../src/results/model.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { selectorsOf } from '../../src/verdicts/kinds/index.js';
import type { SeriesSelector } from '../../src/results/model.js';
import { VideoStatsConverter } from '../../src/media/video-stats.js';
import type { PageSnapshot, RawInbound } from '../../src/media/mesh-protocol.js';

const T0 = 1_800_000_000_000;
const s = (sec: number) => T0 + sec * 1000;
const SFU: MediaPath = { crossings: 4, topology: 'sfu' };

const loss = (id: string, percent: number, on: number, off: number, extra: Partial<FaultRecord> = {}): FaultRecord => ({
  id, name: 'turn-loss', mechanism: 'nft', target: 'turn-udp', params: { percent }, plannedStartS: on, plannedDurationS: off - on,
  appliedAtMs: s(on), removedAtMs: s(off), verified: true, verifyDetail: 'STUN round trips lost …', rolledBack: true, ...extra,
});

/** Remote video tracks (6, or `tracks`) polled once a second: per poll `rate` packets, `lossShare(t)` of them lost, `nacks` NACKs, fps. */
const COUNTS = ['sc_media_packets_received', 'sc_media_packets_lost', 'sc_media_nacks'];
function pipeline(phases: Phase[], extra: SeriesSelector[] = []): ResultPipeline {
  const p = new ResultPipeline({ phases, selectors: [...COUNTS.map((metric) => ({ metric, tags: { kind: 'video' } })), { metric: 'sc_video_fps' }, ...extra], runStartMs: T0, windowMs: 1000 });
  for (const m of [...COUNTS, 'sc_video_freeze_ms', 'sc_attempt']) p.setMetricKind(m, 'counter');
  p.setMetricKind('sc_video_fps', 'trend');
  return p;
}
function callSamples(phases: Phase[], endS: number, o: { rate: number; lossShare: (t: number) => number; nacks: number; fps: (t: number) => number; tracks?: number }, extra: SeriesSelector[] = []): ResultPipeline {
  const p = pipeline(phases, extra);
  for (let t = 1; t < endS; t++) {
    for (let track = 0; track < (o.tracks ?? 6); track++) {
      const tags = { kind: 'video', participant: `p${1 + (track % 4)}`, track: `t${track}` };
      const lost = Math.round(o.rate * o.lossShare(t));
      p.add({ metric: 'sc_media_packets_received', time: s(t), value: o.rate - lost, tags });
      p.add({ metric: 'sc_media_packets_lost', time: s(t), value: lost, tags });
      p.add({ metric: 'sc_media_nacks', time: s(t), value: o.nacks, tags });
      p.add({ metric: 'sc_video_fps', time: s(t), value: o.fps(t), tags });
      p.add({ metric: 'sc_video_freeze_ms', time: s(t), value: o.fps(t) < 5 ? 900 : 100, tags });
    }
  }
  return p;
}

describe('TURN loss calibration on the media path', () => {
  it('a participant\'s page stats give, per poll and remote track, the packets received and lost behind sc_media_loss, and the NACKs it sent', () => {
    const inbound = (o: Partial<RawInbound>): RawInbound => ({ kind: 'video', trackId: 'v', packetsReceived: 0, packetsLost: 0, bytesReceived: 0, jitter: null, framesReceived: 0, framesDecoded: 0, framesDropped: 0, freezeCount: 0, totalFreezesDuration: 0, frameWidth: 320, frameHeight: 180, ...o });
    const snap = (atMs: number, r: RawInbound): PageSnapshot => ({ atMs, events: [], errors: [], peers: [{ peer: 'u2', outbound: [], connectionState: 'connected', iceConnectionState: 'connected', inbound: [r], pair: null, firstFrameAtMs: null }] });
    const c = new VideoStatsConverter({ participant: 'p1' }, () => 'p2', () => 0);
    c.convert(snap(1_000, inbound({ packetsReceived: 100, packetsLost: 5, nackCount: 3 })));
    const out = c.convert(snap(2_000, inbound({ packetsReceived: 180, packetsLost: 25, nackCount: 10 })));
    const v = (m: string) => out.find((x) => x.metric === m)?.value;
    expect([v('sc_media_packets_received'), v('sc_media_packets_lost'), v('sc_media_nacks'), v('sc_media_loss')]).toEqual([80, 20, 7, 0.2]);
    expect(out.find((x) => x.metric === 'sc_media_packets_lost')?.tags).toMatchObject({ participant: 'p1', track: 'p2', kind: 'video' });
  });

  it('a late packet lowers packetsLost at the next poll: that poll counts (lost below zero), the sums are the net loss; a stream whose received count went back restarts', () => {
    const inbound = (o: Partial<RawInbound>): RawInbound => ({ kind: 'video', trackId: 'v', packetsReceived: 0, packetsLost: 0, bytesReceived: 0, jitter: null, framesReceived: 0, framesDecoded: 0, framesDropped: 0, freezeCount: 0, totalFreezesDuration: 0, frameWidth: 320, frameHeight: 180, ...o });
    const snap = (atMs: number, r: RawInbound): PageSnapshot => ({ atMs, events: [], errors: [], peers: [{ peer: 'u2', outbound: [], connectionState: 'connected', iceConnectionState: 'connected', inbound: [r], pair: null, firstFrameAtMs: null }] });
    const c = new VideoStatsConverter({ participant: 'p1' }, () => 'p2', () => 0);
    // Cumulative: 100 received / 20 lost, then 2 of those 20 arrive late with 28 more and no new loss, then 30 more with 6 lost.
    const polls = [[100, 20], [130, 18], [160, 24], [10, 1]].map(([rec, lost], i) => c.convert(snap(1_000 * (i + 1), inbound({ packetsReceived: rec, packetsLost: lost }))));
    const sum = (m: string) => polls.flat().filter((x) => x.metric === m).reduce((n, x) => n + x.value, 0);
    expect(polls[1]!.find((x) => x.metric === 'sc_media_packets_lost')?.value).toBe(-2);
    expect(polls[1]!.find((x) => x.metric === 'sc_media_loss')?.value).toBe(0);
    // Net over the polls after the first: 60 received, 4 lost; the last poll (received went back) is a new stream.
    expect([sum('sc_media_packets_received'), sum('sc_media_packets_lost')]).toEqual([60, 4]);
  });

  it('the rule\'s end-to-end loss: each of the 4 crossings drops p (5 % → 18.5 %, 20 % → 59.0 %); only TURN loss faults are calibrated so', () => {
    expect(impliedLoss(5, 4)).toBeCloseTo(0.1855, 4);
    expect(impliedLoss(20, 4)).toBeCloseTo(0.5904, 4);
    expect(impliedLoss(5, 2)).toBeCloseTo(0.0975, 4);
    expect(turnLossPercent(loss('l', 5, 0, 1))).toBe(5);
    expect(turnLossPercent({ name: 'turn-loss', mechanism: 'nft', params: {} })).toBe(30);
    expect(turnLossPercent({ name: 'custom', mechanism: 'nft', params: { udp: { action: 'loss', percent: 12 } } })).toBe(12);
    expect(turnLossPercent({ name: 'custom', mechanism: 'nft', params: { udp: { action: 'outage' } } })).toBeNull();
    expect(turnLossPercent({ name: 'redis-outage', mechanism: 'toxiproxy', params: {} })).toBeNull();
  });

  const recs = [loss('loss5', 5, 10, 30), loss('loss20', 20, 30, 50)];
  const phases = derivePhases(s(0), s(52), recs, 10);
  const share = (l5: number, l20: number) => (t: number) => (t >= 10 && t < 30 ? l5 : t >= 30 && t < 50 ? l20 : 0);

  it('without retransmission: within ±2 pp at 5 %, ±3 pp at 20 %, over ≥ 2,000 packets; a loss that did not land fails', () => {
    const good = callSamples(phases, 52, { rate: 20, lossShare: share(0.18, 0.58), nacks: 0, fps: () => 1 });
    const rows = recs.map((r) => mediaLossCalibration(r, good, SFU)!);
    expect(rows.map((r) => r.ok)).toEqual([true, true]);
    expect(rows[0]!.detail).toMatch(/no retransmission; the rule implies 5 % at each of 4 crossings of coturn/);
    const off = callSamples(phases, 52, { rate: 20, lossShare: share(0.05, 0.55), nacks: 0, fps: () => 1 });
    expect(recs.map((r) => mediaLossCalibration(r, off, SFU)!.ok)).toEqual([false, false]);
  });

  it('retransmitted streams (NACKs sent): some loss, at most what the rule implies; none seen fails', () => {
    const rtx = callSamples(phases, 52, { rate: 20, lossShare: share(0.1, 0.3), nacks: 2, fps: () => 14 });
    const row = mediaLossCalibration(recs[0]!, rtx, SFU)!;
    expect(row.ok).toBe(true);
    expect(row.detail).toMatch(/NACKs: retransmission hides part of the loss/);
    const none = callSamples(phases, 52, { rate: 20, lossShare: () => 0, nacks: 2, fps: () => 14 });
    expect(mediaLossCalibration(recs[0]!, none, SFU)!.ok).toBe(false);
  });

  it('too few packets (or none: no call, no samples) fails: the loss on the media path is not measured', () => {
    const few = callSamples(phases, 52, { rate: 5, lossShare: share(0.18, 0.58), nacks: 0, fps: () => 1 });
    const row = mediaLossCalibration(recs[0]!, few, SFU)!;
    expect(row.ok).toBe(false);
    expect(row.detail).toMatch(/counted 540 video packets during the fault \(need ≥ 2000\)/);
    const empty = pipeline(phases);
    expect(mediaLossCalibration(recs[0]!, empty, SFU)!.observed).toBeNull();
    // calibrate() adds the media row only when a relay-forced call ran.
    expect(calibrate({ records: recs, source: empty, exposure: 'processes', runStartMs: s(0) }).length).toBe(2);
    expect(calibrate({ records: recs, source: empty, exposure: 'processes', runStartMs: s(0), media: SFU }).filter((c) => !c.ok).length).toBe(2);
  });

  it('TURN-LOSS: PASS when video holds, FAIL when it collapses, INCONCLUSIVE when the loss did not land on the media path', async () => {
    const e = await loadExperiment('turn-loss');
    const hyps = e.hypotheses.map((x) => HypothesisSchema.parse(x));
    const sels = hyps.flatMap((x) => selectorsOf(x)).filter((x, i, a) => a.findIndex((y) => JSON.stringify(y) === JSON.stringify(x)) === i && !(x.metric === 'sc_video_fps' && !x.tags));
    // The experiment's own timeline (loss5 then loss20), as the runner records it.
    const [f5, f20] = e.faults.map((f) => ({ from: f.startS, to: f.startS + f.durationS }));
    const end = e.durationS;
    const rs = [loss('loss5', 5, f5!.from, f5!.to), loss('loss20', 20, f20!.from, f20!.to)];
    const ph = derivePhases(s(0), s(end), rs, f5!.from);
    const during = (t: number, f: { from: number; to: number }) => t >= f.from && t < f.to;
    const at = (l5: number, l20: number, base = 15) => (t: number) => (during(t, f5!) ? l5 : during(t, f20!) ? l20 : base);
    const judge = (src: ResultPipeline) => {
      const calibration = calibrate({ records: rs, source: src, exposure: 'processes', runStartMs: s(0), media: SFU });
      const hs = evaluateHypotheses(hyps, { phases: ph, source: src, calibration, fanout: {}, removedAtMs: { loss5: s(f5!.to), loss20: s(f20!.to) }, runEndMs: s(end) });
      return evaluateClaims([], hs, undefined).find((c) => c.id === 'TURN-LOSS')!;
    };
    const lossAt = (l5: number, l20: number) => (t: number) => (during(t, f5!) ? l5 : during(t, f20!) ? l20 : 0);
    expect(judge(callSamples(ph, end + 10, { rate: 30, lossShare: lossAt(0.1, 0.3), nacks: 2, fps: at(14, 5), tracks: 12 }, sels)).verdict).toBe('PASS');
    expect(judge(callSamples(ph, end + 10, { rate: 30, lossShare: lossAt(0.185, 0.59), nacks: 0, fps: at(1, 0.1), tracks: 12 }, sels)).verdict).toBe('FAIL');
    // The rule dropped nothing the receivers saw: not evidence of video surviving loss.
    const missed = judge(callSamples(ph, end + 10, { rate: 30, lossShare: () => 0, nacks: 0, fps: at(15, 15), tracks: 12 }, sels));
    expect(missed.verdict).toBe('INCONCLUSIVE');
    // No media samples at all.
    expect(judge(pipeline(ph, sels)).verdict).toBe('INCONCLUSIVE');
  });
});
