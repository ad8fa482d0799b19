/**
 * Benchmark (not a test): what a long soak costs the harness itself — its resident memory and the run
 * directory's size over time — and what the run concluded.
 *
 * Runs `sch run <experiment> --duration <D>` on a lab of its own (`--lab`, default `soakbench`, base port 31000,
 * started and stopped by the run) and every --every seconds reads, from /proc and the file system:
 *   harness  the runner's own process (node: the CLI, pipeline, observers) — its RSS;
 *   k6       every k6 process below it — their summed RSS;
 *   browsers every Chromium process below it (a video workload) — their summed RSS;
 *   disk     the run directory's bytes on disk (and its file count).
 * Prints one line per reading, and at the end the least-squares slope of each (per hour), the maxima, the run's
 * exit code and its claims; writes every reading to `reports/bench/soak-<time>.json`.
 *
 *   nice npx tsx bench/soak.ts [--experiment soak-memory] [--duration 2h] [--every 60] [--profile audited] [--lab soakbench] [--base-port 31000]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HARNESS_ROOT } from '../src/lab/paths.js';
import { withDescendants } from '../src/experiment/observers.js';
import { parseRssBytes } from '../src/experiment/process-stats.js';
import { durationSeconds } from '../src/util/duration.js';
import { trendOf } from '../src/verdicts/kinds/no-growth.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const EXPERIMENT = arg('experiment', 'soak-memory');
const DURATION = arg('duration', '2h');
const EVERY_S = Number(arg('every', '60'));
const PROFILE = arg('profile', 'audited');
const LAB = arg('lab', 'soakbench');
const BASE_PORT = arg('base-port', '31000');
const durationS = durationSeconds(DURATION);
if (!Number.isFinite(EVERY_S) || EVERY_S < 1) throw new Error(`--every: a number of seconds ≥ 1, not ${arg('every', '')}`);

interface Reading {
  atS: number;
  harnessMiB: number;
  k6MiB: number;
  browsersMiB: number;
  diskMiB: number;
  files: number;
}

const MiB = 1024 * 1024;
const rss = (pid: number) => {
  try {
    return parseRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8')) ?? 0;
  } catch {
    return 0;
  }
};
const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

/** Bytes on disk (allocated blocks) and files under `dir`; bounded by the tree itself. */
function diskUse(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      try {
        if (e.isDirectory()) walk(p);
        else if (e.isFile()) {
          bytes += statSync(p).blocks * 512;
          files++;
        }
      } catch {
        /* rotated away meanwhile */
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return { bytes, files };
}


const outDir = join(HARNESS_ROOT, 'reports', 'bench', `soak-runs-${Date.now()}`);
mkdirSync(outDir, { recursive: true });
const args = ['run', EXPERIMENT, '--duration', DURATION, '--target-profile', PROFILE, '--lab', LAB, '--base-port', BASE_PORT, '--out-dir', outDir];
console.log(`sch ${args.join(' ')}  (a reading every ${EVERY_S} s)`);
const child = spawn(join(HARNESS_ROOT, 'bin', 'sch'), args, { stdio: ['ignore', 'pipe', 'inherit'] });
let stdout = '';
child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
const exited = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
const onSignal = () => child.kill('SIGINT');
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const readings: Reading[] = [];
const started = Date.now();
const runDir = () => {
  const d = readdirSync(outDir).filter((x) => statSync(join(outDir, x)).isDirectory());
  return d.length ? join(outDir, d[0]!) : null;
};
const read = (): Reading => {
  const pid = child.pid!;
  let k6 = 0;
  let browsers = 0;
  for (const p of withDescendants([pid])) {
    const c = comm(p);
    if (c === 'k6') k6 += rss(p);
    else if (/chrom/i.test(c)) browsers += rss(p);
  }
  const dir = runDir();
  const disk = dir ? diskUse(dir) : { bytes: 0, files: 0 };
  return { atS: Math.round((Date.now() - started) / 1000), harnessMiB: rss(pid) / MiB, k6MiB: k6 / MiB, browsersMiB: browsers / MiB, diskMiB: disk.bytes / MiB, files: disk.files };
};
const fmt = (r: Reading) =>
  `${String(Math.floor(r.atS / 60)).padStart(4)} min  harness ${r.harnessMiB.toFixed(0).padStart(5)} MiB  k6 ${r.k6MiB.toFixed(0).padStart(5)} MiB  browsers ${r.browsersMiB.toFixed(0).padStart(5)} MiB  run dir ${r.diskMiB.toFixed(1).padStart(8)} MiB in ${r.files} files`;

// Bounded: the run's own length plus an hour for setup, analysis and teardown.
const deadline = started + (durationS + 3600) * 1000;
let done = false;
void exited.then(() => (done = true));
while (!done && Date.now() < deadline) {
  await Promise.race([exited, new Promise((r) => setTimeout(r, EVERY_S * 1000))]);
  if (done) break;
  const r = read();
  readings.push(r);
  console.log(fmt(r));
}
if (!done) {
  console.error(`the run did not end within ${durationS + 3600} s: interrupting it`);
  child.kill('SIGINT');
}
const code = await exited;
const dir = runDir();
const final = dir ? diskUse(dir) : { bytes: 0, files: 0 };

const h = readings.map((r) => r.atS / 3600);
// The first 10 % (at least one reading) is warm-up: the lab and target starting, the pipeline's first windows.
const from = Math.max(1, Math.floor(readings.length / 10));
const per = (f: (r: Reading) => number) => trendOf(readings.slice(from).map((r, k) => ({ h: h[from + k]!, v: f(r) })))?.slope ?? null;
const max = (f: (r: Reading) => number) => Math.max(0, ...readings.map(f));
const show = (v: number | null, unit: string) => (v === null ? 'n/a' : `${v.toFixed(1)} ${unit}/h`);
console.log('');
console.log(`harness RSS: max ${max((r) => r.harnessMiB).toFixed(0)} MiB, slope after warm-up ${show(per((r) => r.harnessMiB), 'MiB')}`);
console.log(`k6 RSS:      max ${max((r) => r.k6MiB).toFixed(0)} MiB, slope after warm-up ${show(per((r) => r.k6MiB), 'MiB')}`);
console.log(`run dir:     max ${max((r) => r.diskMiB).toFixed(1)} MiB during the run, ${(final.bytes / MiB).toFixed(1)} MiB in ${final.files} files at the end, growth ${show(per((r) => r.diskMiB), 'MiB')}`);
let claims: { id: string; verdict: string; expected?: string | null }[] = [];
const resultPath = dir ? join(dir, 'result.json') : '';
if (resultPath && existsSync(resultPath)) {
  const r = JSON.parse(readFileSync(resultPath, 'utf8')) as { claims?: typeof claims; hypotheses?: { id: string; verdict: string; evidence: string }[] };
  claims = r.claims ?? [];
  for (const c of claims) console.log(`claim ${c.id}: ${c.verdict}${c.expected ? ` (expected ${c.expected})` : ''}`);
  for (const x of r.hypotheses ?? []) console.log(`  ${x.id}: ${x.verdict} — ${x.evidence}`);
}
console.log(`run exit code ${code}; run directory ${dir ?? '(none)'}`);
const out = join(HARNESS_ROOT, 'reports', 'bench', `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(out, JSON.stringify({ experiment: EXPERIMENT, duration: DURATION, profile: PROFILE, everyS: EVERY_S, exitCode: code, runDir: dir, finalDisk: final, readings, claims, stdout }, null, 2));
console.log(`readings: ${out}`);
process.exit(code === 0 ? 0 : 1);
