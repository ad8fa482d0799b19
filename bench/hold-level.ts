/**
 * Benchmark (not a test): how much one window of the SFU benchmark tells. Holds one level of conference rooms on the
 * embedded lab's SFU (one worker, pinned) and measures window after window, as `sch bench sfu` measures a step,
 * printing per window the worker's CPU (and its kernel part), steal on its core, egress, delay p95, the generator's
 * CPU and GC; then the spread of the worker's CPU at this constant load, how many windows broke the delay budget,
 * and how the worker's CPU went with the generator's (a host that slows both at once).
 *
 *   flock /tmp/sch-heavy.lock npx tsx bench/hold-level.ts [--rooms 40] [--windows 45] [--lab hold] [--base-port 30600] [--env KEY=value]…
 */
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { openBenchTarget } from '../src/bench/bench-target.js';
import { SyntheticStepRunner } from '../src/bench/synthetic-step-runner.js';
import { DEFAULT_SHAPES, seatsOf } from '../src/bench/room-shape.js';

const arg = (n: string, d: string) => {
  const i = process.argv.indexOf(`--${n}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : d;
};
const rooms = Number(arg('rooms', '40'));
const windows = Number(arg('windows', '45'));
if (!Number.isInteger(rooms) || rooms < 1 || rooms > 500) throw new Error(`--rooms must be an integer 1..500 (got ${arg('rooms', '')})`);
if (!Number.isInteger(windows) || windows < 2 || windows > 400) throw new Error(`--windows must be an integer 2..400 (got ${arg('windows', '')})`);
const env = Object.fromEntries(process.argv.flatMap((a, i) => (process.argv[i - 1] === '--env' ? [a.split('=', 2) as [string, string]] : [])));

// The generator's garbage collections: a pause stamps every arrival during it late.
let gcMs = 0;
let gcMaxMs = 0;
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) {
    gcMs += e.duration;
    gcMaxMs = Math.max(gcMaxMs, e.duration);
  }
}).observe({ entryTypes: ['gc'] });

/** Steal ticks of one core (/proc/stat): time the hypervisor ran something else on it. */
const steal = (core: number) => Number(readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${core} `))!.trim().split(/\s+/)[8]);

const shape = DEFAULT_SHAPES.conference;
const t = await openBenchTarget({ lab: { name: arg('lab', 'hold'), basePort: Number(arg('base-port', '30600')), keep: false }, profile: 'hardened', env, pin: true, log: (l) => process.stderr.write(`${l}\n`) });
const rows: { cpu: number; gen: number; p95: number }[] = [];
try {
  const users = [];
  for (let i = 0; i < seatsOf(shape).length; i++) users.push(await t.api.register(`hold${i}`));
  const runner = new SyntheticStepRunner({ api: t.api, origin: t.origin, recording: t.recording, shape, users, warmupS: 3, windowS: 6, readWorker: t.readWorker });
  const core = t.pinning?.workerCore ?? null;
  const t0 = Date.now();
  process.stdout.write('s\tconsumers\tworker %\tkernel %\tsteal %\tout Mbit/s\tdelay p95 ms\tgenerator %\tgc ms\tgc max ms\n');
  try {
    for (let w = 0; w < windows; w++) {
      const s0 = core === null ? 0 : steal(core);
      gcMs = 0;
      gcMaxMs = 0;
      const s = await runner.measure(rooms);
      const stealPct = core === null ? NaN : (steal(core) - s0) / (s.windowS ?? 6);
      const pc = (x: number | null | undefined) => ((x ?? NaN) * 100).toFixed(1);
      process.stdout.write([((Date.now() - t0) / 1000).toFixed(0), s.consumers, pc(s.workerCpu), pc(s.workerSys), stealPct.toFixed(1), ((s.bitrateOutKbps ?? NaN) / 1000).toFixed(2), s.delayP95Ms?.toFixed(1), pc(s.generatorCpu), gcMs.toFixed(0), gcMaxMs.toFixed(0)].join('\t') + '\n');
      if (s.workerCpu !== null && s.generatorCpu !== null && s.delayP95Ms !== null) rows.push({ cpu: s.workerCpu, gen: s.generatorCpu, p95: s.delayP95Ms });
    }
  } finally {
    runner.close();
  }
} finally {
  await t.close();
}
const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const cpu = rows.map((r) => r.cpu);
const gen = rows.map((r) => r.gen);
const corr = mean(rows.map((r) => (r.cpu - mean(cpu)) * (r.gen - mean(gen)))) / (sd(cpu) * sd(gen));
process.stdout.write(`${JSON.stringify({
  rooms, consumers: rooms * 12, windows: rows.length,
  workerCpu: { mean: +mean(cpu).toFixed(3), sdOfMean: +(sd(cpu) / mean(cpu)).toFixed(3), min: Math.min(...cpu), max: Math.max(...cpu) },
  windowsDelayP95Over50ms: rows.filter((r) => r.p95 > 50).length,
  workerWithGeneratorCorrelation: +corr.toFixed(2),
}, null, 2)}\n`);
