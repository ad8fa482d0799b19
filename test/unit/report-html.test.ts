import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { RunResult } from '../../src/results/model.js';
import { registerSecret } from '../../src/util/redact.js';
import { escWithSymbols, toHtml } from '../../reports/html.js';
import { toJUnit } from '../../reports/junit.js';
import { resultToJson } from '../../reports/json.js';
import { LINE_STYLES, onWindowGrid, renderChart } from '../../reports/charts.js';

const SAMPLE = 'fixtures/sample-run/result.json';
const sample = (): RunResult => JSON.parse(readFileSync(SAMPLE, 'utf8')) as RunResult;
const count = (s: string, re: RegExp): number => s.match(re)?.length ?? 0;

describe('toHtml', () => {
  it('shows the header, one row per claim, a chart per trend/rate series with a band per fault, the phase columns', () => {
    const r = sample();
    const html = toHtml(r);
    expect(html).toContain('<div id="outcome" class="outcome bad" data-exit-code="1" data-not-as-expected="1">1 claim not as expected · exit code 1</div>');
    expect(html).toContain('<dd data-field="target">embedded · profile <b>audited</b></dd>');
    expect(html).toContain('<dd data-field="duration">40.2 s</dd>');
    for (const c of r.claims) {
      expect(html).toContain(`<tr id="claim-${c.id}" data-claim-id="${c.id}" data-claim-kind="${c.kind}" data-verdict="${c.verdict}" data-expected="${c.expected}" data-as-expected="${c.verdict === c.expected}"`);
    }
    expect(count(html, /<tr id="claim-[^"]*" data-claim-id=/g)).toBe(r.claims.length);
    expect(count(html, /<svg [^>]*class="chart"/g)).toBe(3);
    expect(count(html, /data-fault-band="redis"/g)).toBe(3);
    expect(html).toContain('redis (redis-outage)</text>');
    expect(count(html, /data-legend="p95"/g)).toBe(1);
    expect(count(html, /data-legend="rate"/g)).toBe(2);
    for (const p of ['baseline', 'fault:redis', 'recovery:redis']) expect(html).toContain(`<span data-phase-id="${p}">${p}</span>`);
    expect(html).toContain('Expected FAIL: the defect this profile has was detected');
    expect(html).toContain('002_4e8d9492772e3056.txt · §5. FAILURE &amp; RESILIENCE ANALYSIS → Redis Down · line 170');
  });

  it('draws an alerts check on the timeline: a row per rule, its firing spans over the fault bands, a rule with no data source named; result.json keeps it', () => {
    const r = sample();
    const s0 = r.startedAtMs;
    r.hypotheses[0]!.timeline = [
      { id: 'errors', label: 'High error rate', firing: [{ startMs: s0 + 12_000, endMs: s0 + 22_000 }] },
      { id: 'memory', label: 'Memory > 90 %', firing: [], notEvaluable: 'no memory limit' },
    ];
    const html = toHtml(r);
    expect(count(html, /class="chart alert-timeline"/g)).toBe(1);
    expect(html).toMatch(/<rect data-alert-firing="errors" data-start-ms="12000" data-end-ms="22000"/);
    expect(html).toContain('data-alert-not-evaluable="memory"');
    expect(html).toContain('not evaluable: no memory limit');
    expect(count(html, /data-fault-band="redis"/g)).toBe(4);
    expect(JSON.parse(resultToJson(r)).hypotheses[0].timeline[0].firing).toHaveLength(1);
    // No alerts check: no timeline.
    expect(toHtml(sample())).not.toContain('alert-timeline');
  });

  it('says where a measured verdict contradicts the audit, which baseline claim a claim waited on, and how the run was made', () => {
    const r = sample();
    const chat = r.claims.find((c) => c.id === 'REDIS-CHAT')!;
    Object.assign(chat, { verdict: 'FAIL', contradictsAudit: true, reason: 'delivers-during-outage: fault:redis: 0/24 deliver attempts accepted; outcomes: undelivered 24 | other' });
    Object.assign(r.claims.find((c) => c.id === 'REDIS-LOGIN')!, { verdict: 'INCONCLUSIVE', gatedBy: ['LOGIN'] });
    r.notes = ['workload probes: sessions use the tokens registration returned, since login does not work (POST /v1/auth/login answered 500)'];
    const html = toHtml(r);
    expect(html).toContain('<div class="contradiction" data-contradicts-audit="true">audit: chat keeps working while Redis is down (presence skipped) (PASS) — measured: FAIL, delivers-during-outage: fault:redis: 0/24 deliver attempts accepted; outcomes: undelivered 24</div>');
    expect(count(html, /data-contradicts-audit/g)).toBe(1);
    expect(html).toContain('<div class="gated" data-gated-by="LOGIN">requires <a href="#claim-LOGIN"><code>LOGIN</code></a>, which did not PASS in this run</div>');
    expect(html).toMatch(/<div class="notes-box" id="run-notes"><b>How this run was made:<\/b><ul><li>workload probes: sessions use the tokens registration returned/);
    const junit = toJUnit(r);
    expect(junit).toContain('audit: chat keeps working while Redis is down (presence skipped) (PASS) — measured: FAIL');
    expect(junit).toContain('note: workload probes: sessions use the tokens registration returned');
  });

  it('is self-contained: no scripts, no external resources', () => {
    const html = toHtml(sample());
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/\ssrc=/i);
    // The only absolute URLs are the SVG namespace and the target's base URL, shown as text.
    const urls = [...html.matchAll(/https?:\/\/[^\s"<]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://198.18.0.2:8080']));
    for (const href of [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!)) expect(href).toMatch(/^(#|[^/:]+(\/[^/:]+)*$)/);
  });

  it('escapes < & " \' in every text it shows', () => {
    const r = sample();
    const nasty = `<img src=x onerror="alert('x')"> & co`;
    r.claims[0]!.title = nasty;
    r.claims[0]!.reason = nasty;
    r.claims[0]!.source.quote = nasty;
    r.hypotheses[0]!.evidence = nasty;
    r.faults[0]!.verifyDetail = nasty;
    r.series[0]!.label = nasty;
    r.workloads[0]!.failedThresholds = [nasty];
    r.files.push({ kind: 'log', path: `logs/${nasty}.log` });
    const html = toHtml(r);
    expect(html).not.toContain('<img');
    expect(html).not.toContain(`"alert(`);
    const escaped = '&lt;img src=x onerror=&quot;alert(&apos;x&apos;)&quot;&gt; &amp; co';
    expect(count(html, new RegExp(escaped.replace(/[()]/g, '\\$&'), 'g'))).toBeGreaterThanOrEqual(8);
  });

  it('never contains a registered secret, a bearer token or a password (HTML, JUnit and JSON)', () => {
    const secret = 'sctok_9f8e7d6c5b4a3210ffee';
    registerSecret(secret);
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const r = sample();
    r.experiment.description = `run with token ${secret}`;
    r.claims[1]!.reason = `GET /v1/auth/me with Authorization: Bearer ${jwt} answered 200`;
    r.claims[1]!.title = `revoked ${secret} accepted`;
    r.hypotheses[2]!.evidence = `probe token=${secret}; jwt ${jwt}`;
    r.faults[0]!.params = { password: 'hunter2-redis-pass', proxy: 'redis' };
    r.faults[0]!.verifyDetail = `redis AUTH password=hunter2-redis-pass ok`;
    r.series[0]!.label = `http_req_duration{token=${secret}}`;
    r.workloads[0]!.failedThresholds = [`checks{token:${secret}}`];
    r.error = `k6 crashed: ${secret}`;
    r.target.baseUrl = `http://198.18.0.2:8080/?X-Amz-Signature=deadbeefcafe`;
    for (const [name, out] of [['html', toHtml(r)], ['junit', toJUnit(r)], ['json', resultToJson(r)]] as const) {
      for (const s of [secret, jwt, 'hunter2-redis-pass', 'deadbeefcafe']) expect(out, `${name} contains ${s}`).not.toContain(s);
      expect(out, name).toContain('[REDACTED]');
    }
  });

  it('draws each statistic with its own dash and marker, p99 first so p95 on top of it stays visible', () => {
    const styles = Object.values(LINE_STYLES).map((s) => `${s.dash}|${s.marker}`);
    expect(new Set(styles).size).toBe(styles.length);
    const r = sample();
    const svg = renderChart(r.series[0]!, r, 0);
    const lines = [...svg.matchAll(/<g class="line" data-line="(\w+)" data-dash="([^"]+)" data-marker="(\w+)"/g)].map((m) => [m[1], m[2], m[3]]);
    expect(lines).toEqual([['p99', '2 3', 'triangle'], ['p95', '8 4', 'square'], ['p50', 'solid', 'circle']]);
    expect(count(svg, /stroke-dasharray="8 4"/g)).toBe(2); // the line and its legend swatch
    // Legend in reading order.
    expect([...svg.matchAll(/data-legend="(\w+)"/g)].map((m) => m[1])).toEqual(['p50', 'p95', 'p99', 'fault']);
  });

  it('breaks a line where windows have no samples instead of drawing across them', () => {
    const r = sample();
    const s = r.series[0]!;
    s.points = s.points.filter((p) => p.t < 12_000 || p.t >= 15_000);
    const grid = onWindowGrid(s, 'p95', 'latency');
    expect(grid.filter((d) => d.v === undefined).map((d) => d.t)).toEqual([12_000, 13_000, 14_000]);
    const svg = renderChart(s, r, 0);
    const p95 = /<g class="line" data-line="p95"[^>]*data-segments="(\d+)"><path class="series" d="([^"]*)"/.exec(svg)!;
    expect(p95[1]).toBe('2');
    expect(count(p95[2]!, /M/g)).toBe(2);
    expect(svg).toContain('data-legend="gap"');
    // Without the gap: one segment.
    expect(/<g class="line" data-line="p95"[^>]*data-segments="(\d+)"/.exec(renderChart(sample().series[0]!, sample(), 0))![1]).toBe('1');
  });

  it('has a table of contents, and every table in a box of its own that scrolls', () => {
    const r = sample();
    const html = toHtml(r);
    const toc = /<nav id="toc"[\s\S]*?<\/nav>/.exec(html)![0];
    for (const id of ['claims', 'charts', 'phases', 'hypotheses', 'calibration', 'faults', 'workloads', 'files']) {
      expect(toc).toContain(`<a href="#${id}">`);
      expect(html).toContain(`<section id="${id}">`);
    }
    for (const c of r.claims) expect(toc).toContain(`<a href="#claim-${c.id}">`);
    expect(count(html, /<div class="table-scroll"><table /g)).toBe(count(html, /<table /g));
  });

  it('draws the audit\'s symbols as badges, keeping the character for copying', () => {
    const out = escWithSymbols('| Login | ✅ PASS | a ❌ b ⚠️ c ⚠ d <e>');
    expect(count(out, /<span class="sym" data-symbol="check"/g)).toBe(1);
    expect(count(out, /<span class="sym" data-symbol="cross"/g)).toBe(1);
    expect(count(out, /<span class="sym" data-symbol="warning"/g)).toBe(2);
    expect(out).toContain('<span class="sym-text">✅</span>');
    expect(out).toContain('&lt;e&gt;');
    // Outside the badges no symbol is left for a missing emoji font to show as a box.
    expect(out.replace(/<span class="sym-text">[^<]*<\/span>/g, '').replace(/aria-label="[^"]*"|title="[^"]*"/g, '')).not.toMatch(/[\u2705\u274C\u26A0]/);
    const html = toHtml(sample());
    expect(count(html, /data-symbol="check"/g)).toBeGreaterThanOrEqual(3);
    expect(count(html, /data-symbol="warning"/g)).toBe(1);
  });
});
