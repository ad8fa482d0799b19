/**
 * What the load generator can carry: browser participants cost CPU on this machine, and a participant whose
 * renderer is starved shows freezes the target never caused. The runner measures the machine at start and
 * refuses a plan beyond the machine, naming the numbers (runner.ts); the checker makes verdicts taken while the
 * browsers waited for CPU INCONCLUSIVE (evaluate.ts, generatorSaturation).
 *
 * The cost model comes from bench/video-participants.ts (2 cores, Debian's Chromium, fake 320×180 camera at
 * 15 fps, video only, steady state): a mesh participant encodes one stream per peer (5.7 % + 1.9 % per peer of a
 * core: 9.5 % in a call of 3, 11.4 % of 4), an SFU participant one (7.5 % whatever the call's size, 4 to 8).
 * Audio adds ~4.5 % (an Opus encoder and one decoder per peer: group-call.ts). A bigger camera scales the
 * video part with its pixels per second. The constants round those measurements up: refusing a plan that would
 * have fit costs a rerun with fewer participants; accepting one that does not costs a wrong verdict — and the
 * checker's starvation gate catches what the estimate misses.
 */
import type { VideoOptions } from '../media/video-spec.js';

const BASE_PIXELS_PER_S = 320 * 180 * 15;
export const PARTICIPANT_CPU = { meshBase: 0.06, meshPerPeer: 0.02, sfu: 0.08, audio: 0.045 } as const;
/** The share of the machine's cores a plan may use: the rest is for the target, the lab and k6 beside the browsers. */
export const USABLE_SHARE = 0.9;

/** Cores one participant of this call costs (the heaviest: every participant of the call is alike here). */
export function participantCores(v: Pick<VideoOptions, 'topology' | 'participants' | 'extra' | 'camera' | 'audio'>): number {
  const scale = Math.max(1, (v.camera.width * v.camera.height * v.camera.fps) / BASE_PIXELS_PER_S);
  const peers = v.participants + v.extra - 1;
  const video = v.topology === 'mesh' ? PARTICIPANT_CPU.meshBase + PARTICIPANT_CPU.meshPerPeer * peers : PARTICIPANT_CPU.sfu;
  return video * scale + (v.audio ? PARTICIPANT_CPU.audio : 0);
}

export interface PlannedCall {
  workload: string;
  video: Pick<VideoOptions, 'topology' | 'participants' | 'extra' | 'camera' | 'audio'>;
}

/**
 * What the plan needs against what the machine has: `refuse` when it needs more than 90 % of all the machine's
 * cores (it can never carry it), `warn` when more than the cores idle at start (other work was running: the
 * browsers may be starved, which the checker then sees per phase); null when it fits.
 */
export function capacityProblem(calls: readonly PlannedCall[], machine: { idle: number; cores: number }): { refuse: boolean; message: string } | null {
  if (calls.length === 0) return null;
  const need = calls.map((c) => ({ ...c, each: participantCores(c.video), n: c.video.participants + c.video.extra }));
  const total = need.reduce((a, c) => a + c.each * c.n, 0);
  const usable = machine.cores * USABLE_SHARE;
  const what = need.map((c) => `${c.workload}: ${c.n} × ${Math.round(c.each * 1000) / 10} % of a core`).join(', ');
  const heaviest = Math.max(...need.map((c) => c.each));
  if (total > usable) {
    const fit = Math.floor(usable / heaviest);
    return { refuse: true, message: `the load generator cannot carry this plan: its browser participants need ~${total.toFixed(2)} cores (${what}), and this machine has ${machine.cores} cores (${Math.round(USABLE_SHARE * 100)} % of them usable: ${usable.toFixed(2)}) — at most ${fit} participant${fit === 1 ? '' : 's'} fit; give fewer participants or a smaller camera, or run on a bigger machine` };
  }
  if (total > machine.idle) {
    return { refuse: false, message: `the load generator is short of CPU: its browser participants need ~${total.toFixed(2)} cores (${what}), and only ${machine.idle.toFixed(2)} of ${machine.cores} cores were idle at start — phases where the browsers wait for CPU are INCONCLUSIVE` };
  }
  return null;
}
