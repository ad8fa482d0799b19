/**
 * report.html: one self-contained file (inline CSS and SVG, no scripts, no external requests) that a
 * reviewer can open from the run directory. Every string passes through esc() (redact + escape).
 * Key elements carry data-* attributes (data-claim-id, data-verdict, data-fault-band, data-phase-id…)
 * so tests can check what the page shows.
 *
 * It fits its window: wide tables scroll inside their own box, long unbroken text wraps. The audit's
 * symbols (✅ ❌ ⚠️) are drawn as inline SVG badges, since a machine without an emoji font shows them
 * as empty boxes; the character itself stays in the text (visually hidden) for copying and searching.
 */
import type { CalibrationResult, ClaimResult, FaultRecord, Filmstrip, Phase, RunResult, Series, Stats, Verdict } from '../src/results/model.js';
import { BAND_LABEL_LIMIT, GROUP_CHARTS, VIDEO_CHARTS, chartKindOf, faultEntries, groupSeries, renderGroupChart, trendUnit, isVideoChartMetric, renderAlertTimeline, renderChart, renderVideoChart } from './charts.js';
import { claimAsExpected, esc, explainClaim, fmtDuration, fmtIso, fmtNum, fmtPct, fmtRel, hypothesisAsExpected, notAsExpected, outcomeText } from './common.js';
import { median } from '../src/util/median.js';

