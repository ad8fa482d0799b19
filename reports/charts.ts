/**
 * Server-side inline SVG charts for report.html: one chart per latency trend (p50/p95/p99 over time)
 * and per rate series (%), every fault window a shaded, labelled band. No JS: point values are in
 * <title> elements, which browsers show as hover tooltips.
 *
 * d3-scale (linear scales, "nice" ticks) and d3-shape (line paths that break where `defined()` is false,
 * marker symbols) compute the geometry in Node; the markup stays ours, static and self-contained, with
 * the data-* attributes tests read. A full charting grammar (vega-lite rendered to SVG on the server)
 * was not worth it here: a large dependency tree and asynchronous rendering for three line charts,
 * and its SVG would not carry the fault bands' and lines' data-* attributes the checks rely on.
 *
 * Each statistic has its own dash pattern and marker shape, drawn widest-first, so lines that coincide
 * (p95 = p99 on few samples) both stay visible. A window without samples breaks the line: the series is
 * laid on the full grid of windows and the missing ones are undefined, never bridged.
 */
import { scaleLinear } from 'd3-scale';
import { area, line, symbol, symbolCircle, symbolDiamond, symbolSquare, symbolTriangle, type SymbolType } from 'd3-shape';
import type { FaultRecord, FittedTrend, RunResult, Series, Stats } from '../src/results/model.js';
import { esc, fmtNum } from './common.js';

export const CHART = { width: 820, height: 290, left: 64, right: 20, top: 34, bottom: 46 } as const;

interface LineStyle {
  colour: string;
  /** stroke-dasharray ('' = solid). */
  dash: string;
  width: number;
  marker: 'circle' | 'square' | 'triangle' | 'diamond';
  /** Marker area (px²); hollow markers are drawn larger, so a filled one on top leaves their outline visible. */
  markerSize: number;
  hollow: boolean;
}

/** Distinct in colour, dash and marker: a reader (or a grey-scale print) can tell every line apart. */
export const LINE_STYLES: Record<string, LineStyle> = {
  p99: { colour: '#8250df', dash: '2 3', width: 2.2, marker: 'triangle', markerSize: 64, hollow: true },
  p95: { colour: '#bf8700', dash: '8 4', width: 2, marker: 'square', markerSize: 26, hollow: false },
  p50: { colour: '#0969da', dash: '', width: 1.6, marker: 'circle', markerSize: 14, hollow: false },
  rate: { colour: '#cf222e', dash: '', width: 1.8, marker: 'diamond', markerSize: 22, hollow: false },
};
const SYMBOLS: Record<LineStyle['marker'], SymbolType> = { circle: symbolCircle, square: symbolSquare, triangle: symbolTriangle, diamond: symbolDiamond };
export const BAND_FILL = '#f4a261';

/**
 * A long run (a soak's repeating faults: 120 windows in 2 hours) would bury a chart under labels and markers. Past
 * these bounds the bands lose their labels (one shape per fault entry, its colour and count in the legend), and a
 * line is drawn through buckets of windows (the bucket's mean, its min–max as a shaded envelope: a spike stays
 * visible) without a marker per window.
 */
export const BAND_LABEL_LIMIT = 12;
export const MAX_LINE_POINTS = 180;
export const MAX_MARKERS = 200;
/** One fill per fault entry when bands are drawn without labels (the first is BAND_FILL). */
export const ENTRY_FILLS = [BAND_FILL, '#2a9d8f', '#9b5de5', '#e76f51', '#8ab17d', '#4ea8de'] as const;

/** The fault entries of the run in timeline order (a repeating fault's cycles under their entry), each with its fill. */
export function faultEntries(result: RunResult): { id: string; name: string; cycles: number; fill: string }[] {
  const out: { id: string; name: string; cycles: number; fill: string }[] = [];
  for (const f of result.faults) {
    const id = f.entryId ?? f.id;
    const e = out.find((x) => x.id === id);
    if (e) e.cycles++;
    else out.push({ id, name: f.name, cycles: 1, fill: ENTRY_FILLS[out.length % ENTRY_FILLS.length]! });
  }
  return out;
}

/** Are the run's fault windows too many to label one by one? */
export const denseBands = (result: RunResult): boolean => result.faults.length > BAND_LABEL_LIMIT;

type ChartKind = 'latency' | 'rate';

export function chartKindOf(s: Series): ChartKind | null {
  const kinds = new Set(s.points.map((p) => p.stats.kind));
  if (kinds.size !== 1) return null;
  if (kinds.has('trend')) return 'latency';
  if (kinds.has('rate')) return 'rate';
  return null;
}

/** Fault window relative to the run's start (ms), clamped to [0, domain]; null when never applied. */
export function faultWindow(f: FaultRecord, result: RunResult, domainMs: number): { startMs: number; endMs: number } | null {
  if (f.appliedAtMs === undefined) return null;
  const startMs = Math.min(Math.max(0, f.appliedAtMs - result.startedAtMs), domainMs);
  const endMs = Math.min(Math.max(startMs, (f.removedAtMs ?? result.endedAtMs) - result.startedAtMs), domainMs);
  return { startMs, endMs };
}

function valueOf(stats: Stats, key: string, kind: ChartKind): number | undefined {
  if (stats.count === 0) return undefined;
  const v = (stats as unknown as Record<string, number | undefined>)[key];
  if (v === undefined || !Number.isFinite(v)) return undefined;
  return kind === 'rate' ? v * 100 : v;
}

