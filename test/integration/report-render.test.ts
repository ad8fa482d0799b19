/**
 * Renders the sample run's reports and checks, in headless Chromium, what the page SHOWS: claim rows
 * and badge colours, a shaded band per fault window in every chart at the fault's times on the
 * chart's scale, the phase columns, no network requests, no console errors; that the page fits a
 * 1400 px window, every line of every chart is visible and told apart, a gap in the data is not bridged,
 * the audit's symbols are drawn; parses junit.xml with Chromium's DOMParser; saves the screenshot.
 * Needs no lab (the project's global setup starts one anyway: run with SCH_TEST_LAB /
 * SCH_TEST_BASE_PORT set to stay out of other runs' way).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'puppeteer-core';
import type { RunResult, Verdict } from '../../src/results/model.js';
import { launchChromium, type ChromiumSession } from '../../src/media/chromium.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { readResultJson, screenshotReport, toHtml, toJUnit, writeReports } from '../../reports/index.js';
import { VERDICT_COLOURS } from '../../reports/html.js';

const RUN_DIR = join(HARNESS_ROOT, 'reports', 'runs', `test-report-render-${new Date().toISOString().replace(/[:.]/g, '-')}`);

let result: RunResult;
let session: ChromiumSession;
let page: Page;
let htmlUrl: string;
const external: string[] = [];
const consoleErrors: string[] = [];

const rgb = (hex: string): string => {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
};

beforeAll(async () => {
  result = await readResultJson(join(HARNESS_ROOT, 'fixtures', 'sample-run', 'result.json'));
  const files = await writeReports(result, RUN_DIR);
  expect(files.map((f) => f.kind)).toEqual(['json', 'junit', 'report']);
  htmlUrl = pathToFileURL(resolve(RUN_DIR, 'report.html')).href;
  session = await launchChromium();
  page = await session.browser.newPage();
  await page.setViewport({ width: 1360, height: 900 });
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    if (req.url() === htmlUrl) return void req.continue();
    external.push(req.url());
    void req.abort('blockedbyclient');
  });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(htmlUrl, { waitUntil: 'load' });
}, 60_000);

afterAll(async () => {
  await session?.close();
});

describe('report.html in Chromium', () => {
  it('shows the outcome in the header', async () => {
    const outcome = await page.$eval('#outcome', (el) => ({ text: (el as HTMLElement).innerText, exit: el.getAttribute('data-exit-code') }));
    expect(outcome).toEqual({ text: '1 claim not as expected · exit code 1', exit: '1' });
    const title = await page.$eval('h1', (el) => (el as HTMLElement).innerText);
    expect(title).toContain('redis-outage');
  });

  it('has one claims row per claim, with the verdict text and the badge colour', async () => {
    const rows = await page.$$eval('#claims-table tbody tr', (trs) =>
      trs.map((tr) => {
        const badge = tr.querySelector('td.verdict .badge') as HTMLElement;
        const rect = badge.getBoundingClientRect();
        return {
          id: tr.getAttribute('data-claim-id'),
          verdict: badge.innerText.trim(),
          colour: getComputedStyle(badge).backgroundColor,
          visible: rect.width > 0 && rect.height > 0,
          asExpected: (tr.querySelector('td.as-expected') as HTMLElement).innerText.trim(),
        // The audit's symbols are drawn badges; the hidden character keeps the quote's text whole.
          quote: (tr.querySelector('td.audit blockquote') as HTMLElement).innerText,
        };
      }),
    );
    expect(rows).toEqual(
      result.claims.map((c) => ({
        id: c.id,
        verdict: c.verdict,
        colour: rgb(VERDICT_COLOURS[c.verdict as Verdict]),
        visible: true,
        asExpected: c.verdict === c.expected ? '✓' : '✗',
        quote: c.source.quote,
      })),
    );
  });

  it('shades every fault window in every chart, at the fault\'s times on the chart\'s scale', async () => {
    const charts = await page.$$eval('svg.chart', (svgs) =>
      svgs.map((svg) => ({
        left: Number(svg.getAttribute('data-plot-left')),
        width: Number(svg.getAttribute('data-plot-width')),
        domainMs: Number(svg.getAttribute('data-domain-ms')),
        bands: Array.from(svg.querySelectorAll('rect[data-fault-band]')).map((r) => {
          const cs = getComputedStyle(r);
          const label = r.parentElement?.querySelector('text.band-label')?.textContent ?? '';
          const box = (r as SVGRectElement).getBBox();
          return { id: r.getAttribute('data-fault-band'), x: box.x, w: box.width, fill: cs.fill, opacity: Number(cs.fillOpacity), label };
        }),
        ticks: Array.from(svg.querySelectorAll('text.x-tick')).length,
        yTicks: Array.from(svg.querySelectorAll('text.y-tick')).length,
        yLabel: svg.querySelector('text.y-label')?.textContent,
      })),
    );
    expect(charts).toHaveLength(3);
    const applied = result.faults.filter((f) => f.appliedAtMs !== undefined);
    expect(applied.length).toBeGreaterThan(0);
    for (const chart of charts) {
      expect(chart.domainMs).toBe(result.endedAtMs - result.startedAtMs);
      expect(chart.ticks).toBeGreaterThanOrEqual(4);
      expect(chart.yTicks).toBeGreaterThanOrEqual(3);
      expect(chart.yLabel).toMatch(/\((ms|%)\)$/);
      expect(chart.bands.map((b) => b.id)).toEqual(applied.map((f) => f.id));
      for (const f of applied) {
        const band = chart.bands.find((b) => b.id === f.id)!;
        const x0 = chart.left + ((f.appliedAtMs! - result.startedAtMs) / chart.domainMs) * chart.width;
        const x1 = chart.left + ((f.removedAtMs! - result.startedAtMs) / chart.domainMs) * chart.width;
        expect(band.x).toBeCloseTo(x0, 1);
        expect(band.w).toBeCloseTo(x1 - x0, 1);
        expect(band.fill).not.toBe('none');
        expect(band.opacity).toBeGreaterThan(0);
        expect(band.label).toBe(`${f.id} (${f.name})`);
      }
    }
  });

  it('has the phase columns in the per-phase table', async () => {
    const table = await page.$eval('#phase-table', (t) => ({
      head: Array.from(t.querySelectorAll('thead [data-phase-id]')).map((e) => e.getAttribute('data-phase-id')),
      rows: Array.from(t.querySelectorAll('tbody tr')).map((tr) => Array.from(tr.querySelectorAll('td[data-phase]')).map((td) => td.getAttribute('data-phase'))),
    }));
    const phases = result.phases.map((p) => p.id);
    expect(table.head).toEqual(['baseline', 'fault:redis', 'recovery:redis']);
    expect(table.rows).toHaveLength(new Set(result.phaseTable.map((r) => r.label)).size);
    for (const row of table.rows) expect(row).toEqual(phases);
  });

  it('fits a 1400 px window: nothing wider than the page, wide tables scroll in their own box', async () => {
    const p = await session.browser.newPage();
    try {
      await p.setViewport({ width: 1400, height: 900 });
      await p.setJavaScriptEnabled(false);
      // A result that makes the per-phase table wide: many phases.
      const r = structuredClone(result);
      const span = (r.endedAtMs - r.startedAtMs) / 12;
      r.phases = Array.from({ length: 12 }, (_, i) => ({ id: i === 0 ? 'baseline' : `fault:f${i}`, kind: i === 0 ? 'baseline' : 'fault', ...(i ? { faultId: `f${i}` } : {}), startMs: r.startedAtMs + i * span, endMs: r.startedAtMs + (i + 1) * span }) as RunResult['phases'][number]);
      r.phaseTable = r.phaseTable.flatMap((row) => r.phases.map((ph) => ({ ...row, phase: ph.id })));
      r.target.baseUrl = `http://198.18.0.2:8080/${'very-long-path-segment-'.repeat(12)}`;
      for (const [label, html] of [['sample', readFileSync(join(RUN_DIR, 'report.html'), 'utf8')], ['wide', toHtml(r)]] as const) {
        await p.setContent(html, { waitUntil: 'load' });
        const m = await p.evaluate(() => ({
          page: document.documentElement.scrollWidth,
          view: document.documentElement.clientWidth,
          tables: Array.from(document.querySelectorAll('table')).map((t) => ({ id: t.id, boxed: t.parentElement?.classList.contains('table-scroll') ?? false, right: t.parentElement!.getBoundingClientRect().right, wide: t.scrollWidth > t.parentElement!.clientWidth })),
        }));
        expect(m.page, label).toBeLessThanOrEqual(1400);
        expect(m.page, label).toBeLessThanOrEqual(m.view);
        for (const t of m.tables) {
          expect(t.boxed, `${label} ${t.id}`).toBe(true);
          expect(t.right, `${label} ${t.id}`).toBeLessThanOrEqual(m.view);
        }
        if (label === 'wide') expect(m.tables.find((t) => t.id === 'phase-table')!.wide).toBe(true);
      }
    } finally {
      await p.close();
    }
  });

  it('draws every series of every chart visibly, each with its own dash or marker', async () => {
    const charts = await page.$$eval('figure.chart-figure', (figs) =>
      figs.map((fig) => ({
        legend: Array.from(fig.querySelectorAll('ul.legend li[data-legend]')).map((li) => li.getAttribute('data-legend')).filter((k) => k !== 'fault' && k !== 'gap'),
        lines: Array.from(fig.querySelectorAll('g.line')).map((g) => {
          const path = g.querySelector('path.series') as SVGPathElement;
          const cs = getComputedStyle(path);
          const markers = Array.from(g.querySelectorAll('path.marker')) as SVGPathElement[];
          const box = markers[0]?.getBoundingClientRect();
          return {
            key: g.getAttribute('data-line'),
            length: path.getTotalLength(),
            dash: cs.strokeDasharray,
            stroke: cs.stroke,
            marker: markers[0]?.getAttribute('d') ?? '',
            markers: markers.length,
            markerVisible: box !== undefined && box.width > 0 && box.height > 0,
          };
        }),
      })),
    );
    expect(charts).toHaveLength(3);
    for (const chart of charts) {
      expect(chart.lines.map((l) => l.key).sort()).toEqual([...chart.legend].sort());
      for (const l of chart.lines) {
        expect(l.length, `${l.key} path length`).toBeGreaterThan(0);
        expect(l.markers, l.key!).toBeGreaterThan(0);
        expect(l.markerVisible, l.key!).toBe(true);
      }
      // No two lines alike: dash pattern or marker shape differs for each pair.
      const looks = chart.lines.map((l) => `${l.dash}|${l.marker}`);
      expect(new Set(looks).size).toBe(looks.length);
    }
    const latency = charts.find((c) => c.legend.includes('p95'))!;
    expect(latency.lines.find((l) => l.key === 'p95')!.dash).not.toBe(latency.lines.find((l) => l.key === 'p99')!.dash);
  });

  it('breaks a line across windows without samples: separate segments, none spanning the gap', async () => {
    const r = structuredClone(result);
    const s = r.series[0]!;
    s.points = s.points.filter((p) => p.t < 12_000 || p.t >= 16_000);
    const p2 = await session.browser.newPage();
    try {
      await p2.setJavaScriptEnabled(false);
      await p2.setContent(toHtml(r), { waitUntil: 'load' });
      const lines = await p2.$eval('svg.chart', (svg) => {
        const left = Number(svg.getAttribute('data-plot-left'));
        const width = Number(svg.getAttribute('data-plot-width'));
        const domain = Number(svg.getAttribute('data-domain-ms'));
        const windowPx = (Number(svg.getAttribute('data-window-ms')) / domain) * width;
        return Array.from(svg.querySelectorAll('g.line')).map((g) => {
          const path = g.querySelector('path.series') as SVGPathElement;
          const d = path.getAttribute('d') ?? '';
          // Absolute M/L commands only (d3's linear curve): the x of each point, and where a subpath starts.
          const cmds = Array.from(d.matchAll(/([ML])([-\d.]+),([-\d.]+)/g)).map((m) => ({ c: m[1], x: Number(m[2]) }));
          const longest = Math.max(...cmds.map((c, i) => (c.c === 'L' ? c.x - cmds[i - 1]!.x : 0)));
          return { key: g.getAttribute('data-line'), subpaths: cmds.filter((c) => c.c === 'M').length, longest, windowPx, gapFrom: left + (12_000 / domain) * width, length: path.getTotalLength() };
        });
      });
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) {
        expect(l.subpaths, l.key!).toBe(2);
        // Every drawn segment joins neighbouring windows; none reaches across the 4 s gap.
        expect(l.longest, l.key!).toBeLessThanOrEqual(l.windowPx * 1.01);
        expect(l.length).toBeGreaterThan(0);
      }
    } finally {
      await p2.close();
    }
  });

  it('draws the audit\'s symbols (✅ ⚠️) as visible badges, not as boxes of a missing font', async () => {
    const syms = await page.$$eval('#claims-table td.audit .sym', (els) =>
      els.map((el) => {
        const box = el.getBoundingClientRect();
        const svg = el.querySelector('svg')!.getBoundingClientRect();
        const hidden = el.querySelector('.sym-text')!.getBoundingClientRect();
        return { symbol: el.getAttribute('data-symbol'), label: el.getAttribute('aria-label'), w: box.width, h: box.height, svgW: svg.width, hiddenW: hidden.width };
      }),
    );
    const expected = result.claims.flatMap((c) => [...c.source.quote.matchAll(/\u2705|\u274C|\u26A0/g)].map((m) => ({ '\u2705': 'check', '\u274C': 'cross', '\u26A0': 'warning' })[m[0]]));
    expect(syms.map((s) => s.symbol)).toEqual(expected);
    for (const s of syms) {
      expect(s.w).toBeGreaterThan(10);
      expect(s.svgW).toBeGreaterThan(10);
      expect(s.hiddenW).toBeLessThanOrEqual(1);
    }
  });

  it('has a table of contents whose links reach every section and claim', async () => {
    const links = await page.$$eval('nav#toc a', (as) => as.map((a) => {
      const id = a.getAttribute('href')!.slice(1);
      return { id, exists: document.getElementById(id) !== null };
    }));
    expect(links.filter((l) => !l.exists)).toEqual([]);
    expect(links.map((l) => l.id)).toEqual(expect.arrayContaining(['claims', 'charts', 'phases', 'hypotheses', 'calibration', 'faults', 'workloads', 'files', ...result.claims.map((c) => `claim-${c.id}`)]));
  });

  it('made no network request and logged no console error', () => {
    expect(external).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  it('shows hostile text literally (escaped, not interpreted)', async () => {
    const r = structuredClone(result);
    const nasty = `<img src=x onerror="alert('x')"> & "q" 'a'`;
    r.claims[0]!.title = nasty;
    r.claims[0]!.source.quote = nasty;
    const p2 = await session.browser.newPage();
    try {
      await p2.setJavaScriptEnabled(false);
      await p2.setContent(toHtml(r), { waitUntil: 'load' });
      const shown = await p2.$eval('#claims-table tbody tr td:nth-child(2)', (td) => ({ text: td.textContent, imgs: document.querySelectorAll('img').length }));
      expect(shown).toEqual({ text: nasty, imgs: 0 });
    } finally {
      await p2.close();
    }
  });

  it('junit.xml parses as XML, with the expected counts, also with hostile text', async () => {
    const xml = readFileSync(join(RUN_DIR, 'junit.xml'), 'utf8');
    const r = structuredClone(result);
    r.claims[2]!.title = `<b>"T" & 'U'</b>\u0007`;
    r.claims[2]!.reason = `p95 < 1000 && p99 > 2000 ]]> <![CDATA[`;
    const hostile = toJUnit(r);
    const parse = (text: string) =>
      page.evaluate((t: string) => {
        const doc = new DOMParser().parseFromString(t, 'application/xml');
        const err = doc.querySelector('parsererror');
        if (err) return { error: err.textContent };
        const suite = doc.querySelector('testsuite')!;
        const cases = Array.from(doc.querySelectorAll('testcase'));
        return {
          error: null,
          suites: doc.querySelectorAll('testsuite').length,
          tests: suite.getAttribute('tests'),
          failures: suite.getAttribute('failures'),
          claims: cases.filter((c) => !c.getAttribute('classname')!.endsWith('.hypotheses')).map((c) => ({ classname: c.getAttribute('classname'), name: c.getAttribute('name'), time: Number(c.getAttribute('time')), failed: c.querySelector('failure') !== null, failure: c.querySelector('failure')?.textContent ?? null })),
          hypotheses: cases.filter((c) => c.getAttribute('classname') === 'redis-outage.hypotheses').length,
        };
      }, text);
    const ok = await parse(xml);
    expect(ok.error).toBeNull();
    expect(ok).toMatchObject({ suites: 1, tests: String(result.claims.length + result.hypotheses.length), failures: '2', hypotheses: result.hypotheses.length });
    expect(ok.claims!.map((c) => [c.classname, c.name, c.failed])).toEqual(result.claims.map((c) => [`redis-outage.${c.id}`, `${c.id}: ${c.title}`, c.verdict !== c.expected]));
    for (const c of ok.claims!) expect(c.time, c.name!).toBeGreaterThan(0);
    const bad = await parse(hostile);
    expect(bad.error).toBeNull();
    expect(bad.claims![2]!.name).toBe(`RECOVERY-LATENCY: <b>"T" & 'U'</b>\uFFFD`);
  });

  it('saves a full-page screenshot', async () => {
    const png = join(RUN_DIR, 'report.png');
    const file = await screenshotReport(join(RUN_DIR, 'report.html'), png);
    expect(file).toEqual({ kind: 'screenshot', path: 'report.png' });
    const bytes = readFileSync(png);
    expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(statSync(png).size).toBeGreaterThan(20 * 1024);
    // Full page: taller than the viewport.
    expect(bytes.readUInt32BE(20)).toBeGreaterThan(900);
  });
});
