import { setTimeout as sleep } from 'node:timers/promises';
import { BaseFault, errText, type CheckResult, type FaultContext, type FaultLab, type FaultMeta, type FaultProcessRecord } from '../fault.js';
import { isAlive, recordOf, resolveProcessTarget, serviceHealthy, signalTree, type ProcessTarget } from './targets.js';

/** Restart a service from its kept spawn spec and wait until it answers. */
export async function restartProcessTarget(lab: FaultLab, t: ProcessTarget): Promise<FaultProcessRecord> {
  return t.kind === 'lab' ? lab.restartService(t.service) : lab.restartTargetService(t.recordName, t.healthUrl);
}

/** SIGKILL the service's process group (a crash: no shutdown, no flush); rollback restarts it with the same config. */
export class KillRestartFault extends BaseFault {
  readonly mechanism = 'process' as const;
  private killed: FaultProcessRecord | null = null;

  constructor(meta: FaultMeta, private readonly processTarget: string) {
    super(meta);
  }

  protected async applyFault(ctx: FaultContext): Promise<void> {
    const rec = recordOf(ctx.lab, resolveProcessTarget(ctx.lab, this.processTarget));
    this.killed = rec;
    signalTree(rec.pid, 'SIGKILL');
    for (let i = 0; i < 100 && isAlive(rec); i++) await sleep(50);
  }

  protected async verifyFault(ctx: FaultContext): Promise<CheckResult> {
    try {
      const rec = this.killed ?? recordOf(ctx.lab, resolveProcessTarget(ctx.lab, this.processTarget));
      const alive = isAlive(rec);
      return { ok: !alive, detail: `${this.processTarget} pid ${rec.pid} ${alive ? 'still running' : 'gone'}` };
    } catch (e) {
      return { ok: false, detail: errText(e) };
    }
  }

  protected async rollbackFault(ctx: FaultContext): Promise<CheckResult> {
    try {
      const t = resolveProcessTarget(ctx.lab, this.processTarget);
      const current = recordOf(ctx.lab, t);
      let how = `already running (pid ${current.pid})`;
      if (!isAlive(current)) {
        const t0 = Date.now();
        const rec = await restartProcessTarget(ctx.lab, t);
        how = `restarted as pid ${rec.pid} in ${((Date.now() - t0) / 1000).toFixed(1)} s`;
      }
      const h = await serviceHealthy(ctx.lab, t);
      return { ok: h.ok, detail: `${this.processTarget} ${how}; ${h.ok ? 'healthy' : 'not healthy'}: ${h.detail}` };
    } catch (e) {
      return { ok: false, detail: `restarting ${this.processTarget}: ${errText(e)}` };
    }
  }
}
