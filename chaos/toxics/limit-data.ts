import { z } from 'zod';
import { probeBurst } from '../path-probe.js';
import type { ToxicKind } from './toxic-fault.js';

export const LimitDataAttributes = z.object({ bytes: z.number().int().min(0) }).strict();
export type LimitDataAttributes = z.infer<typeof LimitDataAttributes>;

/** Close the connection after `bytes` bytes. Verified: a burst that would carry more is cut off at ≤ bytes. */
export const limitDataToxic: ToxicKind<LimitDataAttributes> = {
  type: 'limit_data',
  attributes: LimitDataAttributes,
  async verify(p) {
    const { bytes } = p.attributes;
    // Enough requests that the answers exceed the cap whichever direction it counts.
    const requests = Math.min(2000, Math.max(4, Math.ceil(bytes / 4) + 4));
    const b = await probeBurst(p.dep, p.host, p.port, requests, { timeoutMs: 8000 });
    const within = p.stream === 'downstream' ? b.bytes <= bytes : true;
    const ok = b.closed && b.answers < b.requests && within;
    return { ok, detail: `connection ${b.closed ? 'closed' : 'still open'} after ${b.bytes} bytes (${b.answers}/${b.requests} answers; cap ${bytes} bytes ${p.stream})` };
  },
};
