import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { HARNESS_ROOT } from '../src/lab/paths.js';

/** bin/sch, as a user runs it. */
export const SCH = join(HARNESS_ROOT, 'bin', 'sch');

export interface SchResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

export interface SchOptions {
  cwd?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
  /** Called once the process is spawned (e.g. to signal it later). */
  started?: (child: ChildProcess) => void;
}

/**
 * Runs bin/sch as a subprocess and collects its exit code and output (a hung command is SIGKILLed
 * after timeoutMs, so a test fails rather than hangs). For tests of the CLI as typed.
 */
export function sch(args: readonly string[], o: SchOptions = {}): Promise<SchResult> {
  return new Promise((done) => {
    const c = spawn(SCH, [...args], { cwd: o.cwd ?? HARNESS_ROOT, env: { ...process.env, NO_COLOR: '1', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), o.timeoutMs ?? 30_000);
    o.started?.(c);
    // 'close', not 'exit': the output pipes are drained by then.
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, out, err });
    });
  });
}
