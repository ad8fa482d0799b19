import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { defineExperiment } from '../../src/experiment/spec.js';
import { runExperiment } from '../../src/experiment/runner.js';
import { WORKLOAD_FILES, workloadDir } from '../../src/experiment/history.js';
import { readK6Samples } from '../../src/results/k6-reader.js';
import type { Sample } from '../../src/results/model.js';
import { testLab } from './helpers.js';

/**
 * `target:sfu-worker`: a 3 s SIGSTOP of the SFU's mediasoup workers (signalling and REST keep answering) is seen
 * by every participant of an SFU call as one freeze of 2.5–5 s on every remote video track, and media comes back.
 */
let lab: Lab;
const runsDir = join(HARNESS_ROOT, 'reports', 'runs', `itest-sfu-worker-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  mkdirSync(runsDir, { recursive: true });
});

const experiment = defineExperiment({
  name: 'sfu-worker-pause',
  description: 'Three browser participants in an SFU call; the SFU\'s mediasoup workers paused for 3 s.',
  target: { kind: 'embedded', profile: 'hardened', services: ['auth', 'video', 'gateway'] },
  durationS: 24,
  workloads: [{ id: 'call', kind: 'video', video: { topology: 'sfu', participants: 3, staggerS: 0.5, audio: false } }],
  faults: [{ id: 'sfu-stop', startS: 10, durationS: 3, process: { action: 'pause', target: 'target:sfu-worker' } }],
  hypotheses: [
    {
      // The run needs one hypothesis; this one is not what the test looks at (it reads the samples).
      id: 'video-before', claims: ['GROUP-CALL'], description: 'video flows before the pause',
      phase: 'baseline', select: { metric: 'sc_video_fps' }, stat: 'avg', op: '>', value: 10, unit: 'count', minAttempts: 12,
    },
  ],
});

describe('process fault target:sfu-worker', () => {
  it('a 3 s pause of the mediasoup workers is a 2.5–5 s freeze of every remote video track, then media flows again', async () => {
    const r = await runExperiment({ experiment, labName: lab.name, runsDir });
    expect(r.error).toBeUndefined();
    const f = r.faults.find((x) => x.id === 'sfu-stop')!;
    expect(f.verified, f.verifyDetail).toBe(true);
    expect(f.verifyDetail).toMatch(/mediasoup workers .*: \/proc states \d+×T$/);
    expect(f.rolledBack, f.error).toBe(true);
    const s: Sample[] = [];
    await readK6Samples(join(workloadDir(join(runsDir, r.runId), 'call'), WORKLOAD_FILES.samples), (x) => s.push({ ...x, tags: { ...x.tags } }));
    const applied = f.appliedAtMs!;
    const frozen = new Map<string, number>();
    const after = new Map<string, number>();
    for (const x of s) {
      const key = `${x.tags.participant}<${x.tags.track}`;
      if (x.metric === 'sc_video_freeze_ms' && x.time >= applied - 1000) frozen.set(key, (frozen.get(key) ?? 0) + x.value);
      // Media back: fps in the last seconds of the run, well after the rollback.
      if (x.metric === 'sc_video_fps' && x.time >= f.removedAtMs! + 4000) after.set(key, Math.max(after.get(key) ?? 0, x.value));
    }
    process.stderr.write(`[sfu-worker] freeze ms per track from the pause on: ${[...frozen].map(([k, v]) => `${k} ${Math.round(v)}`).join(', ')}\n`);
    expect(frozen.size).toBe(6);
    for (const [k, v] of frozen) {
      expect(v, k).toBeGreaterThanOrEqual(2500);
      expect(v, k).toBeLessThanOrEqual(5000);
    }
    expect(after.size).toBe(6);
    for (const [k, v] of after) expect(v, k).toBeGreaterThan(10);
  });

  it('refuses to kill-restart the workers (the video service would not restart them)', async () => {
    const { ProcessSpecSchema } = await import('../../chaos/spec.js');
    expect(ProcessSpecSchema.safeParse({ action: 'kill-restart', target: 'target:sfu-worker' }).success).toBe(false);
    expect(ProcessSpecSchema.safeParse({ action: 'pause', target: 'target:exp:sfu-worker' }).success).toBe(true);
  });
});
