import { z } from 'zod';
import type { Mechanism } from '../mechanisms.js';
import { DEPENDENCY_NAMES, type DependencyName } from '../types.js';
import { deleteToxic, listToxics, proxyEnabled, proxyNames, setProxyEnabled, TOXIC_PREFIX } from './api.js';
import { TOXIC_KINDS } from './index.js';
import { ProxyDownFault } from './proxy-down.js';
import { ToxicFault } from './toxic-fault.js';

/** Toxiproxy's toxic types (proxy-down is not a toxic: the proxy is disabled). */
export const TOXIC_TYPES = ['latency', 'bandwidth', 'timeout', 'reset_peer', 'slicer', 'limit_data', 'slow_close'] as const;
export type ToxicType = (typeof TOXIC_TYPES)[number];
export type ToxicStream = 'upstream' | 'downstream';

export const DependencySchema = z.enum(DEPENDENCY_NAMES as unknown as [DependencyName, ...DependencyName[]]);

export const ToxicSpecSchema = z.object({
  proxy: DependencySchema,
  type: z.enum(TOXIC_TYPES),
  attributes: z.record(z.string(), z.number()),
  stream: z.enum(['upstream', 'downstream']).optional(),
  /** Share of connections affected, 0..1 (Toxiproxy's default 1). */
  toxicity: z.number().min(0).max(1).optional(),
}).strict().superRefine((t, ctx) => {
  // Each toxic type's own attribute schema (toxics/<type>.ts), errors under `attributes.<name>`.
  const r = TOXIC_KINDS[t.type].attributes.safeParse(t.attributes);
  if (!r.success) for (const i of r.error.issues) ctx.addIssue({ code: 'custom', path: ['attributes', ...i.path], message: i.message });
});
export type ToxicSpec = z.infer<typeof ToxicSpecSchema>;

/**
 * Toxiproxy: `toxic:` (one toxic on a dependency's proxy, named `sch-<faultId>`) and `proxyDown:`
 * (the proxy disabled). Sweep: every toxic, and every disabled proxy enabled again.
 */
export const toxiproxyMechanism: Mechanism<{ toxic: ToxicSpec; proxyDown: DependencyName }> = {
  name: 'toxiproxy',
  specs: {
    toxic: { schema: ToxicSpecSchema, target: (t) => t.proxy, create: (t, meta) => new ToxicFault(meta, TOXIC_KINDS[t.type], t) },
    proxyDown: { schema: DependencySchema, target: (dep) => dep, create: (dep, meta) => new ProxyDownFault(meta, dep) },
  },
  async sweep({ lab, report, attempt }) {
    await attempt('toxiproxy sweep', async () => {
      for (const proxy of await proxyNames(lab)) {
        for (const t of await listToxics(lab, proxy)) {
          // Someone else's Toxiproxy: only the harness's own toxics (the journal re-enabled what it disabled).
          if (lab.isExternal && !t.name.startsWith(TOXIC_PREFIX)) continue;
          await deleteToxic(lab, proxy, t.name);
          report.toxicsRemoved++;
        }
        if (!lab.isExternal && !(await proxyEnabled(lab, proxy))) {
          await setProxyEnabled(lab, proxy, true);
          report.proxiesEnabled++;
        }
      }
    });
  },
};
