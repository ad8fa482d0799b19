/**
 * Server-side inline SVG charts for report.html: one chart per latency trend (p50/p95/p99 over time)
 * and per rate series (error rate, %), every fault window a shaded, labelled band. No JS: point
 * values are in <title> elements, which browsers show as hover tooltips.
 *
 * Geometry is exposed as data-* attributes (data-plot-left/-width, data-domain-ms) so a test can
 * check that a band's x/width match the fault's times on the chart's scale.
 */
import type { FaultRecord, RunResult, Series, Stats } from '../src/results/model.js';
import { esc, fmtNum } from './common.js';

export const CHART = { width: 820, height: 290, left: 64, right: 20, top: 34, bottom: 46 } as const;

const LINE_COLOURS: Record<string, string> = { p50: '#0969da', p95: '#bf8700', p99: '#8250df', rate: '#cf222e' };
export const BAND_FILL = '#f4a261';

type ChartKind = 'latency' | 'rate';

export function chartKindOf(s: Series): ChartKind | null {
  const kinds = new Set(s.points.map((p) => p.stats.kind));
  if (kinds.size !== 1) return null;
  if (kinds.has('trend')) return 'latency';
  if (kinds.has('rate')) return 'rate';
  return null;
}

/** A "nice" step (1, 2, 2.5, 5 × 10^n) giving about `target` ticks over `span`. */
export function niceStep(span: number, target: number): number {
  if (!(span > 0)) return 1;
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
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

const r2 = (n: number): string => String(Math.round(n * 100) / 100);

export function renderChart(series: Series, result: RunResult, index: number): string {
  const kind = chartKindOf(series);
  if (kind === null) return '';
  const { width: W, height: H, left: L, right: R, top: T, bottom: B } = CHART;
  const pw = W - L - R;
  const ph = H - T - B;
  const lastPoint = series.points.reduce((m, p) => Math.max(m, p.t + series.windowMs), 0);
  const domainMs = Math.max(result.endedAtMs - result.startedAtMs, lastPoint, 1);
  const keys = kind === 'rate' ? ['rate'] : ['p50', 'p95', 'p99'].filter((k) => series.points.some((p) => valueOf(p.stats, k, kind) !== undefined));
  const unit = kind === 'rate' ? '%' : 'ms';

  let yMax = 0;
  for (const p of series.points) for (const k of keys) yMax = Math.max(yMax, valueOf(p.stats, k, kind) ?? 0);
  if (kind === 'rate') yMax = Math.max(yMax, 1);
  if (yMax <= 0) yMax = 1;
  const yStep = niceStep(yMax, 5);
  yMax = Math.ceil(yMax / yStep) * yStep;

  const x = (ms: number): number => L + (ms / domainMs) * pw;
  const y = (v: number): number => T + ph - (v / yMax) * ph;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"` +
      ` data-chart-kind="${kind}" data-unit="${unit}" data-plot-left="${L}" data-plot-top="${T}" data-plot-width="${pw}" data-plot-height="${ph}"` +
      ` data-domain-ms="${domainMs}" data-y-max="${yMax}" aria-labelledby="chart-title-${index}">`,
  );
  out.push(`<title id="chart-title-${index}">${esc(series.label)}</title>`);
  out.push(`<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="#ffffff" stroke="#d0d7de"/>`);

  // Fault bands under everything else.
  for (const f of result.faults) {
    const w = faultWindow(f, result, domainMs);
    const label = `${f.id} (${f.name})`;
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

  // Y grid + ticks.
  for (let v = 0; v <= yMax + yStep / 1e6; v += yStep) {
    const yy = r2(y(v));
    out.push(`<line x1="${L}" x2="${L + pw}" y1="${yy}" y2="${yy}" stroke="#eaeef2"/>`);
    out.push(`<line x1="${L - 4}" x2="${L}" y1="${yy}" y2="${yy}" stroke="#57606a"/>`);
    out.push(`<text class="y-tick" x="${L - 7}" y="${yy}" dy="0.32em" text-anchor="end" font-size="11" fill="#57606a">${fmtNum(v)}</text>`);
  }
  // X ticks in seconds.
  const xStepS = niceStep(domainMs / 1000, 8);
  for (let s = 0; s * 1000 <= domainMs + 1e-6; s += xStepS) {
    const xx = r2(x(s * 1000));
    out.push(`<line x1="${xx}" x2="${xx}" y1="${T + ph}" y2="${T + ph + 4}" stroke="#57606a"/>`);
    out.push(`<text class="x-tick" x="${xx}" y="${T + ph + 16}" text-anchor="middle" font-size="11" fill="#57606a">${fmtNum(s)}</text>`);
  }
  out.push(`<line x1="${L}" x2="${L + pw}" y1="${T + ph}" y2="${T + ph}" stroke="#57606a"/>`);
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}" stroke="#57606a"/>`);
  out.push(`<text class="x-label" x="${L + pw / 2}" y="${H - 8}" text-anchor="middle" font-size="12" fill="#24292f">time since run start (s)</text>`);
  out.push(
    `<text class="y-label" transform="translate(14 ${T + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12" fill="#24292f">${kind === 'rate' ? 'rate (%)' : 'latency (ms)'}</text>`,
  );

  // Lines: one path per statistic; windows without samples break the line.
  for (const k of keys) {
    const colour = LINE_COLOURS[k] ?? '#24292f';
    let d = '';
    let pen = false;
    const dots: string[] = [];
    for (const p of series.points) {
      const v = valueOf(p.stats, k, kind);
      if (v === undefined) {
        pen = false;
        continue;
      }
      const px = r2(x(Math.min(p.t + series.windowMs / 2, domainMs)));
      const py = r2(y(v));
      d += `${pen ? 'L' : 'M'}${px} ${py} `;
      pen = true;
      dots.push(
        `<circle cx="${px}" cy="${py}" r="2.2" fill="${colour}"><title>${esc(`+${fmtNum(p.t / 1000)} s: ${k} ${fmtNum(v)} ${unit} (n=${p.stats.count})`)}</title></circle>`,
      );
    }
    out.push(`<g class="line" data-line="${k}"><path d="${d.trim()}" fill="none" stroke="${colour}" stroke-width="1.8"/>${dots.join('')}</g>`);
  }
  out.push('</svg>');

  const legend = [
    ...keys.map((k) => `<li data-legend="${k}"><span class="swatch line" style="background:${LINE_COLOURS[k] ?? '#24292f'}"></span>${kind === 'rate' ? 'rate' : k}</li>`),
    ...(result.faults.some((f) => f.appliedAtMs !== undefined)
      ? [`<li data-legend="fault"><span class="swatch band" style="background:${BAND_FILL}"></span>fault window (applied … removed)</li>`]
      : []),
  ];
  return (
    `<figure class="chart-figure" data-series="${esc(series.label)}" data-chart-kind="${kind}">` +
    `<figcaption>${esc(series.label)} <span class="muted">— ${kind === 'rate' ? 'rate per' : 'percentiles per'} ${fmtNum(series.windowMs / 1000)} s window, ${unit}</span></figcaption>` +
    out.join('\n') +
    `<ul class="legend">${legend.join('')}</ul></figure>`
  );
}
