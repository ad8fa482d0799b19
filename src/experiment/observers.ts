/**
 * The runner's own observations while the load runs (written to the history as samples):
 *   sc_target_connections{proxy}  established connections to the proxy's listen port (ss -p, in the lab's network):
 *                                 embedded targets: *of the target's own processes* (by pid) — the target's path, not anyone's;
 *                                 external targets behind the lab's own Toxiproxy: of any process but Toxiproxy and the
 *                                 harness (the runner and its descendants: its path probes connect there too) — the
 *                                 target's pids are unknown, and pooled connections never show in Toxiproxy's counters
 *   sc_proxy_bytes{proxy}         external targets with their own Toxiproxy: its byte counters (its proxy metrics)
 *   sc_path_rtt{dep}              a protocol round trip through each faulted proxy (the toxic's measured latency)
 *   sc_path_ok{dep}               0 when that round trip failed
 */
import { readdirSync, readFileSync } from 'node:fs';
import { run as runCmd } from '../lab/exec.js';
import type { DependencyName } from '../topology/topology.js';
import type { Sample } from '../results/model.js';
import { probeRtt } from '../../chaos/index.js';
import type { Exposure } from './calibration.js';

/** Where the exposure reading comes from (the manifest records its `kind` as target.exposure). */
export type ExposureSource =
  /** The embedded target's processes now (re-read each tick: a process fault restarts them). */
  | { kind: 'processes'; pids: () => number[] }
  /** Anyone in the lab's network but these (Toxiproxy; the harness's own pid: its descendants are added). */
  | { kind: 'namespace'; excludePids: () => number[] }
  | { kind: Extract<Exposure, 'proxy-counters'> };

/** What the observers need of a lab. */
export interface ObservedLab {
  readonly toxiproxyUrl: string;
  readonly execPrefix: string[];
  endpoint(dep: DependencyName): { host: string; port: number };
}

export interface ObserverOptions {
  lab: ObservedLab;
  /** Dependencies behind a proxy some fault acts on: their exposure is watched. */
  deps: DependencyName[];
  /** Those whose fault has a latency to calibrate: probed with protocol round trips (only those: the
   * probes' own connections would count in a deployment's proxy counters). */
  probeDeps: DependencyName[];
  exposure: ExposureSource;
  record: (s: Sample) => void;
  log: (line: string) => void;
  /** Path probes start here (epoch ms): a few seconds before the first fault. */
  probeFromMs: number;
}

/** The pids of these processes and all their descendants (from /proc). */
export function withDescendants(pids: readonly number[]): Set<number> {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // Field 4 (ppid) comes after the parenthesised command name, which may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(d), ppid);
    } catch {
      /* gone meanwhile */
    }
  }
  const out = new Set(pids);
  for (let grew = true, guard = 0; grew && guard < 32; guard++) {
    grew = false;
    for (const [pid, ppid] of parent) if (out.has(ppid) && !out.has(pid)) { out.add(pid); grew = true; }
  }
  return out;
}

/** Each established TCP connection to `port` (ss -p, inside the lab namespace): the pids owning its socket (none when ss cannot see its owner). */
async function connectionOwners(lab: ObservedLab, port: number): Promise<number[][]> {
  const [cmd, ...pre] = [...lab.execPrefix, 'ss'];
  const r = await runCmd(cmd!, [...pre, '-Htnp', 'state', 'established', `( dport = :${port} )`], { timeoutMs: 5000 });
  if (r.code !== 0) throw new Error(`ss exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map((line) => [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])));
}

/** Established TCP connections to `port` whose owning process is one of `pids` (ss -p, inside the lab namespace). */
export async function connectionsOf(lab: ObservedLab, port: number, pids: ReadonlySet<number>): Promise<number> {
  return (await connectionOwners(lab, port)).filter((owners) => owners.some((p) => pids.has(p))).length;
}

/**
 * Established TCP connections to `port` owned by none of `excluded` (ss -p, inside the lab namespace). A
 * socket ss shows no owner for (another user's process, without root) counts: it is not the harness's.
 */
export async function connectionsExcept(lab: ObservedLab, port: number, excluded: ReadonlySet<number>): Promise<number> {
  return (await connectionOwners(lab, port)).filter((owners) => !owners.some((p) => excluded.has(p))).length;
}

/** Bytes Toxiproxy counted through each proxy (received, both directions). Toxiproxy adds a connection's bytes when it closes. */
export async function proxyBytes(toxiproxyUrl: string): Promise<Map<string, number>> {
  const res = await fetch(`${toxiproxyUrl.replace(/\/+$/, '')}/metrics`, { signal: AbortSignal.timeout(3000) });
  if (res.status !== 200) throw new Error(`${toxiproxyUrl}/metrics answered HTTP ${res.status} (is Toxiproxy started with -proxy-metrics?)`);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const m = /^toxiproxy_proxy_received_bytes_total\{([^}]*)\}\s+([0-9.e+]+)/.exec(line);
    if (!m) continue;
    const proxy = /proxy="([^"]*)"/.exec(m[1]!)?.[1];
    if (proxy) out.set(proxy, (out.get(proxy) ?? 0) + Number(m[2]));
  }
  return out;
}

export class PathObserver {
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<string>();
  private ticking = false;

  constructor(private readonly o: ObserverOptions) {}

  start(): void {
    if (this.o.deps.length === 0) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    const { lab, deps, record } = this.o;
    const now = Date.now();
    if (now >= this.o.probeFromMs) {
      for (const d of this.o.probeDeps) {
        if (this.inFlight.has(d)) continue;
        this.inFlight.add(d);
        const ep = lab.endpoint(d);
        void probeRtt(d, ep.host, ep.port, { timeoutMs: 8000 }).then(
          (ms) => record({ metric: 'sc_path_rtt', time: now, value: ms, tags: { dep: d } }),
          () => record({ metric: 'sc_path_ok', time: now, value: 0, tags: { dep: d } }),
        ).finally(() => this.inFlight.delete(d));
      }
    }
    if (this.ticking) return; // the previous exposure read is still running
    this.ticking = true;
    try {
      const x = this.o.exposure;
      if (x.kind === 'proxy-counters') {
        const bytes = await proxyBytes(lab.toxiproxyUrl);
        for (const d of deps) record({ metric: 'sc_proxy_bytes', time: now, value: bytes.get(d) ?? 0, tags: { proxy: d } });
      } else if (x.kind === 'processes') {
        const pids = withDescendants(x.pids());
        for (const d of deps) record({ metric: 'sc_target_connections', time: now, value: await connectionsOf(lab, lab.endpoint(d).port, pids), tags: { proxy: d } });
      } else {
        const excluded = withDescendants(x.excludePids());
        for (const d of deps) record({ metric: 'sc_target_connections', time: now, value: await connectionsExcept(lab, lab.endpoint(d).port, excluded), tags: { proxy: d } });
      }
    } catch (err) {
      this.o.log(`exposure: ${(err as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }
}
