import { z } from 'zod';
import { probeRtts } from '../path-probe.js';
import { fmt, type ToxicKind } from './toxic-fault.js';

export const LatencyAttributes = z.object({
  latency: z.number().int().min(0).max(120_000),
  jitter: z.number().int().min(0).max(60_000).default(0),
}).strict();
export type LatencyAttributes = z.infer<typeof LatencyAttributes>;

/** Delay data by latency ± jitter ms. Verified: median RTT of 5 probes minus the baseline's floor ≈ latency. */
export const latencyToxic: ToxicKind<LatencyAttributes> = {
  type: 'latency',
  attributes: LatencyAttributes,
  expectedLatencyMs: (a) => a.latency,
  async verify(p) {
    const { latency, jitter } = p.attributes;
    const s = await probeRtts(p.dep, p.host, p.port, 5, { timeoutMs: latency + jitter + 3000 });
    if (s.medianMs === null) return { ok: false, detail: `no probe answered: ${s.failures[0] ?? ''}` };
    const added = s.medianMs - (p.baselineMs ?? 0);
    // Timer granularity and scheduling on a loaded machine: ±10 % or ±15 ms, plus the jitter.
    const tolerance = Math.max(15, latency * 0.1) + jitter;
    const ok = Math.abs(added - latency) <= tolerance;
    return { ok, detail: `added ${added.toFixed(1)} ms (median ${fmt(s.medianMs)} of ${s.rtts.length} probes, baseline ${fmt(p.baselineMs)}), expected ${latency}±${tolerance.toFixed(0)} ms` };
  },
};
