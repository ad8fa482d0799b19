/**
 * Benchmark (not a test): the SFU capacity benchmark's own acceptance, side by side in one sitting. For each room
 * shape, `sch bench sfu` runs three times on one lab: A; B with --baseline A (two runs must agree: PASS, capacity
 * within 10 %); and the seeded slowdown (SC_SWITCH_SFU_DUPLICATE_CONSUMERS=on) with --baseline A (must FAIL).
 * With --cross-check, run A of the first shape first holds one room of browsers, then the same of synthetic
 * participants. Prints each run's capacity, verdict and duration, and the agreement between A and B.
 *
 *   flock /tmp/sch-heavy.lock npx tsx bench/sfu-capacity.ts [--shapes conference,webinar] [--cross-check] [--lab sfu-bench] [--base-port 30600]
 *
 * `--repeat N` runs each shape N times with no baseline instead, and prints the worker's CPU (and its kernel part)
 * at every level per run: whether runs disagree by their order or at random.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { readBenchResult, capacityText, type BenchResult } from '../src/bench/bench-result.js';
import { HARNESS_ROOT } from '../src/lab/paths.js';
import type { SfuStep } from '../src/bench/sfu-step.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const shapes = arg('shapes', 'conference,webinar').split(',');
const lab = arg('lab', 'sfu-bench');
const basePort = arg('base-port', '30600');
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const sch = join(HARNESS_ROOT, 'bin', 'sch');

function run(name: string, args: string[]): BenchResult | null {
  const out = join(HARNESS_ROOT, 'reports', 'runs', `bench-sfu-capacity-${stamp}`, name);
  process.stderr.write(`\n== ${name}: sch ${['bench', 'sfu', ...args].join(' ')}\n`);
  try {
    // A lab of its own each run (started and stopped by it): the SFU then has the lab's whole RTC port range.
    execFileSync(sch, ['bench', 'sfu', '--lab', lab, '--base-port', basePort, '--out', out, ...args], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 15 * 60_000 });
  } catch {
    /* exit 1 is a verdict (FAIL / INCONCLUSIVE), read from bench.json */
  }
  try {
    return readBenchResult(out);
  } catch (e) {
    process.stderr.write(`${name}: no bench.json (${e instanceof Error ? e.message : String(e)})\n`);
    failedRuns++;
    return null;
  }
}

/** How far two steps' quality is apart: loss in percentage points, delay p95 in ms. */
const qualityDelta = (a: SfuStep, b: SfuStep): string => {
  // What the budgets judged: the median window's when a step has several.
  const p95 = (x: SfuStep) => x.windowMedian?.delayP95Ms ?? x.delayP95Ms ?? 0;
  const loss = (x: SfuStep) => x.windowMedian?.loss ?? x.loss ?? 0;
  return `loss Δ ${(Math.abs(loss(a) - loss(b)) * 100).toFixed(2)} points, delay p95 Δ ${Math.abs(p95(a) - p95(b)).toFixed(1)} ms (median windows: ${p95(a).toFixed(1)} / ${p95(b).toFixed(1)} ms)`;
};

const rows: string[] = [];
let failedRuns = 0;
const repeat = Number(arg('repeat', '0'));

/** N plain runs of a shape: capacity, and the worker's CPU at each level each run measured. */
function repeated(shape: string): void {
  const runs = Array.from({ length: repeat }, (_, i) => run(`${shape}-r${i + 1}`, ['--shape', shape]));
  const levels = [...new Set(runs.flatMap((r) => (r?.result.steps ?? []).map((x) => x.step.level)))].sort((a, b) => a - b);
  const cell = (r: BenchResult | null, level: number) => {
    const s = [...(r?.result.steps ?? [])].reverse().find((x) => x.step.level === level)?.step;
    return s ? `${((s.workerCpu ?? 0) * 100).toFixed(0)} % (k ${((s.workerSys ?? 0) * 100).toFixed(0)}), ${s.delayP95Ms?.toFixed(0)} ms` : '';
  };
  process.stdout.write(`\n${shape}: | level | ${runs.map((_, i) => `run ${i + 1}`).join(' | ')} |\n|---|${runs.map(() => '---|').join('')}\n`);
  process.stdout.write(`| capacity | ${runs.map((r) => (r ? capacityText(r.result) : 'failed')).join(' | ')} |\n`);
  for (const l of levels) process.stdout.write(`| ${l} rooms | ${runs.map((r) => cell(r, l)).join(' | ')} |\n`);
}

