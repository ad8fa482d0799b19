/**
 * report.html of an SFU capacity benchmark (bench.json): the verdict, then the curve — consumers against the
 * SFU worker's CPU, receiver loss and forwarding delay p95, one small chart each, every measured step a point,
 * the budget a dashed line, what the budget judged where it was not the step's own value (fitted CPU, median
 * window) a hollow square, and the knee marked (the last good step and the first past it) — then every step in a
 * table, the calibration, the baseline comparison and the cross-check. Static inline SVG (d3-scale for the
 * geometry, as reports/charts.ts), no script; tests read its data-* attributes.
 */
import { scaleLinear } from 'd3-scale';
import type { BenchResult } from '../src/bench/bench-result.js';
import { capacityText } from '../src/bench/bench-result.js';
import { describeShape } from '../src/bench/room-shape.js';
import { judgedSfuStep, readSfuStep, type SfuStep, type SfuStepMetric } from '../src/bench/sfu-step.js';
import { esc, fmtNum } from './common.js';
import { VERDICT_COLOURS } from './html.js';

const C = { width: 380, height: 230, left: 52, right: 14, top: 26, bottom: 40 } as const;

interface Curve {
  id: string;
  title: string;
  unit: string;
  value: (s: SfuStep) => number | null;
  /** What the budget judged where it is not the step's own value (the worker's CPU fitted, the median window's delay). */
  judged?: (s: SfuStep) => number | null;
  /** The knee budget on this measurement, in the chart's unit. */
  limit: number | null;
}

type Point = { s: SfuStep; judgement: string; phase: string };

