import { join } from 'node:path';
import { HARNESS_ROOT, binaries } from './paths.js';
import { spawnDetached, stopProcess, isAlive, tailFile, type ProcessRecord, type ProcessSpec } from './process.js';
import { writeState } from './state.js';
import { sleep } from './exec.js';
import { LabError, type Lab } from './lab.js';
import { redact } from '../util/redact.js';
import { targetEntry } from './target-bundle.js';
import { edgeUrls, pointEdge, type EdgeUrls } from './edge.js';
import type { ReferenceProfile } from '../util/profiles.js';

import { TARGET_SERVICE_ORDER, PORT_OFFSET, type TargetServiceName } from '../../fixtures/secureconnect/target/names.js';

/** UDP ports of one target instance's SFU (mediasoup WebRtcTransports, one each). */
const RTC_PORTS_PER_INSTANCE = 20;

export interface TargetOptions {
  profile: ReferenceProfile;
  /** Extra environment: single switches (SC_SWITCH_*), test hooks, limits. */
  env?: Record<string, string>;
  /** Instance suffix, so two targets (or two chat instances) can share a lab. */
  instance?: string;
  /** Port offset inside the lab's target range. */
  portBase?: number;
  /** Start only these services (default: all); the gateway routes the others to 502. */
  services?: TargetServiceName[];
  /** Put the lab's public entry (nginx) in front of this target's gateway, configured for its profile. */
  edge?: boolean;
}

export interface RunningTarget {
  /** The gateway. */
  baseUrl: string;
  /** Each service directly (SecureConnect's signaling socket is not reachable through its gateway: contract N01). */
  serviceUrls: Record<TargetServiceName, string>;
  profile: string;
  processes: ProcessRecord[];
  /** The public entry in front of this target (started with `edge: true`), else null. */
  edge: EdgeUrls | null;
  stop(): Promise<void>;
}

/**
 * Start the reference SecureConnect target inside the lab, wired to every dependency through its
 * Toxiproxy proxy. Its processes join the lab's state, so `lab down` (or the next start) stops them too.
 */
export async function startTarget(lab: Lab, o: TargetOptions): Promise<RunningTarget> {
  const base = lab.ports.target.min + (o.portBase ?? 0);
  if (base + 9 > lab.ports.target.max) throw new LabError(`portBase ${o.portBase} leaves no room in the lab's target port range`);
  const port = (s: TargetServiceName) => base + PORT_OFFSET[s];
  const c = lab.credentials;
  const ep = (d: Parameters<Lab['endpoint']>[0]) => lab.endpoint(d);
  // The SFU's UDP ports: a slice of RTC_PORTS_PER_INSTANCE of the lab's range per instance (portBase steps by 10), so
  // instances side by side never share one and each carries a call of 8 (16 transports).
  const rtcMin = lab.ports.rtc.min + (o.portBase ?? 0) * (RTC_PORTS_PER_INSTANCE / 10);
  const rtc = { min: Math.min(rtcMin, lab.ports.rtc.max), max: Math.min(rtcMin + RTC_PORTS_PER_INSTANCE - 1, lab.ports.rtc.max) };
  const env: Record<string, string> = {
    ENV: 'lab', SC_PROFILE: o.profile, JWT_SECRET: c.jwtSecret, BIND_HOST: lab.address,
    REDIS_HOST: ep('redis').host, REDIS_PORT: String(ep('redis').port), REDIS_PASSWORD: c.redisPassword,
    DB_HOST: ep('postgres').host, DB_PORT: String(ep('postgres').port), DB_USER: c.postgresUser, DB_PASSWORD: c.postgresPassword, DB_NAME: c.postgresDatabase,
    CASSANDRA_HOSTS: ep('cassandra').host, CASSANDRA_PORT: String(ep('cassandra').port), CASSANDRA_USER: c.cassandraUser, CASSANDRA_PASSWORD: c.cassandraPassword, CASSANDRA_KEYSPACE: 'secureconnect',
    MINIO_ENDPOINT: `${ep('minio').host}:${ep('minio').port}`, MINIO_ACCESS_KEY: c.minioUser, MINIO_SECRET_KEY: c.minioPassword, MINIO_BUCKET: 'secureconnect',
    TURN_HOST: ep('coturn').host, TURN_PORT: String(ep('coturn').port), TURN_UDP_PORT: String(lab.directEndpoint('coturn').port), TURN_SECRET: c.turnSecret, TURN_REALM: c.turnRealm,
    AUTH_SERVICE_ADDR: `${lab.address}:${port('auth')}`, CHAT_SERVICE_ADDR: `${lab.address}:${port('chat')}`,
    VIDEO_SERVICE_ADDR: `${lab.address}:${port('video')}`, STORAGE_SERVICE_ADDR: `${lab.address}:${port('storage')}`,
    RTC_MIN_PORT: String(rtc.min), RTC_MAX_PORT: String(rtc.max), RTC_LISTEN_IP: lab.address,
    MEDIASOUP_WORKER_BIN: binaries().mediasoupWorker,
    NODE_ENV: 'production',
    // The push provider's send API (the lab's stand-in for FCM) through its proxy; a lab without it: no pushes.
    ...(lab.state.proxies.push ? { FCM_ENDPOINT: `http://${ep('push').host}:${ep('push').port}`, FIREBASE_PROJECT_ID: 'secureconnect-lab' } : {}),
    ...o.env,
  };
  const suffix = o.instance ? `-${o.instance}` : '';
  const entry = await targetEntry();
  const started: ProcessRecord[] = [];
  const startOne = async (name: TargetServiceName): Promise<void> => {
    const spec: ProcessSpec = {
      name: `target-${name}${suffix}`,
      command: process.execPath,
      args: ['--enable-source-maps', entry, name],
      cwd: HARNESS_ROOT,
      env: { ...env, PORT: String(port(name)) },
      logFile: join(lab.state.dir, 'logs', `target-${name}${suffix}.log`),
    };
    const rec = spawnDetached(spec, lab.execPrefix);
    started.push(rec);
    lab.state.processes.push(rec);
    // Kept so a process fault can restart this service exactly as it was (restartTargetService).
    lab.state.specs = { ...lab.state.specs, [spec.name]: spec };
    writeState(lab.state);
    await waitHealthy(`http://${lab.address}:${port(name)}/health`, rec, 30_000);
  };
  const wanted = TARGET_SERVICE_ORDER.filter((n) => !o.services || o.services.includes(n));
  try {
    // The services behind the gateway start side by side (none needs another to start); the gateway, which fronts them, last.
    const settled = await Promise.allSettled(wanted.filter((n) => n !== 'gateway').map(startOne));
    const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
    if (wanted.includes('gateway')) await startOne('gateway');
  } catch (e) {
    await Promise.all(started.map((r) => stopProcess(r, 3000)));
    throw e;
  }
  const baseUrl = `http://${lab.address}:${port('gateway')}`;
  const serviceUrls = Object.fromEntries((Object.keys(PORT_OFFSET) as TargetServiceName[]).map((n) => [n, `http://${lab.address}:${port(n)}`])) as Record<TargetServiceName, string>;
  const instance = o.instance ?? 'default';
  lab.state.targets = [...(lab.state.targets ?? []).filter((x) => x.instance !== instance), { instance, profile: o.profile, baseUrl, serviceUrls }];
  writeState(lab.state);
  if (o.edge) {
    try {
      await pointEdge(lab, { instance, gateway: `${lab.address}:${port('gateway')}`, profile: o.profile });
    } catch (e) {
      await Promise.all(started.map((r) => stopProcess(r, 3000)));
      throw e;
    }
  }
  return {
    baseUrl,
    serviceUrls,
    profile: o.profile,
    processes: started,
    edge: o.edge ? edgeUrls(lab) : null,
    async stop() {
      // The entry stops fronting a target that is going away (503 from nginx rather than 502s).
      lab.refreshState();
      if (lab.state.edge?.instance === instance) await pointEdge(lab, null).catch(() => undefined);
      // By name as well as pid: a process fault may have restarted a service under a new pid.
      lab.refreshState();
      const names = new Set(started.map((r) => r.name));
      const current = lab.state.processes.filter((p) => names.has(p.name) && !started.some((s) => s.pid === p.pid));
      await Promise.all([...started, ...current].reverse().map((r) => stopProcess(r, 5000)));
      lab.state.processes = lab.state.processes.filter((p) => !names.has(p.name));
      lab.state.targets = (lab.state.targets ?? []).filter((x) => x.instance !== instance);
      writeState(lab.state);
    },
  };
}

