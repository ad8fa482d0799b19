import { z } from 'zod';
import { probeBurst } from '../path-probe.js';
import type { ToxicKind } from './toxic-fault.js';

export const SlicerAttributes = z.object({
  average_size: z.number().int().min(1),
  size_variation: z.number().int().min(0).default(0),
  /** Microseconds between slices. */
  delay: z.number().int().min(0).default(0),
}).strict();
export type SlicerAttributes = z.infer<typeof SlicerAttributes>;

/**
 * Slice data into small bits, optionally with a delay between them. Verified: a burst of answers
 * arrives in many more socket reads, each about the slice size (reads merge when delay is 0).
 */
export const slicerToxic: ToxicKind<SlicerAttributes> = {
  type: 'slicer',
  attributes: SlicerAttributes,
  async verify(p) {
    const { average_size, size_variation } = p.attributes;
    const b = await probeBurst(p.dep, p.host, p.port, 5, { timeoutMs: 15_000 });
    const mean = b.bytes / Math.max(1, b.chunks);
    const ok = b.answers === b.requests && mean <= 2 * (average_size + size_variation) + 2;
    return { ok, detail: `${b.bytes} bytes arrived in ${b.chunks} reads (mean ${mean.toFixed(1)} bytes; slices of ${average_size}±${size_variation}); ${b.answers}/${b.requests} answers` };
  },
};
