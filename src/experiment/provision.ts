/**
 * Provisioning for one run: the lab (attached, or started and later stopped), a clean fault state (a
 * killed run's journal rolled back), and the target — the reference target started in the lab, or an
 * external deployment (with its own Toxiproxy when it has faults). Teardown undoes exactly what was set up.
 */
import { Lab } from '../lab/lab.js';
import { stopProcess } from '../lab/process.js';
import { writeState } from '../lab/state.js';
import { ensureHostAddress } from '../lab/netns.js';
import { startTarget, type RunningTarget } from '../lab/target.js';
import { cleanupFaults, type FaultContext } from '../../chaos/index.js';
import { removeOrphanedChromiumDirs } from '../media/chromium.js';
import { checkTargetAddress, isLocalHost, isLoopbackHost, TargetRefused } from '../util/target-address.js';
import type { Experiment } from './spec.js';
import type { ExposureSource } from './observers.js';
import type { ObservedService } from './server-observer.js';
import type { RunManifest } from './history.js';
import { runDestinations } from './external.js';

/** A refused run (a target outside the lab without --allow-remote, faults with nowhere to go). */
export class RunRefused extends TargetRefused {
  override name = 'RunRefused';
}

/** A target outside loopback and the lab's namespace is refused unless allowRemote. */
export function checkRunTarget(url: string, labAddress: string | null, allowRemote: boolean, what?: string): void {
  try {
    checkTargetAddress(url, labAddress, allowRemote, what);
  } catch (e) {
    throw e instanceof TargetRefused ? new RunRefused(e.message) : e;
  }
}

export interface ProvisionOptions {
  labName: string;
  basePort?: number;
  keepLab?: boolean;
  allowRemote: boolean;
  runId: string;
  targetEnv?: Record<string, string>;
  /** Port offset of the embedded target inside the lab's target range (0..90, default 90). */
  targetPortBase?: number;
  signal?: AbortSignal;
  log: (line: string) => void;
  progress: (line: string) => void;
}

/** The runner's own target instance in the lab (its processes are named target-<service>-exp). */
const TARGET_INSTANCE = 'exp';
const isRunnerTarget = (p: { name: string }): boolean => p.name.startsWith('target-') && p.name.endsWith(`-${TARGET_INSTANCE}`);

export class Provision {
  lab: Lab | null = null;
  target: RunningTarget | null = null;
  baseUrl: string;
  /** The video service, where the signaling socket lives (contract N01: not behind the gateway). */
  videoUrl: string | undefined;
  /** The public entry in front of the embedded target (target.edge), with the URL clients use on its profile. */
  edge: { url: string; plainUrl: string; tlsUrl: string; caFile: string } | null = null;
  private startedLab = false;

  constructor(private readonly e: Experiment, private readonly o: ProvisionOptions) {
    this.baseUrl = e.target.kind === 'external' ? e.target.baseUrl : '';
    this.videoUrl = e.target.kind === 'external' ? e.target.videoUrl : undefined;
    // Every place the run would send to, before anything is sent (the lab's address is not known yet: its 198.18.0.0/15 is).
    for (const d of runDestinations(e)) checkRunTarget(d.url, null, o.allowRemote, d.what);
  }

  get faultContext(): FaultContext | null {
    return this.lab ? { lab: this.lab, log: this.o.log } : null;
  }

