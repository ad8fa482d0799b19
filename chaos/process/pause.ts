import { setTimeout as sleep } from 'node:timers/promises';
import { BaseFault, errText, type CheckResult, type FaultContext, type FaultMeta } from '../fault.js';
import { isAlive, recordOf, resolveProcessTarget, serviceHealthy, signalTree, statesText, treeStates } from './targets.js';

const allStopped = (s: Record<string, number>): boolean => Object.keys(s).length > 0 && Object.keys(s).every((k) => k === 'T');

/** SIGSTOP the service's process tree (a hung server: connections stay open, nothing answers); rollback SIGCONTs it. */
export class PauseFault extends BaseFault {
  readonly mechanism = 'process' as const;

  constructor(meta: FaultMeta, private readonly processTarget: string) {
    super(meta);
  }

  protected async applyFault(ctx: FaultContext): Promise<void> {
    const rec = recordOf(ctx.lab, resolveProcessTarget(ctx.lab, this.processTarget));
    if (!isAlive(rec)) throw new Error(`${this.processTarget} (pid ${rec.pid}) is not running`);
    signalTree(rec.pid, 'SIGSTOP');
  }

  protected async verifyFault(ctx: FaultContext): Promise<CheckResult> {
    try {
      const rec = recordOf(ctx.lab, resolveProcessTarget(ctx.lab, this.processTarget));
      // A stop is asynchronous for multi-threaded processes: give it a moment.
      let s = treeStates(rec.pid);
      for (let i = 0; i < 20 && !allStopped(s); i++, s = treeStates(rec.pid)) await sleep(50);
      return { ok: allStopped(s), detail: `${this.processTarget} pid ${rec.pid} and descendants: /proc states ${statesText(s)}` };
    } catch (e) {
      return { ok: false, detail: errText(e) };
    }
  }

  protected async rollbackFault(ctx: FaultContext): Promise<CheckResult> {
    try {
      const t = resolveProcessTarget(ctx.lab, this.processTarget);
      const rec = recordOf(ctx.lab, t);
      if (!isAlive(rec)) return { ok: false, detail: `${this.processTarget} pid ${rec.pid} is gone` };
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
