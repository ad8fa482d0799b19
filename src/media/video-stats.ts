/**
 * What a participant sees, as samples: each poll of a participant's page (cumulative getStats counters per
 * peer connection) becomes per-second samples in the k6 sample format, per remote track (`track` = the
 * remote participant, `kind` = audio | video) and per peer connection (`kind` = transport). Pure: the
 * previous poll is kept here, the caller writes what comes out.
 */
import type { MetricKind, Sample } from '../results/model.js';
import type { PageSnapshot, RawInbound } from './mesh-protocol.js';

/** The metrics a video workload writes, with their k6 kinds (the samples file declares them). */
export const VIDEO_METRICS = {
  /** Decoded frames per second of one remote video track over the last poll. */
  sc_video_fps: 'trend',
  sc_video_frames_received: 'counter',
  sc_video_frames_decoded: 'counter',
  sc_video_frames_dropped: 'counter',
  /** Freezes that began since the last poll (Chromium's freezeCount). */
  sc_video_freezes: 'counter',
  /** Freeze time added since the last poll, ms. */
  sc_video_freeze_ms: 'counter',
  /**
   * A remote video track's average decoded fps over one stage of the call (`stage` tag), one sample per
   * (participant, track, stage) at the stage's last poll; 0 for a track a participant of that stage never received.
   */
  sc_video_stream_fps: 'trend',
  /** Share of that stage a remote video track spent frozen (Chromium's freeze time over the polls' time), 0..1; 1 when never received. */
  sc_video_stream_frozen: 'trend',
  /** Time to the first frame shown from one remote participant, from when both had begun to join (the later of the two), ms. */
  sc_video_first_frame: 'trend',
  /** Per poll, per remote participant in the call: 1 when its video decoded frames since the last poll (media-flow.ts). */
  sc_video_receiving: 'rate',
  /** How long a remote participant's video stopped, written when it flows again, ms. */
  sc_video_interruption_ms: 'trend',
  /** A late joiner's join (lateJoin): start to what came first — media, a clear error, ICE failing — tagged `how`, ms. */
  sc_video_join_settled: 'trend',
  /** What the server said about TURN on a participant's socket (`state`: unavailable | available), one per frame. */
  sc_video_turn_notice: 'counter',
  /** Inter-arrival jitter, ms. */
  sc_media_jitter: 'trend',
  /** Packets lost over packets expected since the last poll (0..1). */
  sc_media_loss: 'trend',
  /**
   * The two counts behind sc_media_loss, so a loss over many polls is weighted by packets (the TURN loss calibration);
   * lost is signed — a poll whose late packets outnumber its new losses counts below zero — so a sum is the net loss.
   */
  sc_media_packets_received: 'counter',
  sc_media_packets_lost: 'counter',
  /** NACKs the receiver sent since the last poll: the stream is retransmitted, so its packetsLost is what retransmission did not hide. */
  sc_media_nacks: 'counter',
  sc_media_bytes_received: 'counter',
  /** Bytes this participant sent to one remote participant since the last poll (all its streams of a kind). */
  sc_media_bytes_sent: 'counter',
  /** Round-trip time of the selected candidate pair, ms. */
  sc_media_rtt: 'trend',
  /** The sender's estimate of what it may send on the selected pair, bits/s. */
  sc_media_available_outgoing_bitrate: 'trend',
  /** 1 per poll for the selected candidate pair, tagged local / remote candidate type. */
  sc_ice_selected: 'gauge',
  /** Whether the selected pair relays through TURN (either end a relay candidate). */
  sc_ice_relay: 'rate',
  /** One per ICE / connection state change of a peer connection, tagged `what` and `state`. */
  sc_ice_state_change: 'counter',
  /** Peer connections of a participant in each state at a poll, tagged `state`. */
  sc_peer_connections: 'gauge',
  /** A participant's join: REST join (or initiate) start to the signaling socket open, ms. */
  sc_call_join_latency: 'trend',
  /** The HTTP status of a participant's join (or initiate), tagged `probe`. */
  sc_call_join_status: 'gauge',
  /** Attempt marker and outcome class of each join, as the probes write them (outcomes hypotheses read them). */
  sc_attempt: 'counter',
  sc_outcome: 'counter',
} as const satisfies Record<string, MetricKind>;
export type VideoMetric = keyof typeof VIDEO_METRICS;

/**
 * The metrics only browser participants write. `sc_attempt` / `sc_outcome` are every probe's, k6's too: a check reads
 * the browsers' through them only with a video probe's tag (VIDEO_PROBES).
 */
