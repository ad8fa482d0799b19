import { z } from 'zod';
import { CompositeFault } from './composite.js';
import type { Fault, FaultMeta } from './fault.js';
import { KillRestartFault } from './process/kill-restart.js';
import { ProxyDownFault } from './toxics/proxy-down.js';
import { latencyToxic } from './toxics/latency.js';
import { ToxicFault } from './toxics/toxic-fault.js';
import type { ToxicKind } from './toxics/toxic-fault.js';
import type { DependencyName, FaultMechanism } from './types.js';
import { UdpFault } from './udp/udp-fault.js';
import { udpLoss } from './udp/loss.js';
import { udpOutage } from './udp/outage.js';
import { TurnRelayExhaustFault } from './turn/relay-exhaust.js';

/** A fault with a name an experiment can use: what it does, and its parameters with defaults. */
export interface NamedFault<P extends Record<string, unknown> = Record<string, unknown>> {
  name: string;
  description: string;
  mechanism: FaultMechanism;
  target: string;
  params: z.ZodType<P>;
  build(id: string, params: P, meta: FaultMeta): Fault;
}

const NoParams = z.object({}).strict();
const Latency = (defaultMs: number) => z.object({
  latencyMs: z.number().int().min(0).max(120_000).default(defaultMs),
  jitterMs: z.number().int().min(0).max(60_000).default(0),
}).strict();

const proxyDown = (name: string, dep: DependencyName, description: string): NamedFault => ({
  name, description, mechanism: 'toxiproxy', target: dep, params: NoParams,
  build: (_id, _p, meta) => new ProxyDownFault(meta, dep),
});

const slow = (name: string, dep: DependencyName, defaultMs: number): NamedFault<z.infer<ReturnType<typeof Latency>>> => ({
  name, mechanism: 'toxiproxy', target: dep, params: Latency(defaultMs),
  description: `${dep} answers late: latency toxic (default ${defaultMs} ms) on its proxy's downstream`,
  build: (_id, p, meta) => new ToxicFault(meta, latencyToxic as unknown as ToxicKind, { proxy: dep, attributes: { latency: p.latencyMs, jitter: p.jitterMs } }),
});

const TurnLossParams = z.object({ percent: z.number().min(0).max(100).default(30) }).strict();

const REGISTRY: readonly NamedFault[] = [
  proxyDown('redis-outage', 'redis', 'Redis unreachable: its proxy disabled (connections refused, open ones dropped)'),
  slow('cassandra-slow', 'cassandra', 3000) as unknown as NamedFault,
  proxyDown('minio-down', 'minio', 'MinIO unreachable: its proxy disabled'),
  {
    name: 'turn-loss', mechanism: 'nft', target: 'turn-udp', params: TurnLossParams,
    description: 'TURN UDP packet loss (default 30 % each way) on coturn\'s listener and relay ports (nftables, lab namespace)',
    build: (_id, p, meta) => new UdpFault(meta, udpLoss((p as z.infer<typeof TurnLossParams>).percent)),
  },
  {
    name: 'turn-outage', mechanism: 'nft', target: 'turn', params: NoParams,
    description: 'TURN unreachable: every UDP packet to/from coturn dropped (nftables) and its TCP proxy disabled',
    build: (id, _p, meta) => new CompositeFault(meta, 'nft', [
      new UdpFault({ spec: { id: `${id}-udp`, udp: { action: 'outage' } }, name: 'custom', target: 'turn-udp', params: { action: 'outage' } }, udpOutage()),
      new ProxyDownFault({ spec: { id: `${id}-tcp`, proxyDown: 'coturn' }, name: 'custom', target: 'coturn', params: { proxyDown: 'coturn' } }, 'coturn'),
    ]),
  },
  {
    name: 'redis-crash-restart', mechanism: 'process', target: 'redis', params: NoParams,
    description: 'redis-server SIGKILLed (a crash; its data is gone: no persistence); rollback restarts it with the same config',
    build: (_id, _p, meta) => new KillRestartFault(meta, 'redis'),
  },
  slow('postgres-slow', 'postgres', 500) as unknown as NamedFault,
  proxyDown('push-down', 'push', 'The push provider unreachable (its send API\'s proxy disabled: connections refused, open ones dropped)'),
  slow('push-slow', 'push', 5000) as unknown as NamedFault,
  {
    name: 'turn-relay-exhaust', mechanism: 'turn', target: 'turn-relay', params: NoParams,
    description: 'coturn\'s relay capacity used up: real TURN Allocates (REST credentials) until coturn refuses one (508), held and refreshed; rollback releases them (Refresh lifetime 0)',
    build: (_id, _p, meta) => new TurnRelayExhaustFault(meta),
  },
];

export const NAMED_FAULT_NAMES = REGISTRY.map((f) => f.name) as [string, ...string[]];

export function namedFault(name: string): NamedFault | undefined {
  return REGISTRY.find((f) => f.name === name);
}

export interface NamedFaultInfo {
  name: string;
  description: string;
  mechanism: FaultMechanism;
  target: string;
  defaults: Record<string, unknown>;
}

/** For `sch chaos list`: every named fault with its default parameters. */
export function listNamedFaults(): NamedFaultInfo[] {
  return REGISTRY.map((f) => ({ name: f.name, description: f.description, mechanism: f.mechanism, target: f.target, defaults: f.params.parse({}) }));
}
