import { beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/results/model.js';
import { toHtml } from '../../reports/html.js';
import { EVIDENCE_PARTS_SHOWN, FILMSTRIP_LONG_RUN_PHASES, PHASE_COLUMNS_MAX, REASON_SHOWN_CHARS, evidenceParts } from '../../reports/html.js';
import { MAX_LINE_POINTS, bucketed, timeTicks } from '../../reports/charts.js';
import { fmtNum } from '../../reports/common.js';
import { FROZEN_CYCLE, WORST_REDIS_CYCLE, longRunResult } from './long-run-result.js';

/**
 * report.html of a 2-hour soak-chaos (120 fault occurrences, 241 phases, 600 windows a series: long-run-result.ts)
 * stays readable and bounded: the bounds below are what a reviewer can rely on. One result and one render shared.
 */
const count = (s: string, re: RegExp): number => s.match(re)?.length ?? 0;
/** Coordinates in an SVG path's `d`: one per M/L command. */
const points = (d: string): number => count(d, /[ML]/g);

let result: RunResult;
let html: string;
let renderMs: number;

beforeAll(async () => {
  result = (await longRunResult()).result;
  const t = performance.now();
  html = toHtml(result);
  renderMs = performance.now() - t;
}, 60_000);

describe('report.html of a 2-hour soak', () => {
  it('has the shape of the run: 120 fault occurrences in 241 phases', () => {
    expect(result.faults).toHaveLength(120);
    expect(result.phases.length).toBeGreaterThan(240);
    expect(result.series.every((s) => s.points.length <= 600)).toBe(true);
  });

  it('stays under 3 MB and renders in seconds (it was 35 MB, in 55 s)', () => {
    expect(Buffer.byteLength(html)).toBeLessThan(3_000_000);
    expect(renderMs).toBeLessThan(10_000);
  });

  it('draws every line through at most MAX_LINE_POINTS points, no marker per window, one envelope a chart', () => {
    const paths = [...html.matchAll(/<path class="series" d="([^"]*)"/g)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThan(100);
    for (const d of paths) expect(points(d)).toBeLessThanOrEqual(MAX_LINE_POINTS);
    expect(count(html, /class="marker"/g)).toBe(0);
    const charts = count(html, /<svg [^>]*class="chart"/g);
    expect(count(html, /class="envelope"/g)).toBeLessThanOrEqual(charts + count(html, /class="chart video-chart"/g));
  });

  it('keeps a spike visible: the worst cycle\'s latency is inside the drawn envelope', () => {
    const fig = /<figure class="chart-figure" data-series="http_req_duration"[\s\S]*?<\/figure>/.exec(html)![0];
    const yMax = Number(/data-y-max="([\d.]+)"/.exec(fig)![1]);
    const peak = Math.max(...result.series.find((s) => s.label === 'http_req_duration')!.points.map((p) => p.stats.p99 ?? 0));
    expect(peak).toBeGreaterThan(2000);
    expect(yMax).toBeGreaterThanOrEqual(peak);
    expect(fig).toContain('data-line="p99"');
    expect(fig).toMatch(/<g class="line" data-line="p99"[^>]*data-bucket-ms="\d+"[^>]*><title>p99: highest /);
  });

  it('shades fault windows without labels: one shape per fault entry in every chart, the entries in the legend', () => {
    expect(count(html, /class="band-label"/g)).toBe(0);
    expect(count(html, /data-fault-band=/g)).toBe(0);
    const charts = count(html, /<svg [^>]*class="chart[ "]/g);
    expect(count(html, /<path class="fault-bands" data-fault-entry="redis" data-bands="40"/g)).toBe(charts);
    for (const e of ['redis', 'cassandra', 'minio']) expect(html).toContain(`data-legend="fault" data-fault-entry="${e}"`);
    expect(html).toContain('redis (redis-outage) ×40');
    expect(html).toContain('time since run start (min)');
  });

  it('puts the services\' resident memory in one chart right after the clients\' latency', () => {
    const figs = [...html.matchAll(/<figure class="chart-figure[^"]*" data-(?:series|group)="([^"]*)"/g)].map((m) => m[1]);
    expect(figs.slice(0, 2)).toEqual(['http_req_duration', 'sc_process_rss_mib']);
    expect(figs).not.toContain('sc_process_rss_mib{service=chat}');
    const group = /<figure class="chart-figure group-chart-figure"[\s\S]*?<\/figure>/.exec(html)![0];
    expect(count(group, /<g class="line" data-line="/g)).toBe(5);
  });

  it('draws the line a no-growth check fitted on the resident-memory chart, its slope the check\'s number', () => {
    const h = result.hypotheses.find((x) => x.id === 'chat-memory-steady')!;
    expect(h.verdict).toBe('PASS');
    expect(h.trends).toHaveLength(1);
    expect(h.trends![0]!.slopePerHour).toBe(h.observed);
    expect(h.trends![0]!.slopePerHour).toBeCloseTo(1.5, 0);
    const group = /<figure class="chart-figure group-chart-figure"[\s\S]*?<\/figure>/.exec(html)![0];
    const line = /<line class="fitted-trend" data-trend-of="sc_process_rss_mib\{service=chat\}" data-hypothesis="chat-memory-steady" data-slope-per-hour="[\d.]+" x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"/.exec(group)!;
    // Rising from left to right (SVG's y grows downwards), from the end of the warm-up (12 min into 120) to the end.
    expect(Number(line[2])).toBeGreaterThan(Number(line[4]));
    expect(Number(line[3])).toBeGreaterThan(Number(line[1]));
    expect(group).toMatch(/chat-memory-steady: fitted \+1\.\d+ MiB\/h \(PASS\)/);
  });

  it('has a per-phase table of a column per phase kind and fault entry, the worst cycle named in its cell', () => {
    const table = /<table id="phase-table" class="grouped">[\s\S]*?<\/table>/.exec(html)![0];
    const cols = [...table.matchAll(/<span data-phase-group="([^"]*)"/g)].map((m) => m[1]);
    expect(cols).toEqual(['baseline', 'fault:redis', 'recovery:redis', 'fault:cassandra', 'recovery:cassandra', 'fault:minio', 'recovery:minio', 'run']);
    expect(cols.length).toBeLessThanOrEqual(PHASE_COLUMNS_MAX);
    // Rows: the series with samples (the empty ones named, folded).
    const rows = count(table, /<tr data-row-label=/g);
    expect(rows).toBeLessThan(new Set(result.phaseTable.map((r) => r.label)).size);
    expect(rows + Number(/(\d+) series with no sample in any phase/.exec(html)![1])).toBe(new Set(result.phaseTable.map((r) => r.label)).size);
    const login = /<tr data-row-label="sc_probe_duration\{probe=login\}">[\s\S]*?<\/tr>/.exec(table)![0];
    expect(login).toMatch(new RegExp(`<td data-phase-group="fault:redis"><div class="cell-stats summary">[^]*?class="worst" data-worst-phase="fault:${WORST_REDIS_CYCLE}">max \\d+ ms <a href="#cycle-fault:${WORST_REDIS_CYCLE}">`));
  });

  it('reads a phase result.json leaves out as one without samples: a cell counts them against the group\'s cycles', () => {
    // result.json holds no row for a (series, phase) without samples; here the upload probe is silent in 30 of the 40 MinIO outages.
    const silent = new Set(result.phases.filter((p) => p.id.startsWith('fault:minio')).slice(10).map((p) => p.id));
    const sparse: RunResult = { ...result, phaseTable: result.phaseTable.filter((r) => !(r.label === 'sc_probe_ok{probe=upload}' && silent.has(r.phase))) };
    const table = /<table id="phase-table" class="grouped">[\s\S]*?<\/table>/.exec(toHtml(sparse))![0];
    const row = /<tr data-row-label="sc_probe_ok\{probe=upload\}">[\s\S]*?<\/tr>/.exec(table)![0];
    const cell = /<td data-phase-group="fault:minio">[\s\S]*?<\/td>/.exec(row)![0];
    expect(cell).toContain('30 of 40 without samples');
    expect(/<td data-phase-group="fault:redis">[\s\S]*?<\/td>/.exec(row)![0]).not.toContain('without samples');
  });

  it('keeps every phase reachable: each repeating fault\'s cycles folded below the table, the worst of a column marked', () => {
    const ids = [...html.matchAll(/<tr id="cycle-([^"]*)" data-phase-id=/g)].map((m) => m[1]);
    const faultPhases = result.phases.filter((p) => p.kind === 'fault' || p.kind === 'recovery').map((p) => p.id);
    expect(new Set(ids)).toEqual(new Set(faultPhases));
    expect(count(html, /<details class="cycles" data-fault-entry="(redis|cassandra|minio)"><summary>\1: its 40 cycles/g)).toBe(3);
    const worstRow = new RegExp(`<tr id="cycle-fault:${WORST_REDIS_CYCLE.replace('#', '#')}"[^]*?</tr>`).exec(html)![0];
    expect(worstRow).toContain('class="num worst"');
  });

  it('says the same evidence of 40 cycles once, and folds a hypothesis whose cycles differ: its first part shown, all of them below', () => {
    const prefixes = new Set([...result.phases.map((p) => p.id), ...result.faults.map((f) => f.id), 'run']);
    // Every cycle of the outage said the same: one part, naming the cycles, shown whole.
    const same = result.hypotheses.find((x) => x.id === 'login-during-redis-outage')!;
    expect(evidenceParts(same.evidence, prefixes)).toEqual([expect.stringMatching(/^fault:redis … fault:redis#40 \(40 phases, each\): 20\/20 login attempts accepted/)]);
    const sameRow = /<tr id="hyp-login-during-redis-outage"[\s\S]*?<\/tr>/.exec(html)![0];
    expect(sameRow).not.toContain('<details class="evidence"');
    // Cycles that differ: every distinct part listed, the first shown.
    const h = result.hypotheses.find((x) => evidenceParts(x.evidence, prefixes).length > EVIDENCE_PARTS_SHOWN)!;
    const parts = evidenceParts(h.evidence, prefixes);
    // `;` inside one phase's evidence (its outcomes) does not split it; each part is led by phases.
    expect(parts.every((p) => /^fault:/.test(p))).toBe(true);
    const row = new RegExp(`<tr id="hyp-${h.id}"[\\s\\S]*?</tr>`).exec(html)![0];
    expect(row).toContain(`<details class="evidence" data-evidence-parts="${parts.length}"><summary>judged in ${parts.length} phases`);
    expect(count(row, /<li>/g)).toBe(parts.length);
    // One row per hypothesis, never one per cycle.
    expect(count(html, /<tr id="hyp-/g)).toBe(result.hypotheses.length);
    // A claim's reason of 40 cycles that said the same: short enough to be shown whole (it was cut and folded).
    const claim = /<tr id="claim-REDIS-LOGIN"[\s\S]*?<\/tr>/.exec(html)![0];
    expect(claim).toMatch(/<td class="reason">login-during-redis-outage: fault:redis … fault:redis#40 \(40 phases, each\): 20\/20 login attempts accepted[^<]*<div class="source">/);
    // A long one: each deciding check's first part, the whole folded.
    const long = result.claims.find((c) => c.reason.length > REASON_SHOWN_CHARS)!;
    const longRow = new RegExp(`<tr id="claim-${long.id}"[\\s\\S]*?</tr>`).exec(html)![0];
    expect(longRow).toContain(`<details class="evidence" data-reason-chars="${long.reason.length}">`);
    expect(longRow).toMatch(/<td class="reason"><div>[^<]+<\/div>/);
  });

  it('has a fault timeline and calibration of a row per fault entry, each occurrence folded', () => {
    const faults = /<table id="fault-table">[\s\S]*?<\/table>/.exec(html)![0];
    expect([...faults.matchAll(/<tr data-fault-entry="([^"]*)" data-cycles="(\d+)" data-verified="(\d+)"/g)].map((m) => [m[1], m[2], m[3]])).toEqual([['redis', '40', '40'], ['cassandra', '40', '40'], ['minio', '40', '40']]);
    expect(count(html, /<tr id="fault-[^"]*" data-fault-id=/g)).toBe(120);
    const cal = /<table id="calibration-table">[\s\S]*?<\/table>/.exec(html)![0];
    expect(count(cal, /<tr data-calibration-entry=/g)).toBe(3);
    expect(count(html, /<tr id="calibration-[^"]*" data-calibration-fault=/g)).toBe(120);
  });

  it('shows a bounded filmstrip: baseline, each fault\'s first and last cycle, the frozen one', () => {
    const strip = /<table class="filmstrip"[\s\S]*?<\/thead>/.exec(html)![0];
    const shown = [...strip.matchAll(/data-phase-id="([^"]*)"/g)].map((m) => m[1]);
    expect(shown.length).toBeLessThanOrEqual(FILMSTRIP_LONG_RUN_PHASES);
    expect(shown).toEqual(expect.arrayContaining(['baseline', 'fault:redis', 'recovery:redis', 'fault:redis#40', `fault:${FROZEN_CYCLE}`]));
  });
});

describe('long-run helpers', () => {
  it('bucket a line into at most `max` points: mean weighted by samples, the range kept, gaps kept', () => {
    const grid = Array.from({ length: 600 }, (_, i) => ({ t: i * 12_000, v: i === 301 ? 5000 : i >= 100 && i < 110 ? undefined : 10, n: 12 }));
    const b = bucketed(grid, 12_000, 180);
    expect(b.length).toBeLessThanOrEqual(180);
    expect(Math.max(...b.map((x) => x.hi ?? 0))).toBe(5000);
    expect(b.some((x) => x.v === undefined)).toBe(true);
    expect(b[0]!.tEnd - b[0]!.t).toBe(4 * 12_000);
    // Few windows: one bucket each, as before.
    expect(bucketed(grid.slice(0, 40), 12_000, 180).map((x) => x.v)).toEqual(grid.slice(0, 40).map((x) => x.v));
  });

  it('count minutes on a long time axis, seconds on a short one', () => {
    expect(timeTicks(180_000, 8).unit).toBe('s');
    const long = timeTicks(7_200_000, 8);
    expect(long.unit).toBe('min');
    expect(long.ticks.map((t) => t.text)).toContain('60');
    expect(long.ticks.find((t) => t.text === '60')!.s).toBe(3600);
  });

  it('fmtNum keeps the zeros of an integer part', () => {
    expect(fmtNum(579.6)).toBe('580');
    expect(fmtNum(460.2)).toBe('460');
    expect(fmtNum(12.5)).toBe('12.5');
    expect(fmtNum(0.5)).toBe('0.5');
    expect(fmtNum(10.04)).toBe('10');
  });
});
