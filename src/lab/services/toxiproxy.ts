import { join } from 'node:path';
import type { ServiceDefinition } from './types.js';

export const toxiproxyService: ServiceDefinition = {
  name: 'toxiproxy',
  requires: (b) => [b.toxiproxy],
  startTimeoutMs: 10_000,
  async prepare(ctx) {
    return {
      name: 'toxiproxy',
      command: ctx.bins.toxiproxy,
      // -proxy-metrics: per-proxy byte counters on /metrics, the runner's evidence that the workload used a path.
      args: ['-host', ctx.address, '-port', String(ctx.ports.toxiproxyApi), '-proxy-metrics'],
      logFile: join(ctx.dir, 'logs', 'toxiproxy.log'),
    };
  },
  async probe(ctx) {
    const res = await fetch(`http://${ctx.address}:${ctx.ports.toxiproxyApi}/version`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`/version answered ${res.status}`);
    return (await res.text()).trim();
  },
};
