import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Phase, RunResult } from '../../src/results/model.js';
import { FRAME_FILES, FrameStore, FrameStoreError, readFrameLines, type FrameLine } from '../../src/media/frame-store.js';
import { pickFilmstrip } from '../../src/experiment/filmstrip.js';
import { toHtml } from '../../reports/html.js';
import { ResultFileError, parseRunResult, resultToJson } from '../../reports/json.js';

/** A video workload's pictures: stored and read back, one per phase and participant picked, shown in the report. */

const T0 = 1_000_000;
const PHASES: Phase[] = [
  { id: 'baseline', kind: 'baseline', startMs: T0, endMs: T0 + 10_000 },
  { id: 'fault:redis', kind: 'fault', faultId: 'redis', startMs: T0 + 11_000, endMs: T0 + 21_000 },
  { id: 'recovery:redis', kind: 'recovery', faultId: 'redis', startMs: T0 + 21_000, endMs: T0 + 31_000 },
];
const line = (participant: string, atS: number, frozen = false): FrameLine => ({ atMs: T0 + atS * 1000, participant, file: `frames/${participant}-${atS}.jpg`, width: 320, height: 90, tiles: [{ track: 'p2', frozen }, { track: 'p3', frozen: false }] });

describe('frame store', () => {
  it('writes each picture and its line; reads them back, skipping a last line cut short and naming a bad one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sch-frames-'));
    const store = new FrameStore(dir);
    const l = store.add({ atMs: T0, participant: 'p1', width: 160, height: 90, tiles: [{ track: 'p2', frozen: null }] }, Buffer.from([0xff, 0xd8, 0xff]));
    expect(l.file).toBe('frames/p1-1.jpg');
    expect(readFileSync(join(dir, l.file))).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    appendFileSync(join(dir, FRAME_FILES.index), '{"atMs": 12');
    expect(readFrameLines(dir)).toEqual([l]);
    appendFileSync(join(dir, FRAME_FILES.index), '\n{"atMs": 1}\n');
    expect(() => readFrameLines(dir)).toThrow(FrameStoreError);
    expect(readFrameLines(join(dir, 'none'))).toEqual([]);
  });
});

describe('pickFilmstrip', () => {
  it('per phase and participant: the picture inside the phase nearest its middle; none from another phase', () => {
    const lines = [line('p1', 4), line('p1', 5.2), line('p1', 9.9), line('p2', 5), line('p1', 15.5, true), line('p1', 22)];
    const f = pickFilmstrip('call', 'workloads/call', lines, PHASES, ['p1', 'p2']);
    expect(f.frames.map((x) => [x.phase, x.participant, (x.atMs - T0) / 1000])).toEqual([
      ['baseline', 'p1', 5.2], ['baseline', 'p2', 5],
      ['fault:redis', 'p1', 15.5],
      ['recovery:redis', 'p1', 22],
    ]);
    expect(f.frames[2]).toMatchObject({ path: 'workloads/call/frames/p1-15.5.jpg', tiles: [{ track: 'p2', frozen: true }, { track: 'p3', frozen: false }] });
  });
});

describe('the report\'s video section', () => {
  const result = (): RunResult => {
    const r = JSON.parse(readFileSync('fixtures/sample-run/result.json', 'utf8')) as RunResult;
    r.phases = PHASES;
    r.startedAtMs = T0;
    r.endedAtMs = T0 + 31_000;
    r.workloads = [...r.workloads, { id: 'call', scenario: 'video', profile: 'sfu', exitCode: 0, samples: 10, failedThresholds: [] }];
    r.series = [...r.series, { selector: { metric: 'sc_video_fps', tags: { workload: 'call', participant: 'p1' } }, label: 'sc_video_fps{participant=p1,workload=call}', windowMs: 1000, points: [{ t: 1000, stats: { kind: 'trend', count: 2, mean: 14.5 } }, { t: 2000, stats: { kind: 'trend', count: 2, mean: 15 } }] }];
    r.filmstrips = [pickFilmstrip('call', 'workloads/call', [line('p1', 5), line('p1', 16, true)], PHASES, ['p1'])];
    return r;
  };

  it('charts each participant apart from the other charts, the fault bands in them; the filmstrip embeds each picture and marks a frozen tile', () => {
    const r = result();
    const html = toHtml(r, { images: (p) => (p.endsWith('.jpg') ? `data:image/jpeg;base64,${Buffer.from(p).toString('base64')}` : null) });
    expect(html.match(/<svg [^>]*class="chart"/g)?.length).toBe(3);
    expect(html).toMatch(/<svg [^>]*class="chart video-chart"[^>]*data-metric="sc_video_fps"/);
    expect(html.match(/<img class="filmstrip-frame"/g)?.length).toBe(2);
    expect(html).toContain(`data-phase="fault:redis" data-participant="p1" data-at-ms="${T0 + 16_000}"`);
    expect(html).toContain('<span class="tile frozen" data-track="p2" data-frozen="true"');
    expect(html).toContain('<span class="frozen-text">frozen: p2</span>');
    expect(html).toContain('<li data-toc="video"><a href="#video">Video</a></li>');
  });

  it('result.json keeps the filmstrip and reads it back; a damaged one is refused naming the field', () => {
    const r = result();
    expect(parseRunResult(JSON.parse(resultToJson(r)), 'result.json').filmstrips).toEqual(r.filmstrips);
    const bad = JSON.parse(resultToJson(r)) as { filmstrips: { frames: { tiles: { frozen: unknown }[] }[] }[] };
    bad.filmstrips[0]!.frames[0]!.tiles[0]!.frozen = 'yes';
    expect(() => parseRunResult(bad, 'result.json')).toThrow(ResultFileError);
    expect(() => parseRunResult(bad, 'result.json')).toThrow(/filmstrips\[0\]\.frames\[0\]\.tiles\[0\]\.frozen should be a boolean/);
  });

  it('without the run directory\'s pictures, names them instead of showing a broken image', () => {
    const html = toHtml(result());
    expect(html).not.toContain('<img');
    expect(html).toContain('picture not embedded (workloads/call/frames/p1-16.jpg)');
  });
});