/** Past this length a chart's time axis counts minutes: 7200 s reads better as 120 min. */
export const MINUTES_AXIS_FROM_MS = 20 * 60_000;

/** The time axis' ticks (seconds since the run's start) with their text, and its unit. */
export function timeTicks(domainMs: number, n: number): { ticks: { s: number; text: string }[]; unit: 's' | 'min' } {
  if (domainMs <= MINUTES_AXIS_FROM_MS) return { ticks: scaleLinear().domain([0, domainMs / 1000]).ticks(n).map((s) => ({ s, text: fmtNum(s) })), unit: 's' };
  return { ticks: scaleLinear().domain([0, domainMs / 60_000]).ticks(n).map((m) => ({ s: m * 60, text: fmtNum(m) })), unit: 'min' };
}

/** One window of a line: its start (ms since the run's start), value (undefined: no data there) and sample count. */
export interface WindowValue {
  t: number;
  v: number | undefined;
  n: number;
}

/**
 * A statistic laid on every window from the first to the last point: windows the series has no point
 * for (nothing measured) are present with `v` undefined, so the line breaks there.
 */
export function onWindowGrid(series: Series, key: string, kind: ChartKind): WindowValue[] {
  const w = series.windowMs;
  const byIndex = new Map(series.points.map((p) => [Math.round(p.t / w), p]));
  if (byIndex.size === 0) return [];
  const first = Math.min(...byIndex.keys());
  const last = Math.max(...byIndex.keys());
  const out: WindowValue[] = [];
  for (let i = first; i <= last; i++) {
    const p = byIndex.get(i);
    out.push(p ? { t: p.t, v: valueOf(p.stats, key, kind), n: p.stats.count } : { t: i * w, v: undefined, n: 0 });
  }
  return out;
}

const r2 = (n: number): string => String(Math.round(n * 100) / 100);

/** Consecutive windows drawn as one point: `v` their mean (weighted by samples), `lo`…`hi` their range, up to `tEnd`. */
export interface Bucket extends WindowValue {
  tEnd: number;
  lo: number | undefined;
  hi: number | undefined;
}

/** A line's windows in at most `max` buckets of equal length (each window its own bucket when they are few). */
export function bucketed(grid: readonly WindowValue[], windowMs: number, max = MAX_LINE_POINTS): Bucket[] {
  const k = Math.max(1, Math.ceil(grid.length / max));
  const out: Bucket[] = [];
  for (let i = 0; i < grid.length; i += k) {
    const b = grid.slice(i, i + k);
    const vs = b.filter((d): d is WindowValue & { v: number } => d.v !== undefined);
    const n = b.reduce((a, d) => a + d.n, 0);
    const weight = vs.reduce((a, d) => a + Math.max(1, d.n), 0);
    out.push({
      t: b[0]!.t, tEnd: b[b.length - 1]!.t + windowMs, n,
      v: vs.length ? vs.reduce((a, d) => a + d.v * Math.max(1, d.n), 0) / weight : undefined,
      lo: vs.length ? Math.min(...vs.map((d) => d.v)) : undefined,
      hi: vs.length ? Math.max(...vs.map((d) => d.v)) : undefined,
    });
  }
  return out;
}

function markerPath(style: LineStyle): string {
  return symbol(SYMBOLS[style.marker], style.markerSize).digits(2)() ?? '';
}

function markerAttrs(style: LineStyle): string {
  return style.hollow ? `fill="#ffffff" stroke="${style.colour}" stroke-width="1.4"` : `fill="${style.colour}"`;
}

/** A legend entry's picture: the line's dash and marker, as in the chart. */
function swatch(style: LineStyle): string {
  return (
    `<svg class="swatch" width="36" height="14" viewBox="0 0 36 14" aria-hidden="true">` +
    `<line x1="1" x2="35" y1="7" y2="7" stroke="${style.colour}" stroke-width="${style.width}"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}/>` +
    `<path transform="translate(18 7)" d="${markerPath(style)}" ${markerAttrs(style)}/></svg>`
  );
}

/** Every fault window of the run as a shaded, labelled band (a planned one never applied: a dashed outline). */
function faultBands(result: RunResult, x: (ms: number) => number, T: number, ph: number, domainMs: number, short = false): string[] {
  if (denseBands(result)) return unlabelledBands(result, x, T, ph, domainMs);
  const out: string[] = [];
  for (const f of result.faults) {
    const w = faultWindow(f, result, domainMs);
    const label = short ? f.id : `${f.id} (${f.name})`;
    if (w === null) {
      // Planned but never applied: a dashed outline, not a shaded band.
      const ps = Math.min(f.plannedStartS * 1000, domainMs);
      const pe = Math.min(ps + f.plannedDurationS * 1000, domainMs);
      out.push(
        `<rect data-fault-planned="${esc(f.id)}" x="${r2(x(ps))}" y="${T}" width="${r2(x(pe) - x(ps))}" height="${ph}" fill="none" stroke="${BAND_FILL}" stroke-dasharray="4 3"><title>${esc(`${label}: planned, never applied`)}</title></rect>`,
      );
      continue;
    }
    const bx = x(w.startMs);
    const bw = x(w.endMs) - bx;
    out.push(
      `<g class="fault-band"><rect data-fault-band="${esc(f.id)}" data-fault-name="${esc(f.name)}" data-start-ms="${w.startMs}" data-end-ms="${w.endMs}"` +
        ` x="${r2(bx)}" y="${T}" width="${r2(bw)}" height="${ph}" fill="${BAND_FILL}" fill-opacity="0.28">` +
        `<title>${esc(`${label}: +${(w.startMs / 1000).toFixed(2)} s … +${(w.endMs / 1000).toFixed(2)} s`)}</title></rect>` +
        `<text class="band-label" x="${r2(bx + 3)}" y="${T - 6}" font-size="11" fill="#9a3412">${esc(label)}</text></g>`,
    );
  }
  return out;
}

