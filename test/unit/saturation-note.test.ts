import { describe, expect, it } from 'vitest';
import { saturationNote } from '../../src/experiment/saturation-note.js';
import type { Phase, Stats } from '../../src/results/model.js';
import type { StatsSource } from '../../src/verdicts/common.js';

/** The machine's busy share per phase, as the pipeline gives its windows. */
const busy = (byStart: Record<number, number>): StatsSource => ({
  stats: () => ({ kind: 'trend', count: 0 }),
  windowStats: (_s, from): Stats => (byStart[from] === undefined ? { kind: 'trend', count: 0 } : { kind: 'trend', count: 10, mean: byStart[from] }),
});
const phase = (id: string, startMs: number): Phase => ({ id, kind: id === 'baseline' ? 'baseline' : 'fault', startMs, endMs: startMs + 1000 });
const phases = [phase('baseline', 0), ...Array.from({ length: 8 }, (_, i) => phase(`fault:redis#${i + 1}`, (i + 1) * 1000))];

describe('the saturation note', () => {
  it('names the phases where the machine had no headroom, a few and how many more', () => {
    const all = busy(Object.fromEntries(phases.map((p) => [p.startMs, p.id === 'baseline' ? 0.6 : 0.97])));
    const note = saturationNote(all, phases, true)!;
    expect(note).toMatch(/saturated \(≥ 95 % busy on average\) in 8 phases: fault:redis#1 \(97 %\), .*fault:redis#6 \(97 %\) and 2 more/);
    expect(note).toMatch(/the embedded target shares it/);
    expect(note).not.toMatch(/baseline/);
    expect(saturationNote(busy({ 3000: 0.99 }), phases, false)).toMatch(/in 1 phase: fault:redis#3 \(99 %\) — what the generator measured there is suspect/);
  });
  it('none saturated, or no readings: no note', () => {
    expect(saturationNote(busy({ 0: 0.94, 1000: 0.5 }), phases, true)).toBeNull();
    expect(saturationNote(busy({}), phases, true)).toBeNull();
  });
});
