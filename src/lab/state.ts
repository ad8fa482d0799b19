import { readFileSync, writeFileSync, renameSync, existsSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LabPorts, DependencyName } from '../topology/topology.js';
import type { LabCredentials } from './credentials.js';
import type { NetnsLayout } from './netns.js';
import type { ProcessRecord, ProcessSpec } from './process.js';
import type { ServiceName } from './services/types.js';

/** Everything needed to reach, inspect or tear down a lab, also from another process after a crash. */
export interface LabState {
  version: 1;
  name: string;
  dir: string;
  phase: 'starting' | 'up';
  createdAt: string;
  ownerPid: number;
  netns: NetnsLayout | null;
  /** Address every lab service binds; reachable from the host. */
  address: string;
  ports: LabPorts;
  credentials: LabCredentials;
  /** Services this lab started. */
  services: ServiceName[];
  processes: ProcessRecord[];
  proxies: Partial<Record<DependencyName, { listen: string; upstream: string }>>;
  /** Reference targets started in this lab (their processes are in `processes`). */
  targets?: { instance: string; profile: string; baseUrl: string; serviceUrls: Record<string, string> }[];
  /** Which target the public entry (nginx) fronts, and the id of the config it serves; absent: none. */
  edge?: { instance: string; profile: string; configId: string };
  /** How each process (by record name) was spawned, so a fault can restart it exactly as it was. */
  specs?: Record<string, ProcessSpec>;
  /** Not a lab this harness started: an external deployment's Toxiproxy (Toxiproxy faults only). */
  external?: { toxiproxyUrl: string };
}

export const stateFile = (dir: string): string => join(dir, 'lab.json');

export function readState(dir: string): LabState | null {
  const f = stateFile(dir);
  if (!existsSync(f)) return null;
  try {
    const s = JSON.parse(readFileSync(f, 'utf8')) as LabState;
    return s.version === 1 ? s : null;
  } catch {
    return null;
  }
}

/** Atomic write, owner-only: the state file holds the lab's generated credentials. */
export function writeState(s: LabState): void {
  mkdirSync(s.dir, { recursive: true });
  const f = stateFile(s.dir);
  writeFileSync(`${f}.tmp`, JSON.stringify(s, null, 2), { mode: 0o600 });
  renameSync(`${f}.tmp`, f);
}

export function removeState(dir: string): void {
  rmSync(stateFile(dir), { force: true });
}