/**
 * Many fault windows: one path per fault entry (every cycle's window a rectangle of it, in the entry's fill), no
 * labels; the legend names each entry. A window planned but never applied stays a dashed outline of its own.
 */
function unlabelledBands(result: RunResult, x: (ms: number) => number, T: number, ph: number, domainMs: number): string[] {
  const out: string[] = [];
  for (const e of faultEntries(result)) {
    const spans: [number, number][] = [];
    for (const f of result.faults.filter((g) => (g.entryId ?? g.id) === e.id)) {
      const w = faultWindow(f, result, domainMs);
      if (w === null) {
        const ps = Math.min(f.plannedStartS * 1000, domainMs);
        const pe = Math.min(ps + f.plannedDurationS * 1000, domainMs);
        out.push(`<rect data-fault-planned="${esc(f.id)}" x="${r2(x(ps))}" y="${T}" width="${r2(x(pe) - x(ps))}" height="${ph}" fill="none" stroke="${e.fill}" stroke-dasharray="4 3"><title>${esc(`${f.id}: planned, never applied`)}</title></rect>`);
        continue;
      }
      // At least half a pixel: a short window on a long axis stays visible.
      spans.push([x(w.startMs), Math.max(x(w.startMs) + 0.5, x(w.endMs))]);
    }
    // Windows closer than a pixel are one shape: the path stays bounded by the plot's width, whatever the run's length.
    const merged: [number, number][] = [];
    for (const [a, b] of spans.sort((p, q) => p[0] - q[0])) {
      const last = merged[merged.length - 1];
      if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
      else merged.push([a, b]);
    }
    const rects = merged.map(([a, b]) => `M${r2(a)} ${T}h${r2(b - a)}v${ph}h${r2(a - b)}z`);
    if (spans.length) {
      out.push(`<path class="fault-bands" data-fault-entry="${esc(e.id)}" data-bands="${spans.length}" d="${rects.join('')}" fill="${e.fill}" fill-opacity="0.3"><title>${esc(`${e.id} (${e.name}): ${spans.length} fault windows`)}</title></path>`);
    }
  }
  return out;
}

/** The legend's fault entries: one swatch for every band, or one per fault entry (with its count) when they are many. */
export function bandLegend(result: RunResult): string[] {
  if (!result.faults.some((f) => f.appliedAtMs !== undefined)) return [];
  if (!denseBands(result)) return [`<li data-legend="fault"><span class="swatch band" style="background:${BAND_FILL}"></span>fault window (applied … removed)</li>`];
  return faultEntries(result).map((e) => `<li data-legend="fault" data-fault-entry="${esc(e.id)}"><span class="swatch band" style="background:${e.fill}"></span>${esc(e.id)} (${esc(e.name)}) ×${e.cycles}</li>`);
}

/** The lines `no-growth` checks fitted through a series, with the check that fitted each. */
export function fittedTrends(result: RunResult, seriesLabel: string): { hypothesis: string; verdict: string; trend: FittedTrend }[] {
  return result.hypotheses.flatMap((h) => (h.trends ?? []).filter((t) => t.label === seriesLabel).map((trend) => ({ hypothesis: h.id, verdict: h.verdict, trend })));
}

/** A fitted line drawn over its judged span (dashed, in the series' colour), the check and its slope in its tooltip. */
function trendLine(f: { hypothesis: string; verdict: string; trend: FittedTrend }, result: RunResult, x: (ms: number) => number, y: (v: number) => number, colour: string): string {
  const t = f.trend;
  const at = (ms: number) => t.level + (t.slopePerHour * (ms - t.atMs)) / 3_600_000;
  const a = t.fromMs - result.startedAtMs;
  const b = t.toMs - result.startedAtMs;
  const said = `${f.hypothesis} (${f.verdict}): fitted ${t.slopePerHour >= 0 ? '+' : ''}${fmtNum(t.slopePerHour)} ${t.unit}/h in ${t.phase}, through ${fmtNum(t.level)} ${t.unit}`;
  return `<line class="fitted-trend" data-trend-of="${esc(t.label)}" data-hypothesis="${esc(f.hypothesis)}" data-slope-per-hour="${t.slopePerHour}" x1="${r2(x(a))}" y1="${r2(y(at(t.fromMs)))}" x2="${r2(x(b))}" y2="${r2(y(at(t.toMs)))}" stroke="${colour}" stroke-width="2.6" stroke-dasharray="10 4" stroke-opacity="0.85"><title>${esc(said)}</title></line>`;
}

