/**
 * The target's own view while the load runs, written to the history beside the runner's other observations:
 *   sc_metrics_up{service}          1 when the service's /metrics answered 200 with series in the exposition format,
 *                                   0 otherwise (refused, timed out, another status, not that format): the evidence
 *                                   of METRICS-AVAILABLE, never a crash
 *   sc_server{service,metric,…}     every series of that answer (prometheus-text.ts), one sample per scrape
 *   sc_process_rss_mib{service}     embedded targets, from /proc by the service's pids (process-stats.ts): resident
 *   sc_process_fds{service}         memory, open file descriptors and CPU cores used since the previous tick,
 *   sc_process_cpu_cores{service}   over the service's process and its descendants
 * Scrapes go out from an address of their own when the run has one: the as-built gateway's per-IP rate limit
 * counts /metrics too, and the harness's scrapes must not spend the workloads' budget (nor be throttled by it).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Sample } from '../results/model.js';
import type { Experiment } from './spec.js';
import { TARGET_SERVICE_ORDER } from '../../fixtures/secureconnect/target/names.js';
import { expositionSamples } from './prometheus-text.js';
import { processTotals, type ProcessTotals } from './process-stats.js';

export const METRICS_UP = 'sc_metrics_up';
export const PROCESS_RSS = 'sc_process_rss_mib';
export const PROCESS_FDS = 'sc_process_fds';
export const PROCESS_CPU = 'sc_process_cpu_cores';
/**
 * One scrape a second in a run of a minute or two (a short baseline still gets its handful of readings), one every
 * 5 s from 5 minutes on: a 2-hour soak then writes 1,440 readings a series, not 7,200.
 */
export const scrapeIntervalMs = (durationS: number): number => Math.min(5, Math.max(1, Math.round(durationS / 60))) * 1000;
/** A larger answer is no exposition a harness should keep reading. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface ObservedService {
  service: string;
  /** Where its /metrics is (the service's base URL + /metrics). */
  metricsUrl: string;
  /** Its processes now (embedded targets: re-read each tick, a process fault restarts them); absent for an external target. */
  pids?: () => number[];
}

export interface ServerObserverOptions {
  services: ObservedService[];
  record: (s: Sample) => void;
  log: (line: string) => void;
  intervalMs: number;
  timeoutMs?: number;
  /** Source address of the scrapes (the run's own; default: the system's choice). */
  localAddress?: string;
}

/** GET a URL's body as text: status and body, or throws (refused, timed out, too large). */
export function fetchText(url: string, o: { timeoutMs: number; localAddress?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { method: 'GET', timeout: o.timeoutMs, headers: { accept: 'text/plain' }, ...(o.localAddress ? { localAddress: o.localAddress } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${o.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** While the baseline runs: a reading a second, so that a short baseline in a long run has its handful (METRICS-AVAILABLE). */
export const DENSE_SCRAPE_MS = 1000;

/**
 * Scrapes every service's /metrics and reads its processes until stopped: once a second until sparseFrom() is
 * reached (the baseline: what METRICS-AVAILABLE and the before-load levels read), once per interval after.
 */
export class ServerObserver {
  private timer: NodeJS.Timeout | null = null;
  private sparseFromMs = Infinity;
  private lastTickMs = 0;
  private readonly inFlight = new Set<string>();
  private readonly lastCpu = new Map<string, { atMs: number; totals: ProcessTotals }>();
  /** The last scrape outcome per service, so the log says when it changes, not every tick. */
  private readonly lastState = new Map<string, string>();
  /** Set by stop(): a scrape still in flight then (the target stopping) records nothing. */
  private stopped = false;

  constructor(private readonly o: ServerObserverOptions) {}

  start(): void {
    if (this.timer || this.o.services.length === 0) return;
    this.o.log(`server metrics: scraping ${this.o.services.map((s) => `${s.service} (${s.metricsUrl})`).join(', ')} every ${this.o.intervalMs / 1000} s${this.o.localAddress ? ` from ${this.o.localAddress}` : ''}`);
    void this.tick();
    this.timer = setInterval(() => {
      // Past the baseline, a tick every interval (less a margin for the timer's drift).
      if (Date.now() >= this.sparseFromMs && Date.now() - this.lastTickMs < this.o.intervalMs - DENSE_SCRAPE_MS / 2) return;
      void this.tick();
    }, Math.min(DENSE_SCRAPE_MS, this.o.intervalMs));
    this.timer.unref();
  }

  /** From `atMs` on (epoch ms), one reading per interval: the run's baseline has ended by then. */
  sparseFrom(atMs: number): void {
    this.sparseFromMs = atMs;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One round: every service's scrape (side by side, each skipped while its previous one runs) and processes. */
  async tick(): Promise<void> {
    const now = Date.now();
    this.lastTickMs = now;
    for (const s of this.o.services) if (s.pids) this.readProcesses(s, now);
    await Promise.all(this.o.services.map((s) => this.scrape(s, now)));
  }

  private readProcesses(s: ObservedService, now: number): void {
    const totals = processTotals(s.pids!());
    if (!totals) return; // not running now (a process fault between kill and restart): no reading, not a zero
    const tags = { service: s.service };
    this.o.record({ metric: PROCESS_RSS, time: now, value: totals.rssBytes / 1024 / 1024, tags });
    this.o.record({ metric: PROCESS_FDS, time: now, value: totals.openFds, tags });
    const prev = this.lastCpu.get(s.service);
    this.lastCpu.set(s.service, { atMs: now, totals });
    // A restarted process starts its CPU time again: never a negative use.
    if (prev && now > prev.atMs) this.o.record({ metric: PROCESS_CPU, time: now, value: Math.max(0, totals.cpuSeconds - prev.totals.cpuSeconds) / ((now - prev.atMs) / 1000), tags });
  }

  private async scrape(s: ObservedService, now: number): Promise<void> {
    if (this.inFlight.has(s.service)) return;
    this.inFlight.add(s.service);
    let why: string | null = null;
    try {
      const r = await fetchText(s.metricsUrl, { timeoutMs: this.o.timeoutMs ?? 3000, ...(this.o.localAddress ? { localAddress: this.o.localAddress } : {}) });
      if (r.status !== 200) why = `HTTP ${r.status}`;
      else {
        const samples = expositionSamples(r.body, s.service, now);
        if (samples.length === 0) why = 'an answer with no series in the Prometheus text format';
        if (!this.stopped) for (const x of samples) this.o.record(x);
      }
    } catch (err) {
      why = (err as Error).message;
    } finally {
      this.inFlight.delete(s.service);
    }
    if (this.stopped) return;
    this.o.record({ metric: METRICS_UP, time: now, value: why === null ? 1 : 0, tags: { service: s.service } });
    const state = why ?? 'ok';
    if (this.lastState.get(s.service) !== state) {
      this.lastState.set(s.service, state);
      this.o.log(`server metrics: ${s.service} ${why === null ? 'serves /metrics' : `/metrics unavailable: ${why}`}`);
    }
  }
}

/** The services a run of `e` observes (what the runner scrapes: Provision.observedServices), for the report's series. */
export function observedServiceNames(e: Experiment): string[] {
  if (e.target.kind === 'external') return ['gateway', ...(e.target.videoUrl ? ['video'] : [])];
  const wanted = e.target.services;
  return TARGET_SERVICE_ORDER.filter((s) => !wanted || wanted.includes(s));
}