/**
 * Restart one target service process (record name `target-<service>[-<instance>]`) from its kept
 * spawn spec, and wait for its /health. The new pid replaces the old record in the lab state.
 */
export async function restartTargetService(lab: Lab, recordName: string, healthUrl: string, timeoutMs = 30_000): Promise<ProcessRecord> {
  lab.refreshState();
  const spec = lab.state.specs?.[recordName];
  if (!spec) throw new LabError(`no spawn spec kept for ${recordName} (target started before specs were kept?)`);
  const old = lab.state.processes.find((p) => p.name === recordName);
  if (old && isAlive(old)) await stopProcess(old, 5000);
  const rec = spawnDetached(spec, lab.execPrefix);
  lab.state.processes = [...lab.state.processes.filter((p) => p.name !== recordName), rec];
  writeState(lab.state);
  await waitHealthy(healthUrl, rec, timeoutMs);
  return rec;
}

/** Each service of each target in the lab: its /health answer (or the error). */
export async function targetHealth(lab: Lab): Promise<{ instance: string; profile: string; service: string; url: string; healthy: boolean; detail: string }[]> {
  const out = [];
  for (const t of lab.state.targets ?? []) {
    for (const [service, url] of Object.entries(t.serviceUrls)) {
      if (!TARGET_SERVICE_ORDER.includes(service as TargetServiceName)) continue;
      try {
        const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
        out.push({ instance: t.instance, profile: t.profile, service, url, healthy: r.ok, detail: r.ok ? 'healthy' : `HTTP ${r.status}` });
      } catch (e) {
        out.push({ instance: t.instance, profile: t.profile, service, url, healthy: false, detail: (e as Error).message });
      }
    }
  }
  return out;
}

async function waitHealthy(url: string, rec: ProcessRecord, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(rec)) throw new LabError(`${rec.name} exited during start; last lines of ${rec.logFile}:\n${redact(tailFile(rec.logFile, 15))}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    await sleep(200);
  }
  throw new LabError(`${rec.name} did not answer ${url} within ${timeoutMs / 1000} s; last lines of ${rec.logFile}:\n${redact(tailFile(rec.logFile, 15))}`);
}
