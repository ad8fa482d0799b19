import { describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { windowMsFor } from '../../src/experiment/analyze.js';
import { derivePhases } from '../../src/experiment/phases.js';
import { ResultPipeline } from '../../src/results/pipeline.js';
import type { FaultRecord, Sample, SeriesSelector } from '../../src/results/model.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use after a full collection (MiB). */
function heapMib(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1048576;
}

const T0 = 1_700_000_000_000;

/**
 * What the analysis holds for a run of `hours` at 100 samples/s (probes, HTTP timings, server readings), with a fault
 * every 10 min: heap retained by the pipeline once every sample went through it.
 */
function retainedFor(hours: number): { mib: number; samples: number } {
  const durationS = hours * 3600;
  const faults: FaultRecord[] = [];
  for (let s = 300; s + 60 < durationS; s += 600) faults.push({ id: `f#${faults.length + 1}`, name: 'redis-outage', mechanism: 'toxiproxy', target: 'redis', params: {}, plannedStartS: s, plannedDurationS: 60, appliedAtMs: T0 + s * 1000, removedAtMs: T0 + (s + 60) * 1000, verified: true, verifyDetail: '', rolledBack: true });
  const selectors: SeriesSelector[] = [
    { metric: 'sc_probe_duration', tags: { probe: 'login' } }, { metric: 'sc_probe_ok', tags: { probe: 'login' } }, { metric: 'sc_attempt', tags: { probe: 'login' } },
    { metric: 'http_req_duration' }, { metric: 'sc_process_rss_mib', tags: { service: 'chat' } },
  ];
  const before = heapMib();
  const p = new ResultPipeline({ phases: derivePhases(T0, T0 + durationS * 1000, faults, 10), selectors, runStartMs: T0, runEndMs: T0 + durationS * 1000, windowMs: windowMsFor(durationS), metricKinds: { sc_probe_ok: 'rate', sc_attempt: 'counter' } });
  const login = { probe: 'login', workload: 'probes' };
  const http = [{ name: 'login', status: '200' }, { name: 'me', status: '200' }, { name: 'me', status: '503' }];
  const chat = { service: 'chat' };
  let n = 0;
  for (let ms = 0; ms < durationS * 1000; ms += 10) {
    const time = T0 + ms;
    const v = ((ms * 7919) % 1000) / 10;
    const s: Sample = ms % 40 === 0 ? { metric: 'sc_probe_duration', time, value: v, tags: login }
      : ms % 40 === 10 ? { metric: 'sc_probe_ok', time, value: v < 99 ? 1 : 0, tags: login }
        : ms % 40 === 20 ? { metric: 'sc_attempt', time, value: 1, tags: login }
          : ms % 1000 === 30 ? { metric: 'sc_process_rss_mib', time, value: 80 + v / 10, tags: chat }
            : { metric: 'http_req_duration', time, value: v * 3, tags: http[ms % 3]! };
    p.add(s);
    n++;
  }
  const mib = heapMib() - before;
  expect(p.phaseTable().length).toBeGreaterThan(0); // keeps p alive until measured
  return { mib, samples: n };
}

describe('the harness\'s memory does not grow with the run\'s length', () => {
  it('the analysis pipeline holds as much for 8 h of samples as for 2 h (its windows widen: at most ~600 a series)', () => {
    const short = retainedFor(2);
    const long = retainedFor(8);
    console.log(`pipeline retained: ${short.mib.toFixed(1)} MiB after ${short.samples} samples (2 h), ${long.mib.toFixed(1)} MiB after ${long.samples} samples (8 h)`);
    expect(long.samples).toBe(short.samples * 4);
    // Phases grow with the faults (one a 10 min: 4× as many), windows do not; far below 4× the samples.
    expect(long.mib).toBeLessThan(short.mib * 1.6 + 2);
    expect(long.mib).toBeLessThan(64);
  }, 60_000);
});
