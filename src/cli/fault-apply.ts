/**
 * `sch fault apply`'s flow once the input is valid and the lab attached: apply (which journals first),
 * verify on the wire, then either leave the fault on (journaled: `sch fault clear` or the next run's
 * cleanupFaults undoes it) or hold it for --duration and roll it back. Ctrl-C / SIGTERM at any point
 * after apply rolls it back first, then exits 130.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errText, type CheckResult, type Fault, type FaultContext, type FaultLab } from '../../chaos/fault.js';
import { EXIT, worstExit } from '../util/exit-codes.js';
import { formatDuration } from '../util/duration.js';
import { redact } from '../util/redact.js';
import { DEFAULT_LAB } from '../util/lab-name.js';
import { interruptible } from './signals.js';

export interface ApplyOptions {
  /** Hold the fault this long (ms from when it is applied), then roll it back; absent: leave it on. */
  durationMs?: number;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

const aborted = (signal: AbortSignal): Promise<'aborted'> =>
  new Promise((r) => (signal.aborted ? r('aborted') : signal.addEventListener('abort', () => r('aborted'), { once: true })));

/** rollback() catches its own errors; a throw here (a bug, a lab gone) still reads as "not clean". */
async function rollback(fault: Fault, ctx: FaultContext): Promise<CheckResult> {
  try {
    return await fault.rollback(ctx);
  } catch (e) {
    return { ok: false, detail: `rollback threw: ${errText(e)}` };
  }
}

async function verify(fault: Fault, ctx: FaultContext): Promise<CheckResult> {
  try {
    return await fault.verify(ctx);
  } catch (e) {
    return { ok: false, detail: `verify threw: ${errText(e)}` };
  }
}

/**
 * Exit code: 0 applied and seen on the wire (and, with a duration, rolled back cleanly); 1 applied but
 * verify did not see it (left on, or held and rolled back); 2 apply failed (rolled back) or a rollback
 * was not clean; 130 interrupted (rolled back first). When several apply, worstExit picks.
 */
export async function applyFault(lab: FaultLab, fault: Fault, o: ApplyOptions = {}): Promise<number> {
  const out = o.out ?? ((l: string) => process.stdout.write(`${redact(l)}\n`));
  let err = o.err ?? ((l: string) => process.stderr.write(`${redact(l)}\n`));
  const ctx: FaultContext = { lab, log: (l) => err(`[fault] ${l}`) };
  const clearHint = `sch fault clear ${fault.id}${lab.name === DEFAULT_LAB ? '' : ` --lab ${lab.name}`}`;
  const what = `${fault.id} (${fault.name}: ${fault.mechanism} on ${fault.target})`;

  const rolledBack = async (why: string): Promise<number> => {
    const rb = await rollback(fault, ctx);
    out(`${why}; rolled back: ${rb.ok ? 'clean' : `NOT clean: ${rb.detail}; retry with ${clearHint}`}`);
    return rb.ok ? EXIT.ok : EXIT.runFailed;
  };

  const { value, interrupted } = await interruptible('rolling the fault back', async (signal) => {
    try {
      await fault.apply(ctx);
    } catch (e) {
      return worstExit(EXIT.runFailed, await rolledBack(`apply of ${what} failed: ${errText(e)}`));
    }
    const appliedAt = Date.now();
    out(`applied ${what}`);
    if (signal.aborted) return rolledBack('interrupted');

    const v = await Promise.race([verify(fault, ctx), aborted(signal)]);
    if (v === 'aborted') {
      // The verify still in flight would measure a path already restored: silence its log.
      err = () => undefined;
      return rolledBack('interrupted before verify finished');
    }
    out(v.ok ? `landed (measured on the wire): ${v.detail}` : `did NOT land (verify): ${v.detail}`);
    const landed = v.ok ? EXIT.ok : EXIT.notAsExpected;

    if (o.durationMs === undefined) {
      if (signal.aborted) return worstExit(landed, await rolledBack('interrupted'));
      out(`${fault.id} stays on until: ${clearHint}`);
      return landed;
    }
    const left = o.durationMs - (Date.now() - appliedAt);
    if (left > 0) {
      err(`holding ${fault.id} for ${formatDuration(left)} more (Ctrl-C rolls it back now)`);
      await sleep(left, undefined, { signal }).catch(() => undefined);
    }
    const on = formatDuration(Date.now() - appliedAt);
    return worstExit(landed, await rolledBack(signal.aborted ? `interrupted after ${on}` : `held ${on}`));
  });
  return interrupted ? worstExit(EXIT.interrupted, value) : value;
}
