import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { edgeRequestCount } from '../../src/lab/edge.js';
import { defineExperiment, type Experiment } from '../../src/experiment/spec.js';
import { runExperiment } from '../../src/experiment/runner.js';
import type { RunResult } from '../../src/results/model.js';
import { testLab } from './helpers.js';

/**
 * A scenario sent through the lab's public entry (`via: edge`) on both kinds of profile: the chat fan-out
 * (registration, a conversation, REST sends, one chat socket per receiver) over the audited entry's plain HTTP,
 * and over the hardened one's HTTPS with the lab certificate as k6's only trusted root, split over two
 * generators (each instance gets the certificate). nginx's own request counter shows the traffic went through it.
 */
let lab: Lab;
const runsDir = join(HARNESS_ROOT, 'reports', 'runs', `itest-edge-workloads-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  mkdirSync(runsDir, { recursive: true });
});

function throughEdge(profile: 'audited' | 'hardened', generators: number): Experiment {
  return defineExperiment({
    name: `edge-chat-${profile}`, description: 'the chat fan-out through the public entry',
    target: { kind: 'embedded', profile, edge: true, services: ['auth', 'chat', 'gateway'], env: {} },
    durationS: 8,
    workloads: [{ id: 'chat', scenario: 'chat-fanout', via: 'edge', generators, env: { SC_GROUP_SIZE: '6', SC_RATE: '4', SC_WARMUP: '2s', SC_DRAIN: '3s' } }],
    hypotheses: [{ id: 'nothing-lost', description: 'every message reached every receiver once', claims: ['NO-MESSAGE-LOSS'], kind: 'nothing-lost', workload: 'chat', phase: 'run' }],
  });
}

const explain = (r: RunResult) => `${r.error ?? ''}\n${r.hypotheses.map((h) => `${h.id}: ${h.verdict} — ${h.evidence}`).join('\n')}`;

/** k6's own count of HTTP requests (sockets' upgrades included), over every instance of the workload. */
function httpRequests(dir: string, instances: string[]): number {
  return instances.reduce((n, i) => {
    const s = JSON.parse(readFileSync(join(dir, 'workloads', 'chat', i, 'summary.json'), 'utf8')) as { metrics: Record<string, { count?: number; values?: { count?: number } }> };
    const m = s.metrics.http_reqs;
    return n + (m?.count ?? m?.values?.count ?? 0);
  }, 0);
}

describe('a k6 workload through the public entry (via: edge)', () => {
  for (const [profile, generators] of [['audited', 1], ['hardened', 2]] as const) {
    it(`${profile}${generators > 1 ? `, over ${generators} generators` : ''}: the chat fan-out runs clean through nginx (${profile === 'hardened' ? 'HTTPS, the lab certificate trusted alone' : 'plain HTTP'})`, async () => {
      const before = await edgeRequestCount(lab.address, lab.ports.edge.status);
      const r = await runExperiment({ experiment: throughEdge(profile, generators), profile, labName: lab.name, runsDir });
      const after = await edgeRequestCount(lab.address, lab.ports.edge.status);
      expect(r.error, explain(r)).toBeUndefined();
      const lost = r.hypotheses.find((h) => h.id === 'nothing-lost')!;
      expect(lost.verdict, explain(r)).toBe('PASS');
      expect(lost.evidence).toMatch(/lost 0, duplicates 0/);
      const dir = join(runsDir, r.runId);
      const sent = httpRequests(dir, generators > 1 ? ['setup', 'g1', 'g2'] : ['']);
      process.stderr.write(`[edge-workloads] ${profile}: k6 made ${sent} HTTP requests; nginx handled ${after - before}\n`);
      expect(sent).toBeGreaterThan(10);
      // Every request k6 made went through nginx (which also counts the lab's own status reads and health checks).
      expect(after - before).toBeGreaterThanOrEqual(sent);
      const log = readFileSync(join(dir, 'run.log'), 'utf8');
      expect(log).toMatch(profile === 'hardened' ? /workload chat: through the public entry https:\/\// : /workload chat: through the public entry http:\/\//);
    }, 150_000);
  }
});
