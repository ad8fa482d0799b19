/**
 * Live progress of a running k6 (fed by K6Tail): request rate, p95 latency and errors over the last
 * few seconds, plus totals. Keeps one small accumulator per second in a ring, never the samples.
 * And the printer of a run's progress lines (progressPrinter): one live line on a terminal, sparse
 * lines in a log.
 */
import { createLogUpdate } from 'log-update';
import { TrendHistogram } from './histogram.js';
import type { Sample } from './model.js';

export interface ProgressSnapshot {
  /** Requests per second over the last `spanS` seconds (up to the latest sample). */
  reqPerSec: number;
  /** p95 of http_req_duration over the same span (ms), NaN without requests. */
  p95Ms: number;
  /** Share of failed requests (http_req_failed) over the span. */
  errorRate: number;
  totalRequests: number;
  totalErrors: number;
  samples: number;
  /** Epoch ms of the latest sample. */
  latestMs: number;
}

interface Slot {
  second: number;
  reqs: number;
  failed: number;
  failedCount: number;
  h: TrendHistogram;
}

export class ProgressMeter {
  private readonly slots: Slot[];
  samples = 0;
  totalRequests = 0;
  totalErrors = 0;
  latestMs = -Infinity;
  /** Video workloads: the latest fps of each (workload, participant, remote track), with its time. */
  private readonly fps = new Map<string, { ms: number; value: number }>();

  /** spanS: how many seconds the rate and p95 are over (default 10). */
  constructor(readonly spanS = 10) {
    this.slots = Array.from({ length: spanS + 1 }, () => ({ second: -1, reqs: 0, failed: 0, failedCount: 0, h: new TrendHistogram(2) }));
  }

  add(s: Sample): void {
    this.samples++;
    if (s.time > this.latestMs) this.latestMs = s.time;
    const m = s.metric;
    if (m === 'sc_video_fps') {
      this.fps.set(`${s.tags.workload ?? ''}/${s.tags.participant ?? ''}/${s.tags.track ?? ''}`, { ms: s.time, value: s.value });
      return;
    }
    if (m !== 'http_reqs' && m !== 'http_req_duration' && m !== 'http_req_failed') return;
    const sec = Math.floor(s.time / 1000);
    const slot = this.slots[sec % this.slots.length] as Slot;
    if (slot.second !== sec) {
      if (slot.second > sec) return; // older than the ring
      slot.second = sec;
      slot.reqs = 0;
      slot.failed = 0;
      slot.failedCount = 0;
      slot.h.reset();
    }
    if (m === 'http_reqs') {
      slot.reqs += s.value;
      this.totalRequests += s.value;
    } else if (m === 'http_req_duration') slot.h.record(s.value);
    else {
      slot.failedCount++;
      if (s.value !== 0) {
        slot.failed++;
        this.totalErrors++;
      }
    }
  }

  snapshot(): ProgressSnapshot {
    const latestSec = Math.floor(this.latestMs / 1000);
    // The latest second is still filling: use the `spanS` complete seconds before it.
    const from = latestSec - this.spanS;
    let reqs = 0;
    let failed = 0;
    let failedCount = 0;
    const h = new TrendHistogram(2);
    for (const s of this.slots) {
      if (s.second >= from && s.second < latestSec) {
        reqs += s.reqs;
        failed += s.failed;
        failedCount += s.failedCount;
        h.merge(s.h);
      }
    }
    const span = Math.max(1, Math.min(this.spanS, latestSec - Math.min(...this.slots.filter((s) => s.second >= 0).map((s) => s.second))));
    return {
      reqPerSec: reqs / span,
      p95Ms: h.percentile(95),
      errorRate: failedCount === 0 ? 0 : failed / failedCount,
      totalRequests: this.totalRequests,
      totalErrors: this.totalErrors,
      samples: this.samples,
      latestMs: this.latestMs,
    };
  }

  /** `412 req/s  p95 38.2 ms  errors 0.4% (17)` */
  line(): string {
    const s = this.snapshot();
    const p95 = Number.isNaN(s.p95Ms) ? '–' : `${s.p95Ms.toFixed(1)} ms`;
    // Tracks heard from in the last 3 s: a browser that stopped polling drops out of the count.
    const recent = [...this.fps.values()].filter((f) => f.ms >= this.latestMs - 3000);
    const video = recent.length ? `  video ${recent.length} track${recent.length === 1 ? '' : 's'} ${(recent.reduce((t, f) => t + f.value, 0) / recent.length).toFixed(1)} fps` : '';
    return `${s.reqPerSec.toFixed(0)} req/s  p95 ${p95}  errors ${(s.errorRate * 100).toFixed(1)}% (${s.totalErrors})  requests ${s.totalRequests}${video}`;
  }
}

/** Prints a run's progress: `t=…` ticks (the runner's progress line, every second) and other lines. */
export interface ProgressPrinter {
  (line: string): void;
  /** Leaves the last tick on the screen and moves below it (a terminal); nothing in a log. */
  done(): void;
}

export interface ProgressPrinterOptions {
  /** In a log (not a terminal): at most one tick per this many ms (default 10 s). */
  logEveryMs?: number;
  now?: () => number;
}

type Output = Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean; columns?: number; rows?: number };

/**
 * On a terminal, ticks replace each other in one live line (log-update: erases what it drew, wraps to
 * the terminal's width) and other lines are printed above it; in a log (CI, a file), every other line
 * is printed and a tick at most every `logEveryMs`, with no escape codes.
 */
export function progressPrinter(stream: Output = process.stderr, o: ProgressPrinterOptions = {}): ProgressPrinter {
  const every = o.logEveryMs ?? 10_000;
  const now = o.now ?? Date.now;
  // showCursor: the run may end by a signal; a hidden cursor would outlive it.
  // A terminal that reports no size (a bare pty, `script`): log-update would draw nothing there, so print as to a log.
  const sized = (stream.columns ?? 0) > 0 && (stream.rows ?? 1) > 0;
  const live = stream.isTTY === true && sized ? createLogUpdate(stream as NodeJS.WriteStream, { showCursor: true }) : undefined;
  let lastTick: string | undefined;
  let lastLogged = -Infinity;
  const print = (line: string): void => {
    const isTick = line.startsWith('t=');
    if (live) {
      if (isTick) {
        lastTick = line;
        live(line);
        return;
      }
      live.clear();
      stream.write(`${line}\n`);
      if (lastTick !== undefined) live(lastTick);
      return;
    }
    if (isTick) {
      if (now() - lastLogged < every) return;
      lastLogged = now();
    }
    stream.write(`${line}\n`);
  };
  return Object.assign(print, {
    done: (): void => {
      if (live && lastTick !== undefined) live.done();
      lastTick = undefined;
    },
  });
}