const trendLegend = (f: { hypothesis: string; verdict: string; trend: FittedTrend }, colour: string): string =>
  `<li data-legend="trend" data-hypothesis="${esc(f.hypothesis)}"><svg class="swatch" width="36" height="14" viewBox="0 0 36 14" aria-hidden="true"><line x1="1" x2="35" y1="7" y2="7" stroke="${colour}" stroke-width="2.6" stroke-dasharray="10 4"/></svg>` +
  `${esc(`${f.hypothesis}: fitted ${f.trend.slopePerHour >= 0 ? '+' : ''}${fmtNum(f.trend.slopePerHour)} ${f.trend.unit}/h (${f.verdict})`)}</li>`;

/** A trend's unit: milliseconds, but for the runner's readings of the target (server-observer.ts), named by their metric. */
export function trendUnit(metric: string): string {
  if (metric.endsWith('_mib')) return 'MiB';
  if (metric === 'sc_process_fds') return 'files';
  if (metric === 'sc_process_cpu_cores') return 'cores';
  if (metric === 'sc_server') return 'as served';
  return 'ms';
}

export function renderChart(series: Series, result: RunResult, index: number): string {
  const kind = chartKindOf(series);
  if (kind === null) return '';
  const { width: W, height: H, left: L, right: R, top: T, bottom: B } = CHART;
  const pw = W - L - R;
  const ph = H - T - B;
  const lastPoint = series.points.reduce((m, p) => Math.max(m, p.t + series.windowMs), 0);
  const domainMs = Math.max(result.endedAtMs - result.startedAtMs, lastPoint, 1);
  // Widest (hollow, dotted) first: what is drawn later lies on top and leaves it showing.
  const keys = kind === 'rate' ? ['rate'] : ['p99', 'p95', 'p50'].filter((k) => series.points.some((p) => valueOf(p.stats, k, kind) !== undefined));
  const unit = kind === 'rate' ? '%' : trendUnit(series.selector.metric);
  const grids = new Map(keys.map((k) => [k, onWindowGrid(series, k, kind)]));

  let dataMax = 0;
  for (const g of grids.values()) for (const d of g) dataMax = Math.max(dataMax, d.v ?? 0);
  if (kind === 'rate') dataMax = Math.max(dataMax, 1);
  const y = scaleLinear().domain([0, dataMax > 0 ? dataMax : 1]).range([T + ph, T]).nice(5);
  const yMax = y.domain()[1] ?? 1;
  const xs = scaleLinear().domain([0, domainMs / 1000]).range([L, L + pw]);
  const x = (ms: number): number => xs(ms / 1000);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"` +
      ` data-chart-kind="${kind}" data-unit="${unit}" data-plot-left="${L}" data-plot-top="${T}" data-plot-width="${pw}" data-plot-height="${ph}"` +
      ` data-domain-ms="${domainMs}" data-y-max="${yMax}" data-window-ms="${series.windowMs}" aria-labelledby="chart-title-${index}">`,
  );
  out.push(`<title id="chart-title-${index}">${esc(series.label)}</title>`);
  out.push(`<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="#ffffff" stroke="#d0d7de"/>`);

  // Fault bands under everything else.
  out.push(...faultBands(result, x, T, ph, domainMs));

  for (const v of y.ticks(5)) {
    const yy = r2(y(v));
    out.push(`<line x1="${L}" x2="${L + pw}" y1="${yy}" y2="${yy}" stroke="#eaeef2"/>`);
    out.push(`<line x1="${L - 4}" x2="${L}" y1="${yy}" y2="${yy}" stroke="#57606a"/>`);
    out.push(`<text class="y-tick" x="${L - 7}" y="${yy}" dy="0.32em" text-anchor="end" font-size="11" fill="#57606a">${fmtNum(v)}</text>`);
  }
  const axis = timeTicks(domainMs, 8);
  for (const { s, text } of axis.ticks) {
    const xx = r2(xs(s));
    out.push(`<line x1="${xx}" x2="${xx}" y1="${T + ph}" y2="${T + ph + 4}" stroke="#57606a"/>`);
    out.push(`<text class="x-tick" x="${xx}" y="${T + ph + 16}" text-anchor="middle" font-size="11" fill="#57606a">${text}</text>`);
  }
  out.push(`<line x1="${L}" x2="${L + pw}" y1="${T + ph}" y2="${T + ph}" stroke="#57606a"/>`);
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}" stroke="#57606a"/>`);
  out.push(`<text class="x-label" x="${L + pw / 2}" y="${H - 8}" text-anchor="middle" font-size="12" fill="#24292f">time since run start (${axis.unit})</text>`);
  out.push(
    `<text class="y-label" transform="translate(14 ${T + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12" fill="#24292f">${kind === 'rate' ? 'rate (%)' : unit === 'ms' ? 'latency (ms)' : esc(`value (${unit})`)}</text>`,
  );

  // One path per statistic; a window without data starts a new subpath (M) instead of a line across it. A long
  // series is drawn through buckets (mean, and the min–max envelope shaded), without a marker per window.
  const mid = (d: Bucket): number => x(Math.min((d.t + d.tEnd) / 2, domainMs));
  const path = line<Bucket>().defined((d) => d.v !== undefined).x(mid).y((d) => y(d.v ?? 0)).digits(2);
  const band = area<Bucket>().defined((d) => d.v !== undefined).x(mid).y0((d) => y(d.lo ?? 0)).y1((d) => y(d.hi ?? 0)).digits(2);
  for (const k of keys) {
    const style: LineStyle = LINE_STYLES[k] ?? { colour: '#24292f', dash: '', width: 1.6, marker: 'circle', markerSize: 14, hollow: false };
    const grid = grids.get(k) ?? [];
    const pts = bucketed(grid, series.windowMs);
    const reduced = pts.length < grid.length;
    // One envelope, round the widest statistic (p99, or the rate): it holds the others' spikes, and three would blur.
    const envelope = reduced && k === keys[0];
    const runs = pts.filter((d, i) => d.v !== undefined && pts[i - 1]?.v === undefined).length;
    const marker = markerPath(style);
    const marks = grid.length > MAX_MARKERS ? [] : pts
      .filter((d) => d.v !== undefined)
      .map(
        (d) =>
          `<path class="marker" transform="translate(${r2(mid(d))} ${r2(y(d.v ?? 0))})" d="${marker}" ${markerAttrs(style)}><title>${esc(`+${fmtNum(d.t / 1000)} s: ${k} ${fmtNum(d.v)} ${unit} (n=${d.n})`)}</title></path>`,
      );
    const peak = grid.reduce<WindowValue | undefined>((m, d) => (d.v !== undefined && (m?.v === undefined || d.v > m.v) ? d : m), undefined);
    const summary = marks.length === 0 && peak ? `<title>${esc(`${k}: highest ${fmtNum(peak.v)} ${unit} at +${fmtNum(peak.t / 1000)} s${reduced ? ` (drawn: the mean of every ${fmtNum((pts[0]!.tEnd - pts[0]!.t) / 1000)} s${envelope ? ', shaded: its range' : ''})` : ''}`)}</title>` : '';
    out.push(
      `<g class="line" data-line="${k}" data-dash="${style.dash || 'solid'}" data-marker="${style.marker}" data-points="${pts.filter((d) => d.v !== undefined).length}"${reduced ? ` data-bucket-ms="${pts[0]!.tEnd - pts[0]!.t}"` : ''} data-segments="${runs}">${summary}` +
        (envelope ? `<path class="envelope" d="${band(pts) ?? ''}" fill="${style.colour}" fill-opacity="0.14" stroke="none"/>` : '') +
        `<path class="series" d="${path(pts) ?? ''}" fill="none" stroke="${style.colour}" stroke-width="${style.width}" stroke-linejoin="round"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}/>` +
        `${marks.join('')}</g>`,
    );
  }
  const fits = fittedTrends(result, series.label);
  for (const f of fits) out.push(trendLine(f, result, x, y, '#24292f'));
  out.push('</svg>');

  const legend = [
    // Legend in reading order (p50, p95, p99), whatever the drawing order.
    ...[...keys].reverse().map((k) => `<li data-legend="${k}">${swatch(LINE_STYLES[k] ?? (LINE_STYLES.p50 as LineStyle))}${kind === 'rate' ? 'rate' : k}</li>`),
    ...fits.map((f) => trendLegend(f, '#24292f')),
    ...bandLegend(result),
    ...(keys.some((k) => (grids.get(k)?.length ?? 0) > MAX_LINE_POINTS) ? ['<li data-legend="envelope" class="muted">a line\'s points are means over several windows; shaded round the top line: its range there (spikes stay)</li>'] : []),
    ...(keys.some((k) => (grids.get(k) ?? []).some((d) => d.v === undefined)) ? ['<li data-legend="gap" class="muted">a break in a line: windows without samples</li>'] : []),
  ];
  return (
    `<figure class="chart-figure" data-series="${esc(series.label)}" data-chart-kind="${kind}">` +
    `<figcaption>${esc(series.label)} <span class="muted">— ${kind === 'rate' ? 'rate per' : 'percentiles per'} ${fmtNum(series.windowMs / 1000)} s window, ${unit}</span></figcaption>` +
    out.join('\n') +
    `<ul class="legend">${legend.join('')}</ul></figure>`
  );
}

