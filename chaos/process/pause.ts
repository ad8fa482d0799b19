import { setTimeout as sleep } from 'node:timers/promises';
import { BaseFault, errText, type CheckResult, type FaultContext, type FaultMeta } from '../fault.js';
import { isAlive, procState, recordOf, resolveProcessTarget, serviceHealthy, sfuWorkerPids, signalTree, statesText, treeStates, type ProcessTarget } from './targets.js';

const allStopped = (s: Record<string, number>): boolean => Object.keys(s).length > 0 && Object.keys(s).every((k) => k === 'T');

/** States of a list of processes, as treeStates. */
function statesOf(pids: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pids) {
    const st = procState(p);
    if (st) out[st] = (out[st] ?? 0) + 1;
  }
  return out;
}

/**
 * SIGSTOP the service's process tree (a hung server: connections stay open, nothing answers); rollback SIGCONTs it.
 * `target:sfu-worker`: only the SFU's mediasoup workers (media stops; signalling and REST answer).
 */
export class PauseFault extends BaseFault {
  readonly mechanism = 'process' as const;
  /** The workers stopped (target:sfu-worker). */
  private workers: number[] = [];

  constructor(meta: FaultMeta, private readonly processTarget: string) {
    super(meta);
  }

  protected async applyFault(ctx: FaultContext): Promise<void> {
    const t = resolveProcessTarget(ctx.lab, this.processTarget);
    const rec = recordOf(ctx.lab, t);
    if (!isAlive(rec)) throw new Error(`${this.processTarget} (pid ${rec.pid}) is not running`);
    if (!PauseFault.workersOnly(t)) return void signalTree(rec.pid, 'SIGSTOP');
    this.workers = sfuWorkerPids(rec.pid);
    if (this.workers.length === 0) throw new Error(`${this.processTarget}: ${t.recordName} (pid ${rec.pid}) has no mediasoup worker`);
    for (const p of this.workers) process.kill(p, 'SIGSTOP');
  }

  private static workersOnly(t: ProcessTarget): boolean {
    return t.kind === 'target' && t.only !== undefined;
  }

  protected async verifyFault(ctx: FaultContext): Promise<CheckResult> {
    try {
      const t = resolveProcessTarget(ctx.lab, this.processTarget);
      const rec = recordOf(ctx.lab, t);
      const states = () => (PauseFault.workersOnly(t) ? statesOf(this.workers) : treeStates(rec.pid));
      // A stop is asynchronous for multi-threaded processes: give it a moment.
      let s = states();
      for (let i = 0; i < 20 && !allStopped(s); i++, s = states()) await sleep(50);
      const what = PauseFault.workersOnly(t) ? `mediasoup workers ${this.workers.join(', ')} of ${t.recordName}` : `${this.processTarget} pid ${rec.pid} and descendants`;
      return { ok: allStopped(s), detail: `${what}: /proc states ${statesText(s)}` };
    } catch (e) {
      return { ok: false, detail: errText(e) };
    }
  }

  protected async rollbackFault(ctx: FaultContext): Promise<CheckResult> {
    try {
      const t = resolveProcessTarget(ctx.lab, this.processTarget);
      const rec = recordOf(ctx.lab, t);
      if (!isAlive(rec)) return { ok: false, detail: `${this.processTarget} pid ${rec.pid} is gone` };
      if (PauseFault.workersOnly(t)) {
        let s = statesOf(this.workers);
        for (let i = 0; i < 20 && (i === 0 || (s.T ?? 0) > 0); i++) {
          for (const p of this.workers) {
            try {
              process.kill(p, 'SIGCONT');
            } catch {
              /* gone */
            }
          }
          await sleep(50);
          s = statesOf(this.workers);
        }
        if ((s.T ?? 0) > 0) return { ok: false, detail: `mediasoup workers ${this.workers.join(', ')}: still stopped after SIGCONT (${statesText(s)})` };
        const h = await serviceHealthy(ctx.lab, t);
        return { ok: h.ok, detail: `mediasoup workers ${this.workers.join(', ')} of ${t.recordName} resumed (${statesText(s)}); ${h.ok ? 'healthy' : 'not healthy'}: ${h.detail}` };
      }
      // Re-send while anything is still stopped: a wrapper such as runuser stops itself again
      // when it notices its child was stopped, after our first SIGCONT.
      let s = treeStates(rec.pid);
      for (let i = 0; i < 20 && (i === 0 || (s.T ?? 0) > 0); i++) {
        signalTree(rec.pid, 'SIGCONT');
        await sleep(100);
        s = treeStates(rec.pid);
      }
      if ((s.T ?? 0) > 0) return { ok: false, detail: `${this.processTarget} pid ${rec.pid}: still stopped after SIGCONT (${statesText(s)})` };
      const h = await serviceHealthy(ctx.lab, t);
      return { ok: h.ok, detail: `${this.processTarget} pid ${rec.pid} resumed (${statesText(s)}); ${h.ok ? 'healthy' : 'not healthy'}: ${h.detail}` };
    } catch (e) {
      return { ok: false, detail: errText(e) };
    }
  }
}
