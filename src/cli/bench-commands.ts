/**
 * `sch bench sfu`: the SFU capacity benchmark (src/bench/). Rooms of a shape are added step by step on one
 * mediasoup worker until quality breaks (the knee, judged by fixtures/budgets.yaml `benches.sfu`), then bisected;
 * the run directory gets bench.json (the whole history), report.html (the curve, the knee marked) and junit.xml.
 * `--baseline <run>` turns it into the pre-release regression check.
 */
import { mkdirSync, appendFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BUDGETS_FILE, loadBudgets, sfuBenchBudgets, type SfuBenchBudgets } from '../k6/budgets.js';
import { EXIT } from '../util/exit-codes.js';
import { redact } from '../util/redact.js';
import { checkTargetAddress } from '../util/target-address.js';
import { DEFAULT_SHAPES, consumersPerRoom, describeShape, type RoomShape } from '../bench/room-shape.js';
import { openBenchTarget, type BenchTarget } from '../bench/bench-target.js';
import { SyntheticStepRunner } from '../bench/synthetic-step-runner.js';
import { coreSpeedNotes, measureCoreSpeed } from '../bench/core-speed.js';
import { sleep } from '../lab/exec.js';
import { runSfuBenchFlow } from '../bench/sfu-bench.js';
import { BENCH_FILES, readBenchResult, writeBenchResult, capacityText, type BenchResult } from '../bench/bench-result.js';
import { runCrossCheck } from '../bench/cross-check.js';
import { envFlag } from './k6-flags.js';
import { urlFlag } from './run-commands.js';
import { RUNS_DIR } from '../experiment/runner.js';
import { REFERENCE_PROFILES, type ReferenceProfile } from '../util/profiles.js';
import { interruptible } from './signals.js';
import { toBenchHtml } from '../../reports/bench-html.js';
import { toBenchJUnit } from '../../reports/bench-junit.js';
import type { SfuStep } from '../bench/sfu-step.js';

