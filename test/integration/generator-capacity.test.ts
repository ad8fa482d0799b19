import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { defineExperiment } from '../../src/experiment/spec.js';
import { runExperiment } from '../../src/experiment/runner.js';
import type { RunResult } from '../../src/results/model.js';
import { sch } from '../sch.js';
import { testLab } from './helpers.js';

/**
 * The load generator's honesty about itself: a plan of browser participants beyond the machine's idle cores is
 * refused before anything starts, naming the numbers; the generator's CPU is recorded per phase; and a check of
 * what the participants saw while the machine was saturated (CPU burners beside the call) is INCONCLUSIVE.
 */
let lab: Lab;
const runsDir = join(HARNESS_ROOT, 'reports', 'runs', `itest-generator-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  mkdirSync(runsDir, { recursive: true });
});

const explain = (r: RunResult) => `${r.error ?? ''}\n${r.hypotheses.map((h) => `${h.id}: ${h.verdict} — ${h.evidence}`).join('\n')}`;

describe('the load generator\'s capacity', () => {
  it('a call of 4 with a 640×360 camera at 30 fps (~3.8 cores) is refused before any browser or target starts: exit 2, the numbers named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sch-capacity-'));
    const file = join(dir, 'big-call.yaml');
    writeFileSync(file, [
      'name: big-call',
      'description: a mesh call of 4 with an HD camera',
      'target: { kind: embedded, profile: hardened, services: [auth, video, gateway] }',
      'durationS: 10',
      'workloads:',
      '  - { id: call, kind: video, video: { topology: mesh, participants: 4, audio: false, camera: { width: 640, height: 360, fps: 30 } } }',
      'hypotheses:',
      '  - { id: media-flows, claims: [GENERATOR-TEST], description: some video is decoded, phase: run, select: { metric: sc_video_fps }, stat: max, op: ">", value: 0, unit: count, minAttempts: 1 }',
      '',
    ].join('\n'));
    const out = join(dir, 'runs');
    // Other files' targets may have left records in the shared lab: this run must add none.
    lab.refreshState();
    const targetsBefore = new Set(lab.state.processes.filter((p) => p.name.startsWith('target-')).map((p) => `${p.name}:${p.pid}`));
    const r = await sch(['run', file, '--lab', lab.name, '--out-dir', out], { timeoutMs: 60_000 });
    expect(r.code, r.err + r.out).toBe(2);
    expect(r.err + r.out).toMatch(/cannot carry this plan: its browser participants need ~3\.84 cores \(call: 4 × 96 % of a core\), and this machine has \d+ cores \(90 % of them usable: \d\.\d\d\) — at most \d+ participants? fit/);
    // Refused before the target: no target process was started for it.
    lab.refreshState();
    expect(lab.state.processes.filter((p) => p.name.startsWith('target-') && !targetsBefore.has(`${p.name}:${p.pid}`)).map((p) => p.name)).toEqual([]);
    expect(existsSync(out) ? readdirSync(out).flatMap((d) => (existsSync(join(out, d, 'workloads')) ? readdirSync(join(out, d, 'workloads')) : [])) : []).toEqual([]);
  }, 90_000);

  it('CPU burners beside a call of 2: the machine has no CPU to spare, so the fps check is INCONCLUSIVE naming it; a warning at start; the generator\'s CPU is in the phase table', async () => {
    const experiment = defineExperiment({
      name: 'saturated-call', description: 'a mesh call of 2 while busy loops take every core',
      target: { kind: 'embedded', profile: 'hardened', services: ['auth', 'video', 'gateway'] },
      durationS: 14,
      workloads: [{ id: 'call', kind: 'video', video: { topology: 'mesh', participants: 2, staggerS: 0, audio: false } }],
      hypotheses: [
        { id: 'media-flows', role: 'precondition', claims: ['GENERATOR-TEST'], description: 'some video is decoded', phase: 'run', select: { metric: 'sc_video_fps' }, stat: 'max', op: '>', value: 0, unit: 'count', minAttempts: 1 },
        { id: 'fps-holds', claims: ['GENERATOR-TEST'], description: 'every stream ≥ 10 fps', phase: 'run', select: { metric: 'sc_video_stream_fps', tags: { stage: 'full' } }, stat: 'min', op: '>=', value: 10, unit: 'count', minAttempts: 2 },
      ],
    });
    // One busy loop per core and one more, at normal priority, from before the call to its end.
    const burners: ChildProcess[] = Array.from({ length: availableParallelism() + 1 }, () => spawn(process.execPath, ['-e', 'const end = Date.now() + 60000; while (Date.now() < end) {}'], { stdio: 'ignore' }));
    let r: RunResult;
    try {
      r = await runExperiment({ experiment, labName: lab.name, runsDir });
    } finally {
      for (const b of burners) b.kill('SIGKILL');
    }
    const fps = r.hypotheses.find((h) => h.id === 'fps-holds')!;
    expect(fps.verdict, explain(r)).toBe('INCONCLUSIVE');
    expect(fps.gatedBy).toEqual(['generator:run']);
    expect(fps.evidence).toMatch(/load generator was saturated in run \(its machine (9[5-9]|100) % busy on average/);
    // Warned at start: the burners had taken the idle cores.
    expect(r.notes?.join('\n'), explain(r)).toMatch(/load generator is short of CPU: .* were idle at start/);
    const row = (label: string) => r.phaseTable.find((x) => x.label === label && x.phase === 'run')?.stats;
    expect(row('sc_generator_busy')!.mean!).toBeGreaterThanOrEqual(0.95);
    // The browsers' run-queue wait, shown beside it.
    expect(row('sc_generator_starved{part=browsers}')!.count).toBeGreaterThan(5);
    // The browsers' own share, measured beside the machine's.
    expect(row('sc_generator_cores{part=browsers}')!.count).toBeGreaterThan(5);
    expect(row('sc_generator_cores{part=browsers}')!.mean!).toBeGreaterThan(0);
  }, 120_000);
});
