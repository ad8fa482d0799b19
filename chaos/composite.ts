import { BaseFault, type CheckResult, type Fault, type FaultContext, type FaultMeta } from './fault.js';
import type { FaultMechanism } from './types.js';

/**
 * Several faults as one (e.g. turn-outage: UDP outage + coturn's TCP proxy down). Each part keeps
 * its own id (`<id>-<part>`) and journal entry; apply stops at the first failure, rollback undoes every part.
 */
export class CompositeFault extends BaseFault {
  constructor(meta: FaultMeta, readonly mechanism: FaultMechanism, readonly parts: readonly Fault[]) {
    super(meta);
  }

  protected async applyFault(ctx: FaultContext): Promise<void> {
    for (const p of this.parts) await p.apply(ctx);
  }

  protected async verifyFault(ctx: FaultContext): Promise<CheckResult> {
    const rs = [];
    for (const p of this.parts) rs.push({ id: p.id, ...(await p.verify(ctx)) });
    return { ok: rs.every((r) => r.ok), detail: rs.map((r) => `${r.id}: ${r.ok ? 'ok' : 'NOT ok'}: ${r.detail}`).join('; ') };
  }

  protected async rollbackFault(ctx: FaultContext): Promise<CheckResult> {
    const rs = [];
    // Reverse order, every part even when one fails.
    for (const p of [...this.parts].reverse()) rs.push({ id: p.id, ...(await p.rollback(ctx)) });
    return { ok: rs.every((r) => r.ok), detail: rs.map((r) => `${r.id}: ${r.ok ? 'clean' : 'NOT clean'}: ${r.detail}`).join('; ') };
  }
}
