/**
 * Benchmark (not a test): the most concurrent chat WebSocket receivers this machine holds with fan-out
 * accounting on (every delivery logged by k6 and checked: none lost, none duplicated, in order).
 *
 * Starts its own lab (`hbench`, base port 30000: Redis, PostgreSQL, Cassandra) and a hardened reference target
 * (auth, chat, gateway) with the connection cap and the rate limits raised, then runs scenarios/chat-fanout.ts
 * (REST sends, SC_RECEIVER_VUS VUs holding the sockets, through the gateway) with a growing number of
 * conversations of --group members each, until a step is not clean (completeness < 100 %, a duplicate,
 * a socket error, or the run failing). Prints each step and the largest clean one; stops the lab.
 *
 * With --generators N the same workload is split over N k6 instances in namespaces of their own (the
 * runner's split: k6 execution segments, setup() once, every instance's fan-out records reconciled together).
 *
 *   nice npx tsx bench/chat-sockets.ts [--group 50] [--steps 1000,2000,…] [--rate 0.1] [--duration 30s] [--drain 10s] [--validate 0] [--direct] [--generators 3] [--keep]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../src/lab/lab.js';
import { HARNESS_ROOT } from '../src/lab/paths.js';
import { startTarget } from '../src/lab/target.js';
import { readSummary, runScenario } from '../src/k6/run.js';
import { checkFanoutRun, parseK6Log } from '../src/k6/fanout-checker.js';
import { createGenerators, deleteGenerators, takeAddresses } from '../src/lab/generator-net.js';
import { instanceDir, runSplitWorkload } from '../src/experiment/split-workload.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const GROUP = Number(arg('group', '50'));
const STEPS = arg('steps', '1000,2000,3000,4000,5000,6000,7000,8000').split(',').map(Number);
const DURATION = arg('duration', '30s');
/** Messages per second per conversation (fractional: one every 1/rate s). Deliveries/s = rate × sockets. */
const RATE = arg('rate', '0.1');
const DRAIN = arg('drain', '10s');
/** Check every received frame with the contract's validator too (k6 CPU); the accounting is always on. */
const VALIDATE = arg('validate', '0');
/** Receivers connect to chat-service itself instead of through the gateway (SC_WS_URL). */
const DIRECT = process.argv.includes('--direct');
const NOFILE = 65536;
/** Split the receivers and senders over this many k6 instances (1: one k6, as before). */
const GENERATORS = Number(arg('generators', '1'));

