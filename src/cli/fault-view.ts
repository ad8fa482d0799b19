/**
 * The lab's active faults as `sch fault list` and `sch lab status` show them: the chaos journal's entries
 * with their age and whether the process that applied them still runs (a running experiment, or a
 * `sch fault apply --duration`) or is gone (a fault applied by hand and left on, or a run that died).
 */
import { readFileSync } from 'node:fs';
import { readJournal, type JournalEntry } from '../../chaos/journal.js';
import { CompositeFault } from '../../chaos/composite.js';
import { createFault } from '../../chaos/spec.js';
import type { FaultLab } from '../../chaos/fault.js';
import { procStartTime } from '../lab/process.js';
import { formatDuration } from '../util/duration.js';
import { redact } from '../util/redact.js';
import { table } from './table.js';

export interface ActiveFault {
  id: string;
  name: string;
  mechanism: string;
  target: string;
  params: Record<string, unknown>;
  appliedAt: string;
  ageS: number;
  /** The process that applied it: alive or not, and its command line when alive. */
  appliedBy: { pid: number; alive: boolean; command: string | null };
  /** A part of a composite fault (turn-outage → turn-outage-udp, turn-outage-tcp): the whole's id. */
  partOf?: string;
}

/** Linux's USER_HZ: /proc/<pid>/stat counts start times in these ticks on every mainstream architecture. */
const TICKS_PER_SECOND = 100;

function bootTimeMs(): number | null {
  try {
    const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    return m ? Number(m[1]) * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * Whether `pid` is still the process that applied the fault at `appliedAtMs`: alive, not a zombie, and
 * started before the fault was applied (a pid reused later belongs to someone else).
 */
function ownerAlive(pid: number, appliedAtMs: number): boolean {
  const ticks = procStartTime(pid);
  if (ticks === null) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
  } catch {
    return false;
  }
  const boot = bootTimeMs();
  // btime has 1 s resolution: a second of slack.
  return boot === null || boot + (Number(ticks) * 1000) / TICKS_PER_SECOND <= appliedAtMs + 1000;
}

/** `sch run redis-outage` for the harness's own processes (node … src/cli/main.ts run …), else the command itself. */
function commandOf(pid: number): string | null {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const main = argv.findIndex((a) => a.endsWith('src/cli/main.ts'));
    const words = main >= 0 ? ['sch', ...argv.slice(main + 1)] : [argv[0]?.split('/').pop() ?? '', ...argv.slice(1)];
    const s = words.join(' ');
    return s.length > 60 ? `${s.slice(0, 59)}…` : s;
  } catch {
    return null;
  }
}

export function describeEntry(e: JournalEntry, now = Date.now()): ActiveFault {
  const alive = ownerAlive(e.pid, e.appliedAtMs);
  return {
    id: e.id, name: e.name, mechanism: e.mechanism, target: e.target, params: e.params,
    appliedAt: new Date(e.appliedAtMs).toISOString(),
    ageS: Math.max(0, Math.round((now - e.appliedAtMs) / 1000)),
    appliedBy: { pid: e.pid, alive, command: alive ? commandOf(e.pid) : null },
  };
}

/** The part ids of a composite fault's entry (none for any other, or a spec this version cannot build). */
function partIds(e: JournalEntry): string[] {
  try {
    const f = createFault(e.spec);
    return f instanceof CompositeFault ? f.parts.map((p) => p.id) : [];
  } catch {
    return [];
  }
}

export function activeFaults(lab: Pick<FaultLab, 'name'>, now = Date.now()): ActiveFault[] {
  const journal = readJournal(lab);
  const wholeOf = new Map(journal.flatMap((e) => partIds(e).map((id) => [id, e.id] as const)));
  return journal.map((e) => {
    const whole = wholeOf.get(e.id);
    return { ...describeEntry(e, now), ...(whole !== undefined ? { partOf: whole } : {}) };
  });
}

/** `attributes.latency=500 proxy=cassandra`: nested params flattened to key paths. */
export function paramsText(params: Record<string, unknown>, prefix = ''): string {
  const parts = Object.entries(params).map(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? paramsText(v as Record<string, unknown>, `${prefix}${k}.`) : `${prefix}${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.filter(Boolean).join(' ');
}

export function faultTable(faults: readonly ActiveFault[]): string {
  return redact(table(['ID', 'FAULT', 'MECHANISM', 'TARGET', 'PARAMS', 'APPLIED', 'AGE', 'APPLIED BY'], faults.map((f) => [
    f.id, f.partOf !== undefined ? `(part of ${f.partOf})` : f.name, f.mechanism, f.target, paramsText(f.params) || '-', f.appliedAt.replace(/\.\d+Z$/, 'Z'), formatDuration(f.ageS * 1000),
    f.appliedBy.alive ? `running (pid ${f.appliedBy.pid}): ${f.appliedBy.command ?? '?'}` : `exited (pid ${f.appliedBy.pid})`,
  ])));
}

/** The lines `sch lab status` and `sch fault list` print: the table and what "exited" means, or that there is none. */
export function faultsText(faults: readonly ActiveFault[]): string {
  if (!faults.length) return 'no active faults';
  const exited = faults.some((f) => !f.appliedBy.alive);
  return `${faultTable(faults)}${exited ? '\nexited: applied by hand and left on, or by a run that died; sch fault clear <id> rolls one back' : ''}`;
}