/** Badge colours; tests compare the computed background colour with these. */
export const VERDICT_COLOURS: Record<Verdict, string> = { PASS: '#1a7f37', FAIL: '#cf222e', INCONCLUSIVE: '#9a6700' };

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #24292f; background: #f6f8fa; margin: 0; }
main { max-width: 1280px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
p.description { margin: 0 0 12px; color: #57606a; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 12px 16px; margin-top: 16px; }
section > h2:first-child { margin-top: 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
dl.meta { display: grid; grid-template-columns: max-content minmax(0, 1fr) max-content minmax(0, 1fr); gap: 4px 14px; margin: 8px 0 0; }
dl.meta dt { color: #57606a; }
dl.meta dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.table-scroll { max-width: 100%; overflow-x: auto; }
td.observed .source { white-space: normal; overflow-wrap: anywhere; text-align: right; max-width: 14em; }
td, .notes-box, .error-box, .contradiction, figcaption { overflow-wrap: break-word; }
td code, li code, .error-box, .notes-box li { overflow-wrap: anywhere; }
#claims-table td:first-child code, #hypotheses-table td:first-child code { overflow-wrap: normal; white-space: nowrap; }
nav#toc { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 16px; margin-top: 16px; font-size: 13px; }
nav#toc ol { margin: 4px 0 0; padding-left: 20px; columns: 2 320px; }
nav#toc ol ol { columns: auto; padding-left: 16px; font-size: 12px; }
nav#toc li { break-inside: avoid; }
nav#toc .badge { min-width: 0; font-size: 10px; padding: 0 5px; }
.sym { display: inline-block; width: 15px; height: 15px; vertical-align: -3px; margin: 0 1px; }
.sym svg { display: inline-block; vertical-align: top; width: 15px; height: 15px; }
/* Inline (copying gives the quote's text in one line), of no size: nothing for a missing font to draw. */
.sym-text { display: inline-block; width: 0; height: 0; overflow: hidden; vertical-align: top; }
.outcome { display: inline-block; font-weight: 600; padding: 4px 10px; border-radius: 6px; margin-top: 10px; }
.outcome.ok { background: #dafbe1; color: #116329; border: 1px solid #1a7f37; }
.outcome.bad { background: #ffebe9; color: #a40e26; border: 1px solid #cf222e; }
.badge { display: inline-block; min-width: 44px; text-align: center; font-size: 11px; font-weight: 700; letter-spacing: .02em; padding: 2px 7px; border-radius: 10px; color: #fff; }
.badge.PASS { background-color: ${VERDICT_COLOURS.PASS}; }
.badge.FAIL { background-color: ${VERDICT_COLOURS.FAIL}; }
.badge.INCONCLUSIVE { background-color: ${VERDICT_COLOURS.INCONCLUSIVE}; }
.badge.outline { background-color: transparent; border: 1.5px solid currentColor; }
.badge.outline.PASS { color: ${VERDICT_COLOURS.PASS}; }
.badge.outline.FAIL { color: ${VERDICT_COLOURS.FAIL}; }
.badge.outline.INCONCLUSIVE { color: ${VERDICT_COLOURS.INCONCLUSIVE}; }
.badge.outline.none { color: #57606a; }
.yes { color: #1a7f37; font-weight: 700; }
.no { color: #cf222e; font-weight: 700; }
tr.not-as-expected > td:first-child { box-shadow: inset 4px 0 0 #cf222e; }
blockquote { margin: 0 0 4px; padding: 2px 8px; border-left: 3px solid #d0d7de; color: #57606a; font-size: 12px; white-space: pre-wrap; }
.source { font-size: 11px; color: #57606a; }
.note { font-size: 12px; color: #116329; margin-top: 4px; }
.contradiction { font-size: 12px; color: #9a6700; background: #fff8c5; border-radius: 4px; padding: 2px 6px; margin-top: 4px; }
.gated { font-size: 12px; color: #57606a; margin-top: 4px; }
.notes-box { background: #ddf4ff; border: 1px solid #54aeff; border-radius: 6px; padding: 8px 12px; margin-top: 12px; }
.notes-box ul { margin: 4px 0 0; padding-left: 20px; }
.muted { color: #57606a; font-weight: normal; }
.error-box { background: #ffebe9; border: 1px solid #cf222e; border-radius: 6px; padding: 8px 12px; margin-top: 12px; white-space: pre-wrap; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure.chart-figure { margin: 0; }
figure.chart-figure figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { display: block; max-width: 100%; height: auto; font-family: inherit; }
ul.legend { list-style: none; margin: 4px 0 0; padding: 0 0 0 64px; display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 12px; }
ul.legend li { display: flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; }
svg.swatch { vertical-align: middle; }
.swatch.band { width: 16px; height: 12px; opacity: .45; }
.cell-stats { white-space: nowrap; font-variant-numeric: tabular-nums; }
.cell-stats .n { color: #57606a; }
section#video h3 { font-size: 14px; margin: 14px 0 6px; }
.video-participant { margin: 10px 0 14px; }
.video-participant > .video-charts { display: flex; flex-wrap: wrap; gap: 8px 14px; }
figure.video-chart-figure { margin: 0; }
figure.video-chart-figure figcaption { font-size: 12px; color: #57606a; }
table.filmstrip td { padding: 4px; text-align: center; }
.frame { position: relative; display: inline-block; line-height: 0; }
.frame img { display: block; }
.frame .tile { position: absolute; top: 0; height: 100%; box-sizing: border-box; }
.frame .tile.frozen { border: 3px solid #cf222e; background: rgba(207, 34, 46, .18); }
.frame .tile.frozen::after { content: "FROZEN"; position: absolute; left: 2px; top: 2px; font: 700 10px/1.2 system-ui, sans-serif; color: #fff; background: #cf222e; padding: 0 3px; }
.frame-caption { font-size: 11px; color: #57606a; margin-top: 2px; white-space: nowrap; }
.frame-caption .frozen-text { color: #cf222e; font-weight: 700; }
#phase-table.grouped td:first-child { min-width: 15em; overflow-wrap: anywhere; }
span.worst { color: #a40e26; font-weight: 600; }
td.worst { background: #ffebe9; color: #a40e26; font-weight: 600; }
details.cycles { margin-top: 8px; }
details.evidence { margin-top: 4px; font-size: 12px; }
details.evidence summary { cursor: pointer; color: #0969da; }
details.evidence ol { margin: 4px 0 0; padding-left: 20px; max-height: 24em; overflow-y: auto; }
details.cycles summary { cursor: pointer; font-weight: 600; }
table.cycle-table th, table.cycle-table td { padding: 2px 6px; font-size: 12px; }
table.cycle-table td:first-child { white-space: nowrap; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
ul.files { margin: 0; padding-left: 18px; }
`;

/** The audit's symbols, drawn (16×16 inline SVG) rather than left to an emoji font the machine may lack. */
const SYMBOLS: { re: RegExp; char: string; name: string; svg: string }[] = [
  {
    re: /\u2705/g, char: '✅', name: 'check',
    svg: '<rect width="16" height="16" rx="3" fill="#1a7f37"/><path d="M4 8.4l2.7 2.7L12.2 5.4" fill="none" stroke="#fff" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>',
  },
  {
    re: /\u274C/g, char: '❌', name: 'cross',
    svg: '<rect width="16" height="16" rx="3" fill="#cf222e"/><path d="M5 5l6 6M11 5l-6 6" stroke="#fff" stroke-width="2" stroke-linecap="round"/>',
  },
  {
    re: /\u26A0\uFE0F?/g, char: '⚠️', name: 'warning',
    svg: '<path d="M8 1.2L15.4 14.6H.6z" fill="#bf8700" stroke-linejoin="round"/><path d="M8 6v4.2" stroke="#fff" stroke-width="1.8" stroke-linecap="round"/><circle cx="8" cy="12.4" r="1" fill="#fff"/>',
  },
];

/** Escaped text with the audit's symbols as visible badges (the character kept, visually hidden, for copying). */
export function escWithSymbols(value: unknown): string {
  let out = esc(value);
  for (const s of SYMBOLS) {
    out = out.replace(
      s.re,
      `<span class="sym" data-symbol="${s.name}" role="img" aria-label="${s.char}" title="${s.char}"><svg viewBox="0 0 16 16" aria-hidden="true">${s.svg}</svg><span class="sym-text">${s.char}</span></span>`,
    );
  }
  return out;
}

function badge(v: Verdict, extra = ''): string {
  return `<span class="badge ${v}${extra}" data-badge="${v}">${v}</span>`;
}

function tick(ok: boolean): string {
  return ok ? '<span class="yes" data-ok="true">✓</span>' : '<span class="no" data-ok="false">✗</span>';
}

function header(result: RunResult): string {
  const bad = notAsExpected(result).length > 0 || result.error !== undefined;
  const t = result.target;
  const rows: [string, string, string][] = [
    ['experiment', 'Experiment', esc(result.experiment.name)],
    ['run-id', 'Run', `<code>${esc(result.runId)}</code>`],
    ['target', 'Target', `${esc(t.kind)}${t.profile !== undefined ? ` · profile <b>${esc(t.profile)}</b>` : ''}`],
    ['base-url', 'Base URL', `<code>${esc(t.baseUrl)}</code>`],
    ['started', 'Started', esc(fmtIso(result.startedAtMs))],
    ['ended', 'Ended', esc(fmtIso(result.endedAtMs))],
    ['duration', 'Duration', esc(fmtDuration(result.endedAtMs - result.startedAtMs))],
    ['exit-code', 'Exit code', `<code>${esc(result.exitCode)}</code>`],
  ];
  return [
    '<header id="header">',
    `<h1>${esc(result.experiment.name)} <span class="muted">— run ${esc(result.runId)}</span></h1>`,
    `<p class="description">${esc(result.experiment.description)}</p>`,
    `<dl class="meta">${rows.map(([id, k, v]) => `<dt>${k}</dt><dd data-field="${id}">${v}</dd>`).join('')}</dl>`,
    `<div id="outcome" class="outcome ${bad ? 'bad' : 'ok'}" data-exit-code="${esc(result.exitCode)}" data-not-as-expected="${notAsExpected(result).length}">${esc(outcomeText(result))} · exit code ${esc(result.exitCode)}</div>`,
    result.error !== undefined ? `<div class="error-box" id="run-error"><b>Run error:</b> ${esc(result.error)}</div>` : '',
    notesBox(result),
    '</header>',
  ].join('\n');
}

function claimRow(c: ClaimResult, result: RunResult): string {
  const ok = claimAsExpected(c);
  const why = explainClaim(c, result);
  const expected = c.expected === null ? '<span class="badge outline none" data-badge="none">none</span>' : badge(c.expected, ' outline');
  const note =
    ok && c.verdict === 'FAIL' ? '<div class="note">Expected FAIL: the defect this profile has was detected, as the catalogue says.</div>' : '';
  // Where the measurement says otherwise than the audit's text: the first thing a reader should see.
  const contradiction = c.contradictsAudit && c.audit
    ? `<div class="contradiction" data-contradicts-audit="true">audit: ${escWithSymbols(c.audit.says)} (${esc(c.audit.verdict)}) — measured: ${esc(c.verdict)}, ${esc(shortReason(c))}</div>` : '';
  const gated = c.gatedBy?.length ? `<div class="gated" data-gated-by="${esc(c.gatedBy.join(' '))}">requires ${c.gatedBy.map((g) => `<a href="#claim-${esc(g)}"><code>${esc(g)}</code></a>`).join(', ')}, which did not PASS in this run</div>` : '';
  const lines = c.source.lines ? `lines ${esc(c.source.lines[0])}–${esc(c.source.lines[1])}` : `line ${esc(c.source.line)}`;
  return (
    `<tr id="claim-${esc(c.id)}" data-claim-id="${esc(c.id)}" data-claim-kind="${esc(c.kind)}" data-verdict="${c.verdict}" data-expected="${esc(c.expected ?? '')}" data-as-expected="${ok}" class="${ok ? 'as-expected' : 'not-as-expected'}">` +
    `<td><code>${esc(c.id)}</code><div class="source">${esc(c.kind)}</div></td>` +
    `<td>${esc(c.title)}${contradiction}${gated}</td>` +
    `<td class="verdict">${badge(c.verdict)}</td>` +
    `<td class="expected">${expected}</td>` +
    `<td class="as-expected">${tick(ok)}</td>` +
    `<td class="num observed" data-observed="${why.observed ?? ''}">${esc(fmtNum(why.observed, 3))}${why.check ? `<div class="source">${esc(why.check.id)}</div>` : ''}</td>` +
    `<td class="audit"><blockquote>${escWithSymbols(c.source.quote)}</blockquote><div class="source">${esc(c.source.file)} · §${esc(c.source.section)} · ${lines}</div></td>` +
    `<td class="reason">${reasonCell(c.reason, evidencePrefixes(result))}${note}${c.hypotheses.length ? `<div class="source">hypotheses: ${c.hypotheses.map((h) => `<a href="#hyp-${esc(h)}">${esc(h)}</a>`).join(', ')}</div>` : ''}</td>` +
    '</tr>'
  );
}

/** Past this length a claim's reason (its deciding checks' evidence, over every cycle on a soak) is shortened, the whole folded. */
export const REASON_SHOWN_CHARS = 800;

/** Each deciding check with its first phase's evidence (and how many more), then the whole reason folded. */
function reasonCell(reason: string, prefixes: ReadonlySet<string>): string {
  if (reason.length <= REASON_SHOWN_CHARS) return esc(reason);
  const short = reason.split(' | ').map((part) => {
    const parts = evidenceParts(part, prefixes);
    const first = parts[0] ?? part;
    const cut = first.length > 300 ? `${first.slice(0, 299)}…` : first;
    return parts.length > 1 ? `${cut} … and ${parts.length - 1} more (the whole reason below)` : cut;
  });
  return `${short.map((x) => `<div>${esc(x)}</div>`).join('')}<details class="evidence" data-reason-chars="${reason.length}"><summary>the whole reason</summary><div class="source">${esc(reason)}</div></details>`;
}

/** The deciding evidence in one line: the first check's evidence, cut. */
function shortReason(c: ClaimResult): string {
  const first = c.reason.split(' | ')[0] ?? c.reason;
  return first.length > 220 ? `${first.slice(0, 219)}…` : first;
}

/** What a reader must know of how the run was made (probes that could not set up, sessions, settings not applied). */
function notesBox(result: RunResult): string {
  if (!result.notes?.length) return '';
  return `<div class="notes-box" id="run-notes"><b>How this run was made:</b><ul>${result.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></div>`;
}

function claimsTable(result: RunResult): string {
  return section(
    'claims',
    `Claims (${result.claims.length})`,
    table(
      ['Claim', 'Title', 'Verdict', 'Expected', 'As expected', 'Observed', 'Audit quote', 'Reason'],
      result.claims.map((c) => claimRow(c, result)),
      'claims-table',
    ),
  );
}

function section(id: string, title: string, body: string): string {
  return `<section id="${id}"><h2>${title}</h2>\n${body}\n</section>`;
}

function table(headers: string[], rows: string[], id: string, emptyText = 'none'): string {
  if (rows.length === 0) return `<p class="muted" id="${id}" data-empty="true">${esc(emptyText)}</p>`;
  return `<div class="table-scroll"><table id="${id}"><thead><tr>${headers.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table></div>`;
}

function statsCell(s: Stats): string {
  const n = `<span class="n">n=${s.count}</span>`;
  const parts: string[] = [];
  switch (s.kind) {
    case 'trend':
      for (const k of ['p50', 'p95', 'p99'] as const) if (s[k] !== undefined) parts.push(`<span data-stat="${k}">${k} ${fmtNum(s[k])}</span>`);
      if (parts.length) parts[parts.length - 1] += ' ms';
      break;
    case 'rate':
      parts.push(`<span data-stat="rate">rate ${fmtPct(s.rate)}</span>`);
      if (s.passes !== undefined) parts.push(`<span data-stat="passes">${s.passes} non-zero</span>`);
      break;
    case 'counter':
      parts.push(`<span data-stat="sum">sum ${fmtNum(s.sum)}</span>`, `<span data-stat="perSecond">${fmtNum(s.perSecond)}/s</span>`);
      break;
    case 'gauge':
      parts.push(`<span data-stat="min">min ${fmtNum(s.min)}</span>`, `<span data-stat="max">max ${fmtNum(s.max)}</span>`);
      break;
  }
  return `<div class="cell-stats">${n} · ${parts.join(' · ')}</div>`;
}

/** Past this many phases the per-phase table has a column per phase kind and fault entry, its cycles summarised. */
export const PHASE_COLUMNS_MAX = 16;

/** The fault entry a phase belongs to (a repeating fault's cycles share their entry's), and its kind. */
function phaseGroup(phaseId: string, result: RunResult): string {
  const m = /^(fault|recovery):(.+)$/.exec(phaseId);
  if (!m) return phaseId;
  const f = result.faults.find((x) => x.id === m[2]);
  return `${m[1]}:${f?.entryId ?? m[2]}`;
}

/** Every (label, phase) cell of the per-phase table, found in one pass (a soak's table has tens of thousands). */
function phaseCells(result: RunResult): Map<string, Map<string, Stats>> {
  const out = new Map<string, Map<string, Stats>>();
  for (const r of result.phaseTable) {
    let row = out.get(r.label);
    if (!row) out.set(r.label, (row = new Map()));
    row.set(r.phase, r.stats);
  }
  return out;
}

function phaseTable(result: RunResult): string {
  const phaseIds = result.phases.map((p) => p.id);
  for (const r of result.phaseTable) if (!phaseIds.includes(r.phase)) phaseIds.push(r.phase);
  if (phaseIds.length > PHASE_COLUMNS_MAX) return groupedPhaseTable(result, phaseIds);
  const cellsOf = phaseCells(result);
  const phaseById = new Map(result.phases.map((p) => [p.id, p]));
  const head = [
    'Series',
    ...phaseIds.map((id) => {
      const p = phaseById.get(id);
      const span = p ? `<div class="source">${fmtRel(p.startMs, result.startedAtMs)} … ${fmtRel(p.endMs, result.startedAtMs)}</div>` : '';
      return `<span data-phase-id="${esc(id)}">${esc(id)}</span>${span}`;
    }),
  ];
  const rows = [...cellsOf.keys()].map((label) => {
    const cells = phaseIds.map((pid) => {
      const st = cellsOf.get(label)?.get(pid);
      return `<td data-phase="${esc(pid)}">${st ? statsCell(st) : '<span class="muted" title="no samples in this phase">—</span>'}</td>`;
    });
    return `<tr data-row-label="${esc(label)}"><td><code>${esc(label)}</code></td>${cells.join('')}</tr>`;
  });
  return section('phases', 'Per-phase statistics', table(head, rows, 'phase-table', 'no per-phase statistics'));
}

/** The statistic a summary of many phases compares: a trend's p95 (else its median, mean), a rate, a counter's sum, a gauge's max. */
function headline(s: Stats): { name: string; v: number; unit: string } | null {
  if (s.count === 0) return null;
  const pick = (name: string, v: number | undefined, unit = ''): { name: string; v: number; unit: string } | null => (v === undefined || !Number.isFinite(v) ? null : { name, v, unit });
  switch (s.kind) {
    case 'trend': return pick('p95', s.p95) ?? pick('p50', s.p50) ?? pick('mean', s.mean);
    case 'rate': return pick('rate', s.rate === undefined ? undefined : s.rate * 100, ' %');
    case 'counter': return pick('sum', s.sum);
    case 'gauge': return pick('max', s.max);
  }
}

/** A fault id without its `fault:` / `recovery:` prefix: what a reader calls a cycle. */
const cycleName = (phaseId: string): string => phaseId.replace(/^(fault|recovery):/, '');

/**
 * One cell summarising a statistic over the phases of a group (every cycle of a fault): the median, and the highest
 * and lowest with the cycle each came from. `worst` marks the one a reader looks for first: the highest trend or
 * counter, the lowest rate of success (`_ok`, `_up`), the highest other rate (failures).
 */
function summaryCell(label: string, cells: readonly { phase: string; stats: Stats }[], phaseCount: number): string {
  const vals = cells.flatMap((c) => {
    const h = headline(c.stats);
    return h ? [{ phase: c.phase, ...h }] : [];
  });
  const n = cells.reduce((a, c) => a + c.stats.count, 0);
  if (vals.length === 0) return `<div class="cell-stats"><span class="n">n=${n}</span> · <span class="muted">no samples in ${phaseCount} phases</span></div>`;
  const { name, unit } = vals[0]!;
  const hi = vals.reduce((m, v) => (v.v > m.v ? v : m));
  const lo = vals.reduce((m, v) => (v.v < m.v ? v : m));
  const kind = cells.find((c) => c.stats.count > 0)!.stats.kind;
  const lowIsBad = kind === 'rate' && /_(ok|up)\b/.test(label);
  const mid = median(vals.map((v) => v.v));
  // The worst named only when it stands out from the median: a flat series has none.
  const worst = lowIsBad ? (lo.v < mid ? lo : null) : hi.v > mid ? hi : null;
  const tu = kind === 'trend' ? trendUnit(label.split('{')[0]!) : '';
  const u = tu && tu !== 'as served' ? ` ${tu}` : '';
  const ext = (which: 'max' | 'min', v: { phase: string; v: number }) =>
    `<span data-stat="${which}"${v === worst ? ` class="worst" data-worst-phase="${esc(v.phase)}"` : ''}>${which} ${fmtNum(v.v)}${unit}${u} <a href="#cycle-${esc(v.phase)}">${esc(cycleName(v.phase))}</a></span>`;
  const lines = [
    `<span class="n">n=${n}</span>${kind === 'counter' ? ` · <span data-stat="total">total ${fmtNum(vals.reduce((a, v) => a + v.v, 0))}</span>` : ''}`,
    `<span data-stat="median">${name} median ${fmtNum(mid)}${unit}${u}</span>`,
    ext('max', hi),
    ...(lo.v !== hi.v ? [ext('min', lo)] : []),
    ...(phaseCount > vals.length ? [`<span class="muted">${phaseCount - vals.length} of ${phaseCount} without samples</span>`] : []),
  ];
  return `<div class="cell-stats summary">${lines.join('<br>')}</div>`;
}

/**
 * A long run's per-phase table: a column per phase kind and fault entry (`fault:redis` over its 40 cycles), each cell
 * the median over the cycles with the highest and lowest cycle named; series with no sample anywhere left out (named
 * below it). Under it, each repeating fault's cycles one by one (folded): every phase stays reachable.
 */
function groupedPhaseTable(result: RunResult, phaseIds: readonly string[]): string {
  const cellsOf = phaseCells(result);
  const phaseById = new Map(result.phases.map((p) => [p.id, p]));
  const groups: { id: string; phases: string[] }[] = [];
  for (const id of phaseIds) {
    const g = phaseGroup(id, result);
    const e = groups.find((x) => x.id === g);
    if (e) e.phases.push(id);
    else groups.push({ id: g, phases: [id] });
  }
  const head = ['Series', ...groups.map((g) => {
    const ps = g.phases.map((id) => phaseById.get(id)).filter((p) => p !== undefined);
    const span = ps.length ? `<div class="source">${fmtRel(Math.min(...ps.map((p) => p.startMs)), result.startedAtMs)} … ${fmtRel(Math.max(...ps.map((p) => p.endMs)), result.startedAtMs)}</div>` : '';
    const many = g.phases.length > 1 ? ` <span class="muted">×${g.phases.length}</span><div class="source">median · highest · lowest of the ${g.phases.length} cycles</div>` : '';
    return `<span data-phase-group="${esc(g.id)}" data-phases="${g.phases.length}">${esc(g.id)}</span>${many}${span}`;
  })];
  const empty: string[] = [];
  const rows: string[] = [];
  for (const [label, row] of cellsOf) {
    if (![...row.values()].some((st) => st.count > 0)) {
      empty.push(label);
      continue;
    }
    const cells = groups.map((g) => {
      const cs = g.phases.flatMap((pid) => {
        const st = row.get(pid);
        return st ? [{ phase: pid, stats: st }] : [];
      });
      // result.json leaves out a phase without samples: a group's missing phases count as such.
      const body = cs.length === 0 ? '<span class="muted">—</span>' : g.phases.length === 1 ? statsCell(cs[0]!.stats) : summaryCell(label, cs, g.phases.length);
      return `<td data-phase-group="${esc(g.id)}">${body}</td>`;
    });
    rows.push(`<tr data-row-label="${esc(label)}"><td><code>${esc(label)}</code></td>${cells.join('')}</tr>`);
  }
  const note = `<p class="muted" id="phase-table-note">${esc(`${phaseIds.length} phases: one column per phase kind and fault entry, its cycles summarised (every statistic of every phase is in result.json, phaseTable)`)}` +
    `${empty.length ? `; ${empty.length} series with no sample in any phase left out` : ''}</p>` +
    (empty.length ? `<details class="cycles" id="phase-table-empty"><summary>${esc(`the ${empty.length} series without samples`)}</summary><p class="source">${empty.map((l) => `<code>${esc(l)}</code>`).join(', ')}</p></details>` : '');
  return section('phases', 'Per-phase statistics', note + table(head, rows, 'phase-table', 'no per-phase statistics').replace('<table id="phase-table">', '<table id="phase-table" class="grouped">') + cycleDetails(result, groups, cellsOf));
}

/**
 * Each repeating fault's cycles one by one, folded: a row per phase (each cycle's fault and recovery), a column per
 * trend and rate series (p95, rate) — the highest p95 / lowest success rate of a column marked.
 */
function cycleDetails(result: RunResult, groups: readonly { id: string; phases: string[] }[], cellsOf: Map<string, Map<string, Stats>>): string {
  const phaseById = new Map(result.phases.map((p) => [p.id, p]));
  const labels = [...cellsOf.keys()].filter((l) => {
    const sts = [...cellsOf.get(l)!.values()];
    return sts.some((st) => st.count > 0 && (st.kind === 'trend' || st.kind === 'rate')) && !/[{,]participant=/.test(l);
  });
  const entries = [...new Set(groups.filter((g) => g.phases.length > 1 && g.id.includes(':')).map((g) => g.id.replace(/^(fault|recovery):/, '')))];
  const out = entries.map((entry) => {
    const phases = groups.filter((g) => g.id === `fault:${entry}` || g.id === `recovery:${entry}`).flatMap((g) => g.phases)
      .map((id) => phaseById.get(id)).filter((p) => p !== undefined).sort((a, b) => a.startMs - b.startMs || a.id.localeCompare(b.id));
    const worst = new Map<string, string>();
    for (const l of labels) {
      const vals = phases.flatMap((p) => {
        const h = headline(cellsOf.get(l)?.get(p.id) ?? { kind: 'trend', count: 0 });
        return h ? [{ id: p.id, v: h.v }] : [];
      });
      if (vals.length < 2) continue;
      const lowIsBad = cellsOf.get(l)!.values().next().value?.kind === 'rate' && /_(ok|up)\b/.test(l);
      const w = vals.reduce((m, v) => ((lowIsBad ? v.v < m.v : v.v > m.v) ? v : m));
      if (vals.some((v) => v.v !== w.v)) worst.set(l, w.id);
    }
    const rows = phases.map((p) => {
      const cells = labels.map((l) => {
        const st = cellsOf.get(l)?.get(p.id);
        const h = st ? headline(st) : null;
        const mark = worst.get(l) === p.id ? ' class="num worst"' : ' class="num"';
        return `<td${mark}>${h ? `${fmtNum(h.v)}${h.unit}` : '—'}</td>`;
      });
      return `<tr id="cycle-${esc(p.id)}" data-phase-id="${esc(p.id)}"><td><code>${esc(p.id)}</code><div class="source">${fmtRel(p.startMs, result.startedAtMs)} … ${fmtRel(p.endMs, result.startedAtMs)}</div></td>${cells.join('')}</tr>`;
    });
    const head = ['Phase', ...labels.map((l) => `<code>${esc(l)}</code><div class="source">${(cellsOf.get(l)!.values().next().value?.kind ?? 'trend') === 'rate' ? 'rate' : 'p95'}</div>`)];
    const cycles = new Set(phases.map((p) => cycleName(p.id))).size;
    return `<details class="cycles" data-fault-entry="${esc(entry)}"><summary>${esc(`${entry}: its ${cycles} cycles one by one (fault and recovery of each; the worst of a column marked)`)}</summary>` +
      `<div class="table-scroll"><table class="cycle-table" data-fault-entry="${esc(entry)}"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div></details>`;
  });
  return out.join('\n');
}

/** Why a hypothesis was not judged: its preconditions (linked), a probe that could not set up, a saturated generator. */
function gateText(gatedBy: readonly string[]): string {
  const setup = gatedBy.filter((g) => g.startsWith('setup:')).map((g) => g.slice('setup:'.length));
  const generator = gatedBy.filter((g) => g.startsWith('generator:')).map((g) => g.slice('generator:'.length));
  const pre = gatedBy.filter((g) => !g.startsWith('setup:') && !g.startsWith('generator:'));
  return [
    ...(pre.length ? [`precondition ${pre.map((g) => `<a href="#hyp-${esc(g)}">${esc(g)}</a>`).join(', ')} did not hold`] : []),
    ...(setup.length ? [`the ${setup.map(esc).join(', ')} probe could not set up`] : []),
    ...(generator.length ? [`the load generator was saturated in ${generator.map(esc).join(', ')}`] : []),
  ].join('; ');
}

/** Past this many phases a hypothesis' evidence shows its first and folds the rest (a soak judges a check in every cycle). */
export const EVIDENCE_PARTS_SHOWN = 4;

/** What a per-phase part of evidence starts with: a phase id, or a fault id (recovers), then ': '. */
function evidencePrefixes(result: RunResult): Set<string> {
  return new Set([...result.phases.map((p) => p.id), ...result.faults.map((f) => f.id), 'run']);
}

/**
 * Evidence joined over phases (foldPhases: `<phase>: …; <phase>: …`, phases saying the same led by all of them:
 * `<phase>, <phase>: …` or `<first> … <last> (N phases, each): …`) split back into its parts; `;` inside a part stays.
 */
export function evidenceParts(evidence: string, prefixes: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const piece of evidence.split('; ')) {
    const head = /^([^\s:,]+(?::[^\s:,]+)?)(?:: |, | … )/.exec(piece)?.[1];
    if (out.length === 0 || (head !== undefined && prefixes.has(head))) out.push(piece);
    else out[out.length - 1] += `; ${piece}`;
  }
  return out;
}

function evidenceCell(evidence: string, prefixes: ReadonlySet<string>): string {
  const parts = evidenceParts(evidence, prefixes);
  if (parts.length <= EVIDENCE_PARTS_SHOWN) return esc(evidence);
  return `${esc(parts[0])}<details class="evidence" data-evidence-parts="${parts.length}"><summary>${esc(`judged in ${parts.length} phases (the verdict is the worst of them): each`)}</summary><ol>${parts.map((x) => `<li>${esc(x)}</li>`).join('')}</ol></details>`;
}

function hypothesesTable(result: RunResult): string {
  const prefixes = evidencePrefixes(result);
  const rows = result.hypotheses.map((h) => {
    const ok = hypothesisAsExpected(h, result);
    return (
      `<tr id="hyp-${esc(h.id)}" data-hypothesis-id="${esc(h.id)}" data-role="${h.role}" data-verdict="${h.verdict}" data-as-expected="${ok}">` +
      `<td><code>${esc(h.id)}</code>${h.role === 'precondition' ? ' <span class="muted">precondition</span>' : ''}<div class="source">${esc(h.description)}</div>` +
      `${h.gatedBy?.length ? `<div class="source">not judged: ${gateText(h.gatedBy)}</div>` : ''}</td>` +
      `<td><code>${esc(h.phase)}</code></td>` +
      `<td>${esc(h.expected)}</td>` +
      `<td class="num">${esc(fmtNum(h.observed, 3))}</td>` +
      `<td>${badge(h.verdict)}${h.expectedVerdict ? `<div class="source">expected ${esc(h.expectedVerdict)}</div>` : ''}</td>` +
      `<td>${evidenceCell(h.evidence, prefixes)}</td>` +
      `<td>${h.claims.map((c) => `<code>${esc(c)}</code>`).join(', ')}</td>` +
      '</tr>'
    );
  });
  return section('hypotheses', `Hypotheses (${result.hypotheses.length})`, table(['Hypothesis', 'Phase', 'Expected', 'Observed', 'Verdict', 'Evidence', 'Claims'], rows, 'hypotheses-table'));
}

function calibrationTable(result: RunResult): string {
  if (result.faults.length > BAND_LABEL_LIMIT) return groupedCalibrationTable(result);
  return section(
    'calibration',
    'Calibration <span class="muted">— did each fault measurably land on the path the workload uses?</span>',
    table(['Fault', 'Series', 'Expected', 'Observed', 'OK', 'Detail'], calibrationRows(result.calibration), 'calibration-table', 'no calibration checks'),
  );
}

/** Many faults: a row per fault entry and series (how many cycles' checks held, those that did not named), the cycles folded. */
function groupedCalibrationTable(result: RunResult): string {
  const entryOf = new Map(result.faults.map((f) => [f.id, f.entryId ?? f.id]));
  const groups = new Map<string, CalibrationResult[]>();
  for (const c of result.calibration) {
    const k = `${entryOf.get(c.faultId) ?? c.faultId}\u0000${c.label}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const rows = [...groups.entries()].map(([k, cs]) => {
    const [entry, lbl] = k.split('\u0000') as [string, string];
    const bad = cs.filter((c) => !c.ok);
    return `<tr data-calibration-entry="${esc(entry)}" data-ok="${bad.length === 0}" data-checks="${cs.length}"><td><code>${esc(entry)}</code></td><td><code>${esc(lbl)}</code></td><td>${esc(cs[0]!.expected)}</td>` +
      `<td>${tick(bad.length === 0)} ${cs.length - bad.length}/${cs.length}</td><td>${bad.length ? `did not hold in ${bad.slice(0, 5).map((c) => `<a href="#calibration-${esc(c.faultId)}">${esc(c.faultId)}</a>`).join(', ')}${bad.length > 5 ? ` and ${bad.length - 5} more` : ''}: ${esc(bad[0]!.detail)}` : esc(cs[0]!.detail)}</td></tr>`;
  });
  const entries = [...new Set(result.calibration.map((c) => entryOf.get(c.faultId) ?? c.faultId))];
  const details = entries.map((e) => {
    const cs = result.calibration.filter((c) => (entryOf.get(c.faultId) ?? c.faultId) === e);
    return `<details class="cycles" data-fault-entry="${esc(e)}"><summary>${esc(`${e}: its ${cs.length} checks one by one`)}</summary>${table(['Fault', 'Series', 'Expected', 'Observed', 'OK', 'Detail'], calibrationRows(cs), `calibration-table-${e}`)}</details>`;
  });
  return section(
    'calibration',
    'Calibration <span class="muted">— did each fault measurably land on the path the workload uses?</span>',
    table(['Fault', 'Series', 'Expected', 'Held', 'Detail'], rows, 'calibration-table', 'no calibration checks') + details.join('\n'),
  );
}

function calibrationRows(calibration: readonly CalibrationResult[]): string[] {
  const seen = new Set<string>();
  return calibration.map(
    (c) =>
      `<tr${seen.has(c.faultId) || !seen.add(c.faultId) ? '' : ` id="calibration-${esc(c.faultId)}"`} data-calibration-fault="${esc(c.faultId)}" data-ok="${c.ok}"><td><code>${esc(c.faultId)}</code></td><td><code>${esc(c.label)}</code></td>` +
      `<td>${esc(c.expected)}</td><td class="num">${esc(fmtNum(c.observed, 3))}</td><td>${tick(c.ok)}</td><td>${esc(c.detail)}</td></tr>`,
  );
}

/** How far an actual time is from its schedule (ms), shown under the time. */
function late(actual: number | undefined, scheduled: number | undefined): string {
  if (actual === undefined || scheduled === undefined) return '';
  const d = Math.round(actual - scheduled);
  return `<div class="source" data-schedule-delta-ms="${d}">${d >= 0 ? '+' : ''}${d} ms vs schedule</div>`;
}

const FAULT_HEADERS = ['Fault', 'Name', 'Mechanism', 'Target', 'Params', 'Planned', 'Applied', 'Removed', 'Actual', 'Verified', 'Rolled back', 'Error'];

function faultTable(result: RunResult): string {
  if (result.faults.length > BAND_LABEL_LIMIT) return groupedFaultTable(result);
  return section('faults', 'Fault timeline', table(FAULT_HEADERS, faultRows(result, result.faults), 'fault-table', 'no faults'));
}

/**
 * Many faults (a soak's cycles): a row per fault entry — cycles, how many were verified and rolled back, the latest
 * apply against the schedule, errors — and each entry's cycles one by one, folded.
 */
function groupedFaultTable(result: RunResult): string {
  const entries = faultEntries(result);
  const of = (id: string) => result.faults.filter((f) => (f.entryId ?? f.id) === id);
  const rows = entries.map((e) => {
    const fs = of(e.id);
    const first = fs[0]!;
    const lates = fs.flatMap((f) => (f.appliedAtMs !== undefined && f.scheduledApplyMs !== undefined ? [{ id: f.id, d: f.appliedAtMs - f.scheduledApplyMs }] : []));
    const latest = lates.reduce<{ id: string; d: number } | undefined>((m, x) => (m === undefined || x.d > m.d ? x : m), undefined);
    const verified = fs.filter((f) => f.verified).length;
    const rolled = fs.filter((f) => f.rolledBack).length;
    const errors = fs.filter((f) => f.error !== undefined);
    const every = fs.length > 1 ? ` · then every ${fmtNum(fs[1]!.plannedStartS - first.plannedStartS)} s` : '';
    return (
      `<tr data-fault-entry="${esc(e.id)}" data-cycles="${fs.length}" data-verified="${verified}" data-rolled-back="${rolled}">` +
      `<td><code>${esc(e.id)}</code></td><td>${esc(e.name)}</td><td>${esc(first.mechanism)}</td><td><code>${esc(first.target)}</code></td>` +
      `<td><code>${esc(JSON.stringify(first.params))}</code></td>` +
      `<td class="num">+${esc(fmtNum(first.plannedStartS))} s for ${esc(fmtNum(first.plannedDurationS))} s${esc(every)}</td>` +
      `<td class="num">${fs.length}</td>` +
      `<td class="num">${latest ? `${latest.d >= 0 ? '+' : ''}${Math.round(latest.d)} ms <a href="#fault-${esc(latest.id)}">${esc(latest.id)}</a>` : '—'}</td>` +
      `<td>${tick(verified === fs.length)} ${verified}/${fs.length}</td>` +
      `<td>${tick(rolled === fs.length)} ${rolled}/${fs.length}</td>` +
      `<td>${errors.length ? `${errors.length}: ${errors.slice(0, 3).map((f) => `<a href="#fault-${esc(f.id)}">${esc(f.id)}</a>`).join(', ')}${errors.length > 3 ? ' …' : ''}` : ''}</td>` +
      '</tr>'
    );
  });
  const details = entries.map((e) =>
    `<details class="cycles" data-fault-entry="${esc(e.id)}"><summary>${esc(`${e.id}: its ${e.cycles} occurrences one by one`)}</summary>${table(FAULT_HEADERS, faultRows(result, of(e.id)), `fault-table-${e.id}`)}</details>`);
  return section(
    'faults',
    'Fault timeline',
    table(['Fault', 'Name', 'Mechanism', 'Target', 'Params', 'Planned', 'Occurrences', 'Latest apply vs schedule', 'Verified', 'Rolled back', 'Errors'], rows, 'fault-table', 'no faults') + details.join('\n'),
  );
}

function faultRows(result: RunResult, faults: readonly FaultRecord[]): string[] {
  const s0 = result.startedAtMs;
  return faults.map((f) => {
    const actual = f.appliedAtMs !== undefined && f.removedAtMs !== undefined ? `${((f.removedAtMs - f.appliedAtMs) / 1000).toFixed(2)} s` : '—';
    return (
      `<tr id="fault-${esc(f.id)}" data-fault-id="${esc(f.id)}" data-verified="${f.verified}" data-rolled-back="${f.rolledBack}">` +
      `<td><code>${esc(f.id)}</code></td><td>${esc(f.name)}</td><td>${esc(f.mechanism)}</td><td><code>${esc(f.target)}</code></td>` +
      `<td><code>${esc(JSON.stringify(f.params))}</code></td>` +
      `<td class="num">+${esc(fmtNum(f.plannedStartS))} s for ${esc(fmtNum(f.plannedDurationS))} s</td>` +
      `<td class="num" data-applied-at-ms="${f.appliedAtMs ?? ''}">${esc(fmtRel(f.appliedAtMs, s0))}${late(f.appliedAtMs, f.scheduledApplyMs)}</td>` +
      `<td class="num" data-removed-at-ms="${f.removedAtMs ?? ''}">${esc(fmtRel(f.removedAtMs, s0))}${late(f.removedAtMs, f.scheduledRemoveMs)}</td>` +
      `<td class="num">${esc(actual)}</td>` +
      `<td>${tick(f.verified)} ${esc(f.verifyDetail)}</td>` +
      `<td>${tick(f.rolledBack)}</td>` +
      `<td>${f.error !== undefined ? esc(f.error) : ''}</td>` +
      '</tr>'
    );
  });
}

function workloadsTable(result: RunResult): string {
  const rows = result.workloads.map(
    (w) =>
      `<tr data-workload-id="${esc(w.id)}" data-exit-code="${w.exitCode ?? ''}"><td><code>${esc(w.id)}</code></td><td>${esc(w.scenario)}</td><td>${esc(w.profile)}</td>` +
      `<td class="num">${w.exitCode === null ? '—' : esc(w.exitCode)}${w.exitCode !== null && w.exitCode !== 0 ? ' <span class="no">✗</span>' : ''}</td>` +
      `<td class="num">${esc(w.samples)}</td><td>${w.failedThresholds.length ? w.failedThresholds.map((t) => `<code>${esc(t)}</code>`).join('<br>') : '<span class="muted">none</span>'}</td></tr>`,
  );
  return section('workloads', 'Workloads', table(['Workload', 'Scenario', 'Profile', 'Exit code', 'Samples', 'Failed thresholds'], rows, 'workloads-table', 'no workloads'));
}

/** A relative link inside the run directory (each segment percent-encoded; absolute paths kept as text). */
function fileHref(path: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('/') || path.split('/').includes('..')) return null;
  return path.split('/').map(encodeURIComponent).join('/');
}

function filesList(result: RunResult): string {
  if (result.files.length === 0) return section('files', 'Files', '<p class="muted">none</p>');
  const items = result.files.map((f) => {
    const href = fileHref(f.path);
    const name = `<code>${esc(f.path)}</code>`;
    return `<li data-file-kind="${esc(f.kind)}">${href !== null ? `<a href="${esc(href)}">${name}</a>` : name} <span class="muted">(${esc(f.kind)})</span></li>`;
  });
  return section('files', 'Files <span class="muted">— relative to the run directory</span>', `<ul class="files">${items.join('')}</ul>`);
}

/** A video workload's per-participant series (drawn in the video section, not among the charts). */
const isParticipantSeries = (s: Series): boolean => s.selector.tags?.participant !== undefined && isVideoChartMetric(s.selector.metric);

/**
 * The charts: the clients' latency first, then what the target's services report of themselves (resident memory, a
 * line per service, on the same time axis), then every other series in the run's order.
 */
function charts(result: RunResult): string {
  const groups = GROUP_CHARTS.map((g) => ({ g, series: groupSeries(result.series, g) })).filter((x) => x.series.length >= 2);
  const grouped = new Set(groups.flatMap((x) => x.series));
  const drawn = result.series.filter((s) => !isParticipantSeries(s) && !grouped.has(s));
  const first = drawn.findIndex((s) => s.selector.metric === 'http_req_duration' && chartKindOf(s) !== null);
  const lead = first >= 0 ? [drawn[first]!] : [];
  const rest = drawn.filter((_, i) => i !== first);
  const at = (s: Series) => result.series.indexOf(s);
  const figs = [
    renderAlertTimeline(result),
    ...lead.map((s) => renderChart(s, result, at(s))),
    ...groups.map((x, i) => renderGroupChart(x.series, x.g, result, i)),
    ...rest.map((s) => renderChart(s, result, at(s))),
  ].filter(Boolean);
  return section(
    'charts',
    'Charts <span class="muted">— shaded bands: fault windows; a break in a line: no samples in those windows (hover for values)</span>',
    figs.length ? `<div class="charts">${figs.join('\n')}</div>` : '<p class="muted">no latency or rate series</p>',
  );
}

/** Reads a picture of the run directory as a data: URL (null: not there). */
export type ImageSource = (path: string) => string | null;

/** Where a long soak's filmstrip stops: its pictures are in the run directory (frames.jsonl), the page stays light. */
export const FILMSTRIP_MAX_PHASES = 60;

function filmstripTable(f: Filmstrip, result: RunResult, images: ImageSource | undefined): string {
  const phases = result.phases.filter((p) => f.frames.some((x) => x.phase === p.id));
  const shown = phases.length > PHASE_COLUMNS_MAX ? filmstripPicks(phases, f, result) : phases.slice(0, FILMSTRIP_MAX_PHASES);
  const head = ['Participant <span class="muted">receives</span>', ...shown.map((p) => `<span data-phase-id="${esc(p.id)}">${esc(p.id)}</span><div class="source">${fmtRel(p.startMs, result.startedAtMs)} … ${fmtRel(p.endMs, result.startedAtMs)}</div>`)];
  const rows = f.participants.map((who) => {
    const cells = shown.map((p) => {
      const fr = f.frames.find((x) => x.phase === p.id && x.participant === who);
      if (!fr) return `<td data-phase="${esc(p.id)}"><span class="muted">—</span></td>`;
      const src = images?.(fr.path) ?? null;
      const n = Math.max(1, fr.tiles.length);
      const tiles = fr.tiles.map((t, i) => `<span class="tile${t.frozen ? ' frozen' : ''}" data-track="${esc(t.track)}" data-frozen="${t.frozen === null ? 'unknown' : t.frozen}" style="left:${(i * 100) / n}%;width:${100 / n}%" title="${esc(`from ${t.track}${t.frozen ? ': frozen (no new frame in 400 ms)' : ''}`)}"></span>`).join('');
      const picture = src
        ? `<img class="filmstrip-frame" src="${esc(src)}" width="${fr.width}" height="${fr.height}" alt="${esc(`what ${who} received at ${fmtRel(fr.atMs, result.startedAtMs)}`)}" data-phase="${esc(p.id)}" data-participant="${esc(who)}" data-at-ms="${fr.atMs}">`
        : `<span class="muted" data-missing="${esc(fr.path)}">picture not embedded (${esc(fr.path)})</span>`;
      const frozen = fr.tiles.filter((t) => t.frozen).map((t) => t.track);
      return `<td data-phase="${esc(p.id)}"><div class="frame">${picture}${src ? tiles : ''}</div>` +
        `<div class="frame-caption">${esc(fmtRel(fr.atMs, result.startedAtMs))} · from ${esc(fr.tiles.map((t) => t.track).join(', '))}${frozen.length ? ` · <span class="frozen-text">frozen: ${esc(frozen.join(', '))}</span>` : ''}</div></td>`;
    });
    return `<tr data-participant="${esc(who)}"><td><code>${esc(who)}</code></td>${cells.join('')}</tr>`;
  });
  const more = phases.length > shown.length
    ? `<p class="muted" data-filmstrip-shown="${shown.length}">${phases.length > PHASE_COLUMNS_MAX ? `${shown.length} of ${phases.length} phases: the baseline, each fault's first and last cycle, and the first with a frozen tile` : `the first ${shown.length} of ${phases.length} phases`}; every picture is in <code>workloads/${esc(f.workload)}/frames/</code></p>`
    : '';
  return `<div class="table-scroll"><table class="filmstrip" data-workload="${esc(f.workload)}"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>${more}`;
}

/** A long run's filmstrip: at most this many phases (each a picture per participant, embedded). */
export const FILMSTRIP_LONG_RUN_PHASES = 16;

/**
 * The phases a long run's filmstrip shows, in time order: the baseline (and whatever is not a fault's), each fault
 * entry's first and last cycle (fault and recovery), then phases where a picture caught a frozen tile, up to the cap.
 */
function filmstripPicks(phases: readonly Phase[], f: Filmstrip, result: RunResult): Phase[] {
  const picked = new Set<string>();
  const add = (id: string | undefined) => {
    if (id !== undefined && picked.size < FILMSTRIP_LONG_RUN_PHASES) picked.add(id);
  };
  for (const p of phases) if (p.kind !== 'fault' && p.kind !== 'recovery') add(p.id);
  for (const e of faultEntries(result)) {
    const cycles = phases.filter((p) => p.faultId !== undefined && (result.faults.find((x) => x.id === p.faultId)?.entryId ?? p.faultId) === e.id);
    const firstId = cycles[0]?.faultId;
    const lastId = cycles[cycles.length - 1]?.faultId;
    for (const id of [firstId, lastId]) for (const p of cycles) if (p.faultId === id) add(p.id);
  }
  for (const p of phases) if (f.frames.some((x) => x.phase === p.id && x.tiles.some((t) => t.frozen))) add(p.id);
  return phases.filter((p) => picked.has(p.id));
}

/** Video workloads: per participant, what it received over time (fps, loss, jitter, frozen) and a filmstrip. */
function videoSection(result: RunResult, images: ImageSource | undefined): string {
  const videos = result.workloads.filter((w) => w.scenario === 'video');
  if (videos.length === 0) return '';
  const parts = videos.map((w) => {
    const mine = result.series.filter((s) => isParticipantSeries(s) && s.selector.tags?.workload === w.id && s.points.length > 0);
    const participants = [...new Set(mine.map((s) => s.selector.tags!.participant!))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    const rows = participants.map((p) => {
      const figs = (Object.keys(VIDEO_CHARTS) as (keyof typeof VIDEO_CHARTS)[]).map((m) => {
        const s = mine.find((x) => x.selector.tags!.participant === p && x.selector.metric === m);
        return s ? renderVideoChart(s, m, result, `video-${w.id}-${p}-${m}`) : '';
      }).join('');
      return `<div class="video-participant" data-workload="${esc(w.id)}" data-participant="${esc(p)}"><h3>${esc(w.id)} · ${esc(p)} <span class="muted">— what ${esc(p)} received from every other participant, averaged per window</span></h3><div class="video-charts">${figs}</div></div>`;
    });
    const strip = result.filmstrips?.find((f) => f.workload === w.id);
    return (rows.length ? rows.join('\n') : `<p class="muted">${esc(w.id)}: no media samples</p>`) +
      (strip ? `<h3>${esc(w.id)} · filmstrip <span class="muted">— one received picture per participant in the middle of each phase (tiles left to right: each other participant; a red tile was frozen: no new frame in 400 ms)</span></h3>${filmstripTable(strip, result, images)}` : '');
  });
  return section('video', 'Video <span class="muted">— what each participant saw; shaded bands: fault windows</span>', parts.join('\n'));
}

/** Contents: every section, and each claim with its verdict (the page is long on a soak run). */
function toc(result: RunResult): string {
  const groups = GROUP_CHARTS.map((g) => groupSeries(result.series, g)).filter((g) => g.length >= 2);
  const charts = result.series.filter((s) => chartKindOf(s) !== null && !isParticipantSeries(s) && !groups.some((g) => g.includes(s))).length + groups.length;
  const entries: [string, string, string][] = [
    ['claims', `Claims (${result.claims.length})`,
      `<ol>${result.claims.map((c) => `<li><a href="#claim-${esc(c.id)}"><code>${esc(c.id)}</code></a> ${badge(c.verdict)}${claimAsExpected(c) ? '' : ' <span class="no">not as expected</span>'}</li>`).join('')}</ol>`],
    ['charts', `Charts (${charts})`, ''],
    ...(result.workloads.some((w) => w.scenario === 'video') ? [['video', 'Video', ''] as [string, string, string]] : []),
    ['phases', 'Per-phase statistics', ''],
    ['hypotheses', `Hypotheses (${result.hypotheses.length})`, ''],
    ['calibration', `Calibration (${result.calibration.length})`, ''],
    ['faults', `Fault timeline (${result.faults.length})`, ''],
    ['workloads', `Workloads (${result.workloads.length})`, ''],
    ['files', `Files (${result.files.length})`, ''],
  ];
  return `<nav id="toc" aria-label="Contents"><b>Contents</b><ol>${entries.map(([id, title, sub]) => `<li data-toc="${id}"><a href="#${id}">${esc(title)}</a>${sub}</li>`).join('')}</ol></nav>`;
}

export interface HtmlOptions {
  /** The run directory's pictures (the filmstrip), embedded as data: URLs; without it they are named, not shown. */
  images?: ImageSource;
}

export function toHtml(result: RunResult, o: HtmlOptions = {}): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // No network at all: nothing here may load from elsewhere.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(`${result.experiment.name} — ${result.runId} — ${outcomeText(result)}`)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    `<body data-run-id="${esc(result.runId)}" data-exit-code="${esc(result.exitCode)}">`,
    '<main>',
    header(result),
    toc(result),
    claimsTable(result),
    charts(result),
    videoSection(result, o.images),
    phaseTable(result),
    hypothesesTable(result),
    calibrationTable(result),
    faultTable(result),
    workloadsTable(result),
    filesList(result),
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
