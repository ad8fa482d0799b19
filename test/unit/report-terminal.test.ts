import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { RunResult } from '../../src/results/model.js';
import { fitWidths, table, verdictTable } from '../../src/cli/table.js';
import { progressPrinter } from '../../src/results/progress.js';

const SAMPLE = 'fixtures/sample-run/result.json';
const sample = (): RunResult => JSON.parse(readFileSync(SAMPLE, 'utf8')) as RunResult;
const widest = (s: string): number => Math.max(...s.split('\n').map((l) => [...l].length));
/** The table's text with cell lines joined: what a reader reads across wrapped lines. */
const flat = (s: string): string => s.replace(/\s+/g, ' ');

describe('verdictTable', () => {
  it('fits the terminal width, wide or narrow', () => {
    const r = sample();
    for (const width of [80, 100, 132, 200]) expect(widest(verdictTable(r, width)), `width ${width}`).toBeLessThanOrEqual(width);
  });

  it('shows each claim\'s verdict, expectation, agreement and the deciding check\'s observed value', () => {
    const out = verdictTable(sample(), 160);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^CLAIM\s+VERDICT\s+EXPECTED\s+OK\s+OBSERVED\s+TITLE$/);
    const row = (id: string): string => lines.find((l) => l.startsWith(`${id} `))!;
    expect(row('REDIS-LOGIN')).toMatch(/^REDIS-LOGIN\s+PASS\s+PASS\s+yes\s+0\.978\s+\S/);
    expect(row('REDIS-REVOCATION')).toMatch(/^REDIS-REVOCATION\s+FAIL\s+FAIL\s+yes\s+0\.022\s+\S/);
    expect(row('RECOVERY-LATENCY')).toMatch(/^RECOVERY-LATENCY\s+PASS\s+PASS\s+yes\s+101\s+\S/);
    expect(row('REDIS-CHAT')).toMatch(/^REDIS-CHAT\s+INCONCLUSIVE\s+PASS\s+NO\s+—\s+\S/);
  });

  it('says why for every verdict that is not a plain PASS, and nothing more for a PASS', () => {
    const text = flat(verdictTable(sample(), 160));
    expect(text).toContain('· delivers-during-outage [fault:redis] INCONCLUSIVE: wanted rate(sc_probe_ok{probe=deliver}) >= 0.95 — calibration failed for fault redis');
    expect(text).toContain('· revoked-refused-during-outage [fault:redis] FAIL: wanted rate(sc_probe_ok{probe=revoked}) >= 1, observed 0.0222 — 44 of 45 calls');
    expect(text).not.toContain('· login-during-outage');
  });

  it('shows a contradiction of the audit and a baseline requirement that did not PASS', () => {
    const r = sample();
    Object.assign(r.claims.find((c) => c.id === 'REDIS-LOGIN')!, { verdict: 'INCONCLUSIVE', gatedBy: ['LOGIN'], asExpected: false });
    Object.assign(r.claims.find((c) => c.id === 'RECOVERY-LATENCY')!, { verdict: 'FAIL', contradictsAudit: true, asExpected: false });
    const text = flat(verdictTable(r, 120));
    expect(text).toContain('· requires LOGIN, which did not PASS in this run: not judged');
    expect(text).toContain('· contradicts the audit: it says PASS (retries with backoff and a circuit breaker: service comes back after a fault), measured FAIL');
  });

  it('cuts a long reason to a few lines of its column', () => {
    const r = sample();
    r.hypotheses.find((h) => h.id === 'revoked-refused-during-outage')!.evidence = 'x '.repeat(2000);
    const out = verdictTable(r, 100);
    expect(widest(out)).toBeLessThanOrEqual(100);
    const rows = out.split('\n');
    const start = rows.findIndex((l) => l.startsWith('REDIS-REVOCATION '));
    const end = rows.findIndex((l, i) => i > start && /^\S/.test(l));
    // The claim's row (its title may wrap), then about three lines for the deciding check.
    expect(end - start).toBeLessThanOrEqual(6);
    expect(out).toContain('…');
  });
});

