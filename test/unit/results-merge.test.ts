import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ResultPipeline } from '../../src/results/pipeline.js';
import { K6_CSV_COLUMNS } from '../../src/results/k6-csv.js';
import type { Phase, Sample, SeriesSelector } from '../../src/results/model.js';

/**
 * A workload split over generators is merged by reading every instance's samples into one pipeline: HDR
 * histograms merged, counters and rates summed — never percentiles averaged. Checked here against the union
 * of the raw values: the merge of three instances equals one instance holding every sample, and its
 * percentiles are the union's within the histogram's precision.
 */
let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'merge-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse('2026-11-29T18:00:00Z');
const PHASES: Phase[] = [
  { id: 'baseline', kind: 'baseline', startMs: T0, endMs: T0 + 10_000 },
  { id: 'fault:f', kind: 'fault', faultId: 'f', startMs: T0 + 10_000, endMs: T0 + 20_000 },
];
const SELECTORS: SeriesSelector[] = [{ metric: 'http_req_duration', tags: { name: 'send' } }, { metric: 'http_req_failed' }, { metric: 'http_reqs' }];
const KINDS = { http_req_duration: 'trend', http_req_failed: 'rate', http_reqs: 'counter' } as const;

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

/** Three instances with different shapes (one slow): a percentile averaged over them would be far off. */
function instance(seed: number, slow: number): Sample[] {
  const r = lcg(seed);
  const out: Sample[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = T0 + r() * 20_000;
    const tags = { name: 'send', generator: `g${seed}` };
    out.push({ metric: 'http_reqs', time: t, value: 1, tags });
    out.push({ metric: 'http_req_duration', time: t, value: Math.round(slow * 5 * Math.exp(r() * 3) * 1000) / 1000, tags });
    out.push({ metric: 'http_req_failed', time: t, value: r() < 0.05 * slow ? 1 : 0, tags });
  }
  return out;
}

const csv = (samples: Sample[]): Buffer => gzipSync([
  K6_CSV_COLUMNS.join(','),
  ...samples.map((s) => K6_CSV_COLUMNS.map((c) => (c === 'metric_name' ? s.metric : c === 'timestamp' ? String(Math.round(s.time * 1000)) : c === 'metric_value' ? s.value.toFixed(6) : c === 'name' ? s.tags.name : c === 'extra_tags' ? `generator=${s.tags.generator}` : '')).join(',')),
  '',
].join('\n'));

const pipeline = () => new ResultPipeline({ phases: PHASES, selectors: SELECTORS, runStartMs: T0, metricKinds: { ...KINDS } });

describe('merging the instances of a split workload', () => {
  it('three instances read into one pipeline = one file of every sample; percentiles = the union\'s within HDR precision', async () => {
    const parts = [instance(1, 1), instance(2, 1), instance(3, 8)];
    const files = parts.map((p, i) => {
      const f = join(dir, `g${i + 1}.csv.gz`);
      writeFileSync(f, csv(p));
      return f;
    });
    const union = join(dir, 'all.csv.gz');
    writeFileSync(union, csv(parts.flat().sort((a, b) => a.time - b.time)));

    const merged = pipeline();
    for (const f of files) await merged.readK6(f);
    const single = pipeline();
    await single.readK6(union);
    for (const sel of SELECTORS) {
      for (const ph of ['baseline', 'fault:f', 'run']) {
        // Exactly the same but the mean, whose sum is only reordered (floating point).
        const { mean: a, ...m } = merged.stats(sel, ph);
        const { mean: b, ...o } = single.stats(sel, ph);
        expect(m, `${sel.metric} ${ph}`).toEqual(o);
        if (a !== undefined || b !== undefined) expect(a!).toBeCloseTo(b!, 9);
      }
    }

    for (const ph of PHASES) {
      const values = parts.flat().filter((s) => s.metric === 'http_req_duration' && s.time >= ph.startMs && s.time < ph.endMs).map((s) => s.value).sort((a, b) => a - b);
      const st = merged.stats(SELECTORS[0]!, ph.id);
      expect(st.count).toBe(values.length);
      for (const [p, got] of [[50, st.p50], [95, st.p95], [99, st.p99]] as const) {
        const exact = values[Math.ceil((p / 100) * values.length) - 1]!;
        // 3 significant digits: within 0.1 % of a recorded value (plus the CSV's 6 decimals).
        expect(Math.abs(got! - exact), `p${p} ${ph.id}: ${got} vs ${exact}`).toBeLessThanOrEqual(exact * 1e-3 + 1e-3);
      }
      // The naive mean of the instances' own p95s is not it: the merge is not an average.
      const perInstance = parts.map((part) => {
        const v = part.filter((s) => s.metric === 'http_req_duration' && s.time >= ph.startMs && s.time < ph.endMs).map((s) => s.value).sort((a, b) => a - b);
        return v[Math.ceil(0.95 * v.length) - 1]!;
      });
      expect(Math.abs(perInstance.reduce((a, b) => a + b, 0) / 3 - st.p95!)).toBeGreaterThan(st.p95! * 0.1);
    }
    // Counters and rates summed over the instances.
    expect(merged.stats({ metric: 'http_reqs' }, 'run').sum).toBe(9000);
    const failed = parts.flat().filter((s) => s.metric === 'http_req_failed' && s.value === 1).length;
    expect(merged.stats({ metric: 'http_req_failed' }, 'run').passes).toBe(failed);
  });
});