/** The small per-participant charts of a video workload: the metric of each (the selectors analyze.ts adds), and what is drawn. */
export const VIDEO_CHARTS = {
  sc_video_fps: { title: 'received video, fps', yLabel: 'fps', unit: 'fps', floor: 15, value: (st: Stats) => st.mean },
  sc_media_loss: { title: 'packet loss, %', yLabel: 'loss (%)', unit: '%', floor: 1, value: (st: Stats) => (st.mean === undefined ? undefined : st.mean * 100) },
  sc_media_jitter: { title: 'jitter, ms', yLabel: 'jitter (ms)', unit: 'ms', floor: 10, value: (st: Stats) => st.mean },
  // Freeze time added per poll (about a second) per remote track: as a share of the time.
  // Chromium counts a stall of 5 s or more as a pause, not a freeze: such a stall shows as 0 fps, not here.
  sc_video_freeze_ms: { title: 'frozen, % of time (stalls < 5 s)', yLabel: 'frozen (%)', unit: '%', floor: 10, value: (st: Stats) => (st.sum === undefined || st.count === 0 ? undefined : Math.min(100, st.sum / st.count / 10)) },
} as const satisfies Record<string, { title: string; yLabel: string; unit: string; floor: number; value: (st: Stats) => number | undefined }>;
export type VideoChartMetric = keyof typeof VIDEO_CHARTS;
export const VIDEO_CHART = { width: 280, height: 170, left: 40, right: 8, top: 24, bottom: 32 } as const;

