import { describe, expect, it } from 'vitest';
import { harnessMemoryNote } from '../../src/experiment/harness-memory.js';
import type { StatsSource } from '../../src/verdicts/common.js';
import type { Stats } from '../../src/results/model.js';

/** Readings every 5 s of a resident size `mib(tMs)` from 0 to `spanMs`, as the pipeline would give their windows. */
function readings(spanMs: number, mib: (tMs: number) => number): StatsSource {
  const at = (from: number, to: number): number[] => {
    const out: number[] = [];
    for (let t = Math.ceil(from / 5000) * 5000; t < to && t <= spanMs; t += 5000) out.push(mib(t));
    return out;
  };
  const stats = (vs: number[]): Stats => (vs.length ? { kind: 'trend', count: vs.length, mean: vs.reduce((a, b) => a + b, 0) / vs.length, max: Math.max(...vs), min: Math.min(...vs) } : { kind: 'trend', count: 0 });
  return { stats: () => stats([]), windowStats: (_s, from, to) => stats(at(from, to)) };
}

const H = 3_600_000;
const wobble = (t: number) => 8 * Math.sin(t / 40_000);

describe('the harness memory note', () => {
  it('a flat harness over 2 h: its peak and a trend within the budget', () => {
    const note = harnessMemoryNote(readings(2 * H, (t) => 250 + wobble(t)), 0, 2 * H)!;
    expect(note).toMatch(/at most 25\d MiB resident/);
    expect(note).toMatch(/no growth past 10 % of its level an hour/);
  });
  it('a harness growing 60 MiB an hour on 250 is called out', () => {
    const note = harnessMemoryNote(readings(2 * H, (t) => 250 + (60 * t) / H + wobble(t)), 0, 2 * H)!;
    expect(note).toMatch(/and growing: \+(5\d|6\d)\.\d MiB\/h/);
    expect(note).toMatch(/may run the generator out of memory/);
  });
  it('a short run, or one without readings, gets no note', () => {
    expect(harnessMemoryNote(readings(5 * 60_000, () => 200), 0, 5 * 60_000)).toBeNull();
    expect(harnessMemoryNote({ stats: () => ({ kind: 'trend', count: 0 }), windowStats: () => ({ kind: 'trend', count: 0 }) }, 0, H)).toBeNull();
  });
});
