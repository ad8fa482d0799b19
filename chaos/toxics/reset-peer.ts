import { z } from 'zod';
import { probeRtt } from '../path-probe.js';
import type { ToxicKind } from './toxic-fault.js';

export const ResetPeerAttributes = z.object({ timeout: z.number().int().min(0).default(0) }).strict();
export type ResetPeerAttributes = z.infer<typeof ResetPeerAttributes>;

/** Reset connections (TCP RST) after `timeout` ms. Verified: a probe fails. */
export const resetPeerToxic: ToxicKind<ResetPeerAttributes> = {
  type: 'reset_peer',
  attributes: ResetPeerAttributes,
  async verify(p) {
    try {
      const ms = await probeRtt(p.dep, p.host, p.port, { timeoutMs: Math.min(p.attributes.timeout + 2000, 6000) });
      return { ok: false, detail: `${p.dep} still answered through its proxy (${ms.toFixed(1)} ms)` };
    } catch (e) {
      return { ok: true, detail: `probe failed as expected: ${(e as Error).message}` };
    }
  },
};
