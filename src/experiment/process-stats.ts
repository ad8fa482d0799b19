/**
 * A service's own processes as the kernel sees them (/proc): resident memory, open file descriptors and CPU time,
 * summed over the process and its descendants (the video service's mediasoup workers are part of it).
 * The parsing is pure (unit-tested on text); reading tolerates a process that ends meanwhile.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { withDescendants } from './observers.js';

/** USER_HZ of /proc/<pid>/stat (100 on Linux). */
const TICKS = 100;

/** VmRSS of /proc/<pid>/status, in bytes (null: a kernel thread or a zombie has none). */
export function parseRssBytes(status: string): number | null {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : null;
}

/** utime + stime of /proc/<pid>/stat, in seconds (the command name may hold spaces and parentheses). */
export function parseCpuSeconds(stat: string): number | null {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  return Number.isFinite(ticks) ? ticks / TICKS : null;
}

export interface ProcessTotals {
  /** Processes read (the roots alive and their descendants). */
  processes: number;
  rssBytes: number;
  openFds: number;
  cpuSeconds: number;
}

/** Totals over `pids` and their descendants, alive now; null when none of them is. */
export function processTotals(pids: readonly number[]): ProcessTotals | null {
  const out: ProcessTotals = { processes: 0, rssBytes: 0, openFds: 0, cpuSeconds: 0 };
  for (const pid of withDescendants(pids)) {
    try {
      const rss = parseRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8'));
      const cpu = parseCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      const fds = readdirSync(`/proc/${pid}/fd`).length;
      out.processes++;
      out.rssBytes += rss ?? 0;
      out.cpuSeconds += cpu ?? 0;
      out.openFds += fds;
    } catch {
      /* ended meanwhile */
    }
  }
  return out.processes > 0 ? out : null;
}
