import { z } from 'zod';
import { probeRtt } from '../path-probe.js';
import type { ToxicKind } from './toxic-fault.js';

export const TimeoutAttributes = z.object({ timeout: z.number().int().min(0) }).strict();
export type TimeoutAttributes = z.infer<typeof TimeoutAttributes>;

/** Stop all data; close after `timeout` ms (0: never). Verified: a probe gets no answer. */
export const timeoutToxic: ToxicKind<TimeoutAttributes> = {
  type: 'timeout',
  attributes: TimeoutAttributes,
  async verify(p) {
    const waitMs = p.attributes.timeout > 0 ? Math.min(p.attributes.timeout + 1000, 5000) : 2000;
    try {
      const ms = await probeRtt(p.dep, p.host, p.port, { timeoutMs: waitMs });
      return { ok: false, detail: `${p.dep} still answered through its proxy (${ms.toFixed(1)} ms)` };
    } catch (e) {
      return { ok: true, detail: `probe failed as expected: ${(e as Error).message}` };
    }
  },
};
