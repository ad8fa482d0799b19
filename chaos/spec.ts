import { z } from 'zod';
import { DEPENDENCY_NAMES, type DependencyName } from '../src/topology/topology.js';
import { FaultError, type Fault, type FaultMeta } from './fault.js';
import { NAMED_FAULT_NAMES, namedFault } from './named.js';
import { KillRestartFault } from './process/kill-restart.js';
import { PauseFault } from './process/pause.js';
import { TOXIC_KINDS } from './toxics/index.js';
import { ProxyDownFault } from './toxics/proxy-down.js';
import { ToxicFault } from './toxics/toxic-fault.js';
import { TOXIC_TYPES, type FaultSpec } from './spec-types.js';
import { UdpFault } from './udp/udp-fault.js';
import { udpLoss } from './udp/loss.js';
import { udpOutage } from './udp/outage.js';
import { udpRateCap } from './udp/rate-cap.js';

export type { FaultSpec, ToxicSpec, UdpSpec, ProcessFaultSpec } from './spec-types.js';

const Dependency = z.enum(DEPENDENCY_NAMES as unknown as [DependencyName, ...DependencyName[]]);

/** Fault ids name toxics (`sch-<id>`) and nft chains (`fault-<id>-in`): a safe, short alphabet. */
export const FaultIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'must be 1-40 lowercase letters, digits, "-" or "_", starting with a letter or digit');

export const ToxicSpecSchema = z.object({
  proxy: Dependency,
  type: z.enum(TOXIC_TYPES),
  attributes: z.record(z.string(), z.number()),
  stream: z.enum(['upstream', 'downstream']).optional(),
  toxicity: z.number().min(0).max(1).optional(),
}).strict().superRefine((t, ctx) => {
  // Each toxic type's own attribute schema (toxics/<type>.ts), errors under `attributes.<name>`.
  const r = TOXIC_KINDS[t.type].attributes.safeParse(t.attributes);
  if (!r.success) for (const i of r.error.issues) ctx.addIssue({ code: 'custom', path: ['attributes', ...i.path], message: i.message });
});

export const UdpSpecSchema = z.object({
  action: z.enum(['loss', 'outage', 'rate-cap']),
  percent: z.number().min(0).max(100).optional(),
  kbytesPerSecond: z.number().positive().optional(),
}).strict().superRefine((u, ctx) => {
  if (u.action === 'loss' && u.percent === undefined) ctx.addIssue({ code: 'custom', path: ['percent'], message: 'required for action "loss"' });
  if (u.action === 'rate-cap' && u.kbytesPerSecond === undefined) ctx.addIssue({ code: 'custom', path: ['kbytesPerSecond'], message: 'required for action "rate-cap"' });
});

export const ProcessSpecSchema = z.object({
  action: z.enum(['pause', 'kill-restart']),
  target: z.string().regex(/^(target:([a-z0-9-]+:)?[a-z]+|[a-z]+)$/, 'must be a lab service (redis, postgres, …) or target:<service> / target:<instance>:<service>'),
}).strict();

const KINDS = ['fault', 'toxic', 'proxyDown', 'udp', 'process'] as const;

/**
 * One fault of an experiment: `{ id, fault: '<named>', params? }`, or exactly one of
 * `toxic`, `proxyDown`, `udp`, `process`. Issues carry their path (`params.latencyMs`, `toxic.attributes.latency`).
 */
export const FaultSpecSchema = z.object({
  id: FaultIdSchema,
  fault: z.enum(NAMED_FAULT_NAMES).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  toxic: ToxicSpecSchema.optional(),
  proxyDown: Dependency.optional(),
  udp: UdpSpecSchema.optional(),
  process: ProcessSpecSchema.optional(),
}).strict().superRefine((s, ctx) => {
  const given = KINDS.filter((k) => s[k] !== undefined);
  if (given.length !== 1) {
    ctx.addIssue({ code: 'custom', path: [], message: given.length ? `give exactly one of ${KINDS.join(', ')} (got ${given.join(', ')})` : `needs one of ${KINDS.join(', ')}` });
    return;
  }
  if (s.params !== undefined && s.fault === undefined) ctx.addIssue({ code: 'custom', path: ['params'], message: 'only a named fault (`fault:`) takes params' });
  if (s.fault !== undefined) {
    const r = namedFault(s.fault)!.params.safeParse(s.params ?? {});
    if (!r.success) for (const i of r.error.issues) ctx.addIssue({ code: 'custom', path: ['params', ...i.path], message: i.message });
  }
}).transform((s) => s as FaultSpec);

/** `faults[2].params.latencyMs: expected number`: one line per issue, paths as the file spells them. */
export function formatIssues(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((i) => {
    const path = i.path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), prefix);
    return `${path || '(spec)'}: ${i.message}`;
  });
}

export function parseFaultSpec(input: unknown, prefix = ''): FaultSpec {
  const r = FaultSpecSchema.safeParse(input);
  if (!r.success) throw new FaultError(`invalid fault spec:\n  ${formatIssues(r.error, prefix).join('\n  ')}`);
  return r.data;
}

/** Build a fault from a spec (validated here, so journal entries and hand-written specs are checked alike). */
export function createFault(input: FaultSpec | unknown): Fault {
  const spec = parseFaultSpec(input);
  const meta = (name: string, target: string, params: Record<string, unknown>): FaultMeta => ({ spec, name, target, params });
  if ('fault' in spec) {
    const nf = namedFault(spec.fault)!;
    const params = nf.params.parse(spec.params ?? {});
    return nf.build(spec.id, params, meta(nf.name, nf.target, params));
  }
  if ('toxic' in spec) {
    const t = spec.toxic;
    return new ToxicFault(meta('custom', t.proxy, { ...t }), TOXIC_KINDS[t.type], t);
  }
  if ('proxyDown' in spec) return new ProxyDownFault(meta('custom', spec.proxyDown, { proxyDown: spec.proxyDown }), spec.proxyDown);
  if ('udp' in spec) {
    const u = spec.udp;
    const action = u.action === 'loss' ? udpLoss(u.percent!) : u.action === 'outage' ? udpOutage() : udpRateCap(u.kbytesPerSecond!);
    return new UdpFault(meta('custom', 'turn-udp', { ...u }), action);
  }
  const p = spec.process;
  const m = meta('custom', p.target, { ...p });
  return p.action === 'pause' ? new PauseFault(m, p.target) : new KillRestartFault(m, p.target);
}
