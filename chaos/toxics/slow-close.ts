import { z } from 'zod';
import { hasCloseProbe, probeCloseDelay, probeRtt } from '../path-probe.js';
import type { ToxicKind } from './toxic-fault.js';

export const SlowCloseAttributes = z.object({ delay: z.number().int().min(0) }).strict();
export type SlowCloseAttributes = z.infer<typeof SlowCloseAttributes>;

/**
 * Delay the close of a connection by `delay` ms. Verified where the protocol lets the server close
 * (Redis QUIT, HTTP Connection: close): time from the answer to the close ≈ delay.
 */
export const slowCloseToxic: ToxicKind<SlowCloseAttributes> = {
  type: 'slow_close',
  attributes: SlowCloseAttributes,
  async verify(p) {
    const { delay } = p.attributes;
    if (!hasCloseProbe(p.dep)) {
      const ms = await probeRtt(p.dep, p.host, p.port);
      return { ok: true, detail: `${p.dep} answers (${ms.toFixed(1)} ms); its protocol has no server-side close to time (delay ${delay} ms not measured)` };
    }
    const gap = await probeCloseDelay(p.dep, p.host, p.port, { timeoutMs: delay + 5000 });
    const ok = gap >= delay * 0.9 - 5 && gap <= delay + 1000;
    return { ok, detail: `connection closed ${gap.toFixed(0)} ms after the answer (slow_close ${delay} ms)` };
  },
};
