import { z } from 'zod';
import { FaultError, type Fault } from './fault.js';
import { SPEC_KINDS, type MechanismSpec } from './mechanisms.js';
import { NAMED_FAULT_NAMES, namedFault } from './named.js';

export { ToxicSpecSchema, TOXIC_TYPES, type ToxicSpec, type ToxicType, type ToxicStream } from './toxics/mechanism.js';
export { UdpSpecSchema, type UdpSpec, type UdpAction } from './udp/mechanism.js';
export { ProcessSpecSchema, type ProcessFaultSpec, type ProcessAction } from './process/mechanism.js';

/** A named fault (`named.ts`) with its parameters. */
export interface NamedFaultSpec {
  id: string;
  fault: string;
  params?: Record<string, unknown>;
}

/** A fault as an experiment file writes it: a named fault, or one mechanism action (`mechanisms.ts`). */
export type FaultSpec = NamedFaultSpec | MechanismSpec;

/** Fault ids name toxics (`sch-<id>`) and nft chains (`fault-<id>-in`): a safe, short alphabet. */
export const FaultIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'must be 1-40 lowercase letters, digits, "-" or "_", starting with a letter or digit');

/** `fault` (named) first, then every mechanism's keys in registry order. */
const KINDS: readonly string[] = ['fault', ...SPEC_KINDS.map((k) => k.key)];

const mechanismKeys: Record<string, z.ZodOptional<z.ZodType<unknown>>> = Object.fromEntries(SPEC_KINDS.map((k) => [k.key, k.kind.schema.optional()]));

/**
 * One fault of an experiment: `{ id, fault: '<named>', params? }`, or exactly one mechanism key
 * (`toxic`, `proxyDown`, `udp`, `process`: see MECHANISMS). Issues carry their path (`params.latencyMs`, `toxic.attributes.latency`).
 */
export const FaultSpecSchema = z.object({
  id: FaultIdSchema,
  fault: z.enum(NAMED_FAULT_NAMES).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
}).extend(mechanismKeys).strict().superRefine((parsed, ctx) => {
  // The mechanism keys' index signature blurs the named keys' types; zod has checked them above.
  const s = parsed as Record<string, unknown> & { fault?: string; params?: Record<string, unknown> };
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

/** A custom fault's params for the report: the spec's value itself, or `{ <key>: value }` for a scalar (`proxyDown: redis`). */
const paramsOf = (key: string, value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' ? { ...(value as Record<string, unknown>) } : { [key]: value };

/** Build a fault from a spec (validated here, so journal entries and hand-written specs are checked alike). */
export function createFault(input: FaultSpec | unknown): Fault {
  const spec = parseFaultSpec(input);
  if ('fault' in spec) {
    const nf = namedFault(spec.fault)!;
    const params = nf.params.parse(spec.params ?? {});
    return nf.build(spec.id, params, { spec, name: nf.name, target: nf.target, params });
  }
  const values = spec as unknown as Record<string, unknown>;
  const found = SPEC_KINDS.find((k) => values[k.key] !== undefined);
  // Unreachable after parseFaultSpec (exactly one key is given); kept so a registry slip fails loudly.
  if (!found) throw new FaultError(`fault "${spec.id}": no mechanism reads any of its keys`);
  const value = values[found.key];
  return found.kind.create(value, { spec, name: 'custom', target: found.kind.target(value), params: paramsOf(found.key, value) });
}
