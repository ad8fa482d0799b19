/**
 * The `video` workload kind of an experiment: browser participants in one call (src/media/video-workload.ts).
 * Plain zod, imported by the experiment schema (src/experiment/spec.ts).
 */
import { z } from 'zod';
import { seconds } from '../verdicts/common.js';

export const VideoOptionsSchema = z.object({
  /**
   * mesh: what SecureConnect's backend serves (one RTCPeerConnection per pair, signaling relayed by the server);
   * sfu: the reference target's SFU extension (initiate with `topology: "sfu"`; on the signaling socket, mediasoup's
   * model: one send and one receive transport per participant, a producer per track, a consumer per remote track).
   */
  topology: z.enum(['mesh', 'sfu']).default('mesh'),
  /** Participants of the call: the first initiates it (the others are its callees), the others join. */
  participants: z.number().int().min(2).max(12).default(4),
  /** More participants who try to join once the call is up (a 5th of a 4-person mesh): their joins are probe `video_join_extra`. */
  extra: z.number().int().min(0).max(4).default(0),
  /** Between one participant's join and the next. */
  staggerS: seconds({ min: 0 }).default(1),
  /**
   * Before the extra participants join, the first of them also tries to start a call of everyone (participants + extra)
   * in the same conversation — probe `video_initiate_extra`: where the limit is checked only after the call is stored,
   * that leaves an orphan call behind a 500.
   */
  initiateOverLimit: z.boolean().default(false),
  /** How long after the call is up (every participant sees every other, or 20 s) the extra participants try to join. */
  extraAfterS: seconds({ min: 0 }).default(5),
  /** ICE transport policy: `relay` forces TURN. */
  icePolicy: z.enum(['all', 'relay']).default('all'),
  /**
   * TURN credentials: `api` asks the target (GET /v1/calls/turn-credentials, time-limited); or static ones, for a
   * deployment whose TURN credentials are fixed in its configuration.
   */
  turn: z.union([
    z.literal('api'),
    z.literal('none'),
    z.object({
      urls: z.array(z.string().regex(/^turns?:/, 'a turn: or turns: URL')).min(1),
      username: z.string().min(1),
      /** The password itself (it then lands in the run's manifest, as the experiment does)… */
      credential: z.string().min(1).optional(),
      /** …or the environment variable holding it, read when the call starts: nothing secret in the files. */
      credentialEnv: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'an upper-case variable name').optional(),
    }).strict().refine((t) => (t.credential === undefined) !== (t.credentialEnv === undefined), { message: 'give credential or credentialEnv (exactly one)' }),
  ]).default('api'),
  /** The fake camera's size and rate (small keeps a browser participant cheap). */
  camera: z.object({
    width: z.number().int().min(64).max(1920).default(320),
    height: z.number().int().min(36).max(1080).default(180),
    fps: z.number().int().min(1).max(30).default(15),
  }).strict().default({ width: 320, height: 180, fps: 15 }),
  /** Send the fake microphone too. */
  audio: z.boolean().default(true),
  /**
   * Participants who join the call at a set time (during a fault, say), as a client would: their own TURN
   * credentials first (with `turn: api`), then the REST join, the socket and the media. Probe `video_join_late`:
   * served (media within `budgetS`), fast-clear-error (a 503 from turn-credentials or a `turn_unavailable` frame
   * within it), or what came instead (an error after it, a hang). Their samples carry stage `late`.
   */
  lateJoin: z.object({
    count: z.number().int().min(1).max(2).default(1),
    /** When, from the first join (the run's clock starts with it, within a second). */
    atS: seconds({ min: 0 }),
    /** The join must show media or a clear error within this. */
    budgetS: seconds({ positive: true }).default(5),
    /** How long what happens after the budget is still watched (ICE failing late, media once the fault is gone). */
    watchS: seconds({ positive: true, max: 60 }).default(20),
  }).strict().optional(),
}).strict().refine((v) => !v.lateJoin || v.topology === 'mesh', { message: 'lateJoin: mesh calls only (the SFU page has no late join yet)', path: ['lateJoin'] });
export type VideoOptions = z.output<typeof VideoOptionsSchema>;

export const VIDEO_DEFAULTS: VideoOptions = VideoOptionsSchema.parse({});

/** The probes (the `probe` tag of sc_attempt / sc_outcome) a video workload writes. */
export const VIDEO_PROBES = { join: 'video_join', extra: 'video_join_extra', initiateExtra: 'video_initiate_extra', late: 'video_join_late' } as const;

/** The probes a video workload runs (preflight checks hypotheses against the same list). */
export function probesOf(v: VideoOptions): string[] {
  return [VIDEO_PROBES.join, ...(v.extra ? [VIDEO_PROBES.extra] : []), ...(v.extra && v.initiateOverLimit ? [VIDEO_PROBES.initiateExtra] : []), ...(v.lateJoin ? [VIDEO_PROBES.late] : [])];
}

/** Each participant's label (`p1`, `p2`, …: the call's first participants, then the extra ones), as samples and pictures are tagged. */
export function participantLabels(v: Pick<VideoOptions, 'participants' | 'extra' | 'lateJoin'>): string[] {
  return Array.from({ length: v.participants + v.extra + (v.lateJoin?.count ?? 0) }, (_, i) => `p${i + 1}`);
}
