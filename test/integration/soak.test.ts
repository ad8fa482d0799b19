import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { runExperiment } from '../../src/experiment/runner.js';
import { readObservations } from '../../src/experiment/history.js';
import type { RunResult } from '../../src/results/model.js';
import { testLab } from './helpers.js';

/**
 * The target's own view during a run (server-observer.ts): each service's /metrics and processes as samples, and
 * the claims judged from them against the reference target.
 */
let lab: Lab;
const runsDir = join(HARNESS_ROOT, 'reports', 'runs', `itest-soak-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  mkdirSync(runsDir, { recursive: true });
});

const explain = (r: RunResult) => `${r.error ?? ''}\n${r.hypotheses.map((h) => `${h.id}: ${h.verdict} — ${h.evidence}`).join('\n')}`;

describe('server-side observation', () => {
  it('METRICS-AVAILABLE on the baseline experiment (as-built): a service without the route FAILs it, the four that serve it PASS; their series and processes are samples', async () => {
    const r = await runExperiment({ experiment: await loadExperiment('baseline'), profile: 'as-built', labName: lab.name, runsDir, targetEnv: { SC_TEST_NO_METRICS: 'gateway' } });
    const h = (id: string) => r.hypotheses.find((x) => x.id === id)!;
    expect(r.error, explain(r)).toBeUndefined();
    expect(h('metrics-gateway'), explain(r)).toMatchObject({ verdict: 'FAIL', observed: 0 });
    for (const s of ['auth', 'chat', 'video', 'storage']) expect(h(`metrics-${s}`), explain(r)).toMatchObject({ verdict: 'PASS', observed: 1 });
    expect(r.claims.find((c) => c.id === 'METRICS-AVAILABLE')).toMatchObject({ verdict: 'FAIL', asExpected: false });
    // The series as the services serve them (prom-client, their own service label kept aside), one reading a second.
    const obs = readObservations(join(runsDir, r.runId));
    const ws = obs.filter((s) => s.metric === 'sc_server' && s.tags.service === 'chat' && s.tags.metric === 'chat_ws_connections');
    expect(ws.length).toBeGreaterThanOrEqual(10);
    expect(ws[0]!.tags.exported_service).toBe('chat-service');
    expect(obs.some((s) => s.metric === 'sc_server' && s.tags.service === 'gateway')).toBe(false);
    // Every service's processes, from /proc: resident memory in the phase table.
    for (const service of ['gateway', 'auth', 'chat', 'video', 'storage']) {
      const rss = r.phaseTable.find((x) => x.label === `sc_process_rss_mib{service=${service}}` && x.phase === 'baseline')!.stats;
      expect(rss.count, service).toBeGreaterThanOrEqual(10);
      expect(rss.mean!, service).toBeGreaterThan(20);
      expect(r.phaseTable.find((x) => x.label === `sc_process_fds{service=${service}}` && x.phase === 'baseline')!.stats.mean!, service).toBeGreaterThan(5);
    }
    const perScrape = obs.filter((s) => s.metric === 'sc_server').length / obs.filter((s) => s.metric === 'sc_metrics_up' && s.value === 1).length;
    console.log(`server metrics: ${perScrape.toFixed(0)} series a scrape; ${obs.length} observations in ${r.endedAtMs - r.startedAtMs} ms`);
  }, 150_000);
});
