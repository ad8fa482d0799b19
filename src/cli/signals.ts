import { redact } from '../util/redact.js';
import { EXIT } from '../util/exit-codes.js';

/**
 * Runs `fn` with an AbortSignal tied to SIGINT / SIGTERM: the work stops cleanly (a run rolls every fault
 * back and reports what it measured; a scenario stops k6, which still writes its summary). A second signal
 * only says to wait. Interrupted and then thrown (a start cut short): the shell gets 130 all the same.
 */
export async function interruptible<T>(stopping: string, fn: (signal: AbortSignal) => Promise<T>): Promise<{ value: T; interrupted: boolean }> {
  const ac = new AbortController();
  let interrupted = false;
  const on = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      process.stderr.write(`\n${sig} again: still stopping, please wait\n`);
      return;
    }
    interrupted = true;
    process.stderr.write(`\n${sig}: ${stopping}\n`);
    ac.abort();
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  try {
    return { value: await fn(ac.signal), interrupted };
  } catch (e) {
    if (!interrupted) throw e;
    process.stderr.write(`error: ${redact(e instanceof Error ? e.message : String(e))}\n`);
    process.exit(EXIT.interrupted);
  } finally {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  }
}
