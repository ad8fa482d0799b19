import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readK6Samples } from '../../src/results/k6-reader.js';
import type { Sample } from '../../src/results/model.js';

/** k6 stamps a sample when its request ends; a probe's `t0` metadata (its start) must win, on both reader paths. */
describe('a request counts where it started', () => {
  const started = Date.UTC(2026, 10, 29, 11, 0, 0);
  const ended = new Date(started + 15_000).toISOString(); // a 15 s hang, answered by k6's timeout
  const lines = [
    '{"type":"Metric","data":{"type":"counter","contains":"default","thresholds":[],"submetrics":null},"metric":"sc_outcome"}',
    `{"metric":"sc_outcome","type":"Point","data":{"time":"${ended}","value":1,"tags":{"class":"hang","probe":"send"},"metadata":{"t0":"${started}"}}}`,
    `{"metric":"sc_outcome","type":"Point","data":{"time":"${ended}","value":1,"tags":{"class":"served","probe":"send"}}}`,
    `{"metric":"sc_outcome","type":"Point","data":{"time":"${ended}","value":1,"tags":{"class":"served","probe":"send"},"metadata":{"t0":"not-a-time"}}}`,
  ];

  for (const fastPath of [true, false]) {
    it(`${fastPath ? 'fast path' : 'JSON.parse path'}: timed at t0 when present, else at k6's time`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sch-t0-'));
      const file = join(dir, 'samples.json');
      writeFileSync(file, `${lines.join('\n')}\n`);
      const got: Sample[] = [];
      await readK6Samples(file, (s) => got.push({ ...s, tags: { ...s.tags } }), { fastPath });
      expect(got.map((s) => s.time)).toEqual([started, started + 15_000, started + 15_000]);
      expect(got[0]!.tags).toEqual({ class: 'hang', probe: 'send' });
    });
  }
});
