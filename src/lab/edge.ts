import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { edgeConfigId, edgeMainConfig, edgeServers, type EdgeMainOptions, type EdgeUpstream } from './edge-config.js';
import { runOk, sleep } from './exec.js';
import { isAlive, tailFile } from './process.js';
import { writeState } from './state.js';
import { redact } from '../util/redact.js';
import type { LabContext } from './services/types.js';
import type { Lab } from './lab.js';

/**
 * The lab's public entry (nginx) at run time. nginx starts with the lab, fronting nothing (503); a target
 * started with `edge: true` rewrites its config for that target's gateway and profile and reloads it
 * (SIGHUP: new workers, open connections finish on the old ones); stopping that target points it at nothing again.
 */

export interface EdgeFiles {
  runDir: string;
  conf: string;
  errorLog: string;
  certFile: string;
  keyFile: string;
}

export function edgeFiles(dir: string): EdgeFiles {
  const runDir = join(dir, 'run', 'nginx');
  return {
    runDir,
    conf: join(runDir, 'nginx.conf'),
    errorLog: join(dir, 'logs', 'nginx-error.log'),
    certFile: join(dir, 'run', 'edge-tls', 'cert.pem'),
    keyFile: join(dir, 'run', 'edge-tls', 'key.pem'),
  };
}

/**
 * A self-signed certificate for the lab's address, made once per lab. The key stays in the lab's run
 * folder (owner-only, removed by `lab down`); clients trust the certificate explicitly, never globally.
 */
export async function ensureEdgeCertificate(ctx: Pick<LabContext, 'dir' | 'address' | 'labName' | 'bins'>): Promise<void> {
  const f = edgeFiles(ctx.dir);
  if (existsSync(f.certFile) && existsSync(f.keyFile)) return;
  mkdirSync(join(ctx.dir, 'run', 'edge-tls'), { recursive: true, mode: 0o700 });
  await runOk(ctx.bins.openssl, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '7',
    '-subj', `/CN=sch edge ${ctx.labName}`, '-addext', `subjectAltName=IP:${ctx.address}`,
    '-keyout', f.keyFile, '-out', f.certFile,
  ], { timeoutMs: 15_000 });
}

function mainOptions(ctx: Pick<LabContext, 'dir' | 'address' | 'ports' | 'asRoot'>, upstream: EdgeUpstream | null): EdgeMainOptions {
  const f = edgeFiles(ctx.dir);
  return {
    listenAddress: ctx.address, httpPort: ctx.ports.edge.http, httpsPort: ctx.ports.edge.https, statusPort: ctx.ports.edge.status,
    upstream, tls: { certFile: f.certFile, keyFile: f.keyFile }, runDir: f.runDir, errorLog: f.errorLog,
    user: ctx.asRoot ? 'root root' : null,
  };
}

/** Write nginx.conf for `upstream` (atomically: a reload never reads half a file); returns the config's id. */
export function writeEdgeConfig(ctx: Pick<LabContext, 'dir' | 'address' | 'ports' | 'asRoot'>, upstream: EdgeUpstream | null): string {
  const f = edgeFiles(ctx.dir);
  mkdirSync(f.runDir, { recursive: true, mode: 0o700 });
  const o = mainOptions(ctx, upstream);
  writeFileSync(`${f.conf}.new`, edgeMainConfig(o), { mode: 0o600 });
  renameSync(`${f.conf}.new`, f.conf);
  return edgeConfigId(edgeServers(o));
}

/** GET a path of the lab's status listener (never part of the public entry); its body. */
async function statusText(address: string, statusPort: number, path: string): Promise<string> {
  const r = await fetch(`http://${address}:${statusPort}${path}`, { signal: AbortSignal.timeout(2000) });
  if (!r.ok) throw new Error(`nginx ${path} answered HTTP ${r.status}`);
  return r.text();
}

/** What the status listener says is live: "<config id> <profile|none>". */
export async function edgeStatus(address: string, statusPort: number): Promise<string> {
  return (await statusText(address, statusPort, '/sch-edge')).trim();
}

/** Requests nginx has handled since it started, every listener together (stub_status's third counter). */
export async function edgeRequestCount(address: string, statusPort: number): Promise<number> {
  const m = /server accepts handled requests\s+\d+\s+\d+\s+(\d+)/.exec(await statusText(address, statusPort, '/sch-edge-requests'));
  if (!m) throw new Error('nginx stub_status: no request count in its answer');
  return Number(m[1]);
}

export interface EdgeUrls {
  /** Plain HTTP listener (the whole entry on audited/as-built; a redirect on hardened). */
  http: string;
  /** TLS listener (hardened only). */
  https: string;
  /** The lab's certificate: what a client passes as its CA to trust the TLS listener. */
  caFile: string;
}

export function edgeUrls(lab: Lab): EdgeUrls {
  return {
    http: `http://${lab.address}:${lab.ports.edge.http}`,
    https: `https://${lab.address}:${lab.ports.edge.https}`,
    caFile: edgeFiles(lab.state.dir).certFile,
  };
}

/**
 * Point the lab's nginx at a target's gateway (or at nothing) and wait until the new config serves.
 * A config nginx refuses leaves the old one serving: the error names nginx's own log lines.
 */
export async function pointEdge(lab: Lab, to: (EdgeUpstream & { instance: string }) | null, timeoutMs = 10_000): Promise<void> {
  lab.refreshState();
  const rec = lab.state.processes.find((p) => p.name === 'nginx');
  if (!rec || !isAlive(rec)) throw new Error(`lab "${lab.name}" has no running nginx (started before the edge existed, or --only without nginx)`);
  const ctx = lab.context();
  const id = writeEdgeConfig(ctx, to && { gateway: to.gateway, profile: to.profile });
  process.kill(rec.pid, 'SIGHUP');
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    try {
      seen = await edgeStatus(lab.address, lab.ports.edge.status);
      if (seen.startsWith(`${id} `)) {
        lab.state.edge = to ? { instance: to.instance, profile: to.profile, configId: id } : undefined;
        writeState(lab.state);
        return;
      }
    } catch (e) {
      seen = (e as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`nginx did not take its new config within ${timeoutMs / 1000} s (status: ${seen}); ${edgeFiles(lab.state.dir).errorLog}:\n${redact(tailFile(edgeFiles(lab.state.dir).errorLog, 10))}`);
}