export const BROWSER_METRICS: readonly string[] = Object.keys(VIDEO_METRICS).filter((m) => m !== 'sc_attempt' && m !== 'sc_outcome');

interface Prev {
  atMs: number;
  streams: Map<string, RawInbound>;
  /** Bytes sent per peer and kind. */
  sent: Map<string, number>;
  /** Remote peers whose first frame was already recorded. */
  firstFrames: Set<string>;
}

/** Converts one participant's successive page snapshots into samples. */
export class VideoStatsConverter {
  private prev: Prev | null = null;

  /**
   * @param tags     the participant's tags (workload, participant, …), on every sample
   * @param labelOf  a remote user id → its participant label (`p3`), the `track` tag
   * @param firstFrameFrom a remote user id → when time to first frame starts counting (epoch ms): the later of
   *                 this participant's and that one's join
   */
  constructor(private readonly tags: Readonly<Record<string, string>>, private readonly labelOf: (userId: string) => string, private readonly firstFrameFrom: (userId: string) => number) {}

  convert(s: PageSnapshot, extra: Readonly<Record<string, string>> = {}): Sample[] {
    const out: Sample[] = [];
    const at = s.atMs;
    const prev = this.prev;
    const dt = prev ? (at - prev.atMs) / 1000 : 0;
    const streams = new Map<string, RawInbound>();
    const sent = new Map<string, number>();
    const firstFrames = new Set(prev?.firstFrames ?? []);
    const add = (metric: VideoMetric, value: number, tags: Record<string, string>, time = at) => out.push({ metric, time, value, tags: { ...this.tags, ...extra, ...tags } });
    const states = new Map<string, number>();
    for (const p of s.peers) {
      const track = this.labelOf(p.peer);
      if (p.ownConnection !== false) states.set(p.connectionState, (states.get(p.connectionState) ?? 0) + 1);
      if (p.firstFrameAtMs !== null && !firstFrames.has(p.peer)) {
        firstFrames.add(p.peer);
        add('sc_video_first_frame', Math.max(0, p.firstFrameAtMs - this.firstFrameFrom(p.peer)), { track, kind: 'video' }, p.firstFrameAtMs);
      }
      for (const r of p.inbound) {
        const key = `${p.peer}/${r.kind}/${r.trackId}`;
        streams.set(key, r);
        const before = prev?.streams.get(key);
        const tags = { track, kind: r.kind };
        if (r.jitter !== null) add('sc_media_jitter', r.jitter * 1000, tags);
        // Counters restart with a new stream (a renegotiated connection): a counter going back is a new stream.
        const d = (now: number | null, then: number | null | undefined): number | null => (now === null ? null : then === null || then === undefined || now < then ? null : now - then);
        if (!before) continue;
        const received = d(r.packetsReceived, before.packetsReceived);
        // packetsLost is RFC 3550's cumulative lost, expected minus received: a late packet counted lost at one
        // poll lowers it at the next. Its delta is kept signed (the counter sums to the net loss); dropping such a
        // poll instead (as a restarted stream) would drop the polls that lost least and count the loss high.
        const lost = received !== null && r.packetsLost !== null && before.packetsLost !== null ? r.packetsLost - before.packetsLost : null;
        if (received !== null && lost !== null && received + Math.max(0, lost) > 0) {
          add('sc_media_loss', Math.max(0, lost) / (received + Math.max(0, lost)), tags);
          add('sc_media_packets_received', received, tags);
          add('sc_media_packets_lost', lost, tags);
        }
        const nacks = d(r.nackCount ?? null, before.nackCount);
        if (nacks !== null) add('sc_media_nacks', nacks, tags);
        const bytes = d(r.bytesReceived, before.bytesReceived);
        if (bytes !== null) add('sc_media_bytes_received', bytes, tags);
        if (r.kind !== 'video') continue;
        const decoded = d(r.framesDecoded, before.framesDecoded);
        if (decoded !== null && dt > 0) add('sc_video_fps', decoded / dt, tags);
        if (decoded !== null) add('sc_video_frames_decoded', decoded, tags);
        const rec = d(r.framesReceived, before.framesReceived);
        if (rec !== null) add('sc_video_frames_received', rec, tags);
        const dropped = d(r.framesDropped, before.framesDropped);
        if (dropped !== null) add('sc_video_frames_dropped', dropped, tags);
        const freezes = d(r.freezeCount, before.freezeCount);
        if (freezes !== null) add('sc_video_freezes', freezes, tags);
        const frozen = d(r.totalFreezesDuration, before.totalFreezesDuration);
        if (frozen !== null) add('sc_video_freeze_ms', frozen * 1000, tags);
      }
      for (const kind of ['audio', 'video'] as const) {
        const streamsOf = p.outbound.filter((x) => x.kind === kind);
        if (streamsOf.length === 0) continue;
        const key = `${p.peer}/${kind}`;
        const bytes = streamsOf.reduce((t, x) => t + x.bytesSent, 0);
        sent.set(key, bytes);
        const before = prev?.sent.get(key);
        if (before !== undefined && bytes >= before) add('sc_media_bytes_sent', bytes - before, { track, kind });
      }
      if (p.pair) {
        const tags = { track, kind: 'transport' };
        if (p.pair.currentRoundTripTime !== null) add('sc_media_rtt', p.pair.currentRoundTripTime * 1000, tags);
        if (p.pair.availableOutgoingBitrate !== null) add('sc_media_available_outgoing_bitrate', p.pair.availableOutgoingBitrate, tags);
        if (p.pair.localType !== null) {
          add('sc_ice_selected', 1, { ...tags, local: p.pair.localType, remote: p.pair.remoteType ?? 'unknown' });
          add('sc_ice_relay', p.pair.localType === 'relay' || p.pair.remoteType === 'relay' ? 1 : 0, tags);
        }
      }
    }
    for (const e of s.events) add('sc_ice_state_change', 1, { track: this.labelOf(e.peer), kind: 'transport', what: e.what, state: e.state }, e.atMs);
    for (const [state, n] of states) add('sc_peer_connections', n, { kind: 'transport', state });
    this.prev = { atMs: at, streams, sent, firstFrames };
    return out;
  }
}

