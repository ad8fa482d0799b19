/**
 * Whether media flows, per participant and remote participant, poll by poll: `sc_video_receiving` (1 when
 * that remote video decoded frames since the last poll, else 0: a `rate`, so `recovers` can judge its coming
 * back), and `sc_video_interruption_ms` when it flows again after a gap (how long the participant saw nothing
 * from that one, at the time it resumed). Pure: fed the samples of each poll (VideoStatsConverter's output).
 */
import type { Sample } from '../results/model.js';

/** Polls are a second apart: two or more polls without frames make an interruption, one is a poll's jitter. */
const MIN_GAP_MS = 2500;

export class MediaFlow {
  /** Per `participant\0track`: when it last received (null: never yet). */
  private readonly last = new Map<string, number | null>();

  /**
   * @param tracks the remote participants this one should receive from (those in the call with it)
   * @param polled this participant's samples of the poll
   * @param tags   tags of the samples written (participant, stage…)
   */
  poll(participant: string, atMs: number, tracks: readonly string[], polled: readonly Sample[], tags: Readonly<Record<string, string>>): Sample[] {
    const decoding = new Set(polled.filter((s) => s.metric === 'sc_video_frames_decoded' && s.value > 0).map((s) => s.tags.track ?? ''));
    const out: Sample[] = [];
    for (const track of tracks) {
      const key = `${participant}\u0000${track}`;
      const on = decoding.has(track);
      const t = { ...tags, track, kind: 'video' };
      out.push({ metric: 'sc_video_receiving', time: atMs, value: on ? 1 : 0, tags: t });
      const before = this.last.get(key);
      if (!on) {
        if (before === undefined) this.last.set(key, null);
        continue;
      }
      if (before !== undefined && before !== null && atMs - before >= MIN_GAP_MS) out.push({ metric: 'sc_video_interruption_ms', time: atMs, value: atMs - before, tags: t });
      this.last.set(key, atMs);
    }
    return out;
  }
}