  async up(): Promise<void> {
    const { e, o } = this;
    // A run killed outright left its browsers' profiles behind (the browsers themselves end with their DevTools pipe).
    const profiles = await removeOrphanedChromiumDirs();
    if (profiles.length > 0) o.log(`removed the browser folders of runs that are gone: ${profiles.join(', ')}`);
    if (e.target.kind === 'external' && e.faults.length > 0 && e.target.toxiproxyUrl) {
      // The deployment's own Toxiproxy (its proxies named after the dependencies): Toxiproxy faults only.
      checkRunTarget(e.target.toxiproxyUrl, null, o.allowRemote);
      this.lab = await Lab.external(e.target.toxiproxyUrl);
      const clean = await cleanupFaults(this.lab, { log: o.log });
      if (clean.journal.length > 0) o.progress(`cleaned up after a previous run: ${clean.journal.length} fault(s) from its journal`);
    } else if (e.target.kind === 'embedded' || e.faults.length > 0) {
      this.lab = await Lab.attach(o.labName);
      if (!this.lab) {
        if (e.target.kind === 'external') throw new RunRefused(`faults on an external target need its Toxiproxy (target.toxiproxyUrl) or a lab whose Toxiproxy fronts it: no lab "${o.labName}" is up (sch lab up --name ${o.labName})`);
        o.progress(`starting lab "${o.labName}"…`);
        this.lab = await Lab.up({ name: o.labName, ...(o.basePort ? { basePort: o.basePort } : {}), onProgress: (l) => o.log(`[lab] ${l}`), ...(o.signal ? { signal: o.signal } : {}) });
        this.startedLab = true;
      }
      // A previous run killed outright may have left faults behind: its journal says which.
      const clean = await cleanupFaults(this.lab, { log: o.log });
      const leftovers = clean.journal.length + clean.restarted.length + clean.resumed.length;
      if (leftovers > 0) o.progress(`cleaned up after a previous run: ${JSON.stringify({ journal: clean.journal.length, resumed: clean.resumed.length, restarted: clean.restarted.length })}`);
    }
    if (e.target.kind === 'embedded') {
      const lab = this.lab!;
      await this.stopLeftoverTarget();
      o.progress(`starting the reference target (${e.target.profile})…`);
      this.target = await startTarget(lab, {
        profile: e.target.profile, instance: TARGET_INSTANCE, portBase: o.targetPortBase ?? 90,
        // Its own rate-limit window: the limiter's counters live in the shared Redis, and one run's burst must not throttle the next.
        // The deployment's limits as the experiment states them (the reference target's knobs; as-built, like the real code, has its own).
        env: { RATE_LIMIT_SCOPE: `run-${o.runId}`, RATE_LIMIT_PER_MINUTE: String(e.params.rateLimitPerMinute), WS_MAX_CONNECTIONS: String(e.params.wsMaxConnections), ...e.target.env, ...(o.targetEnv ?? {}) },
        ...(e.target.services ? { services: e.target.services } : {}),
        ...(e.target.edge ? { edge: true } : {}),
      });
      this.baseUrl = this.target.baseUrl;
      const edge = this.target.edge;
      // Clients use TLS where the entry has it (hardened); the plain and TLS listeners are probed as they are.
      if (edge) this.edge = { url: e.target.profile === 'hardened' ? edge.https : edge.http, plainUrl: edge.http, tlsUrl: edge.https, caFile: edge.caFile };
      if (!e.target.services || e.target.services.includes('video')) this.videoUrl = this.target.serviceUrls.video;
      checkRunTarget(this.baseUrl, lab.address, o.allowRemote);
    }
  }

  /**
   * How the observers evidence that faults sit on the target's path (recorded as the manifest's
   * target.exposure): the embedded target's pids; for an external target behind the lab's own Toxiproxy,
   * anyone in the lab's network but Toxiproxy and this process (with its k6s and path probes); for one
   * with its own Toxiproxy, that Toxiproxy's byte counters.
   */
  exposureSource(): ExposureSource {
    if (this.e.target.kind === 'embedded') return { kind: 'processes', pids: () => this.targetPids() };
    if (this.lab?.isExternal) return { kind: 'proxy-counters' };
    return { kind: 'namespace', excludePids: () => [process.pid, ...this.toxiproxyPids()] };
  }

