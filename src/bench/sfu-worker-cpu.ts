/**
 * The CPU time of an SFU's mediasoup workers (Linux /proc): the children of the video service's process named
 * mediasoup-worker, in seconds. What the benchmark reads per step as the worker's share of its core.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on Linux). */
const TICKS = 100;

/** pid → CPU seconds (user + system, and system alone) of every mediasoup worker whose parent is `servicePid`. */
export function workerCpuSeconds(servicePid: number): Map<number, { cpuS: number; sysS: number }> {
  const out = new Map<number, { cpuS: number; sysS: number }>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const s = readFileSync(`/proc/${e}/stat`, 'utf8');
      const name = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      // The command name as the kernel keeps it: 15 characters at most.
      if (!'mediasoup-worker'.startsWith(name) || name.length < 9) continue;
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) !== servicePid) continue;
      out.set(Number(e), { cpuS: (Number(f[11]) + Number(f[12])) / TICKS, sysS: Number(f[12]) / TICKS });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** What the benchmark reads of the worker at a step's start and end (cumulative, seconds). */
export interface WorkerReading {
  cpuS: number;
  /** Of cpuS, the time in the kernel (its sockets, and the packets it sends delivered on its own core). */
  sysS: number;
  /** Time runnable but waiting for a CPU (/proc/<pid>/schedstat, second field). */
  waitS: number;
  /** The worker's core from /proc/stat: busy and total time (null: not pinned to one core). */
  core: { busyS: number; totalS: number } | null;
}

/** The workers of `servicePid` summed, and `core`'s counters; null when no worker is found. */
export function readWorker(servicePid: number, core: number | null): WorkerReading | null {
  const cpu = workerCpuSeconds(servicePid);
  if (cpu.size === 0) return null;
  let waitS = 0;
  for (const pid of cpu.keys()) {
    try {
      waitS += Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
    } catch {
      /* exited meanwhile */
    }
  }
  const all = [...cpu.values()];
  return { cpuS: all.reduce((a, b) => a + b.cpuS, 0), sysS: all.reduce((a, b) => a + b.sysS, 0), waitS, core: core === null ? null : coreTimes(core) };
}

/** One CPU's busy and total time from /proc/stat (idle and iowait are not busy). */
function coreTimes(core: number): { busyS: number; totalS: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${core} `));
    if (!line) return null;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busyS: (total - f[3]! - f[4]!) / TICKS, totalS: total / TICKS };
  } catch {
    return null;
  }
}
