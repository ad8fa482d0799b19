/**
 * One workload split over several k6 instances (load generators) with k6's execution segments: together
 * they run exactly the planned load. setup() runs once, in a setup-only run, and every instance reads its
 * data (src/k6/bundle.ts), so the instances share accounts and conversations (a conversation's members may
 * be spread over them; the fan-out records of every instance's log are reconciled together). The fault
 * timeline, calibration and verdicts stay with the one harness process; the analysis merges the instances'
 * samples into the same HDR histograms and counters (never averaging percentiles).
 *
 * On disk, under workloads/<id>/: `setup/` (the setup-only run's k6.log and summary) and `g<n>/` per instance
 * (samples, metric kinds, summary, k6.log) — see history.ts.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario, type RunScenarioOptions, type ScenarioRunResult } from '../k6/run.js';
import { WORKLOAD_FILES } from './history.js';

/** An instance's folder under the workload's: g1, g2, … */
export const instanceDir = (n: number): string => `g${n}`;
export const SETUP_DIR = 'setup';

export interface SplitWorkloadOptions {
  /** Everything a single run would get, but outDir / segment / netns / setup data (set here per instance). */
  base: Omit<RunScenarioOptions, 'outDir' | 'segment' | 'netns' | 'setupData' | 'setupOnly' | 'samplesFile'>;
  outDir: string;
  /** The generators: their namespaces and addresses (null netns: processes on this host, each with its own addresses). */
  generators: readonly { index: number; netns: string | null; addresses: string[] }[];
  log: (line: string) => void;
}

/** Worst first: a failed instance fails the workload; thresholds crossed anywhere are reported with the instance. */
function combine(results: ScenarioRunResult[]): ScenarioRunResult {
  const rank = { failed: 2, thresholds: 1, passed: 0 } as const;
  const worst = results.reduce((w, r) => (rank[r.outcome] > rank[w.outcome] ? r : w));
  const failedThresholds = results.flatMap((r, i) => r.failedThresholds.map((t) => `${instanceDir(i + 1)}: ${t}`));
  return { ...worst, failedThresholds, failure: results.map((r, i) => (r.failure ? `${instanceDir(i + 1)}: ${r.failure}` : null)).filter(Boolean).join('; ') || null, thresholdsPassed: results.every((r) => r.thresholdsPassed) };
}

export async function runSplitWorkload(o: SplitWorkloadOptions): Promise<ScenarioRunResult> {
  const count = o.generators.length;
  const at = (g: SplitWorkloadOptions['generators'][number]) => ({
    ...(g.netns ? { netns: g.netns } : {}),
    k6Env: { ...(o.base.k6Env ?? {}), ...(g.addresses.length ? { K6_LOCAL_IPS: g.addresses.join(',') } : {}) },
  });
  // setup()'s data holds the test accounts' tokens and passwords (VUs log in again as tokens near expiry): a private
  // folder, removed when the workload ends.
  const secret = mkdtempSync(join(tmpdir(), 'sch-setup-'));
  chmodSync(secret, 0o700);
  const setupData = join(secret, 'setup-data.json');
  try {
    const setupDir = join(o.outDir, SETUP_DIR);
    mkdirSync(setupDir, { recursive: true });
    const setup = await runScenario({ ...o.base, ...at(o.generators[0]!), outDir: setupDir, samples: false, setupOnly: setupData, outputs: [] });
    if (setup.outcome === 'failed') return { ...setup, failure: `setup-only run: ${setup.failure ?? `k6 exited ${setup.exitCode}`}` };
    o.log(`split over ${count} generators: setup() ran once; each instance reads its data`);
    const results = await Promise.all(o.generators.map((g, i) => runScenario({
      ...o.base, ...at(g), outDir: join(o.outDir, instanceDir(i + 1)), samplesFile: WORKLOAD_FILES.samples,
      segment: { index: i, count }, setupData,
    })));
    return combine(results);
  } finally {
    rmSync(secret, { recursive: true, force: true });
  }
}

/** Addresses for the generators on this host (no namespaces: a loopback target), `each` per generator. */
export function hostGenerators(count: number, addresses: readonly string[]): { index: number; netns: null; addresses: string[] }[] {
  const each = Math.max(1, Math.floor(addresses.length / count));
  return Array.from({ length: count }, (_, i) => ({ index: i + 1, netns: null, addresses: addresses.slice(i * each, (i + 1) * each) }));
}
