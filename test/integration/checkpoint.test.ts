import { beforeAll, describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { Provision } from '../../src/experiment/provision.js';
import { CHECKPOINT_FILE, readCheckpoint } from '../../src/experiment/checkpoint.js';
import { WORKLOAD_FILES, observationSegments, readObservations, workloadDir } from '../../src/experiment/history.js';
import type { RunResult } from '../../src/results/model.js';
import { EXIT } from '../../src/util/exit-codes.js';
import { K6_LOG_PARTS, TOLERANT_GUNZIP } from '../../src/k6/log-parts.js';
import { gunzipSync } from 'node:zlib';
import { forEachSegment, type WindowSegment } from '../../src/results/window-segment.js';
import { testLab } from './helpers.js';
import { leftovers } from './chaos-leftovers.js';
import { procState } from '../../chaos/process/targets.js';

/**
 * A run killed outright (SIGKILL: no finally, no run.json) mid-fault, its samples rotating: its k6 and its browsers
 * (redis-outage with a 2-page call, `redis-outage-call.ts`) die with it,
 * `sch analyze` judges it up to its last checkpoint from the windowed history and the raw lines after it, and the
 * next start rolls back the fault it left and stops its target.
 */
let lab: Lab;
const runsDir = join(HARNESS_ROOT, 'reports', 'runs', `itest-checkpoint-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  mkdirSync(runsDir, { recursive: true });
});

/** Live processes whose command line is k6's and names this test's run folder. */
function k6Of(dir: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      return /(^|\/)k6$/.test(argv[0] ?? '') && argv.some((a) => a.includes(dir)) ? [Number(p)] : [];
    } catch {
      return [];
    }
  });
}

/** pid → [parent pid, start time in clock ticks] of every live process (start time: a pid reused is another process). */
function processTable(): Map<number, [number, number]> {
  const table = new Map<number, [number, number]>();
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      // The fields after the command name, which may hold spaces and parentheses: state ppid … starttime (22nd).
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      if (f[0] !== 'Z') table.set(Number(p), [Number(f[1]), Number(f[19])]);
    } catch {
      // Gone meanwhile.
    }
  }
  return table;
}

/** The live Chromium processes below `root` (the browser, its zygotes, renderers, utilities), each with its start time. */
function chromiumUnder(root: number): Map<number, number> {
  const table = processTable();
  const below = (pid: number): boolean => {
    for (let p = table.get(pid)?.[0], hops = 0; p !== undefined && p > 1 && hops < 64; p = table.get(p)?.[0], hops++) if (p === root) return true;
    return false;
  };
  const found = new Map<number, number>();
  for (const [pid, [, start]] of table) {
    try {
      if (/chromium/.test(readFileSync(`/proc/${pid}/comm`, 'utf8')) && below(pid)) found.set(pid, start);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** Which of `procs` (pid → start time) still run (zombies excluded). */
function stillRunning(procs: Map<number, number>): number[] {
  const table = processTable();
  return [...procs].filter(([pid, start]) => table.get(pid)?.[1] === start).map(([pid]) => pid);
}

async function waitFor<T>(what: string, ms: number, f: () => T | undefined | false): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    const v = f();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function sch(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(join(HARNESS_ROOT, 'bin', 'sch'), args, { cwd: HARNESS_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => child.on('exit', (code) => res({ code, stdout, stderr })));
}

describe('a run killed outright', () => {
  it('SIGKILL mid-fault after a checkpoint: its k6 and Chromium stop, sch analyze reports it interrupted (exit 130) with the cut phases INCONCLUSIVE, the next start rolls the fault back and removes the browser folder', async () => {
    // redis-outage (audited) and a 2-page call: baseline 0–6 s, Redis down from 7 s for 16 s; killed once a checkpoint has seen the fault on.
    const child = spawn(join(HARNESS_ROOT, 'bin', 'sch'), ['run', join(HARNESS_ROOT, 'test', 'integration', 'redis-outage-call.ts'), '--target-profile', 'audited', '--lab', lab.name, '--no-screenshot', '--out-dir', runsDir, '--checkpoint-every', '2s', '--rotate-samples', 'on'], { cwd: HARNESS_ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SCH_OBSERVATION_SEGMENT_BYTES: '16384' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
    const dir = await waitFor(`the run folder:\n${stderr}`, 30_000, () => readdirSync(runsDir).map((d) => join(runsDir, d)).find((d) => d.endsWith('-redis-outage-audited')));
    const cp = await waitFor(`a checkpoint with the fault on, complete past its start:\n${stderr}`, 60_000, () => {
      try {
        const c = readCheckpoint(dir);
        // Complete past the fault's start (7 s; the checkpoint's history lags it by 2 s): the baseline is whole.
        return c?.faultsOn.includes('redis') && c.completeToMs - c.runStartMs > 8500 ? c : undefined;
      } catch {
        return undefined;
      }
    });
    expect(cp.workloads).toEqual([{ id: 'probes', state: 'running' }, { id: 'call', state: 'running' }]);
    const k6 = k6Of(dir);
    expect(k6.length, 'k6 of the run').toBeGreaterThan(0);
    // The call's browser: its process and the zygotes, renderers and utilities below it (the lab's wrapper exec'd away).
    const chromium = chromiumUnder(child.pid!);
    expect(chromium.size, 'Chromium processes of the run').toBeGreaterThanOrEqual(4);
    // Its temporary folder (profile and wrapper), from the browser's --user-data-dir.
    const argvOf = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      } catch {
        return [];
      }
    };
    const profile = [...chromium.keys()].flatMap(argvOf).find((a) => a.startsWith('--user-data-dir='))?.slice('--user-data-dir='.length);
    expect(profile).toMatch(new RegExp(`/sch-chromium-${child.pid}-[^/]+/profile$`));
    const browserDir = dirname(profile!);
    lab.refreshState();
    const target = lab.state.processes.filter((p) => p.name.startsWith('target-') && p.name.endsWith('-exp')).map((p) => p.pid);
    expect(target.length).toBeGreaterThan(0);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // Its k6 got SIGTERM from the kernel when their parent died (setpriv --pdeathsig): none still loads the target.
    const killedAt = Date.now();
    await waitFor(`k6 ${k6.join(',')} to stop`, 20_000, () => k6Of(dir).length === 0);
    const k6StopS = (Date.now() - killedAt) / 1000;
    // Its Chromium ends itself when its DevTools pipe (puppeteer's `pipe: true`, the runner's end) closes: no page
    // of the call still sends media to the target or TURN.
    await waitFor(`Chromium ${stillRunning(chromium).join(',')} to stop within 15 s of the kill`, Math.max(0, killedAt + 15_000 - Date.now()), () => stillRunning(chromium).length === 0);
    const chromiumStopS = (Date.now() - killedAt) / 1000;
    expect(existsSync(browserDir), 'the killed run\'s browser folder').toBe(true);
    // What it left: the fault on, no run.json, the samples plain.
    expect((await leftovers(lab)).disabledProxies).toContain('redis');
    expect(existsSync(join(dir, 'run.json'))).toBe(false);
    // k6's console output as far as it went (spooled as it came, in gzip members): what analyze reads as its log.
    expect(Object.values(K6_LOG_PARTS).map((f) => gunzipSync(readFileSync(join(workloadDir(dir, 'probes'), f)), TOLERANT_GUNZIP).toString('utf8')).join('')).toMatch(/SC_PROBE_SETUP/);
    // Rotated at each checkpoint (--rotate-samples on): segments in windows.jsonl, their lines released (zeros) from the plain samples.
    const live = join(workloadDir(dir, 'probes'), WORKLOAD_FILES.samplesLive);
    const segments: WindowSegment[] = [];
    await forEachSegment(join(workloadDir(dir, 'probes'), WORKLOAD_FILES.windows), (seg) => segments.push(seg));
    expect(segments.length).toBeGreaterThan(0);
    const released = segments.at(-1)!.toByte;
    const head = Buffer.alloc(Math.min(released, 4096));
    const fd = openSync(live, 'r');
    readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    expect(head.every((b) => b === 0), 'released lines read as zeros').toBe(true);
    // The observations too: closed into gzipped segments (16 KiB here), the live file after them; read as one stream.
    expect(observationSegments(dir).length, 'observation segments').toBeGreaterThan(0);
    expect(readObservations(dir).some((s) => s.metric === 'sc_harness_memory_mib' && s.tags.kind === 'rss')).toBe(true);

    const a = await sch(['analyze', dir, '--json']);
    expect(a.code, a.stderr).toBe(EXIT.interrupted);
    const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as RunResult;
    const last = readCheckpoint(dir)!;
    expect(r.exitCode).toBe(EXIT.interrupted);
    expect(r.interrupted).toMatchObject({ how: 'killed', atMs: last.completeToMs });
    expect(r.error).toMatch(/the run did not finish \(killed outright: no run\.json\); judged up to its last checkpoint, .*, with fault redis still on/);
    expect(r.files.map((f) => f.path)).toContain(CHECKPOINT_FILE);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toMatch(/the run did not finish/);
    const explain = r.hypotheses.map((h) => `${h.id} [${h.phase}] ${h.verdict} (expected ${h.expectedVerdict}): ${h.evidence}`).join('\n');
    // What the run saw whole (the baseline) is judged as usual; what it cut short (the outage, the run) proves nothing.
    const shipped = await loadExperiment('redis-outage');
    const phaseOf = (id: string) => (shipped.hypotheses.find((h) => h.id === id) as { phase?: string } | undefined)?.phase;
    const whole = r.hypotheses.filter((h) => phaseOf(h.id) === 'baseline');
    const cut = r.hypotheses.filter((h) => phaseOf(h.id) !== 'baseline');
    expect(whole.length).toBeGreaterThan(0);
    expect(cut.length).toBeGreaterThan(0);
    for (const h of whole) expect(h.verdict, `${h.id}\n${explain}`).toBe(h.expectedVerdict);
    for (const h of cut) {
      expect(h.verdict, `${h.id}\n${explain}`).toBe('INCONCLUSIVE');
      // A check gated by an INCONCLUSIVE precondition names that precondition; the others name the cut phase.
      expect(h.evidence, h.id).toMatch(/was cut short: the run stopped at t=\d+ s|the run stopped at t=\d+ s of its planned 32 s|precondition/);
    }
    for (const c of r.claims.filter((x) => x.id.startsWith('REDIS-'))) expect(c.verdict, c.id).toBe('INCONCLUSIVE');

    // The next start on the lab (Provision.up: what sch run does first) rolls back the fault and stops the dead run's target.
    const prov = new Provision({ ...shipped, target: { kind: 'embedded', profile: 'audited', env: {}, services: ['auth'] } }, { labName: lab.name, allowRemote: false, runId: 'after-kill', log: () => undefined, progress: () => undefined });
    try {
      await prov.up();
      expect(await leftovers(lab)).toEqual({ toxics: [], disabledProxies: [], faultChains: [], paused: [] });
      expect(existsSync(browserDir), 'the killed run\'s browser folder, removed').toBe(false);
      // Stopped: gone, or a zombie its new parent (the killed runner's heir) has not reaped yet.
      const running = () => target.map((pid) => [pid, procState(pid)] as const).filter(([, st]) => st !== null && st !== 'Z');
      await waitFor(`the dead run's target to stop: ${JSON.stringify(running())}`, 10_000, () => running().length === 0);
    } finally {
      await prov.down();
    }
    console.log(`killed at t=${Math.round((cp.atMs - cp.runStartMs) / 1000)} s (checkpoint ${cp.seq}); k6 stopped ${k6StopS.toFixed(1)} s after, its ${chromium.size} Chromium processes ${chromiumStopS.toFixed(1)} s after; judged up to t=${Math.round((last.completeToMs - last.runStartMs) / 1000)} s; ${segments.length} segments, ${released} bytes released`);
  }, 120_000);
});
