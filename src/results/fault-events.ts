/**
 * The fault timeline as events, where a soak is watched live. k6's own outputs (`sch run -o
 * experimental-prometheus-rw`, the web dashboard) carry the load; these carry the chaos beside it:
 *   - `events.jsonl` in the run directory: one line per applied / verified / removed fault (with its cycle);
 *   - with `--metrics-listen HOST:PORT`, a Prometheus endpoint (`/metrics`, prom-client) the team's
 *     Prometheus scrapes beside k6's remote-write: `sch_fault_active{fault,entry,name,target}` (1 while on —
 *     a Grafana annotation query or a shaded band over any panel), `sch_fault_events_total{type,entry}`,
 *     `sch_fault_verified{fault}` (1 landed, 0 did not) and `sch_run_info{run,experiment}`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import type { FaultRecord } from './model.js';

export type FaultEventType = 'applied' | 'verified' | 'removed';

/** One line of events.jsonl. */
export interface FaultEvent {
  /** Epoch ms. */
  t: number;
  type: FaultEventType;
  /** The record's id (`redis`, `redis#3`). */
  fault: string;
  /** The timeline entry (the same as fault unless it repeats). */
  entry: string;
  cycle?: number;
  name: string;
  target: string;
  /** verified: landed or not; removed: rolled back cleanly or not. */
  ok?: boolean;
  detail?: string;
}

export function faultEvent(type: FaultEventType, r: FaultRecord, now = Date.now()): FaultEvent {
  const base = { t: now, type, fault: r.id, entry: r.entryId ?? r.id, ...(r.cycle !== undefined ? { cycle: r.cycle } : {}), name: r.name, target: r.target };
  if (type === 'applied') return { ...base, ...(r.error ? { ok: false, detail: r.error } : {}) };
  if (type === 'verified') return { ...base, ok: r.verified, detail: r.verifyDetail };
  return { ...base, ok: r.rolledBack, ...(r.error ? { detail: r.error } : {}) };
}

/** The Prometheus view of the fault timeline (a registry of its own: nothing else of the process leaks into it). */
export class FaultMetrics {
  readonly registry = new Registry();
  private readonly active: Gauge<'fault' | 'entry' | 'name' | 'target'>;
  private readonly events: Counter<'type' | 'entry'>;
  private readonly verified: Gauge<'fault'>;
  private server: Server | undefined;

  constructor(run: { runId: string; experiment: string }) {
    this.active = new Gauge({ name: 'sch_fault_active', help: '1 while the fault (one cycle of a timeline entry) is applied, 0 once removed', labelNames: ['fault', 'entry', 'name', 'target'], registers: [this.registry] });
    this.events = new Counter({ name: 'sch_fault_events_total', help: 'fault timeline events: applied, verified, removed', labelNames: ['type', 'entry'], registers: [this.registry] });
    this.verified = new Gauge({ name: 'sch_fault_verified', help: 'whether the fault measurably landed on the target\'s path (1) or not (0)', labelNames: ['fault'], registers: [this.registry] });
    new Gauge({ name: 'sch_run_info', help: 'the run this harness process is playing', labelNames: ['run', 'experiment'], registers: [this.registry] }).set({ run: run.runId, experiment: run.experiment }, 1);
  }

  record(e: FaultEvent): void {
    this.events.inc({ type: e.type, entry: e.entry });
    const labels = { fault: e.fault, entry: e.entry, name: e.name, target: e.target };
    if (e.type === 'applied') this.active.set(labels, 1);
    if (e.type === 'removed') this.active.set(labels, 0);
    if (e.type === 'verified') this.verified.set({ fault: e.fault }, e.ok ? 1 : 0);
  }

  /** Serve `/metrics` on host:port (port 0: any free one); resolves with the URL. */
  async listen(host: string, port: number): Promise<string> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      void this.registry.metrics().then((body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body), () => res.writeHead(500).end());
    });
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolveListen());
    });
    this.server = server;
    const a = server.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

/** `127.0.0.1:9464` → host and port; an error names the flag. */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(\[[0-9a-f:]+\]|[^:]+):(\d{1,5})$/i.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new Error(`--metrics-listen ${v}: give HOST:PORT, e.g. 127.0.0.1:9464 (port 0: any free one)`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}
