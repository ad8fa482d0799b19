/**
 * Benchmark (not a test): browser participants per core, mesh and SFU, side by side in one run.
 *
 * Starts its own lab (`hvid`, base port 32000) and a hardened reference target (auth, video, gateway), then runs
 * one video call per configuration (`--configs mesh:3,mesh:4,sfu:4,sfu:8` by default; fake camera 320×180 at 15 fps,
 * audio off unless --audio) through the video workload, exactly as experiments run it. Per configuration: the
 * browsers' CPU (the run's Chromium processes, from /proc) over the call once it is up, per participant in % of a
 * core and as participants per core, the machine's busy share, and what the participants saw (median fps of the
 * remote video tracks, frozen share). Rounds alternate the configurations (a noisy machine hits each alike).
 *
 * `--burners N` runs N busy loops beside each call (`--burners-nice` at nice 19): what starvation of the browsers
 * (`sc_generator_starved`, the checker's saturation gate) looks like against a machine merely kept busy.
 *
 *   nice npx tsx bench/video-participants.ts [--configs mesh:3,mesh:4,sfu:4,sfu:8] [--duration 25] [--rounds 2] [--audio] [--burners 3 [--burners-nice]] [--keep]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../src/lab/lab.js';
import { startTarget } from '../src/lab/target.js';
import { runVideoWorkload } from '../src/media/video-workload.js';
import { VideoOptionsSchema } from '../src/media/video-spec.js';
import { GeneratorCpuMonitor } from '../src/experiment/generator-cpu.js';
import { readK6Samples } from '../src/results/k6-reader.js';
import { WORKLOAD_FILES } from '../src/experiment/history.js';
import type { Sample } from '../src/results/model.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const CONFIGS = arg('configs', 'mesh:3,mesh:4,sfu:4,sfu:8').split(',').map((c) => {
  const [topology, n] = c.split(':');
  if ((topology !== 'mesh' && topology !== 'sfu') || !Number(n)) throw new Error(`--configs: "${c}" is not mesh:N or sfu:N`);
  return { topology, participants: Number(n) } as const;
});
const DURATION_S = Number(arg('duration', '25'));
const ROUNDS = Number(arg('rounds', '2'));
const AUDIO = process.argv.includes('--audio');
const LAB = 'hvid';
const BURNERS = Number(arg('burners', '0'));
const BURNERS_NICE = process.argv.includes('--burners-nice');

const median = (xs: number[]) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

async function main(): Promise<void> {
  const lab = await Lab.up({ name: LAB, basePort: 32000, only: ['redis', 'postgres', 'cassandra', 'coturn'], onProgress: (l) => process.stderr.write(`[lab] ${l}\n`) });
  const target = await startTarget(lab, { profile: 'hardened', services: ['auth', 'video', 'gateway'], env: { RATE_LIMIT_PER_MINUTE: '1000000' } });
  const out: Record<string, unknown>[] = [];
  const work = mkdtempSync(join(tmpdir(), 'sch-bench-video-'));
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const c of CONFIGS) {
        const dir = join(work, `${c.topology}-${c.participants}-${round}`);
        mkdirSync(dir, { recursive: true });
        const cpu: Sample[] = [];
        const monitor = new GeneratorCpuMonitor({ record: (s) => cpu.push(s) });
        monitor.start();
        const burners = Array.from({ length: BURNERS }, () => spawn(BURNERS_NICE ? 'nice' : process.execPath, [...(BURNERS_NICE ? ['-n', '19', process.execPath] : []), '-e', `const end = Date.now() + ${(DURATION_S + 60) * 1000}; while (Date.now() < end) {}`], { stdio: 'ignore' }));
        const r = await runVideoWorkload({
          id: 'call', video: VideoOptionsSchema.parse({ topology: c.topology, participants: c.participants, staggerS: 0.5, audio: AUDIO }),
          durationS: DURATION_S, baseUrl: target.baseUrl, videoUrl: target.serviceUrls.video, outDir: dir, tags: { workload: 'call' },
          chromiumPrefix: lab.execPrefix, pageHost: lab.netns?.hostAddress ?? '127.0.0.1', signal: AbortSignal.timeout((DURATION_S + 120) * 1000),
        });
        monitor.stop();
        for (const b of burners) b.kill('SIGKILL');
        const samples: Sample[] = [];
        await readK6Samples(join(dir, WORKLOAD_FILES.samples), (s) => samples.push({ ...s, tags: { ...s.tags } }));
        // The call once it is up: from the first `full` sample on (joining costs ICE and key frames, not the steady state).
        const upAt = Math.min(...samples.filter((s) => s.tags.stage === 'full').map((s) => s.time));
        const steady = (m: string, part?: string) => cpu.filter((s) => s.metric === m && s.time >= upAt + 2000 && (part === undefined || s.tags.part === part)).map((s) => s.value);
        const browsers = mean(steady('sc_generator_cores', 'browsers'));
        const perParticipant = browsers === null ? null : browsers / c.participants;
        const row = {
          round, topology: c.topology, participants: c.participants, failure: r.failure,
          browserCores: browsers === null ? null : Number(browsers.toFixed(3)),
          cpuPercentPerParticipant: perParticipant === null ? null : Number((perParticipant * 100).toFixed(1)),
          participantsPerCore: perParticipant ? Number((1 / perParticipant).toFixed(2)) : null,
          machineBusy: Number((mean(steady('sc_generator_busy')) ?? 0).toFixed(3)),
          browsersStarved: Number((mean(steady('sc_generator_starved', 'browsers')) ?? 0).toFixed(3)),
          medianStreamFps: median(samples.filter((s) => s.metric === 'sc_video_stream_fps' && s.tags.stage === 'full').map((s) => s.value)),
          maxFrozenShare: Math.max(0, ...samples.filter((s) => s.metric === 'sc_video_stream_frozen' && s.tags.stage === 'full').map((s) => s.value)),
        };
        out.push(row);
        process.stderr.write(`${JSON.stringify(row)}\n`);
      }
    }
  } finally {
    await target.stop();
    if (!process.argv.includes('--keep')) await Lab.down(LAB);
    rmSync(work, { recursive: true, force: true });
  }
  // Per configuration over the rounds: the median, and each one's ratio to the SFU of the fewest participants.
  const summary = CONFIGS.map((c) => {
    const rows = out.filter((r) => r.topology === c.topology && r.participants === c.participants);
    return { topology: c.topology, participants: c.participants, cpuPercentPerParticipant: median(rows.map((r) => r.cpuPercentPerParticipant as number).filter(Number.isFinite)), participantsPerCore: median(rows.map((r) => r.participantsPerCore as number).filter(Number.isFinite)), medianStreamFps: median(rows.map((r) => r.medianStreamFps as number).filter(Number.isFinite)) };
  });
  console.log(JSON.stringify({ audio: AUDIO, burners: BURNERS, burnersNice: BURNERS_NICE, durationS: DURATION_S, rounds: ROUNDS, camera: '320x180@15', summary, runs: out }, null, 2));
}

await main();
