/**
 * The load generator's own CPU while the load runs, written to the history beside the other observations:
 *   sc_generator_busy             share of the machine's cores busy over the last second (0..1), from /proc/stat
 *   sc_generator_cores{part}      cores used over the last second by the run's own browsers (`part=browsers`:
 *                                 Chromium processes under the runner) and k6 processes (`part=k6`)
 *   sc_generator_starved{part}    share of the time those processes wanted a core and waited for one on a run queue
 *                                 (/proc/<pid>/schedstat: wait / (run + wait)) over the last second
 * A participant's fps measured while the machine had no CPU to spare says more about the generator than about
 * the target: the checker makes those verdicts INCONCLUSIVE (evaluate.ts, generatorSaturation). The browsers'
 * run-queue wait is shown beside it, for a reader deciding whether a freeze was theirs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Sample } from '../results/model.js';

/** USER_HZ of /proc/<pid>/stat (100 on Linux). */
const TICKS = 100;

/** Busy and total jiffies of the machine (the `cpu` line of /proc/stat). */
export function machineJiffies(stat: string = readFileSync('/proc/stat', 'utf8')): { busy: number; total: number } {
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return { busy: 0, total: 0 };
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const total = f.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** Idle cores of the machine over `ms` (a sleep between two /proc/stat reads). */
export async function idleCores(ms = 1000): Promise<{ idle: number; cores: number }> {
  const a = machineJiffies();
  await new Promise((r) => setTimeout(r, ms));
  const b = machineJiffies();
  const cores = availableParallelism();
  const total = b.total - a.total;
  return { idle: total > 0 ? ((total - (b.busy - a.busy)) / total) * cores : cores, cores };
}

export type GeneratorPart = 'browsers' | 'k6';

/** Which part of the generator a process is, by its command name (null: not the generator's). */
export function partOf(comm: string): GeneratorPart | null {
  if (/^(chrom|headless_shell)/i.test(comm)) return 'browsers';
  if (comm === 'k6') return 'k6';
  return null;
}

export interface PartTimes {
  /** CPU seconds used so far (utime + stime). */
  cpu: number;
  /** Seconds on a CPU and waiting on a run queue so far (schedstat; 0 where the kernel does not keep it). */
  run: number;
  wait: number;
}

/** /proc/<pid>/schedstat: nanoseconds on a CPU, nanoseconds waiting on a run queue, timeslices. */
export function parseSchedstat(text: string): { run: number; wait: number } | null {
  const f = text.trim().split(/\s+/).map(Number);
  if (f.length < 2 || !Number.isFinite(f[0]) || !Number.isFinite(f[1])) return null;
  return { run: f[0]! / 1e9, wait: f[1]! / 1e9 };
}

/** A process's scheduler times: the sum over its threads (a renderer's media and compositor threads wait too). */
function readSchedstat(pid: number): { run: number; wait: number } | null {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const sum = { run: 0, wait: 0 };
  for (const t of tasks) {
    try {
      const s = parseSchedstat(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8'));
      if (s) {
        sum.run += s.run;
        sum.wait += s.wait;
      }
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return sum;
}

/** CPU and scheduler times so far of each part, over the descendants of `root` (processes alive now). */
export function partTimes(root: number): Record<GeneratorPart, PartTimes> {
  const kids = new Map<number, number[]>();
  const info = new Map<number, { comm: string; ticks: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      const pid = Number(d);
      info.set(pid, { comm, ticks: Number(f[11]) + Number(f[12]) });
      kids.set(Number(f[1]), [...(kids.get(Number(f[1])) ?? []), pid]);
    } catch {
      /* gone meanwhile */
    }
  }
  const out: Record<GeneratorPart, PartTimes> = { browsers: { cpu: 0, run: 0, wait: 0 }, k6: { cpu: 0, run: 0, wait: 0 } };
  const stack = [...(kids.get(root) ?? [])];
  for (let guard = 0; stack.length > 0 && guard < 100_000; guard++) {
    const pid = stack.pop()!;
    const i = info.get(pid);
    const part = i ? partOf(i.comm) : null;
    if (i && part) {
      out[part].cpu += i.ticks / TICKS;
      const sched = readSchedstat(pid);
      if (sched) {
        out[part].run += sched.run;
        out[part].wait += sched.wait;
      }
    }
    stack.push(...(kids.get(pid) ?? []));
  }
  return out;
}

/** Below this much demand (run + wait) in a second, a part's starved share is noise (an idle k6 between iterations). */
const MIN_DEMAND_S = 0.02;

export interface GeneratorCpuMonitorOptions {
  record: (s: Sample) => void;
  /** Whose descendants are the generator (default: this process). */
  rootPid?: number;
  intervalMs?: number;
}

/** Samples the generator's CPU once a second until stopped. */
export class GeneratorCpuMonitor {
  private timer: NodeJS.Timeout | null = null;
  private last: { atMs: number; machine: { busy: number; total: number }; parts: Record<GeneratorPart, PartTimes> } | null = null;
  private readonly root: number;
  private readonly cores = availableParallelism();

  constructor(private readonly o: GeneratorCpuMonitorOptions) {
    this.root = o.rootPid ?? process.pid;
  }

  start(): void {
    if (this.timer) return;
    this.last = this.read();
    this.timer = setInterval(() => this.tick(), this.o.intervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private read() {
    return { atMs: Date.now(), machine: machineJiffies(), parts: partTimes(this.root) };
  }

  private tick(): void {
    const now = this.read();
    const prev = this.last;
    this.last = now;
    if (!prev) return;
    const total = now.machine.total - prev.machine.total;
    const wallS = (now.atMs - prev.atMs) / 1000;
    if (total <= 0 || wallS <= 0) return;
    this.o.record({ metric: 'sc_generator_busy', time: now.atMs, value: Math.min(1, Math.max(0, (now.machine.busy - prev.machine.busy) / total)), tags: {} });
    for (const part of ['browsers', 'k6'] as const) {
      // A process that exited since the last read takes its seconds with it: never a negative use.
      const used = Math.max(0, now.parts[part].cpu - prev.parts[part].cpu) / wallS;
      this.o.record({ metric: 'sc_generator_cores', time: now.atMs, value: Math.min(this.cores, used), tags: { part } });
      const run = Math.max(0, now.parts[part].run - prev.parts[part].run);
      const wait = Math.max(0, now.parts[part].wait - prev.parts[part].wait);
      if (run + wait >= MIN_DEMAND_S) this.o.record({ metric: 'sc_generator_starved', time: now.atMs, value: Math.min(1, wait / (run + wait)), tags: { part } });
    }
  }
}
