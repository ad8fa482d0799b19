/**
 * Fault scheduling accuracy: how far from its scheduled time each fault really takes effect and is
 * removed, on the real Toxiproxy of a lab. Side by side in one run:
 *   timeline   src/experiment/timeline.ts — verify() beside the fault, rollback at the scheduled end
 *   serial     apply → verify → wait → rollback, one after the other (how faults were run before)
 * Every fault is a latency toxic on PostgreSQL whose verify() probes through it, so a serial verify
 * delays everything after it by at least the toxic's latency.
 *
 *   nice npx tsx bench/timeline.ts [--faults 8] [--latency 1500] [--length 2] [--gap 1] [--keep]
 *
 * Starts its own lab `tbench` at base port 31000 (PostgreSQL only); `lab down tbench` at the end unless --keep.
 */
import { parseArgs } from 'node:util';
import { Lab } from '../src/lab/lab.js';
import { createFault } from '../chaos/index.js';
import { FaultTimeline, type TimelineEntry } from '../src/experiment/timeline.js';
import type { FaultRecord } from '../src/results/model.js';

const { values } = parseArgs({ options: { faults: { type: 'string', default: '8' }, latency: { type: 'string', default: '1500' }, length: { type: 'string', default: '2' }, gap: { type: 'string', default: '1' }, keep: { type: 'boolean', default: false } } });
const n = Number(values.faults);
const latency = Number(values.latency);
const lengthS = Number(values.length);
const gapS = Number(values.gap);
if (![n, latency, lengthS, gapS].every((x) => Number.isFinite(x) && x > 0) || n > 100) throw new Error('--faults (1..100), --latency, --length, --gap must be positive numbers');

const entries = (tag: string): TimelineEntry[] => Array.from({ length: n }, (_, i) => {
  const id = `${tag}${i}`;
  const fault = createFault({ id, toxic: { proxy: 'postgres', type: 'latency', attributes: { latency } } });
  const startS = 0.5 + i * (lengthS + gapS);
  const record: FaultRecord = { id, name: fault.name, mechanism: fault.mechanism, target: fault.target, params: fault.params, plannedStartS: startS, plannedDurationS: lengthS, verified: false, verifyDetail: '', rolledBack: false };
  return { fault, record, startS, durationS: lengthS };
});

function stats(xs: number[]): { p50: number; p95: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return { p50: q(0.5), p95: q(0.95), max: s[s.length - 1]! };
}

async function main(): Promise<void> {
  const lab = await Lab.up({ name: 'tbench', basePort: 31000, only: ['postgres'] });
  try {
    const ctx = { lab };
    // timeline
    const tl = new FaultTimeline(entries('t'), { ctx });
    await tl.play(Date.now(), new AbortController().signal);
    await tl.rollbackAll();
    const tApply = tl.records.map((r) => r.appliedAtMs! - r.scheduledApplyMs!);
    const tRemove = tl.records.map((r) => r.removedAtMs! - r.scheduledRemoveMs!);
    // serial: apply → verify → sleep to the end → rollback, one fault after the other on the same schedule
    const sApply: number[] = [];
    const sRemove: number[] = [];
    const start = Date.now();
    for (const e of entries('s')) {
      const at = start + e.startS * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
      await e.fault.apply(ctx);
      sApply.push(Date.now() - at);
      await e.fault.verify(ctx);
      const end = start + (e.startS + e.durationS) * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now())));
      await e.fault.rollback(ctx);
      sRemove.push(Date.now() - end);
    }
    const out = {
      faults: n, latencyMs: latency, lengthS, gapS,
      timeline: { applyLateMs: stats(tApply), removeLateMs: stats(tRemove), verified: tl.records.filter((r) => r.verified).length },
      serial: { applyLateMs: stats(sApply), removeLateMs: stats(sRemove) },
      ratioRemoveLateP95SerialOverTimeline: +(stats(sRemove).p95 / Math.max(1, stats(tRemove).p95)).toFixed(1),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    if (!values.keep) await Lab.down('tbench');
  }
}

void main();