const int = (flag: string, min: number, max: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} must be an integer ${min}..${max} (got "${v}")`);
  return n;
};
const seconds = (flag: string) => (v: string): number => {
  const n = Number(v.replace(/s$/, ''));
  if (!Number.isFinite(n) || n < 0.5 || n > 600) throw new InvalidArgumentError(`${flag} must be 0.5..600 seconds (got "${v}")`);
  return n;
};

interface BenchFlags {
  shape: 'conference' | 'webinar';
  participants?: number;
  presenters?: number;
  viewers?: number;
  baseline?: string;
  budgets: string;
  lab: string;
  basePort: number;
  keepLab?: boolean;
  targetProfile: ReferenceProfile;
  targetEnv?: Record<string, string>;
  targetUrl?: string;
  videoUrl?: string;
  origin: string;
  allowRemote?: boolean;
  warmup: number;
  window: number;
  maxRooms?: number;
  confirmWindows: number;
  cpuAim: number;
  crossCheck?: boolean;
  pin: boolean;
  out?: string;
}

function shapeOf(f: BenchFlags): RoomShape {
  if (f.shape === 'conference') {
    if (f.presenters !== undefined || f.viewers !== undefined) throw new InvalidArgumentError('--presenters and --viewers are for --shape webinar');
    return { kind: 'conference', participants: f.participants ?? (DEFAULT_SHAPES.conference as Extract<RoomShape, { kind: 'conference' }>).participants };
  }
  if (f.participants !== undefined) throw new InvalidArgumentError('--participants is for --shape conference');
  const d = DEFAULT_SHAPES.webinar as Extract<RoomShape, { kind: 'webinar' }>;
  return { kind: 'webinar', presenters: f.presenters ?? d.presenters, viewers: f.viewers ?? d.viewers };
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(1)} %`);
const ms = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${x.toFixed(1)} ms`);

/** --target-env as the run's files show it: a value whose name says it is a secret is never written. */
export function shownEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, /SECRET|PASSWORD|TOKEN|KEY|CREDENTIAL/i.test(k) ? '***' : redact(v)]));
}

/** One line per step on stderr: what a person watching wants to see. */
export function stepLine(what: string, s: SfuStep): string {
  return `${what.padEnd(11)} rooms ${String(s.level).padStart(3)}  consumers ${String(s.consumers).padStart(4)}  worker ${pct(s.workerCpu).padStart(7)} (kernel ${pct(s.workerSys ?? null)}${s.workerCpuFitted ? `; fit ${pct(s.workerCpuFitted.value)}` : ''})  generator ${pct(s.generatorCpu).padStart(7)}  loss ${pct(s.loss).padStart(6)}  delay p50/p95 ${ms(s.delayP50Ms)}/${ms(s.delayP95Ms)}  worker wait ${pct(s.workerWait)}  lag p99 ${ms(s.generatorLagP99Ms)}  out ${s.bitrateOutKbps ? `${(s.bitrateOutKbps / 1000).toFixed(1)} Mbit/s` : 'n/a'}`;
}

export function benchCommand(): Command {
  const bench = new Command('bench').description('benchmarks with a verdict (the SFU\'s capacity)');
  bench.command('sfu')
    .description('SFU capacity: add rooms of synthetic participants to one mediasoup worker until quality breaks (loss, forwarding delay, worker CPU: budgets.yaml benches.sfu), bisect to the knee, report capacity = N consumers per worker core. Exit 0: capacity measured (and, with --baseline, not lower); 1: lower than the baseline beyond the tolerance, or no capacity measured (INCONCLUSIVE); 2: bad input or the run failed; 130: interrupted')
    .addOption(new Option('--shape <shape>', 'room shape').choices(['conference', 'webinar']).default('conference'))
    .option('--participants <n>', 'conference: participants a room, each sends and receives (default 4)', int('--participants', 2, 16))
    .option('--presenters <n>', 'webinar: presenters a room, 1 or 2 (default 2)', int('--presenters', 1, 2))
    .option('--viewers <n>', 'webinar: viewers a room (default 20)', int('--viewers', 1, 200))
    .option('--baseline <run>', 'an earlier run (its directory or bench.json): capacity down by more than the tolerance FAILs')
    .option('--budgets <file>', 'the knee thresholds (benches.sfu)', BUDGETS_FILE)
    .option('--lab <name>', 'embedded: the lab (started with Redis, PostgreSQL and coturn and stopped afterwards, unless already up)', 'sfu-bench')
    .option('--base-port <n>', 'embedded: the lab\'s base port when the benchmark starts it', int('--base-port', 1024, 32000), 30600)
    .option('--keep-lab', 'embedded: leave the lab the benchmark started running')
    .addOption(new Option('--target-profile <profile>', 'embedded: the reference target\'s profile').choices([...REFERENCE_PROFILES]).default('hardened'))
    .option('--target-env <KEY=value>', 'embedded: the reference target\'s own configuration, e.g. SC_SWITCH_SFU_DUPLICATE_CONSUMERS=on (repeatable)', envFlag)
    .option('--target-url <url>', 'an external deployment\'s gateway (it must serve the SFU extension); needs --video-url', urlFlag('--target-url'))
    .option('--video-url <url>', 'the external deployment\'s video service (the signaling socket)', urlFlag('--video-url'))
    .option('--origin <origin>', 'external: an Origin the deployment allows', 'http://localhost:3000')
    .option('--allow-remote', 'allow a target outside loopback and the lab\'s network')
    .option('--warmup <s>', 'settling time after each step\'s rooms are in, seconds', seconds('--warmup'), 3)
    .option('--window <s>', 'each step\'s measured window, seconds', seconds('--window'), 6)
    .option('--max-rooms <n>', 'cap the search range (it is also capped by what the generator can drive)', int('--max-rooms', 1, 10_000))
    .option('--confirm-windows <n>', 'windows the capacity\'s level is held again for once the bisection is over, judged with its earlier ones (0: no confirmation)', int('--confirm-windows', 0, 10), 3)
    .option('--cpu-aim <percent>', 'the SFU worker\'s CPU the step-up nears by halves (each level at most half the way from the last good level\'s CPU to this share of its core), so it never bisects from a saturated SFU (0: doubling only)', int('--cpu-aim', 0, 100), 95)
    .option('--cross-check', 'embedded: first compare one small room with browser participants against the same with synthetic ones')
    .option('--no-pin', 'do not pin the SFU worker to a core of its own')
    .option('--out <dir>', 'the run directory (default reports/runs/bench-sfu-<shape>-<time>)')
    .action(async (f: BenchFlags) => {
      let shape: RoomShape;
      let budgets: SfuBenchBudgets;
      let baseline: BenchResult | undefined;
      try {
        shape = shapeOf(f);
        budgets = sfuBenchBudgets(loadBudgets(f.budgets), f.budgets);
        if ((f.targetUrl === undefined) !== (f.videoUrl === undefined)) throw new Error('--target-url and --video-url go together (the gateway and the video service of the deployment)');
        if (f.targetUrl) {
          checkTargetAddress(f.targetUrl, null, f.allowRemote === true, '--target-url');
          checkTargetAddress(f.videoUrl!, null, f.allowRemote === true, '--video-url');
          if (f.targetEnv || f.crossCheck) throw new Error(`${f.targetEnv ? '--target-env' : '--cross-check'} applies to the embedded reference target, not to --target-url`);
        }
        if (f.baseline) {
          baseline = readBenchResult(resolve(f.baseline));
          if (JSON.stringify(baseline.shape) !== JSON.stringify(shape)) throw new Error(`--baseline ${f.baseline}: measured a ${describeShape(baseline.shape)}, this run a ${describeShape(shape)}: capacities of different shapes do not compare`);
        }
      } catch (e) {
        process.stderr.write(`error: ${redact(e instanceof Error ? e.message : String(e))}\n`);
        process.exit(EXIT.badInput);
      }
      const startedAt = new Date();
      const dir = resolve(f.out ?? join(RUNS_DIR, `bench-sfu-${shape.kind}-${startedAt.toISOString().replace(/[:.]/g, '-')}`));
      mkdirSync(dir, { recursive: true });
      const logFile = join(dir, BENCH_FILES.log);
      writeFileSync(logFile, '');
      const log = (l: string) => appendFileSync(logFile, `${new Date().toISOString()} ${redact(l)}\n`);
      const say = (l: string) => {
        process.stderr.write(`${redact(l)}\n`);
        log(l);
      };
      const notJudged: string[] = [];
      if (f.targetUrl) {
        const before = budgets.knee.length;
        budgets = { ...budgets, knee: budgets.knee.filter((b) => b.metric !== 'sc_sfu_worker_cpu') };
        if (budgets.knee.length < before) notJudged.push('sc_sfu_worker_cpu: an external deployment\'s worker CPU cannot be read from here');
      }
      say(`sch bench sfu: ${describeShape(shape)}; run directory ${dir}`);
      const { value: code, interrupted } = await interruptible('stopping: closing rooms, restoring CPU affinity, stopping what the benchmark started', async (signal) => {
        let t: BenchTarget | null = null;
        let runner: SyntheticStepRunner | null = null;
        try {
          t = await openBenchTarget({
            ...(f.targetUrl ? { external: { baseUrl: f.targetUrl, videoUrl: f.videoUrl!, origin: f.origin } } : { lab: { name: f.lab, basePort: f.basePort, keep: f.keepLab === true } }),
            profile: f.targetProfile, ...(f.targetEnv ? { env: f.targetEnv } : {}), pin: f.pin, log: say,
          });
          const target = t;
          let crossCheck: BenchResult['crossCheck'];
          if (f.crossCheck && target.lab && target.target) {
            say('cross-check: one room with browser participants, then the same with synthetic ones…');
            crossCheck = await runCrossCheck({ lab: target.lab, target: target.target, api: target.api, origin: target.origin, recording: target.recording, shape, windowS: Math.max(f.window, 8), log: say, signal });
            say(`cross-check: ${crossCheck.note}`);
          }
          const seats = shape.kind === 'conference' ? shape.participants : shape.presenters + shape.viewers;
          const users = [];
          for (let i = 0; i < seats; i++) users.push(await target.api.register(`bench${i}`));
          // The host's speed, on the worker's core with no room open: a capacity that moves with it is read as such.
          const speedCore = target.pinning?.workerCore ?? null;
          const speedBefore = speedCore !== null ? await measureCoreSpeed(speedCore) : null;
          runner = new SyntheticStepRunner({ api: target.api, origin: target.origin, recording: target.recording, shape, users, warmupS: f.warmup, windowS: f.window, readWorker: target.readWorker, log });
          const r = runner;
          let steps = 0;
          const flow = await runSfuBenchFlow({
            consumersPerRoom: consumersPerRoom(shape), budgets,
            measure: async (level, m) => {
              if (signal.aborted) throw new Error('interrupted');
              if (++steps > 60) throw new Error('more than 60 windows measured: the search did not converge');
              return r.measure(level, m);
            },
            ...(f.maxRooms !== undefined ? { maxRooms: f.maxRooms } : {}),
            confirmWindows: f.confirmWindows,
            sfuCpuAim: f.cpuAim === 0 ? null : f.cpuAim / 100,
            ...(baseline ? { baseline: baseline.result } : {}),
            onStep: (what, s) => say(stepLine(what, s)),
          });
          // Measured again once the worker has let the rooms go (closing transports is work on its core too).
          r.close();
          if (speedCore !== null) await sleep(3000);
          const coreSpeed = speedCore !== null && speedBefore !== null ? { core: speedCore, before: speedBefore, after: await measureCoreSpeed(speedCore) } : undefined;
          const speedNotes = coreSpeed ? coreSpeedNotes(coreSpeed, baseline?.coreSpeed) : [];
          if (coreSpeed) {
            say(`core ${coreSpeed.core}: ${Math.round(coreSpeed.before)} hashes/s at the start, ${Math.round(coreSpeed.after)} at the end${baseline?.coreSpeed ? ` (the baseline run: ${Math.round(baseline.coreSpeed.before)})` : ''}`);
          }
          const endedAt = new Date();
          const result: BenchResult = {
            schemaVersion: 1, kind: 'sfu-capacity', id: dir.split('/').pop()!, startedAt: startedAt.toISOString(), endedAt: endedAt.toISOString(),
            target: { kind: target.kind, baseUrl: target.baseUrl, ...(target.kind === 'embedded' ? { profile: f.targetProfile, env: shownEnv(f.targetEnv ?? {}) } : {}) },
            shape, budgets: { knee: budgets.knee.map((b) => ({ metric: b.metric, stat: b.stat, op: b.op, value: b.value })), generatorCpuMax: budgets.generatorCpuMax, baselineTolerance: budgets.baselineTolerance },
            notJudged,
            pinning: target.pinning ? { workerCore: target.pinning.workerCore, otherCores: target.pinning.otherCores, pids: target.pinning.pids } : null,
            calibration: { steps: flow.calibration.steps, generatorFixed: flow.calibration.cost.fixed, generatorPerConsumer: flow.calibration.cost.perConsumer, maxRooms: flow.calibration.maxRooms, levels: flow.calibration.levels },
            ...(coreSpeed ? { coreSpeed } : {}),
            result: flow.result, verdict: flow.verdict, reason: [flow.reason, ...speedNotes].join('; '),
            ...(flow.baseline && baseline ? { baseline: { run: resolve(f.baseline!), verdict: flow.baseline.verdict, reason: flow.baseline.reason, capacity: capacityText(baseline.result), ...(flow.baseline.atBaselineCapacity ? { atBaselineCapacity: flow.baseline.atBaselineCapacity } : {}), ...(flow.baseline.cost !== undefined ? { cost: flow.baseline.cost } : {}) } } : {}),
            ...(crossCheck ? { crossCheck } : {}),
            durationS: (endedAt.getTime() - startedAt.getTime()) / 1000,
          };
          writeBenchResult(dir, result);
          writeFileSync(join(dir, BENCH_FILES.report), toBenchHtml(result));
          writeFileSync(join(dir, BENCH_FILES.junit), toBenchJUnit(result));
          say('');
          say(`${result.verdict}: ${result.reason}`);
          say(`report: ${join(dir, BENCH_FILES.report)}`);
          say(`junit:  ${join(dir, BENCH_FILES.junit)}   json: ${join(dir, BENCH_FILES.json)}`);
          return result.verdict === 'PASS' ? EXIT.ok : EXIT.notAsExpected;
        } catch (e) {
          say(`error: the benchmark failed: ${e instanceof Error ? e.message : String(e)}`);
          return EXIT.runFailed;
        } finally {
          runner?.close();
          await t?.close();
        }
      });
      process.exit(interrupted ? EXIT.interrupted : code);
    });
  return bench;
}
