/**
 * The CPU time of an SFU's mediasoup workers (Linux /proc): the children of the video service's process named
 * mediasoup-worker, in seconds. What the benchmark reads per step as the worker's share of its core.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on Linux). */
const TICKS = 100;

/** pid → CPU seconds of every mediasoup worker whose parent is `servicePid`. */
export function workerCpuSeconds(servicePid: number): Map<number, number> {
  const out = new Map<number, number>();
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
      out.set(Number(e), (Number(f[11]) + Number(f[12])) / TICKS);
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}
