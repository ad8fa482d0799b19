import { defineExperiment } from '../../src/experiment/spec.js';
import redisOutage from '../../fixtures/experiments/redis-outage.js';

/**
 * redis-outage with a small browser call beside its probes (2 mesh participants, video only): the run
 * checkpoint.test.ts kills outright also has Chromium to leave behind. No hypothesis reads the call, so the
 * verdicts are redis-outage's own.
 */
export default defineExperiment({
  ...redisOutage,
  workloads: [...redisOutage.workloads, { id: 'call', kind: 'video', video: { participants: 2, staggerS: 0, audio: false } }],
});
