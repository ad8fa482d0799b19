import { deleteGenerators } from './generator-net.js';
import { mkdirSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { Toxiproxy } from 'toxiproxy-node-client';
import { DEPENDENCY_NAMES, labPorts, boundPorts, type DependencyName, type LabPorts } from '../topology/topology.js';
import { generateCredentials, registerCredentials, type LabCredentials } from './credentials.js';
import { netnsLayout, netnsExists, createNetns, deleteNetns, netnsPids, nsPrefix, type NetnsLayout } from './netns.js';
import { binaries, stateDir } from './paths.js';
import { spawnDetached, stopProcess, isAlive, killPid, tailFile, type ProcessRecord } from './process.js';
import { readState, writeState, removeState, type LabState } from './state.js';
import { sleep } from './exec.js';
import { SERVICES } from './services/index.js';
import { restartTargetService } from './target.js';
import type { LabContext, ServiceDefinition, ServiceName } from './services/types.js';
import { redact } from '../util/redact.js';

export type NetnsMode = 'auto' | 'always' | 'never';

export interface LabUpOptions {
  name?: string;
  basePort?: number;
  netns?: NetnsMode;
  /** Called with one line per step, for progress output. */
  onProgress?: (line: string) => void;
  /** Aborting (Ctrl-C) stops what was started and rejects. */
  signal?: AbortSignal;
  /** Start only these services (Toxiproxy is always started); default: all. */
  only?: ServiceName[];
}

export interface ServiceStatus {
  name: ServiceName;
  address: string;
  proxy: string | null;
  pid: number | null;
  running: boolean;
  healthy: boolean;
  detail: string;
}

export interface DownReport {
  stoppedProcesses: number;
  killedInNamespace: number;
  namespaceDeleted: boolean;
}

/** Faults that need the lab namespace (nftables on UDP); unavailable when the lab runs on the host. */
export const NETNS_ONLY_FAULTS = ['turn-loss', 'turn-outage', 'udp-rate-cap'] as const;

export class LabError extends Error {}

const isRoot = (): boolean => process.getuid?.() === 0;

/** Whether the lab gets its own network namespace: only root can make one; `auto` uses it when it can. */
export function resolveNetns(mode: NetnsMode, root: boolean): boolean {
  if (mode === 'always' && !root) {
    throw new LabError('the lab network namespace needs root: run as root, or pass --no-netns to run on the host loopback (then these faults are unavailable: ' + NETNS_ONLY_FAULTS.join(', ') + ')');
  }
  return mode === 'always' || (mode === 'auto' && root);
}

/**
 * A running lab: the real servers on one address, Toxiproxy in front of each dependency.
 * `Lab.up` starts one, `Lab.attach` finds a running one by name, `Lab.down` removes every trace.
 */
export class Lab {
  private constructor(readonly state: LabState) {
    registerCredentials(state.credentials);
  }

  get name(): string { return this.state.name; }
  get address(): string { return this.state.address; }
  get ports(): LabPorts { return this.state.ports; }
  get credentials(): LabCredentials { return this.state.credentials; }
  get netns(): NetnsLayout | null { return this.state.netns; }
  get toxiproxyUrl(): string { return this.state.external?.toxiproxyUrl ?? `http://${this.address}:${this.ports.toxiproxyApi}`; }
  /** An external deployment's Toxiproxy rather than a lab this harness started. */
  get isExternal(): boolean { return this.state.external !== undefined; }
  /** Command prefix that runs a program inside the lab's network (empty without a namespace). */
  get execPrefix(): string[] { return nsPrefix(this.state.netns?.name ?? null); }

  /** Where a target reaches a dependency: always its Toxiproxy proxy. */
  endpoint(dep: DependencyName): { host: string; port: number } {
    if (this.state.external) return this.externalAddress(dep, 'listen');
    return { host: this.address, port: this.ports.proxy[dep] };
  }

  /** The real server, bypassing its proxy: for health checks and calibration only. */
  directEndpoint(dep: DependencyName): { host: string; port: number } {
    if (this.state.external) return this.externalAddress(dep, 'upstream');
    return { host: this.address, port: this.ports.service[dep] };
  }

  private externalAddress(dep: DependencyName, which: 'listen' | 'upstream'): { host: string; port: number } {
    const p = this.state.proxies[dep];
    if (!p) throw new LabError(`the Toxiproxy at ${this.toxiproxyUrl} has no proxy named "${dep}" (the harness expects proxies named after the dependencies, as in docker/toxiproxy.json)`);
    const m = /^(.*):(\d+)$/.exec(p[which]);
    if (!m) throw new LabError(`proxy ${dep}: cannot read ${which} address "${p[which]}"`);
    const host = m[1]!.replace(/^\[|\]$/g, '');
    // A proxy listening on every interface is reached where its API is.
    return { host: which === 'listen' && (host === '' || host === '0.0.0.0' || host === '::') ? new URL(this.toxiproxyUrl).hostname : host, port: Number(m[2]) };
  }

  /**
   * An external deployment's Toxiproxy as a fault host: its proxies (named after the dependencies, as
   * docker/toxiproxy.json names them) take Toxiproxy faults; there is no namespace and no process to
   * signal. A state directory is kept for the fault journal, so a killed run is cleaned up next time.
   */
  static async external(toxiproxyUrl: string): Promise<Lab> {
    const url = toxiproxyUrl.replace(/\/+$/, '');
    let proxies: Record<string, { listen: string; upstream: string }>;
    try {
      const res = await fetch(`${url}/proxies`, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      proxies = (await res.json()) as typeof proxies;
    } catch (e) {
      throw new LabError(`the Toxiproxy API at ${url} does not answer: ${(e as Error).message}`);
    }
    const name = `ext-${createHash('sha256').update(url).digest('hex').slice(0, 8)}`;
    const dir = stateDir(name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const known: LabState['proxies'] = {};
    for (const d of DEPENDENCY_NAMES) if (proxies[d]) known[d] = { listen: proxies[d].listen, upstream: proxies[d].upstream };
    const state: LabState = {
      version: 1, name, dir, phase: 'up', createdAt: new Date().toISOString(), ownerPid: process.pid, netns: null,
      address: new URL(url).hostname, ports: labPorts(21000), credentials: generateCredentials(), services: [], processes: [], proxies: known,
      external: { toxiproxyUrl: url },
    };
    writeState(state);
    return new Lab(state);
  }

  context(): LabContext {
    const s = this.state;
    return { labName: s.name, dir: s.dir, address: s.address, ports: s.ports, credentials: s.credentials, bins: binaries(), netns: s.netns?.name ?? null, asRoot: isRoot() };
  }

  toxiproxy(): Toxiproxy {
    return new Toxiproxy(this.toxiproxyUrl);
  }

  static async attach(name = 'default'): Promise<Lab | null> {
    const s = readState(stateDir(name));
    return s && s.phase === 'up' ? new Lab(s) : null;
  }

  static async up(opts: LabUpOptions = {}): Promise<Lab> {
    const name = opts.name ?? 'default';
    if (!/^[a-z0-9][a-z0-9-]{0,20}$/.test(name)) throw new LabError(`--name must be 1-21 lowercase letters, digits or dashes (got "${name}")`);
    const progress = opts.onProgress ?? (() => undefined);
    const mode = opts.netns ?? 'auto';
    const useNetns = resolveNetns(mode, isRoot());
    if (!useNetns) progress(`no network namespace (${isRoot() ? '--no-netns' : 'not root'}): running on 127.0.0.1; unavailable faults: ${NETNS_ONLY_FAULTS.join(', ')}`);

    const dir = stateDir(name);
    // The last run may have crashed: clear whatever it left before starting anew.
    const leftovers = await Lab.down(name);
    if (leftovers.stoppedProcesses + leftovers.killedInNamespace > 0 || leftovers.namespaceDeleted) {
      progress(`cleaned up a previous lab "${name}": ${leftovers.stoppedProcesses + leftovers.killedInNamespace} processes, namespace ${leftovers.namespaceDeleted ? 'deleted' : 'none'}`);
    }

    const only = opts.only;
    const wanted = only ? SERVICES.filter((d) => d.name === 'toxiproxy' || only.includes(d.name)) : SERVICES;
    const bins = binaries();
    const missing = wanted.flatMap((d) => d.requires(bins).filter((p) => !existsSync(p)).map((p) => `${d.name} (${p})`));
    if (missing.length) throw new LabError(`missing: ${missing.join(', ')}; install with: scripts/setup`);

    const ports = labPorts(opts.basePort ?? 21000);
    const layout = useNetns ? netnsLayout(name) : null;
    const address = layout ? layout.nsAddress : '127.0.0.1';
    if (!layout) await assertPortsFree(address, ports);

    for (const sub of ['logs', 'data', 'run']) mkdirSync(join(dir, sub), { recursive: true });
    const state: LabState = {
      version: 1, name, dir, phase: 'starting', createdAt: new Date().toISOString(), ownerPid: process.pid,
      netns: layout, address, ports, credentials: generateCredentials(), services: [], processes: [], proxies: {},
    };
    writeState(state);
    const lab = new Lab(state);
    try {
      if (layout) {
        progress(`network namespace ${layout.name} (${layout.nsAddress})`);
        await createNetns(layout);
      }
      state.services = wanted.map((d) => d.name);
      await lab.startServices(wanted, progress, opts.signal);
      await lab.createProxies();
      state.phase = 'up';
      writeState(state);
      progress(`lab "${name}" is up`);
      return lab;
    } catch (e) {
      progress(`start failed, stopping what was started`);
      await Lab.down(name);
      throw e;
    }
  }

  private async startServices(services: readonly ServiceDefinition[], progress: (l: string) => void, signal?: AbortSignal): Promise<void> {
    const ctx = this.context();
    const prefix = this.execPrefix;
    // Start everything at once and wait together: Cassandra's JVM dominates, the rest hide behind it.
    const started: { def: ServiceDefinition; rec: ProcessRecord }[] = [];
    for (const def of services) {
      abortCheck(signal);
      const spec = await def.prepare(ctx);
      const rec = spawnDetached(spec, prefix);
      this.state.processes.push(rec);
      this.state.specs = { ...this.state.specs, [spec.name]: spec };
      writeState(this.state);
      started.push({ def, rec });
      progress(`started ${def.name} (pid ${rec.pid})`);
    }
    await Promise.all(started.map(async ({ def, rec }) => {
      const t0 = Date.now();
      await waitHealthy(def, ctx, rec, signal);
      if (def.initialize) await def.initialize(ctx);
      progress(`${def.name} healthy after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }));
  }

  private async createProxies(): Promise<void> {
    const tp = this.toxiproxy();
    for (const dep of DEPENDENCY_NAMES) {
      if (!this.state.services.includes(dep)) continue;
      const listen = `${this.address}:${this.ports.proxy[dep]}`;
      const upstream = `${this.address}:${this.ports.service[dep]}`;
      await tp.createProxy({ name: dep, listen, upstream });
      this.state.proxies[dep] = { listen, upstream };
    }
    writeState(this.state);
  }

  /** Re-read the state file: another process (a target, a fault) may have changed it since attach. */
  refreshState(): void {
    const fresh = readState(this.state.dir);
    if (fresh) Object.assign(this.state, fresh);
  }

  /**
   * Restart one lab service (e.g. after a kill fault) exactly as `up` started it: same spawn spec
   * (from the state file; prepare() again only for a lab started before specs were kept), then
   * wait until its probe answers. The new pid and start time replace the old record in the state.
   */
  async restartService(name: ServiceName, signal?: AbortSignal): Promise<ProcessRecord> {
    const def = SERVICES.find((d) => d.name === name);
    if (!def || !this.state.services.includes(name)) throw new LabError(`lab "${this.name}" has no service ${name}`);
    this.refreshState();
    const old = this.state.processes.find((p) => p.name === name);
    if (old && isAlive(old)) await stopProcess(old);
    const ctx = this.context();
    // A killed PostgreSQL leaves postmaster.pid naming its dead postmaster; on this kind of machine
    // (an init that does not reap orphans) that pid stays a zombie and PostgreSQL refuses to start;
    // its socket lock file likewise.
    if (name === 'postgres') {
      await removeStalePidFile(join(this.state.dir, 'data', 'postgres', 'postmaster.pid'));
      await removeStalePidFile(join(this.state.dir, 'run', 'postgres', `.s.PGSQL.${this.ports.service.postgres}.lock`));
    }
    const spec = this.state.specs?.[name] ?? (await def.prepare(ctx));
    const rec = spawnDetached(spec, this.execPrefix);
    this.state.processes = [...this.state.processes.filter((p) => p.name !== name), rec];
    this.state.specs = { ...this.state.specs, [name]: spec };
    writeState(this.state);
    await waitHealthy(def, ctx, rec, signal);
    // A new Toxiproxy starts empty: give it the lab's proxies again.
    if (name === 'toxiproxy') {
      this.state.proxies = {};
      await this.createProxies();
    }
    return rec;
  }

  /** One service's own probe (a real request), bounded: whether it serves again after a process fault. */
  async probeService(name: ServiceName, timeoutMs = 5000): Promise<string> {
    const def = SERVICES.find((d) => d.name === name);
    if (!def) throw new LabError(`no service ${name}`);
    return withTimeout(def.probe(this.context()), timeoutMs);
  }

  /** Restart one reference-target process (record `target-<service>[-<instance>]`) and wait for its /health. */
  restartTargetService(recordName: string, healthUrl: string): Promise<ProcessRecord> {
    return restartTargetService(this, recordName, healthUrl);
  }

  async status(): Promise<ServiceStatus[]> {
    const ctx = this.context();
    return Promise.all(SERVICES.filter((d) => this.state.services.includes(d.name)).map(async (def): Promise<ServiceStatus> => {
      const rec = this.state.processes.find((p) => p.name === def.name);
      const running = rec ? isAlive(rec) : false;
      const port = def.name === 'toxiproxy' ? this.ports.toxiproxyApi : def.name === 'nginx' ? this.ports.edge.http : this.ports.service[def.name];
      let healthy = false;
      let detail = 'not running';
      if (running) {
        try {
          detail = await withTimeout(def.probe(ctx), 5000);
          healthy = true;
        } catch (e) {
          detail = redact((e as Error).message);
        }
      }
      const proxy = def.name === 'toxiproxy' || def.name === 'nginx' ? null : (this.state.proxies[def.name]?.listen ?? null);
      return { name: def.name, address: `${this.address}:${port}`, proxy, pid: rec?.pid ?? null, running, healthy, detail };
    }));
  }

  /**
   * Stop a lab by name and remove every trace: processes (also ones a crashed harness left),
   * the namespace with its nft tables and veth, the data folder and the state file with its credentials.
   * Safe to call when nothing is running.
   */
  static async down(name = 'default'): Promise<DownReport> {
    const dir = stateDir(name);
    const s = readState(dir);
    const report: DownReport = { stoppedProcesses: 0, killedInNamespace: 0, namespaceDeleted: false };
    if (s) {
      const alive = s.processes.filter(isAlive);
      report.stoppedProcesses = alive.length;
      await Promise.all([...alive].reverse().map((p) => stopProcess(p)));
    }
    const layout = s?.netns ?? (isRoot() ? netnsLayout(name) : null);
    // A split workload's generator namespaces (a run killed mid-way leaves them): their k6 and their links go first.
    if (layout) await deleteGenerators(layout);
    if (layout && (await netnsExists(layout.name))) {
      // Anything else started inside (browsers, k6, target services) goes with the namespace.
      for (let round = 0; round < 20; round++) {
        const pids = await netnsPids(layout.name);
        if (pids.length === 0) break;
        report.killedInNamespace += round === 0 ? pids.length : 0;
        pids.forEach(killPid);
        await sleep(100);
      }
      await deleteNetns(layout);
      report.namespaceDeleted = true;
    } else if (layout) {
      await deleteNetns(layout);
    }
    for (const sub of ['data', 'run']) rmSync(join(dir, sub), { recursive: true, force: true });
    removeState(dir);
    return report;
  }
}

export async function waitHealthy(def: ServiceDefinition, ctx: LabContext, rec: ProcessRecord, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + def.startTimeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    abortCheck(signal);
    if (!isAlive(rec)) {
      throw new LabError(`${def.name} exited during start; last lines of ${rec.logFile}:\n${redact(tailFile(rec.logFile, 15))}`);
    }
    try {
      await withTimeout(def.probe(ctx), 3000);
      return;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(250);
  }
  throw new LabError(`${def.name} did not become healthy within ${def.startTimeoutMs / 1000} s (last probe: ${redact(last)}); last lines of ${rec.logFile}:\n${redact(tailFile(rec.logFile, 15))}`);
}

/** Remove a pid file whose first line names no live process (gone, or a zombie). */
/** Remove a pid file whose process is gone (or a zombie), waiting up to `waitMs` for a dying one to finish. */
async function removeStalePidFile(file: string, waitMs = 10_000): Promise<void> {
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  const alive = (): boolean => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  };
  // A SIGKILLed postmaster can still be tearing down (its children first) when the restart begins.
  for (const end = Date.now() + waitMs; alive() && Date.now() < end;) await sleep(100);
  if (!alive()) rmSync(file, { force: true });
}

function abortCheck(signal?: AbortSignal): void {
  if (signal?.aborted) throw new LabError('interrupted');
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e instanceof Error ? e : new Error(String(e))); });
  });
}

async function assertPortsFree(address: string, ports: LabPorts): Promise<void> {
  for (const { owner, port } of boundPorts(ports)) {
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, address, () => srv.close(() => resolve(true)));
    });
    if (!free) throw new LabError(`port ${port} on ${address} (for ${owner}) is already taken; free it or pick another range with --base-port`);
  }
}