function chart(c: Curve, points: Point[], knee: { good: number | null; bad: number | null }): string {
  const pts = points.map((p) => ({ ...p, y: c.value(p.s) })).filter((p): p is Point & { y: number } => p.y !== null && Number.isFinite(p.y));
  const xMax = Math.max(1, ...points.map((p) => p.s.consumers));
  const judged = c.judged ? points.map((p) => ({ ...p, y: c.judged!(p.s) })).filter((p): p is Point & { y: number } => p.y !== null && Number.isFinite(p.y)) : [];
  const yMax = Math.max(c.limit ?? 0, ...pts.map((p) => p.y), ...judged.map((p) => p.y)) * 1.1 || 1;
  const x = scaleLinear().domain([0, xMax]).nice().range([C.left, C.width - C.right]);
  const y = scaleLinear().domain([0, yMax]).nice().range([C.height - C.bottom, C.top]);
  const out: string[] = [`<svg class="curve" data-curve="${c.id}" data-points="${pts.length}" width="${C.width}" height="${C.height}" viewBox="0 0 ${C.width} ${C.height}" role="img" aria-label="${esc(c.title)}">`];
  out.push(`<text x="${C.left}" y="16" class="title">${esc(c.title)} (${esc(c.unit)})</text>`);
  for (const t of y.ticks(5)) out.push(`<line x1="${C.left}" x2="${C.width - C.right}" y1="${y(t)}" y2="${y(t)}" class="grid"/><text x="${C.left - 6}" y="${y(t) + 4}" text-anchor="end" class="tick">${fmtNum(t)}</text>`);
  for (const t of x.ticks(6)) out.push(`<text x="${x(t)}" y="${C.height - C.bottom + 16}" text-anchor="middle" class="tick">${fmtNum(t)}</text>`);
  out.push(`<text x="${(C.left + C.width - C.right) / 2}" y="${C.height - 6}" text-anchor="middle" class="axis">consumers</text>`);
  if (c.limit !== null) out.push(`<line data-budget="${c.limit}" x1="${C.left}" x2="${C.width - C.right}" y1="${y(c.limit)}" y2="${y(c.limit)}" class="budget"><title>budget ${fmtNum(c.limit)} ${esc(c.unit)}</title></line>`);
  if (knee.good !== null) out.push(`<line data-knee="last-good" data-consumers="${knee.good}" x1="${x(knee.good)}" x2="${x(knee.good)}" y1="${C.top}" y2="${C.height - C.bottom}" class="knee-good"><title>the last good step: ${knee.good} consumers</title></line>`);
  if (knee.bad !== null) out.push(`<line data-knee="first-bad" data-consumers="${knee.bad}" x1="${x(knee.bad)}" x2="${x(knee.bad)}" y1="${C.top}" y2="${C.height - C.bottom}" class="knee-bad"><title>first past the knee: ${knee.bad} consumers</title></line>`);
  const sorted = [...pts].sort((a, b) => a.s.consumers - b.s.consumers);
  if (sorted.length > 1) out.push(`<polyline class="line" points="${sorted.map((p) => `${x(p.s.consumers).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ')}"/>`);
  for (const p of sorted) {
    out.push(`<circle data-consumers="${p.s.consumers}" data-value="${p.y}" data-judgement="${p.judgement}" cx="${x(p.s.consumers).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="4" class="pt ${p.judgement}"><title>${p.s.consumers} consumers (${p.s.level} rooms, ${p.phase}): ${fmtNum(p.y)} ${esc(c.unit)} — ${p.judgement}</title></circle>`);
  }
  for (const p of judged) {
    out.push(`<rect data-judged="${p.y}" data-consumers="${p.s.consumers}" x="${(x(p.s.consumers) - 4).toFixed(1)}" y="${(y(p.y) - 4).toFixed(1)}" width="8" height="8" class="judged"><title>${p.s.consumers} consumers (${p.s.level} rooms, ${p.phase}): judged at ${fmtNum(p.y)} ${esc(c.unit)}</title></rect>`);
  }
  out.push('</svg>');
  return out.join('');
}

/** What a knee budget judged on the step, in the chart's unit, where that is not the step's own value (else null). */
function judgedIfOwn(s: SfuStep, metric: SfuStepMetric, stat: string, scale: number): number | null {
  const j = judgedSfuStep(s, metric, stat);
  return j === null || j === readSfuStep(s, metric, stat) ? null : j * scale;
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)} %`);
const num = (x: number | null | undefined, d = 1) => (x === null || x === undefined ? '—' : x.toFixed(d));

export function toBenchHtml(r: BenchResult): string {
  const points: Point[] = r.result.steps.map((j) => ({ s: j.step, judgement: j.judgement.kind, phase: j.phase }));
  const limit = (metric: string, stat: string, scale = 1) => {
    const b = r.budgets.knee.find((k) => k.metric === metric && k.stat === stat);
    return b ? b.value * scale : null;
  };
  const knee = r.result.status === 'knee'
    ? { good: r.result.lastGood?.consumers ?? null, bad: r.result.firstBad.consumers }
    : { good: r.result.atLeast, bad: null };
  const curves: Curve[] = [
    { id: 'worker-cpu', title: 'SFU worker CPU', unit: '% of its core', value: (s) => (s.workerCpu === null ? null : s.workerCpu * 100), judged: (s) => judgedIfOwn(s, 'sc_sfu_worker_cpu', 'value', 100), limit: limit('sc_sfu_worker_cpu', 'value', 100) },
    { id: 'loss', title: 'Receiver loss', unit: '%', value: (s) => (s.loss === null ? null : s.loss * 100), judged: (s) => judgedIfOwn(s, 'sc_sfu_receiver_loss', 'rate', 100), limit: limit('sc_sfu_receiver_loss', 'rate', 100) },
    { id: 'delay-p95', title: 'Forwarding delay p95', unit: 'ms', value: (s) => s.delayP95Ms, judged: (s) => judgedIfOwn(s, 'sc_sfu_forward_delay', 'p(95)', 1), limit: limit('sc_sfu_forward_delay', 'p(95)') },
    { id: 'generator-cpu', title: 'Generator CPU', unit: '% of its core', value: (s) => (s.generatorCpu === null ? null : s.generatorCpu * 100), limit: r.budgets.generatorCpuMax * 100 },
  ];
  const colour = VERDICT_COLOURS[r.verdict];
  const row = (j: BenchResult['result']['steps'][number]) => {
    const s = j.step;
    const why = j.judgement.kind === 'past-knee' ? j.judgement.crossed.map((c) => `${c.metric} ${c.stat} ${fmtNum(c.value, 4)} (budget ${c.op} ${c.limit}${c.read ? `; ${c.read}` : ''})`).join('; ') : j.judgement.kind === 'inconclusive' ? j.judgement.reason : '';
    return `<tr data-step-level="${s.level}" data-judgement="${j.judgement.kind}"><td>${j.phase}</td><td>${s.level}</td><td>${s.consumers}</td><td>${pct(s.workerCpu)}${s.workerCpuFitted ? ` (fit ${pct(s.workerCpuFitted.value)})` : ''}</td><td>${pct(s.generatorCpu)}</td><td>${pct(s.loss)}</td><td>${num(s.delayP50Ms)} / ${num(s.delayP95Ms)}${s.windowMedian && s.windowMedian.windows > 1 ? ` (median of ${s.windowMedian.windows}: ${num(s.windowMedian.delayP95Ms)})` : ''}</td><td>${num(s.jitterP95Ms)}</td><td>${num((s.bitrateInKbps ?? NaN) / 1000, 2)} / ${num((s.bitrateOutKbps ?? NaN) / 1000, 2)}</td><td>${num(s.nackPerS)} / ${num(s.pliPerS)}</td><td>${j.judgement.kind}${why ? `: ${esc(why)}` : ''}</td></tr>`;
  };
  const cal = r.calibration;
  const cc = r.crossCheck;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SFU capacity — ${esc(r.shape.kind)} — ${esc(r.verdict)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2328;max-width:1600px}
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;font-weight:600}
.curves{display:flex;flex-wrap:wrap;gap:12px}
svg.curve{border:1px solid #d0d7de;border-radius:6px;background:#fff}
.title{font-weight:600;font-size:12px}.tick{font-size:10px;fill:#57606a}.axis{font-size:11px;fill:#57606a}
.grid{stroke:#eaeef2}.budget{stroke:#cf222e;stroke-dasharray:6 4;stroke-width:1.5}
.knee-good{stroke:#1a7f37;stroke-width:2}.knee-bad{stroke:#cf222e;stroke-width:2;stroke-dasharray:2 3}
.line{fill:none;stroke:#0969da;stroke-width:1.5}.judged{fill:none;stroke:#0969da;stroke-width:1.5}
.pt.good{fill:#1a7f37}.pt.past-knee{fill:#cf222e}.pt.inconclusive{fill:#9a6700}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:right}th{background:#f6f8fa}td:last-child{text-align:left}
</style></head><body>
<h1>SFU capacity: ${esc(describeShape(r.shape))}</h1>
<p><span class="verdict" data-verdict="${r.verdict}" style="background:${colour}">${r.verdict}</span> <strong data-capacity="${esc(capacityText(r.result))}">capacity ${esc(capacityText(r.result))} consumers per worker core</strong></p>
<p>${esc(r.reason)}</p>
<p>Target: ${esc(r.target.kind)} ${esc(r.target.baseUrl)}${r.target.profile ? `, profile ${esc(r.target.profile)}` : ''}${r.target.env && Object.keys(r.target.env).length ? `, ${esc(Object.entries(r.target.env).map(([k, v]) => `${k}=${v}`).join(' '))}` : ''}.
${r.pinning ? `The SFU worker ran alone on core ${r.pinning.workerCore}; the lab, the target and the generator on ${esc(r.pinning.otherCores)}.` : 'The SFU worker was not pinned to a core of its own.'}
Run ${esc(r.id)}, ${esc(r.startedAt)}, ${r.durationS.toFixed(0)} s.</p>
${r.notJudged.length ? `<p>Not judged: ${r.notJudged.map(esc).join('; ')}.</p>` : ''}
${r.baseline ? `<h2>Against the baseline</h2><p><span class="verdict" data-baseline-verdict="${r.baseline.verdict}" style="background:${VERDICT_COLOURS[r.baseline.verdict]}">${r.baseline.verdict}</span> ${esc(r.baseline.reason)}; baseline ${esc(r.baseline.run)} (capacity ${esc(r.baseline.capacity)}).</p>` : ''}
<h2>The curve</h2>
<p>Each point a measured step (green within every budget, red past the knee, amber INCONCLUSIVE); dashed red: the budget; solid green: the capacity (the last good step); dotted red: the first step past the knee; a hollow square: what the budget judged where it was not the step's own value — the worker's CPU read off every window near that load, a level's loss and delay its median window's.</p>
<div class="curves">${curves.map((c) => chart(c, points, knee)).join('\n')}</div>
<h2>Steps</h2>
<table><tr><th>phase</th><th>rooms</th><th>consumers</th><th>worker CPU</th><th>generator CPU</th><th>loss</th><th>delay p50 / p95 ms</th><th>jitter p95 ms</th><th>SFU in / out Mbit/s</th><th>NACK / PLI per s</th><th>judgement</th></tr>
${r.result.steps.map(row).join('\n')}</table>
<h2>Calibration</h2>
<p>The generator was measured first at ${cal.steps.map((s) => `${s.consumers} consumers (${pct(s.generatorCpu)})`).join(' and ')}: ${pct(cal.generatorFixed)} fixed + ${(cal.generatorPerConsumer * 100).toFixed(3)} % of a core per consumer, so the search went up to ${cal.maxRooms} rooms (levels ${cal.levels.join(', ')}), keeping the generator below ${Math.round(r.budgets.generatorCpuMax * 100)} % of its core.</p>
${cc ? `<h2>Cross-check: browsers and synthetic participants</h2><table data-cross-check="${cc.agree}"><tr><th></th><th>participants</th><th>consumers</th><th>SFU egress kbit/s</th><th>loss</th></tr>
<tr><td>browsers</td><td>${cc.browser.participants}</td><td>${cc.browser.consumers}</td><td>${num(cc.browser.bitrateOutKbps, 0)}</td><td>${pct(cc.browser.loss)}</td></tr>
<tr><td>synthetic</td><td>${cc.synthetic.participants}</td><td>${cc.synthetic.consumers}</td><td>${num(cc.synthetic.bitrateOutKbps, 0)}</td><td>${pct(cc.synthetic.loss)}</td></tr></table><p>${esc(cc.note)}</p>` : ''}
<h2>Budgets</h2><ul>${r.budgets.knee.map((b) => `<li>${esc(b.metric)} ${esc(b.stat)} ${esc(b.op)} ${b.value}</li>`).join('')}<li>generator ≤ ${Math.round(r.budgets.generatorCpuMax * 100)} % of its core (a step beyond it is INCONCLUSIVE, never the knee)</li><li>--baseline tolerance ${Math.round(r.budgets.baselineTolerance * 100)} %</li></ul>
</body></html>
`;
}
