/**
 * Terminal tables, laid out by cli-table3 (string widths, word wrapping, borders) and fitted to the
 * terminal's width: columns wider than their share are narrowed and their cells wrap, so no row runs
 * past the right edge.
 */
import Table from 'cli-table3';
import type { RunResult } from '../results/model.js';
import { claimAsExpected, explainClaim, fmtNum } from '../../reports/common.js';

/** Where output goes: its width when it is a terminal, else $COLUMNS, else 120 (CI logs). */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout): number {
  if (stream.isTTY && stream.columns && stream.columns > 0) return stream.columns;
  const env = Number(process.env.COLUMNS);
  return Number.isInteger(env) && env >= 40 ? env : 120;
}

/**
 * Column widths that fit `total`: each column keeps its natural width up to a common cap, the cap as
 * high as fits (the widest columns give way first); no column below its minimum, so a very narrow
 * terminal gets a table at the minimum widths rather than an unreadable one.
 */
export function fitWidths(natural: readonly number[], min: readonly number[], total: number): number[] {
  const widths = (cap: number): number[] => natural.map((w, i) => Math.max(Math.min(w, cap), min[i] ?? 1));
  const sum = (ws: number[]): number => ws.reduce((a, b) => a + b, 0);
  if (sum(widths(Infinity)) <= total) return widths(Infinity);
  let lo = 1;
  let hi = Math.max(...natural);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (sum(widths(mid)) <= total) lo = mid;
    else hi = mid - 1;
  }
  // Whatever the cap leaves unused goes to the columns it cut, left to right.
  const out = widths(lo);
  let spare = total - sum(out);
  for (let i = 0; i < out.length && spare > 0; i++) {
    const more = Math.min(spare, (natural[i] ?? 0) - (out[i] ?? 0));
    if (more > 0) {
      out[i] = (out[i] ?? 0) + more;
      spare -= more;
    }
  }
  return out;
}

const displayWidth = (s: string): number => Math.max(0, ...s.split('\n').map((l) => [...l].length));

const NO_BORDER = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};

/**
 * Plain table (no borders): header, a dashed rule, rows; columns two spaces apart, fitted to `width`
 * (default: the terminal's), the cells of narrowed columns wrapped.
 */
export function table(header: string[], rows: string[][], width = terminalWidth()): string {
  const natural = header.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))));
  // A narrowed column keeps at least 12 characters (or all it has): a wrap that narrow is still readable.
  const min = natural.map((w) => Math.min(w, 12));
  const colWidths = fitWidths(natural, min, width - 2 * (header.length - 1));
  const t = new Table({
    chars: NO_BORDER,
    colWidths,
    wordWrap: true,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  t.push(header, colWidths.map((w) => '-'.repeat(w)), ...rows.map((r) => header.map((_, i) => r[i] ?? '')));
  return t
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}

/** Cut to `n` characters, marking the cut. */
function cut(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, Math.max(1, n - 1))}…`;
}

/**
 * The verdict table printed by `sch run`, `sch analyze` and `sch report`: each claim's verdict, the
 * expected one, whether they agree, the deciding check's observed value and the title; under every
 * verdict that is not a plain PASS, why — the deciding check with its evidence, the baseline claim it
 * waited on, a contradiction of the audit — across the columns right of the claim, cut to a few lines.
 * Fitted to `width` (default: the terminal's): the title and the reasons wrap, the short columns keep
 * their width.
 */
export function verdictTable(r: RunResult, width = terminalWidth()): string {
  const head = ['CLAIM', 'VERDICT', 'EXPECTED', 'OK', 'OBSERVED', 'TITLE'];
  const rows = r.claims.map((c) => {
    const why = explainClaim(c, r);
    const explain = c.verdict !== 'PASS' || !claimAsExpected(c) || c.contradictsAudit === true || (c.gatedBy?.length ?? 0) > 0;
    return { why, explain, cells: [c.id, c.verdict, c.expected ?? '-', claimAsExpected(c) ? 'yes' : 'NO', fmtNum(why.observed, 3), c.title] };
  });
  const natural = head.map((h, i) => Math.max(h.length, ...rows.map((x) => displayWidth(x.cells[i] ?? ''))));
  // The short columns keep their width; the title gives way, down to 20.
  const min = natural.map((w, i) => (i < 5 ? w : Math.min(w, 20)));
  const gap = 2;
  const colWidths = fitWidths(natural, min, width - gap * (head.length - 1));
  const spanWidth = colWidths.slice(1).reduce((a, b) => a + b, 0) + gap * (head.length - 2);
  const t = new Table({ chars: NO_BORDER, colWidths, wordWrap: true, style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 } });
  t.push(head, colWidths.map((w) => '-'.repeat(w)));
  for (const { why, explain, cells } of rows) {
    t.push(cells);
    // The deciding check gets about three lines, the others two: the table stays scannable.
    if (explain) t.push(['', { colSpan: head.length - 1, content: why.lines.map((l) => cut(`· ${l}`, spanWidth * (why.check !== undefined && l.startsWith(why.check.id) ? 3 : 2) - 8)).join('\n') }]);
  }
  return t
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}