/**
 * Per stage of the call, per participant and remote video track: the average fps and the share of time frozen,
 * from the per-poll samples (sc_video_fps, sc_video_freeze_ms) — "every participant receives every other's
 * video" is then one sample per pair. A pair of participants both polled in a stage with no sample of that
 * track gets fps 0, frozen 1: a stream that never came counts against the budget instead of being missing.
 */
export class StreamSummary {
  private readonly streams = new Map<string, { tags: Record<string, string>; polls: number; fps: number; frozenMs: number }>();
  /** Per stage: the participants polled, and its last poll time. */
  private readonly stages = new Map<string, { participants: Set<string>; lastMs: number; tags: Record<string, string> }>();

  constructor(private readonly stageTag = 'stage') {}

  /** One participant's samples of one poll (what VideoStatsConverter.convert returned). */
  add(participant: string, atMs: number, samples: readonly Sample[], tags: Readonly<Record<string, string>>): void {
    const stage = tags[this.stageTag] ?? '';
    let st = this.stages.get(stage);
    if (!st) this.stages.set(stage, (st = { participants: new Set(), lastMs: atMs, tags: { ...tags } }));
    st.participants.add(participant);
    st.lastMs = Math.max(st.lastMs, atMs);
    for (const x of samples) {
      if (x.metric !== 'sc_video_fps' && x.metric !== 'sc_video_freeze_ms') continue;
      const key = `${stage}\u0000${participant}\u0000${x.tags.track ?? ''}`;
      let a = this.streams.get(key);
      if (!a) this.streams.set(key, (a = { tags: { ...x.tags }, polls: 0, fps: 0, frozenMs: 0 }));
      if (x.metric === 'sc_video_fps') {
        a.polls++;
        a.fps += x.value;
      } else a.frozenMs += x.value;
    }
  }

  samples(): Sample[] {
    const out: Sample[] = [];
    for (const [stage, st] of this.stages) {
      for (const p of st.participants) {
        for (const q of st.participants) {
          if (p === q) continue;
          const a = this.streams.get(`${stage}\u0000${p}\u0000${q}`);
          const tags = a ? a.tags : { ...st.tags, participant: p, track: q, kind: 'video' };
          const fps = a && a.polls > 0 ? a.fps / a.polls : 0;
          const frozen = a && a.polls > 0 ? Math.min(1, a.frozenMs / (a.polls * 1000)) : 1;
          out.push({ metric: 'sc_video_stream_fps', time: st.lastMs, value: fps, tags }, { metric: 'sc_video_stream_frozen', time: st.lastMs, value: frozen, tags });
        }
      }
    }
    return out;
  }
}