export const isVideoChartMetric = (m: string): m is VideoChartMetric => Object.hasOwn(VIDEO_CHARTS, m);

/**
 * One small chart of what one participant received (its series averaged over every remote track per window), the
 * fault windows shaded as in the other charts; a window without samples breaks the line.
 */
export function renderVideoChart(series: Series, metric: VideoChartMetric, result: RunResult, id: string): string {
  const spec = VIDEO_CHARTS[metric];
  const { width: W, height: H, left: L, right: R, top: T, bottom: B } = VIDEO_CHART;
  const pw = W - L - R;
  const ph = H - T - B;
  const lastPoint = series.points.reduce((m, p) => Math.max(m, p.t + series.windowMs), 0);
  const domainMs = Math.max(result.endedAtMs - result.startedAtMs, lastPoint, 1);
  const w = series.windowMs;
  const byIndex = new Map(series.points.map((p) => [Math.round(p.t / w), p]));
  const grid: WindowValue[] = [];
  if (byIndex.size > 0) {
    const first = Math.min(...byIndex.keys());
    const last = Math.max(...byIndex.keys());
    for (let i = first; i <= last; i++) {
      const p = byIndex.get(i);
      const v = p && p.stats.count > 0 ? spec.value(p.stats) : undefined;
      grid.push({ t: i * w, v: v !== undefined && Number.isFinite(v) ? v : undefined, n: p?.stats.count ?? 0 });
    }
  }
  const dataMax = grid.reduce((m, d) => Math.max(m, d.v ?? 0), 0);
  const y = scaleLinear().domain([0, Math.max(dataMax, spec.floor)]).range([T + ph, T]).nice(4);
  const xs = scaleLinear().domain([0, domainMs / 1000]).range([L, L + pw]);
  const x = (ms: number): number => xs(ms / 1000);
  const mid = (d: Bucket): number => x(Math.min((d.t + d.tEnd) / 2, domainMs));
  const path = line<Bucket>().defined((d) => d.v !== undefined).x(mid).y((d) => y(d.v ?? 0)).digits(2);
  const shown = grid.filter((d) => d.v !== undefined);
  // A small chart: fewer points than the big ones, and the range of each as a shaded envelope when reduced.
  const pts = bucketed(grid, w, MAX_LINE_POINTS / 2);
  const reduced = pts.length < grid.length;
  const band = area<Bucket>().defined((d) => d.v !== undefined).x(mid).y0((d) => y(d.lo ?? 0)).y1((d) => y(d.hi ?? 0)).digits(2);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart video-chart" role="img" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" data-metric="${metric}" data-unit="${esc(spec.unit)}"` +
      ` data-plot-left="${L}" data-plot-top="${T}" data-plot-width="${pw}" data-plot-height="${ph}" data-domain-ms="${domainMs}" data-y-max="${y.domain()[1] ?? 1}" data-window-ms="${w}" data-windows="${shown.length}" aria-labelledby="${esc(id)}-title">`,
    `<title id="${esc(id)}-title">${esc(`${series.label}: ${spec.title}`)}</title>`,
    `<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="#ffffff" stroke="#d0d7de"/>`,
    ...faultBands(result, x, T, ph, domainMs, true),
  ];
  for (const v of y.ticks(4)) {
    const yy = r2(y(v));
    out.push(`<line x1="${L}" x2="${L + pw}" y1="${yy}" y2="${yy}" stroke="#eaeef2"/><text class="y-tick" x="${L - 5}" y="${yy}" dy="0.32em" text-anchor="end" font-size="10" fill="#57606a">${fmtNum(v)}</text>`);
  }
  const axis = timeTicks(domainMs, 5);
  for (const { s: t, text } of axis.ticks) {
    const xx = r2(xs(t));
    out.push(`<line x1="${xx}" x2="${xx}" y1="${T + ph}" y2="${T + ph + 3}" stroke="#57606a"/><text class="x-tick" x="${xx}" y="${T + ph + 14}" text-anchor="middle" font-size="10" fill="#57606a">${text}</text>`);
  }
  out.push(`<text class="x-label" x="${L + pw / 2}" y="${H - 4}" text-anchor="middle" font-size="10" fill="#57606a">${axis.unit} since run start</text>`);
  out.push(`<text class="y-label" transform="translate(11 ${T + ph / 2}) rotate(-90)" text-anchor="middle" font-size="10" fill="#24292f">${esc(spec.yLabel)}</text>`);
  const tips = grid.length > MAX_MARKERS ? [] : pts.filter((d) => d.v !== undefined).map((d) => `<circle class="marker" cx="${r2(mid(d))}" cy="${r2(y(d.v ?? 0))}" r="1.6" fill="#0969da"><title>${esc(`+${fmtNum(d.t / 1000)} s: ${fmtNum(d.v)} ${spec.unit} (n=${d.n})`)}</title></circle>`);
  out.push(
    `<g class="line" data-line="mean" data-points="${pts.filter((d) => d.v !== undefined).length}">` +
      (reduced ? `<path class="envelope" d="${band(pts) ?? ''}" fill="#0969da" fill-opacity="0.14" stroke="none"/>` : '') +
      `<path class="series" d="${path(pts) ?? ''}" fill="none" stroke="#0969da" stroke-width="1.5" stroke-linejoin="round"/>${tips.join('')}</g>`,
  );
  out.push('</svg>');
  return `<figure class="video-chart-figure" data-series="${esc(series.label)}" data-metric="${metric}"><figcaption>${esc(spec.title)}</figcaption>${out.join('')}</figure>`;
}

/**
 * The alert rules of `alerts` checks on the run's timeline: one row per rule, a red bar where it fired, the fault
 * bands beneath; a rule with no data source is a row saying so (listed, never counted).
 */
export function renderAlertTimeline(result: RunResult): string {
  const rows = result.hypotheses.flatMap((h) => (h.timeline ?? []).map((r) => ({ hypothesis: h.id, ...r })));
  if (rows.length === 0) return '';
  const { width: W, left: L, right: R } = CHART;
  const rowH = 18;
  const T = 22;
  const ph = rows.length * rowH;
  const H = T + ph + 28;
  const pw = W - L - R;
  const domainMs = Math.max(result.endedAtMs - result.startedAtMs, 1);
  const xs = scaleLinear().domain([0, domainMs / 1000]).range([L, L + pw]);
  const x = (ms: number): number => xs(Math.min(Math.max(ms, 0), domainMs) / 1000);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart alert-timeline" role="img" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" data-domain-ms="${domainMs}" aria-label="alerts on the run's timeline">`,
    `<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="#ffffff" stroke="#d0d7de"/>`,
    ...faultBands(result, x, T, ph, domainMs, true),
  ];
  rows.forEach((r, k) => {
    const y = T + k * rowH;
    out.push(`<text x="${L - 5}" y="${y + rowH / 2}" dy="0.32em" text-anchor="end" font-size="10" fill="#24292f">${esc(r.id)}</text>`);
    if (r.notEvaluable !== undefined) {
      // The row holds ~120 characters: the whole reason on hover.
      const why = r.notEvaluable.length > 110 ? `${r.notEvaluable.slice(0, 109)}…` : r.notEvaluable;
      out.push(`<text data-alert-not-evaluable="${esc(r.id)}" x="${L + 4}" y="${y + rowH / 2}" dy="0.32em" font-size="10" fill="#57606a">not evaluable: ${esc(why)}<title>${esc(r.notEvaluable)}</title></text>`);
      return;
    }
    for (const f of r.firing) {
      const a = f.startMs - result.startedAtMs;
      const b = f.endMs - result.startedAtMs;
      out.push(`<rect data-alert-firing="${esc(r.id)}" data-start-ms="${a}" data-end-ms="${b}" x="${r2(x(a))}" y="${y + 3}" width="${r2(Math.max(1, x(b) - x(a)))}" height="${rowH - 6}" fill="#cf222e"><title>${esc(`${r.label}: fires +${fmtNum(a / 1000)} s … +${fmtNum(b / 1000)} s`)}</title></rect>`);
    }
  });
  const axis = timeTicks(domainMs, 6);
  for (const { s: t, text } of axis.ticks) {
    const xx = r2(xs(t));
    out.push(`<text class="x-tick" x="${xx}" y="${T + ph + 14}" text-anchor="middle" font-size="10" fill="#57606a">${text}</text>`);
  }
  out.push(`<text x="${L + pw / 2}" y="${H - 2}" text-anchor="middle" font-size="10" fill="#57606a">${axis.unit} since run start</text>`, '</svg>');
  return `<figure class="alert-timeline-figure"><figcaption>Recommended alerts: when each fired (red), fault windows shaded</figcaption>${out.join('')}</figure>`;
}