try {
  if (repeat > 0) {
    for (const shape of shapes) repeated(shape);
    shapes.length = 0;
  }
  for (const [i, shape] of shapes.entries()) {
    const a = run(`${shape}-a`, ['--shape', shape, ...(i === 0 && process.argv.includes('--cross-check') ? ['--cross-check'] : [])]);
    if (!a) continue;
    const dirA = join(HARNESS_ROOT, 'reports', 'runs', `bench-sfu-capacity-${stamp}`, `${shape}-a`);
    const b = run(`${shape}-b`, ['--shape', shape, '--baseline', dirA]);
    const s = run(`${shape}-seeded`, ['--shape', shape, '--baseline', dirA, '--target-env', 'SC_SWITCH_SFU_DUPLICATE_CONSUMERS=on']);
    const knee = (r: BenchResult | null) => (r?.result.status === 'knee' ? r.result : null);
    const ka = knee(a);
    const kb = knee(b);
    const agree = ka && kb ? Math.abs(ka.capacity - kb.capacity) / Math.max(ka.capacity, kb.capacity) : null;
    const q = (r: BenchResult | null) => {
      const k = knee(r);
      const g = k?.lastGood;
      const held = k?.confirmation === undefined ? '' : k.confirmation.confirmed ? `; confirmed over ${Math.round(g?.windowS ?? 0)} s` : `; not confirmed: ${k.confirmation.reason}`;
      // The median window's delay (what the budget judged), and all frames' p95 beside it.
      const m = g?.windowMedian;
      const delay = m && m.windows > 1 ? `delay p50/p95 ${m.delayP50Ms?.toFixed(1)} / ${m.delayP95Ms?.toFixed(1)} ms (median of ${m.windows} windows; all frames' p95 ${g?.delayP95Ms?.toFixed(1)} ms)` : `delay p50/p95 ${g?.delayP50Ms?.toFixed(1)} / ${g?.delayP95Ms?.toFixed(1)} ms`;
      return g ? `loss ${((g.loss ?? 0) * 100).toFixed(2)} %, ${delay}, worker ${((g.workerCpu ?? 0) * 100).toFixed(0)} %${held}` : '';
    };
    // The search's path: the step-up's levels, and the highest worker CPU any step measured (a saturated SFU: 100 %).
    const path = (r: BenchResult | null) => {
      const steps = r?.result.steps ?? [];
      const up = steps.filter((x) => x.phase === 'step-up').map((x) => x.step.level).join('→');
      const top = Math.max(0, ...steps.map((x) => x.step.workerCpu ?? 0));
      return steps.length ? `${up} rooms; ${steps.length} steps; worker at most ${(top * 100).toFixed(0)} %` : '';
    };
    // The worker's cost at equal loads against A's (baseline.ts compareCost).
    const cost = (r: BenchResult | null) => {
      const c = r?.baseline?.cost;
      return c ? `; cost at equal loads ${(c.ratio * 100).toFixed(0)} % of A's (${c.pairs} steps)` : '';
    };
    for (const [n, r] of [['A', a], ['B (--baseline A)', b], ['seeded (--baseline A)', s]] as const) {
      rows.push(`| ${shape} | ${n} | ${r ? capacityText(r.result) : 'failed'} | ${r?.verdict ?? ''}${cost(r)} | ${r ? q(r) : ''} | ${path(r)} | ${r ? `${(r.durationS / 60).toFixed(1)} min` : ''} |`);
    }
    rows.push(`| ${shape} | A vs B | ${agree === null ? 'n/a' : `${(agree * 100).toFixed(1)} % apart`} | | ${ka?.lastGood && kb?.lastGood ? qualityDelta(ka.lastGood, kb.lastGood) : ''} | | |`);
    // Quality compared at the same load (at each run's own capacity the loads differ, and near the knee the delay moves
    // by tens of ms from one step to the next): B held A's capacity level too (`--baseline`).
    const same = b?.baseline?.atBaselineCapacity;
    if (same) {
      const w = (x: SfuStep) => `${((x.workerCpu ?? 0) * 100).toFixed(0)} %`;
      rows.push(`| ${shape} | A vs B at A's capacity (${same.consumers} consumers; B over ${Math.round(same.now.windowS ?? 0)} s) | | | ${qualityDelta(same.baseline, same.now)}, worker ${w(same.baseline)} / ${w(same.now)} | | |`);
    }
    if (a?.crossCheck) rows.push(`| ${shape} | cross-check | ${a.crossCheck.agree ? 'agree' : 'disagree'} | | ${a.crossCheck.note} | | |`);
  }
} finally {
  execFileSync(sch, ['lab', 'down', '--name', lab], { stdio: 'ignore' });
}
process.stdout.write(`\n| shape | run | capacity (consumers per worker core) | verdict | at the capacity | search | duration |\n|---|---|---|---|---|---|---|\n${rows.join('\n')}\n`);
// A run that failed (no bench.json) fails the benchmark: its table is incomplete.
if (failedRuns > 0) {
  process.stderr.write(`${failedRuns} run(s) failed: see above\n`);
  process.exitCode = 1;
}
