import { readFileSync, readdirSync } from 'node:fs';
import { FaultError, type FaultLab, type FaultProcessRecord } from '../fault.js';
import { DEPENDENCY_NAMES, type LabServiceName } from '../types.js';

/** Every server a lab may run (which ones this lab runs is in its state). */
const LAB_SERVICES: readonly LabServiceName[] = ['toxiproxy', ...DEPENDENCY_NAMES];

/** A process a fault acts on: a lab service, or one service of a reference target. */
export type ProcessTarget =
  | { kind: 'lab'; service: LabServiceName; recordName: string }
  | { kind: 'target'; instance: string; service: string; recordName: string; healthUrl: string; only?: typeof SFU_WORKER };

/**
 * `target:sfu-worker` / `target:<instance>:sfu-worker`: the SFU's mediasoup workers (children of the target's
 * video service), not the service itself: signalling, REST and the sockets stay up while media stops.
 */
export const SFU_WORKER = 'sfu-worker';

/**
 * `redis` (a lab service), `target:chat` (the target's chat service: the `default` instance, or the
 * only one), `target:<instance>:chat`. Resolved against the current state file.
 */
export function resolveProcessTarget(lab: FaultLab, target: string): ProcessTarget {
  lab.refreshState();
  const parts = target.split(':');
  if (parts[0] !== 'target') {
    const service = LAB_SERVICES.find((s) => s === target);
    if (!service || parts.length !== 1) throw new FaultError(`unknown process target "${target}": expected a lab service (${LAB_SERVICES.join(', ')}) or target:<service> / target:<instance>:<service>`);
    if (!lab.state.services.includes(service)) throw new FaultError(`lab "${lab.name}" does not run ${service}`);
    return { kind: 'lab', service, recordName: service };
  }
  const targets = lab.state.targets ?? [];
  const [instanceName, service] = parts.length === 3 ? [parts[1]!, parts[2]!] : parts.length === 2 ? [null, parts[1]!] : [null, ''];
  if (!service) throw new FaultError(`bad process target "${target}": expected target:<service> or target:<instance>:<service>`);
  const t = instanceName !== null ? targets.find((x) => x.instance === instanceName) : (targets.find((x) => x.instance === 'default') ?? (targets.length === 1 ? targets[0] : undefined));
  if (!t) throw new FaultError(`process target "${target}": no such target in lab "${lab.name}" (running: ${targets.map((x) => x.instance).join(', ') || 'none'})`);
  const owner = service === SFU_WORKER ? 'video' : service;
  const url = t.serviceUrls[owner];
  if (!url) throw new FaultError(`process target "${target}": target "${t.instance}" has no service ${owner}`);
  const recordName = `target-${owner}${t.instance === 'default' ? '' : `-${t.instance}`}`;
  return { kind: 'target', instance: t.instance, service: owner, recordName, healthUrl: `${url}/health`, ...(service === SFU_WORKER ? { only: SFU_WORKER } : {}) };
}

export function recordOf(lab: FaultLab, t: ProcessTarget): FaultProcessRecord {
  const rec = lab.state.processes.find((p) => p.name === t.recordName);
  if (!rec) throw new FaultError(`no process record ${t.recordName} in lab "${lab.name}"`);
  return rec;
}

/**
 * The recorded process is still the one the lab started: same pid and start time (not a process that
 * reused the pid), and not a zombie. As src/lab/process.ts `isAlive`, read from /proc the same way.
 */
export function isAlive(rec: Pick<FaultProcessRecord, 'pid' | 'startTime'>): boolean {
  const rest = statFields(rec.pid);
  return rest !== null && rest[19] === rec.startTime && rest[0] !== 'Z';
}

/** The fields of /proc/<pid>/stat after the parenthesised command name (rest[0] is the state); null when gone. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Field 3 of /proc/<pid>/stat: R, S, D, T (stopped), Z…; null when the pid is gone. */
export function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** The pid and all its descendants (from /proc ppid links), parents first. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      /* exited meanwhile */
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * Signal the service's whole process tree: its group (services start detached, each leads one) and
 * every descendant, since some leave the group (PostgreSQL's backends call setsid()): pausing only the
 * postmaster would leave open connections served, killing only it would leave backends behind.
 */
export function signalTree(pid: number, sig: NodeJS.Signals): number[] {
  const tree = processTree(pid);
  try {
    process.kill(-pid, sig);
  } catch {
    /* not a group leader, or gone */
  }
  for (const p of tree) {
    try {
      process.kill(p, sig);
    } catch {
      /* gone */
    }
  }
  return tree;
}

/** Process states of a tree, e.g. { T: 5 } or { T: 1, S: 4 }. */
export function treeStates(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of processTree(pid)) {
    const st = procState(p);
    if (st) out[st] = (out[st] ?? 0) + 1;
  }
  return out;
}

export const statesText = (s: Record<string, number>): string => Object.entries(s).map(([k, v]) => `${v}×${k}`).join(' ') || 'none';

/** Is the service answering: its lab probe, or the target service's /health. */
export async function serviceHealthy(lab: FaultLab, t: ProcessTarget, timeoutMs = 5000): Promise<{ ok: boolean; detail: string }> {
  try {
    if (t.kind === 'lab') return { ok: true, detail: await lab.probeService(t.service, timeoutMs) };
    const r = await fetch(t.healthUrl, { signal: AbortSignal.timeout(timeoutMs) });
    return { ok: r.ok, detail: `HTTP ${r.status}` };
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  }
}

/** The mediasoup workers among a process's descendants (their /proc comm, cut to 15 characters: `mediasoup-worke`). */
export function sfuWorkerPids(pid: number): number[] {
  return processTree(pid).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim().startsWith('mediasoup-work');
    } catch {
      return false;
    }
  });
}