describe('table', () => {
  it('keeps a narrow table as it is: header, rule, rows, two spaces apart', () => {
    expect(table(['A', 'BB'], [['x', 'yyy'], ['long', 'z']], 80)).toBe(['A     BB', '----  ---', 'x     yyy', 'long  z'].join('\n'));
  });

  it('wraps the widest column to fit the width', () => {
    const title = 'a claim title that goes on and on about what the audit says and what it means '.repeat(3);
    const out = table(['CLAIM', 'KIND', 'TITLE'], [['REDIS-LOGIN', 'fault', title]], 80);
    expect(widest(out)).toBeLessThanOrEqual(80);
    expect(out.split('\n').length).toBeGreaterThan(3);
    expect(out.replace(/\s+/g, ' ')).toContain('what the audit says');
  });

  it('gives way from the widest columns first', () => {
    expect(fitWidths([10, 50, 100], [4, 4, 4], 200)).toEqual([10, 50, 100]);
    expect(fitWidths([10, 50, 100], [4, 4, 4], 100)).toEqual([10, 45, 45]);
    expect(fitWidths([10, 50, 100], [8, 8, 40], 30)).toEqual([8, 8, 40]);
  });
});

/** The lines a terminal shows after `out`: text, newlines, and the escapes log-update uses (erase line, cursor up, column 1). */
function terminal(out: string): string[] {
  const lines = [''];
  let row = 0;
  for (const tok of out.match(/\u001b\[\??\d*[A-Za-z]|\n|[^\u001b\n]+/g) ?? []) {
    if (tok === '\n') {
      row++;
      if (lines.length <= row) lines.push('');
    } else if (/^\u001b\[2K$/.test(tok)) lines[row] = '';
    else if (/^\u001b\[\d*A$/.test(tok)) row = Math.max(0, row - Number(/\d+/.exec(tok)?.[0] ?? 1));
    else if (/^\u001b\[\d*G$/.test(tok)) continue;
    else if (/^\u001b\[\?\d+[hl]$/.test(tok)) continue; // synchronized output on / off (mode 2026)
    else if (tok.startsWith('\u001b')) throw new Error(`unexpected escape ${JSON.stringify(tok)}`);
    else lines[row] = (lines[row] ?? '') + tok;
  }
  return lines.filter((l) => l !== '');
}

describe('progressPrinter', () => {
  const stream = (tty: boolean) => {
    const out: string[] = [];
    return { out, isTTY: tty, columns: 60, write: (s: string) => (out.push(s), true) };
  };

  it('in a log: every message, a tick at most every 10 s, no escape codes', () => {
    let now = 0;
    const s = stream(false);
    const p = progressPrinter(s, { now: () => now });
    for (let t = 0; t < 25; t++) {
      now = t * 1000;
      p(`t=${t}s/25s  phase baseline`);
      if (t === 3) p('[lab] attached');
    }
    p.done();
    expect(s.out).toEqual(['t=0s/25s  phase baseline\n', '[lab] attached\n', 't=10s/25s  phase baseline\n', 't=20s/25s  phase baseline\n']);
  });

  it('on a terminal that reports no size: as in a log (log-update would draw nothing)', () => {
    const s = { ...stream(true), columns: 0, rows: 0 };
    const p = progressPrinter(s, { now: () => 0 });
    p('t=1s/5s  phase baseline');
    p('fault redis applied');
    expect(s.out).toEqual(['t=1s/5s  phase baseline\n', 'fault redis applied\n']);
  });

  it('on a terminal: ticks replace each other in one line, messages go above it', () => {
    const s = stream(true);
    const p = progressPrinter(s);
    p('t=1s/5s  phase baseline');
    p('t=2s/5s  phase baseline');
    p('fault redis applied');
    p('t=3s/5s  phase fault:redis');
    p.done();
    const screen = s.out.join('');
    expect(screen).toContain('\u001b[2K');
    // What stays on the screen once every erase is applied: the message, then the latest tick.
    expect(terminal(screen)).toEqual(['fault redis applied', 't=3s/5s  phase fault:redis']);
  });
});