/** Raise this process's open-file limit (children inherit it: k6 and, through the lab's spawn, the target). */
function raiseNofile(): string {
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${NOFILE}:${NOFILE}`]);
  } catch (e) {
    console.warn(`could not raise the open-file limit: ${(e as Error).message.split('\n')[0]}`);
  }
  return execFileSync('prlimit', ['--pid', String(process.pid), '--nofile', '--noheadings', '--output', 'SOFT,HARD']).toString().trim();
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

async function main(): Promise<void> {
  console.log(`open files (soft hard): ${raiseNofile()}`);
  const lab = await Lab.up({ name: 'hbench', basePort: 30000, only: ['redis', 'postgres', 'cassandra'], onProgress: (l) => process.stderr.write(`[lab] ${l}\n`) });
  const results: Record<string, unknown>[] = [];
  let best: Record<string, unknown> | null = null;
  try {
    const target = await startTarget(lab, {
      profile: 'hardened', instance: 'bench', services: ['auth', 'chat', 'gateway'],
      env: { RATE_LIMIT_PER_MINUTE: '100000000', LOGIN_RATE_PER_MINUTE: '100000000', WS_MAX_CONNECTIONS: '1000000', WS_MAX_CHAT_CONNECTIONS: '1000000', LOG_LEVEL: 'error' },
    });
    const pidOf = (s: string) => target.processes.find((p) => p.name === `target-${s}-bench`)?.pid ?? 0;
    for (const sockets of STEPS) {
      const conversations = Math.max(1, Math.round(sockets / GROUP));
      const receivers = conversations * GROUP;
      // Long enough for every socket to be open before the first send (the upgrades go through the gateway).
      const warmupS = Math.max(10, Math.ceil(receivers / 100));
      const started = Date.now();
      const cpu0 = { chat: cpuSeconds(pidOf('chat')), gateway: cpuSeconds(pidOf('gateway')) };
      const outDir = join(HARNESS_ROOT, 'reports', 'runs', 'bench-chat-sockets', `${receivers}-g${GENERATORS}`);
      const base = {
        name: 'chat-fanout', baseUrl: target.baseUrl, profile: 'smoke' as const, labAddress: lab.address,
        timeoutMs: (warmupS + 120) * 1000,
        env: {
          SC_GROUPS: Array.from({ length: conversations }, () => String(GROUP + 1)).join(','),
          SC_RATE: RATE, SC_DURATION: DURATION, SC_WARMUP: `${warmupS}s`, SC_CONNECT_SPREAD: `${Math.floor(warmupS / 2)}s`, SC_DRAIN: DRAIN,
          ...(DIRECT ? { SC_WS_URL: target.serviceUrls.chat } : {}),
          SC_RECEIVER_VUS: String(4 * GENERATORS), SC_MAX_VUS: String(20 * GENERATORS), SC_PRE_VUS: String(4 * GENERATORS), SC_VALIDATE: VALIDATE,
        },
      };
      let r: Awaited<ReturnType<typeof runScenario>>;
      let log: ReturnType<typeof parseK6Log>;
      let counts: Record<string, number>;
      if (GENERATORS > 1) {
        const gens = await createGenerators(lab.netns!, GENERATORS);
        try {
          r = await runSplitWorkload({ base, outDir, generators: await Promise.all(gens.map(async (g) => ({ index: g.index, netns: g.netns, addresses: await takeAddresses(g, 1) }))), log: () => undefined });
        } finally {
          await deleteGenerators(lab.netns!);
        }
        log = parseK6Log([join(outDir, 'setup', 'k6.log'), ...gens.map((g) => join(outDir, instanceDir(g.index), 'k6.log'))].map((f) => readFileSync(f, 'utf8')).join('\n'));
        const summaries = gens.map((g) => readSummary(join(outDir, instanceDir(g.index), 'summary.json')).metrics);
        counts = { socketErrors: summaries.reduce((n, m) => n + Number(m.sc_socket_errors?.count ?? 0), 0), invalidFrames: summaries.reduce((n, m) => n + Number(m.sc_invalid_frames?.count ?? 0), 0) };
      } else {
        r = await runScenario({ ...base, outDir });
        log = parseK6Log(`${r.stdout}\n${r.stderr}`);
        const m = readSummary(r.summaryPath).metrics;
        counts = { socketErrors: Number(m.sc_socket_errors?.count ?? 0), invalidFrames: Number(m.sc_invalid_frames?.count ?? 0) };
      }
      const report = checkFanoutRun(log);
      // Latency percentiles: one instance's (a split run's are per instance; the harness's analysis merges them exactly).
      const summary = readSummary(r.summaryPath).metrics;
      const row = {
        sockets: receivers, via: DIRECT ? 'chat-service' : 'gateway', conversations, group: GROUP + 1,
        acked: log.sent.filter((s) => s.acked).length, unacked: report.unacked,
        expected: report.expected, delivered: report.delivered, completeness: Number(report.completeness.toFixed(5)),
        lost: report.lost.length, duplicates: report.duplicates.length, orderViolations: report.orderViolations.length,
        generators: GENERATORS, socketErrors: counts.socketErrors, invalidFrames: counts.invalidFrames,
        deliveryP95ms: Number(summary.sc_delivery_latency?.['p(95)'] ?? NaN), ackP95ms: Number(summary.sc_ack_latency?.['p(95)'] ?? NaN),
        k6Exit: r.exitCode, thresholdsPassed: r.thresholdsPassed, failedThresholds: r.failedThresholds,
        rssMb: { chat: rssMb(pidOf('chat')), gateway: rssMb(pidOf('gateway')) },
        cpuSeconds: { chat: Number((cpuSeconds(pidOf('chat')) - cpu0.chat).toFixed(1)), gateway: Number((cpuSeconds(pidOf('gateway')) - cpu0.gateway).toFixed(1)) },
        deliveriesPerS: Number((report.delivered / (Number(DURATION.replace('s', '')) || 1)).toFixed(0)), seconds: Math.round((Date.now() - started) / 1000),
      };
      results.push(row);
      console.log(JSON.stringify(row));
      const clean = row.expected > 0 && row.completeness === 1 && row.duplicates === 0 && row.orderViolations === 0 && row.socketErrors === 0 && row.unacked === 0 && log.setups.length === conversations;
      if (!clean) { console.log(`step ${receivers} is not clean: stopping`); break; }
      best = row;
    }
    await target.stop();
  } finally {
    if (!process.argv.includes('--keep')) await Lab.down('hbench');
  }
  console.log(JSON.stringify({ maxCleanSockets: best?.sockets ?? 0, goal: '≥ 5000', met: Number(best?.sockets ?? 0) >= 5000, best, steps: results.length }, null, 2));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
