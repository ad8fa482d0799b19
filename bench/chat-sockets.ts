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
 *   nice npx tsx bench/chat-sockets.ts [--group 50] [--steps 1000,2000,…] [--rate 0.1] [--duration 30s] [--drain 10s] [--validate 0] [--direct] [--keep]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../src/lab/lab.js';
import { HARNESS_ROOT } from '../src/lab/paths.js';
import { startTarget } from '../src/lab/target.js';
import { readSummary, runScenario } from '../src/k6/run.js';
import { checkFanoutRun, parseK6Log } from '../src/k6/fanout-checker.js';

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
      const r = await runScenario({
        name: 'chat-fanout', baseUrl: target.baseUrl, profile: 'smoke', outDir: join(HARNESS_ROOT, 'reports', 'runs', 'bench-chat-sockets', `${receivers}`),
        timeoutMs: (warmupS + 120) * 1000,
        env: {
          SC_GROUPS: Array.from({ length: conversations }, () => String(GROUP + 1)).join(','),
          SC_RATE: RATE, SC_DURATION: DURATION, SC_WARMUP: `${warmupS}s`, SC_CONNECT_SPREAD: `${Math.floor(warmupS / 2)}s`, SC_DRAIN: DRAIN,
          ...(DIRECT ? { SC_WS_URL: target.serviceUrls.chat } : {}),
          SC_RECEIVER_VUS: '4', SC_MAX_VUS: '20', SC_PRE_VUS: '4', SC_VALIDATE: VALIDATE,
        },
      });
      const log = parseK6Log(`${r.stdout}\n${r.stderr}`);
      const report = checkFanoutRun(log);
      const summary = readSummary(r.summaryPath).metrics;
      const row = {
        sockets: receivers, via: DIRECT ? 'chat-service' : 'gateway', conversations, group: GROUP + 1,
        acked: log.sent.filter((s) => s.acked).length, unacked: report.unacked,
        expected: report.expected, delivered: report.delivered, completeness: Number(report.completeness.toFixed(5)),
        lost: report.lost.length, duplicates: report.duplicates.length, orderViolations: report.orderViolations.length,
        socketErrors: Number(summary.sc_socket_errors?.count ?? 0), invalidFrames: Number(summary.sc_invalid_frames?.count ?? 0),
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
