import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, readSync, existsSync, statSync } from 'node:fs';
import { sleep } from './exec.js';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  logFile: string;
}

/** What the state file keeps of a started process, enough to find and stop it after a crash. */
export interface ProcessRecord {
  name: string;
  pid: number;
  /** /proc/<pid>/stat start time: guards against killing an unrelated process that reused the pid. */
  startTime: string;
  logFile: string;
}

export function procStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; fields after the parenthesised command name are space separated.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

export function isAlive(rec: Pick<ProcessRecord, 'pid' | 'startTime'>): boolean {
  const st = procStartTime(rec.pid);
  if (st === null || st !== rec.startTime) return false;
  try {
    const state = readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
    return state.slice(state.lastIndexOf(')') + 2, state.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Start a long-running process detached from the harness (its own process group, output to its log
 * file), so `lab up` can return and `lab down` — or the next start after a crash — can stop it.
 */
export function spawnDetached(spec: ProcessSpec, prefix: string[] = []): ProcessRecord {
  const fd = openSync(spec.logFile, 'a');
  try {
    const [cmd, ...args] = [...prefix, spec.command, ...spec.args];
    const child = spawn(cmd!, args, {
      cwd: spec.cwd,
      env: { ...minimalEnv(), ...spec.env },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
    child.unref();
    return { name: spec.name, pid: child.pid, startTime: procStartTime(child.pid) ?? '', logFile: spec.logFile };
  } finally {
    closeSync(fd);
  }
}

/** Services get a small, explicit environment: nothing of the harness's own (tokens, CI vars) leaks in. */
function minimalEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR'];
  const out: Record<string, string> = {};
  for (const k of keep) if (process.env[k]) out[k] = process.env[k]!;
  return out;
}

/** SIGTERM the process group, wait up to graceMs, then SIGKILL it. Also reaps a paused (SIGSTOPped) group. */
export async function stopProcess(rec: ProcessRecord, graceMs = 10_000): Promise<void> {
  if (!isAlive(rec)) return;
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-rec.pid, sig);
    } catch {
      try {
        process.kill(rec.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signalGroup('SIGCONT');
  signalGroup('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(rec)) await sleep(100);
  if (isAlive(rec)) {
    signalGroup('SIGKILL');
    const hard = Date.now() + 5_000;
    while (Date.now() < hard && isAlive(rec)) await sleep(50);
  }
}

/** Kill a bare pid (e.g. found inside the lab namespace), SIGCONT first so a paused one can die. */
export function killPid(pid: number): void {
  for (const sig of ['SIGCONT', 'SIGKILL'] as const) {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
}

export function tailFile(file: string, lines = 20): string {
  if (!existsSync(file)) return '(no log file)';
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  try {
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8').split('\n').slice(-lines - 1).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l)).join('\n').trim();
  } finally {
    closeSync(fd);
  }
}

