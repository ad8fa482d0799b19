import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { runExperiment } from '../../src/experiment/runner.js';
import { expectedVerdict, loadClaims } from '../../src/experiment/claims.js';
import type { Experiment } from '../../src/experiment/spec.js';
import { readObservations } from '../../src/experiment/history.js';
import type { RunResult } from '../../src/results/model.js';
import { testLab } from './helpers.js';
import { checksOf, readSummary } from '../../src/k6/run.js';
import { parseK6Log } from '../../src/k6/fanout-checker.js';

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

/** The experiment's chat fan-out with its receivers reconnecting this often. */
function reconnecting(e: Experiment, every: string): Experiment['workloads'] {
  const w = e.workloads[0];
  if (w?.kind !== 'k6') throw new Error(`${e.name}: its first workload is no k6 chat fan-out`);
  return [{ ...w, env: { ...w.env, SC_RECONNECT_EVERY: every } }];
}

const explain = (r: RunResult) => `${r.error ?? ''}\n${r.hypotheses.map((h) => `${h.id}: ${h.verdict} — ${h.evidence}`).join('\n')}`;

describe('server-side observation', () => {
  it('METRICS-AVAILABLE on the baseline experiment (as-built): a service without the route FAILs it, the four that serve it PASS; their series and processes are samples', async () => {
    const r = await runExperiment({ experiment: await loadExperiment('baseline'), profile: 'as-built', labName: lab.name, runsDir, targetEnv: { SC_TEST_NO_METRICS: 'gateway' } });
    const h = (id: string) => r.hypotheses.find((x) => x.id === id)!;
    expect(r.error, explain(r)).toBeUndefined();
    expect(h('metrics-gateway'), explain(r)).toMatchObject({ verdict: 'FAIL', observed: 0 });
    for (const s of ['auth', 'chat', 'video', 'storage']) expect(h(`metrics-${s}`), explain(r)).toMatchObject({ verdict: 'PASS', observed: 1 });
    expect(r.claims.find((c) => c.id === 'METRICS-AVAILABLE')).toMatchObject({ verdict: 'FAIL', asExpected: false });
    // The hook touches the gateway's /metrics alone: every other claim and check of baseline is as catalogued on
    // as-built (the catalogue's run of baseline on as-built is this one).
    const catalogue = loadClaims();
    expect(r.claims.map((c) => c.id).sort()).toEqual(['CALL', 'DELIVERY', 'LOGIN', 'LOGOUT-REVOKES', 'METRICS-AVAILABLE', 'REGISTRATION', 'UPLOAD']);
    for (const c of r.claims.filter((x) => x.id !== 'METRICS-AVAILABLE')) expect(c.verdict, `${c.id}\n${explain(r)}`).toBe(expectedVerdict(catalogue.find((x) => x.id === c.id)!, 'as-built', 'baseline'));
    for (const x of r.hypotheses.filter((y) => y.id !== 'metrics-gateway')) expect(x.verdict, `${x.id}: ${x.evidence}`).toBe(x.expectedVerdict);
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
      const fds = obs.filter((s) => s.metric === 'sc_process_fds' && s.tags.service === service);
      expect(fds.length, service).toBeGreaterThanOrEqual(10);
      expect(fds[0]!.value, service).toBeGreaterThan(5);
    }
    const perScrape = obs.filter((s) => s.metric === 'sc_server').length / obs.filter((s) => s.metric === 'sc_metrics_up' && s.value === 1).length;
    console.log(`server metrics: ${perScrape.toFixed(0)} series a scrape; ${obs.length} observations in ${r.endedAtMs - r.startedAtMs} ms`);
  }, 150_000);

  it('an accelerated soak with four defects (50 s of load, 8 s after it): chat keeping every message FAILs SOAK-MEMORY, sends slowing by 300 ms a minute FAIL SOAK-LATENCY-DRIFT, a hub that never unregisters a socket FAILs NO-CONNECTION-LEAK, a counter of half the messages FAILs METRICS-CONSISTENT; a service without a leak PASSes, a warm-up that leaves a few seconds and a metric the target lacks are INCONCLUSIVE', async () => {
    const shipped = await loadExperiment('soak-memory');
    const leaks = await loadExperiment('soak-leaks');
    // Accelerated: a leak of 256 KiB a message at 5 messages/s (~4.5 GiB/h) against a budget of 100 % of the steady level per hour,
    // judged after a warm-up of 10 s (the default, at least 2 min, would leave nothing of 50 s).
    const rss = (service: string, extra: object) => ({ kind: 'no-growth' as const, id: `rss-${service}`, description: 'd', claims: ['SOAK-MEMORY'], select: { metric: 'sc_process_rss_mib', tags: { service } }, ...extra });
    const e: Experiment = {
      ...shipped, durationS: 50, afterLoadS: 8,
      // Receivers reconnect every 5 s: ~90 reconnects, each a socket the leaking hub keeps.
      workloads: reconnecting(shipped, '5s'),
      hypotheses: [
        ...shipped.hypotheses.filter((h) => h.id === 'rss-chat' || h.id === 'rss-auth').map((h) => ({ ...h, budgetPerHour: 1, warmupS: 10 })),
        // Too short: a warm-up of 61 s leaves a few seconds of the run (50 s of load, its warm-up and drain, 8 s after it).
        { ...rss('gateway', { budgetPerHour: 1 }), id: 'rss-gateway-short', phase: 'run', warmupS: 61, minPoints: 8, unit: 'MiB', role: 'check' as const, expected: { audited: 'INCONCLUSIVE' as const } },
        // Windows of 10 s (the shipped 10 % of a 50 s run holds barely 15 sends): ~35 sends and ~350 deliveries each.
        ...shipped.hypotheses.filter((h) => h.kind === 'drift').map((h) => ({ ...h, windowS: 10, expected: { audited: 'FAIL' as const } })),
        ...leaks.hypotheses.filter((h) => h.id === 'sockets-chat' || h.id === 'counters-agree'),
        // The reference target has no DB pool gauge: INCONCLUSIVE, never a PASS.
        { kind: 'returns-to-baseline', id: 'db-auth', description: 'd', claims: ['NO-CONNECTION-LEAK'], quantity: 'db-connections', service: 'auth', tailS: 3, tolerance: { absolute: 0, relative: 0.05 }, minRise: 1, unit: 'count', role: 'check' as const, expected: { audited: 'INCONCLUSIVE' as const } },
      ] as Experiment['hypotheses'],
    };
    // The drift starts with the chat service: its first 10 s of sends wait ~30–80 ms, its last ~400 ms.
    const r = await runExperiment({ experiment: e, profile: 'audited', labName: lab.name, runsDir, targetEnv: { SC_TEST_RETAIN_MESSAGE_BYTES: String(256 * 1024), SC_TEST_LATENCY_DRIFT_MS_PER_MIN: '300', SC_TEST_LEAK_SOCKET_ON_RECONNECT: '1', SC_TEST_UNDERCOUNT_MESSAGES: '0.5' } });
    console.log(explain(r));
    const h = (id: string) => r.hypotheses.find((x) => x.id === id)!;
    expect(r.error, explain(r)).toBeUndefined();
    expect(r.phases.map((p) => p.id)).toEqual(['baseline', 'before-load', 'after-load']);
    expect(h('rss-chat'), explain(r)).toMatchObject({ verdict: 'FAIL' });
    expect(h('rss-chat').evidence).toMatch(/grows faster than the budget/);
    expect(h('rss-chat').observed!).toBeGreaterThan(1000);
    expect(h('rss-auth'), explain(r)).toMatchObject({ verdict: 'PASS' });
    expect(h('rss-gateway-short'), explain(r)).toMatchObject({ verdict: 'INCONCLUSIVE' });
    expect(h('rss-gateway-short').evidence).toMatch(/too short: a phase of at least 69 s would give them/);
    for (const id of ['drift-send', 'drift-delivery']) {
      expect(h(id), explain(r)).toMatchObject({ verdict: 'FAIL' });
      expect(h(id).evidence).toMatch(/drifted/);
      expect(h(id).observed!).toBeGreaterThan(2);
    }
    // Every socket closed by a reconnect or the load's end stays counted.
    expect(h('sockets-chat'), explain(r)).toMatchObject({ verdict: 'FAIL' });
    expect(h('sockets-chat').observed!).toBeGreaterThan(50);
    expect(h('counters-agree'), explain(r)).toMatchObject({ verdict: 'FAIL' });
    expect(h('counters-agree').evidence).toMatch(/messages-stored: .*under-counts by \d+ \((4\d|5\d) %/);
    expect(h('counters-agree').evidence).toMatch(/sockets-held: .*disagree/);
    expect(h('counters-agree').evidence).toMatch(/requests-rate-limited: not evaluable — the target lacks the metric/);
    expect(h('db-auth'), explain(r)).toMatchObject({ verdict: 'INCONCLUSIVE' });
    expect(h('db-auth').evidence).toMatch(/the target lacks the metric/);
    for (const id of ['SOAK-MEMORY', 'SOAK-LATENCY-DRIFT', 'NO-CONNECTION-LEAK', 'METRICS-CONSISTENT']) expect(r.claims.find((c) => c.id === id), id).toMatchObject({ verdict: 'FAIL' });
  }, 170_000);

  it('ALERTS-AS-RECOMMENDED on soak-alerts (50 s, MinIO down 20–35 s): quiet baseline, error rate firing in the outage PASS, drawn on the timeline; an alert firing with no fault or silent in the fault FAILs; sends without the drift switch PASS SOAK-LATENCY-DRIFT; soak-leaks\' checks with no defect (receivers reconnecting every 5 s, 20 s tokens, 8 s after the load): NO-CONNECTION-LEAK and METRICS-CONSISTENT PASS', async () => {
    const shipped = await loadExperiment('soak-alerts');
    const memory = await loadExperiment('soak-memory');
    const leaks = await loadExperiment('soak-leaks');
    const alerts = shipped.hypotheses.find((h) => h.kind === 'alerts')!;
    if (alerts.kind !== 'alerts') throw new Error('soak-alerts has no alerts check');
    const rule = alerts.alerts.find((a) => a.id === 'errors')!.rule!;
    const chat = shipped.workloads.find((w) => w.id === 'chat');
    if (chat?.kind !== 'k6') throw new Error('soak-alerts has no chat fan-out');
    const e: Experiment = {
      ...shipped,
      afterLoadS: 8,
      // The receivers reconnect every 5 s (NO-CONNECTION-LEAK's sockets); the probes send no chat message of their own
      // (chat's stored-message counter is compared with the fan-out's sends alone).
      workloads: shipped.workloads.map((w) => {
        if (w === chat) return { ...chat, env: { ...chat.env, SC_RECONNECT_EVERY: '5s' } };
        return w.kind === 'k6' && w.id === 'probes' ? { ...w, env: { ...w.env, SC_PROBES: 'authed,upload' } } : w;
      }),
      hypotheses: [
        ...shipped.hypotheses,
        ...leaks.hypotheses,
        // The same rule over a probe the outage does not touch: it stays silent while MinIO is down.
        { ...alerts, id: 'alerts-silent-in-fault', alerts: [{ id: 'errors', says: 'error rate of the authenticated reads', rule: { ...rule, select: { metric: 'sc_probe_ok', tags: { probe: 'authed' } } } }], expected: { audited: 'FAIL' } },
        // A latency rule no real request meets (p95 > 1 ms): it fires with no fault.
        { ...alerts, id: 'alerts-noisy-baseline', alerts: [{ id: 'latency', says: 'p95 > 1 ms', rule: { select: { metric: 'sc_probe_duration', tags: { workload: 'probes' } }, stat: 'p(95)', op: '>', value: 1, unit: 'ms' } }], shouldFire: {}, expected: { audited: 'FAIL' } },
        ...memory.hypotheses.filter((h) => h.kind === 'drift').map((h) => ({ ...h, windowS: 10, expected: { audited: 'PASS' as const } })),
        ...memory.hypotheses.filter((h) => h.id === 'drift-send').map((h) => ({ ...h, id: 'drift-send-few', minSamples: 1000, expected: { audited: 'INCONCLUSIVE' as const } })),
      ] as Experiment['hypotheses'],
    };
    // Access tokens that live 20 s (SecureConnect's: 15 min): every send and reconnect after the first 20 s needs the
    // session each VU renews (scenarios/lib/users.ts tokenOf), as a soak of hours does. The sender's 8 VUs share one
    // account: renewing by login, they log it in ~24 times a minute, past the per-account login limit (20), and a VU
    // whose renewal was refused sent with an expired token. They renew by refresh token and log in once each, within a
    // login limit of 12 a minute here.
    const r = await runExperiment({ experiment: e, profile: 'audited', labName: lab.name, runsDir, targetEnv: { SC_TEST_ACCESS_TTL_S: '20', LOGIN_RATE_PER_MINUTE: '12' } });
    const h = (id: string) => r.hypotheses.find((x) => x.id === id)!;
    expect(r.error, explain(r)).toBeUndefined();
    // soak-leaks' checks with no defect (MinIO is on none of their paths): sockets and open files come back, chat's
    // counters agree, and every send was served through the renewed sessions.
    const checks = checksOf(readSummary(join(runsDir, r.runId, 'workloads', 'chat', 'summary.json')));
    const refused = parseK6Log(readFileSync(join(runsDir, r.runId, 'workloads', 'chat', 'k6.log'), 'utf8')).sent.filter((x) => !x.acked);
    expect(checks['send: 201 with message_id'], JSON.stringify({ checks, refused })).toMatchObject({ fails: 0 });
    expect(checks['send: 201 with message_id']!.passes).toBeGreaterThan(100);
    for (const x of leaks.hypotheses) expect(h(x.id).verdict, `${x.id}\n${explain(r)}`).toBe('PASS');
    expect(h('counters-agree').evidence).toMatch(/requests-rate-limited: not evaluable/);
    for (const id of ['NO-CONNECTION-LEAK', 'METRICS-CONSISTENT']) expect(r.claims.find((c) => c.id === id), id).toMatchObject({ verdict: 'PASS', asExpected: true });
    expect(h('alerts-as-recommended'), explain(r)).toMatchObject({ verdict: 'PASS' });
    expect(h('alerts-as-recommended').evidence).toMatch(/errors fires during fault:minio/);
    expect(h('alerts-as-recommended').evidence).toMatch(/memory not evaluable/);
    const minio = r.faults.find((f) => f.id === 'minio')!;
    const firing = h('alerts-as-recommended').timeline!.find((x) => x.id === 'errors')!.firing;
    expect(firing.length).toBeGreaterThan(0);
    for (const f of firing) expect(f.endMs > minio.appliedAtMs! && f.startMs < minio.removedAtMs! + 10_000, JSON.stringify({ f, minio })).toBe(true);
    expect(r.claims.find((c) => c.id === 'ALERTS-AS-RECOMMENDED')).toMatchObject({ verdict: 'FAIL' }); // the two FAIL variants count for it too
    expect(h('alerts-silent-in-fault'), explain(r)).toMatchObject({ verdict: 'FAIL' });
    expect(h('alerts-silent-in-fault').evidence).toMatch(/errors never fires during fault:minio/);
    expect(h('alerts-noisy-baseline'), explain(r)).toMatchObject({ verdict: 'FAIL' });
    expect(h('alerts-noisy-baseline').evidence).toMatch(/latency fires in the baseline/);
    expect(h('drift-send'), explain(r)).toMatchObject({ verdict: 'PASS' });
    expect(h('drift-delivery'), explain(r)).toMatchObject({ verdict: 'PASS' });
    expect(h('drift-send-few')).toMatchObject({ verdict: 'INCONCLUSIVE' });
    expect(h('drift-send-few').evidence).toMatch(/need 1000 in each/);
    // The report draws each rule's firing on the timeline, and lists the rules with no data source.
    const html = readFileSync(join(runsDir, r.runId, 'report.html'), 'utf8');
    expect(html).toMatch(/data-alert-firing="errors"/);
    expect(html).toMatch(/data-alert-not-evaluable="memory"/);
  }, 150_000);
});