/** Levels the target's services report, drawn together (a line per service) beside the clients' latency, on the same time axis. */
export const GROUP_CHARTS = [
  { metric: 'sc_process_rss_mib', tag: 'service', title: 'resident memory per service', yLabel: 'resident memory (MiB)', unit: 'MiB' },
] as const;

const GROUP_LINES = [
  { colour: '#0969da', dash: '' }, { colour: '#cf222e', dash: '6 3' }, { colour: '#1a7f37', dash: '2 3' }, { colour: '#8250df', dash: '8 3 2 3' },
  { colour: '#bf8700', dash: '' }, { colour: '#57606a', dash: '6 3' }, { colour: '#d1242f', dash: '2 3' }, { colour: '#116329', dash: '8 3 2 3' },
] as const;

/** The series of a group chart: those of its metric told apart by its tag alone. */
export function groupSeries(series: readonly Series[], g: (typeof GROUP_CHARTS)[number]): Series[] {
  return series.filter((s) => s.selector.metric === g.metric && s.selector.tags?.[g.tag] !== undefined && Object.keys(s.selector.tags).length === 1 && s.points.length > 0);
}

/**
 * One chart of a level per service (its mean per window; bucketed on a long run), the y axis fitted to the levels
 * rather than from 0: a slow growth of a few MiB on 80 stays visible. The fault bands as in the other charts.
 */
