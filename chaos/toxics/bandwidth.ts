import { z } from 'zod';
import { probeBurst, probeRtt } from '../path-probe.js';
import type { ToxicKind } from './toxic-fault.js';

export const BandwidthAttributes = z.object({ rate: z.number().int().min(1) }).strict();
export type BandwidthAttributes = z.infer<typeof BandwidthAttributes>;

/**
 * Cap a direction at `rate` KB/s. Verified with a pipelined burst of small answers sized to take
 * ~0.5 s at the cap: the measured throughput must not exceed it (by more than a margin).
 */
export const bandwidthToxic: ToxicKind<BandwidthAttributes> = {
  type: 'bandwidth',
  attributes: BandwidthAttributes,
  async verify(p) {
    const { rate } = p.attributes;
    if (p.dep === 'postgres') {
      // Its probe cannot be pipelined: one small answer only shows the cap for tiny rates.
      const ms = await probeRtt(p.dep, p.host, p.port, { timeoutMs: 10_000 });
      return { ok: true, detail: `postgres answers in ${ms.toFixed(1)} ms; throughput not measurable with its 1-byte probe (rate ${rate} KB/s)` };
    }
    const one = await probeBurst(p.dep, p.host, p.port, 1, { timeoutMs: 5000 });
    const answerBytes = Math.max(1, one.bytes);
    const requests = Math.min(5000, Math.max(10, Math.round((rate * 1024 * 0.5) / answerBytes)));
    const b = await probeBurst(p.dep, p.host, p.port, requests, { timeoutMs: 20_000 });
    const kbps = b.bytes / 1024 / (b.elapsedMs / 1000);
    const ok = b.answers === b.requests && kbps <= rate * 1.3;
    return { ok, detail: `${b.bytes} bytes in ${b.elapsedMs.toFixed(0)} ms = ${kbps.toFixed(1)} KB/s (cap ${rate} KB/s; ${b.answers}/${b.requests} answers)` };
  },
};
