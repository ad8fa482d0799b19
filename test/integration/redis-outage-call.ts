import { defineExperiment } from '../../src/experiment/spec.js';
import redisOutage from '../../fixtures/experiments/redis-outage.js';

/**
 * redis-outage with a small browser call beside its probes (2 mesh participants, video only): the run
 * checkpoint.test.ts kills outright also has Chromium to leave behind. No hypothesis reads the call, so the
 * verdicts are redis-outage's own. The camera is as small and slow as still makes a call (160×90 at 5 fps): on a
 * busy machine the pages' CPU slows the auth service's password hashing, and baseline logins answered after the
 * kill leave too few attempts to judge.
 */
export default defineExperiment({
  ...redisOutage,
  workloads: [...redisOutage.workloads, { id: 'call', kind: 'video', video: { participants: 2, staggerS: 0, audio: false, camera: { width: 160, height: 90, fps: 5 } } }],
});