export function renderGroupChart(group: readonly Series[], g: (typeof GROUP_CHARTS)[number], result: RunResult, index: number): string {
  const { width: W, height: H, left: L, right: R, top: T, bottom: B } = CHART;
  const pw = W - L - R;
  const ph = H - T - B;
  const lastPoint = group.reduce((m, s) => s.points.reduce((mm, p) => Math.max(mm, p.t + s.windowMs), m), 0);
  const domainMs = Math.max(result.endedAtMs - result.startedAtMs, lastPoint, 1);
  const lines = group.map((s, i) => ({
    name: s.selector.tags![g.tag]!, style: GROUP_LINES[i % GROUP_LINES.length]!,
    pts: bucketed(onWindowGrid(s, 'mean', 'latency'), s.windowMs), fits: fittedTrends(result, s.label),
  }));
  const vs = lines.flatMap((l) => l.pts.flatMap((d) => (d.v === undefined ? [] : [d.v])));
  const lo = vs.length ? Math.min(...vs) : 0;
  const hi = vs.length ? Math.max(...vs) : 1;
  const pad = Math.max((hi - lo) * 0.1, hi * 0.02, 1);
  const y = scaleLinear().domain([Math.max(0, lo - pad), hi + pad]).range([T + ph, T]).nice(5);
  const xs = scaleLinear().domain([0, domainMs / 1000]).range([L, L + pw]);
  const x = (ms: number): number => xs(ms / 1000);
  const mid = (d: Bucket): number => x(Math.min((d.t + d.tEnd) / 2, domainMs));
  const path = line<Bucket>().defined((d) => d.v !== undefined).x(mid).y((d) => y(d.v ?? 0)).digits(2);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart group-chart" role="img" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" data-metric="${esc(g.metric)}" data-unit="${esc(g.unit)}"` +
      ` data-plot-left="${L}" data-plot-top="${T}" data-plot-width="${pw}" data-plot-height="${ph}" data-domain-ms="${domainMs}" aria-labelledby="group-title-${index}">`,
    `<title id="group-title-${index}">${esc(g.title)}</title>`,
    `<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="#ffffff" stroke="#d0d7de"/>`,
    ...faultBands(result, x, T, ph, domainMs, true),
  ];
  for (const v of y.ticks(5)) {
    const yy = r2(y(v));
    out.push(`<line x1="${L}" x2="${L + pw}" y1="${yy}" y2="${yy}" stroke="#eaeef2"/><line x1="${L - 4}" x2="${L}" y1="${yy}" y2="${yy}" stroke="#57606a"/>`);
    out.push(`<text class="y-tick" x="${L - 7}" y="${yy}" dy="0.32em" text-anchor="end" font-size="11" fill="#57606a">${fmtNum(v)}</text>`);
  }
  const axis = timeTicks(domainMs, 8);
  for (const { s, text } of axis.ticks) {
    const xx = r2(xs(s));
    out.push(`<line x1="${xx}" x2="${xx}" y1="${T + ph}" y2="${T + ph + 4}" stroke="#57606a"/><text class="x-tick" x="${xx}" y="${T + ph + 16}" text-anchor="middle" font-size="11" fill="#57606a">${text}</text>`);
  }
  out.push(`<line x1="${L}" x2="${L + pw}" y1="${T + ph}" y2="${T + ph}" stroke="#57606a"/><line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}" stroke="#57606a"/>`);
  out.push(`<text class="x-label" x="${L + pw / 2}" y="${H - 8}" text-anchor="middle" font-size="12" fill="#24292f">time since run start (${axis.unit})</text>`);
  out.push(`<text class="y-label" transform="translate(14 ${T + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12" fill="#24292f">${esc(g.yLabel)}</text>`);
  for (const l of lines) {
    const defined = l.pts.filter((d) => d.v !== undefined);
    const first = defined[0];
    const last = defined[defined.length - 1];
    const said = first && last ? `${l.name}: ${fmtNum(first.v)} → ${fmtNum(last.v)} ${g.unit}` : `${l.name}: no readings`;
    out.push(
      `<g class="line" data-line="${esc(l.name)}" data-points="${defined.length}"><title>${esc(said)}</title>` +
        `<path class="series" d="${path(l.pts) ?? ''}" fill="none" stroke="${l.style.colour}" stroke-width="1.8" stroke-linejoin="round"${l.style.dash ? ` stroke-dasharray="${l.style.dash}"` : ''}/>` +
        `${l.fits.map((f) => trendLine(f, result, x, y, l.style.colour)).join('')}</g>`,
    );
  }
  out.push('</svg>');
  const swatchOf = (st: { colour: string; dash: string }) =>
    `<svg class="swatch" width="36" height="14" viewBox="0 0 36 14" aria-hidden="true"><line x1="1" x2="35" y1="7" y2="7" stroke="${st.colour}" stroke-width="1.8"${st.dash ? ` stroke-dasharray="${st.dash}"` : ''}/></svg>`;
  const legend = [
    ...lines.map((l) => `<li data-legend="${esc(l.name)}">${swatchOf(l.style)}${esc(l.name)}</li>`),
    ...lines.flatMap((l) => l.fits.map((f) => trendLegend(f, l.style.colour))),
    ...bandLegend(result),
  ];
  return (
    `<figure class="chart-figure group-chart-figure" data-group="${esc(g.metric)}" data-chart-kind="group">` +
    `<figcaption>${esc(g.title)} <span class="muted">— ${esc(`${g.metric}, the mean per ${fmtNum(group[0]!.windowMs / 1000)} s window, ${g.unit}; the axis fitted to the levels (not from 0)`)}</span></figcaption>` +
    out.join('\n') +
    `<ul class="legend">${legend.join('')}</ul></figure>`
  );
}
