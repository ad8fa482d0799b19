/**
 * Keeps the SFU worker under test on a core of its own (`taskset`): the worker on the last core, every other
 * process of the lab, the target and this generator on the rest, so "worker CPU" is the share of one core nobody
 * else uses and the generator never competes with what it measures. restore() gives every pinned process all
 * cores back (a lab the benchmark did not start is left as it found it).
 */
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pinning {
  workerCore: number;
  otherCores: string;
  /** Processes pinned (the worker first). */
  pids: number[];
  restore(): Promise<void>;
}

/** taskset -a: every thread of the process (the worker's and Node's helper threads too). */
async function pin(pid: number, list: string): Promise<boolean> {
  try {
    await run('taskset', ['-a', '-p', '-c', list, String(pid)], { timeout: 5_000 });
    return true;
  } catch {
    return false; // exited meanwhile, or taskset refused: the step's CPU readings say what it cost
  }
}

/** Null when the machine has a single core (nothing to keep apart). */
export async function pinWorker(workerPids: number[], otherPids: number[]): Promise<Pinning | null> {
  const n = cpus().length;
  if (n < 2 || workerPids.length === 0) return null;
  const workerCore = n - 1;
  const otherCores = n === 2 ? '0' : `0-${n - 2}`;
  const all = `0-${n - 1}`;
  const pinned: number[] = [];
  for (const pid of workerPids) if (await pin(pid, String(workerCore))) pinned.push(pid);
  for (const pid of [...new Set(otherPids)].filter((p) => !workerPids.includes(p))) if (await pin(pid, otherCores)) pinned.push(pid);
  return {
    workerCore, otherCores, pids: pinned,
    restore: async () => {
      for (const pid of pinned) await pin(pid, all);
    },
  };
}
