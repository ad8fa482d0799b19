import { BaseFault, errText, type CheckResult, type FaultContext, type FaultMeta } from '../fault.js';
import { probeRtt, probeRtts } from '../path-probe.js';
import type { DependencyName } from '../types.js';
import { proxyEnabled, setProxyEnabled } from './api.js';

/** The dependency's proxy disabled: its listener closes, so new connections are refused and open ones drop. */
export class ProxyDownFault extends BaseFault {
  readonly mechanism = 'toxiproxy' as const;

  constructor(meta: FaultMeta, private readonly proxy: DependencyName) {
    super(meta);
  }

  protected async applyFault(ctx: FaultContext): Promise<void> {
    await setProxyEnabled(ctx.lab, this.proxy, false);
  }

  protected async verifyFault(ctx: FaultContext): Promise<CheckResult> {
    const { host, port } = ctx.lab.endpoint(this.proxy);
    try {
      const ms = await probeRtt(this.proxy, host, port, { timeoutMs: 2000 });
      return { ok: false, detail: `${this.proxy} still answers through ${host}:${port} (${ms.toFixed(1)} ms)` };
    } catch (e) {
      return { ok: true, detail: `probe through proxy ${this.proxy} fails as expected: ${errText(e)}` };
    }
  }

  protected async rollbackFault(ctx: FaultContext): Promise<CheckResult> {
    try {
      await setProxyEnabled(ctx.lab, this.proxy, true);
      if (!(await proxyEnabled(ctx.lab, this.proxy))) return { ok: false, detail: `proxy ${this.proxy} still disabled` };
      const { host, port } = ctx.lab.endpoint(this.proxy);
      const s = await probeRtts(this.proxy, host, port, 3);
      if (s.medianMs === null) return { ok: false, detail: `proxy ${this.proxy} enabled, but no answer through it: ${s.failures[0] ?? ''}` };
      return { ok: true, detail: `proxy ${this.proxy} enabled; answers in ${s.medianMs.toFixed(1)} ms` };
    } catch (e) {
      return { ok: false, detail: `re-enabling proxy ${this.proxy}: ${errText(e)}` };
    }
  }
}