  /** The manifest's record of the target as reached (after up()). */
  targetInfo(): NonNullable<RunManifest['target']> {
    const t = this.e.target;
    return {
      kind: t.kind, ...(t.kind === 'embedded' ? { profile: t.profile } : {}), baseUrl: this.baseUrl,
      ...(t.kind === 'external' && t.toxiproxyUrl ? { toxiproxyUrl: t.toxiproxyUrl } : {}),
      ...(this.videoUrl && t.kind === 'external' ? { videoUrl: this.videoUrl } : {}),
      // No lab, no fault to calibrate: no exposure to speak of.
      ...(this.lab ? { exposure: this.exposureSource().kind } : {}),
    };
  }

  private toxiproxyPids(): number[] {
    if (!this.lab) return [];
    this.lab.refreshState();
    return this.lab.state.processes.filter((p) => p.name === 'toxiproxy').map((p) => p.pid);
  }

  /**
   * Whose /metrics (and, embedded, whose processes) the server observer reads: each service the reference target
   * started, by its own port and pids; an external target's gateway, and its video service when named.
   */
  observedServices(): ObservedService[] {
    if (this.e.target.kind === 'external') {
      return [{ service: 'gateway', metricsUrl: new URL('/metrics', this.baseUrl).href }, ...(this.videoUrl ? [{ service: 'video', metricsUrl: new URL('/metrics', this.videoUrl).href }] : [])];
    }
    if (!this.target) return [];
    const wanted = this.e.target.services;
    return Object.entries(this.target.serviceUrls).filter(([service]) => !wanted || (wanted as string[]).includes(service)).map(([service, url]) => ({
      service, metricsUrl: `${url}/metrics`,
      pids: () => {
        if (!this.lab) return [];
        this.lab.refreshState();
        return this.lab.state.processes.filter((p) => p.name === `target-${service}-${TARGET_INSTANCE}`).map((p) => p.pid);
      },
    }));
  }

  /** The embedded target's processes now (re-read: a process fault may have restarted one). */
  targetPids(): number[] {
    if (!this.lab || !this.target) return [];
    this.lab.refreshState();
    return this.lab.state.processes.filter(isRunnerTarget).map((p) => p.pid);
  }

  /**
   * The nth client address of the run's own (a workload spreads over some): a further host address on the
   * lab's veth for a target in the lab's network, 127.0.0.x for one on loopback; null for a target elsewhere
   * (a socket bound to a lab or loopback address cannot reach it).
   */
  async sourceAddress(n: number): Promise<string | null> {
    const host = new URL(this.baseUrl).hostname;
    if (isLoopbackHost(host)) return `127.0.0.${10 + n}`;
    const layout = this.lab?.netns ?? null;
    if (layout && isLocalHost(host, this.lab?.address ?? null)) return ensureHostAddress(layout, n);
    return null;
  }

  async down(): Promise<void> {
    const { o } = this;
    if (this.lab) await cleanupFaults(this.lab, { log: o.log }).catch((err: Error) => o.log(`cleanup: ${err.message}`));
    if (this.target) await this.target.stop().catch((err: Error) => o.log(`target stop: ${err.message}`));
    if (this.lab && this.startedLab && !o.keepLab) await Lab.down(o.labName).catch((err: Error) => o.log(`lab down: ${err.message}`));
  }

  /** A run killed outright leaves its target running: stop it before starting a new one on the same ports. */
  private async stopLeftoverTarget(): Promise<void> {
    const lab = this.lab!;
    lab.refreshState();
    const mine = lab.state.processes.filter(isRunnerTarget);
    if (mine.length === 0) return;
    this.o.log(`stopping ${mine.length} target process(es) left by a previous run`);
    await Promise.all(mine.map((p) => stopProcess(p, 5000)));
    lab.state.processes = lab.state.processes.filter((p) => !mine.includes(p));
    lab.state.targets = (lab.state.targets ?? []).filter((t) => t.instance !== TARGET_INSTANCE);
    writeState(lab.state);
  }
}
