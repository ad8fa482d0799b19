import { existsSync, readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stateDir } from '../src/lab/paths.js';
import type { FaultLab } from './fault.js';
import type { FaultSpec } from './spec.js';
import type { FaultMechanism } from './types.js';

/**
 * Faults applied and not yet rolled back, next to the lab's state file (stateDir()/<lab>/faults.json):
 * if the harness dies mid-experiment, the next run's cleanupFaults() reads it and undoes them.
 */
export interface JournalEntry {
  id: string;
  name: string;
  mechanism: FaultMechanism;
  target: string;
  params: Record<string, unknown>;
  spec: FaultSpec;
  appliedAtMs: number;
  /** The harness process that applied it. */
  pid: number;
}

export const journalFile = (labName: string): string => join(stateDir(labName), 'faults.json');

export function readJournal(lab: Pick<FaultLab, 'name'>): JournalEntry[] {
  const f = journalFile(lab.name);
  if (!existsSync(f)) return [];
  try {
    const v = JSON.parse(readFileSync(f, 'utf8')) as { faults?: JournalEntry[] };
    return Array.isArray(v.faults) ? v.faults : [];
  } catch {
    return [];
  }
}

/** Atomic, owner-only (params may name internal addresses). */
function writeJournal(labName: string, faults: JournalEntry[]): void {
  const f = journalFile(labName);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(`${f}.tmp`, JSON.stringify({ faults }, null, 2), { mode: 0o600 });
  renameSync(`${f}.tmp`, f);
}

export function journalAdd(lab: Pick<FaultLab, 'name'>, entry: JournalEntry): void {
  writeJournal(lab.name, [...readJournal(lab).filter((e) => e.id !== entry.id), entry]);
}

export function journalRemove(lab: Pick<FaultLab, 'name'>, id: string): void {
  const before = readJournal(lab);
  if (before.some((e) => e.id === id)) writeJournal(lab.name, before.filter((e) => e.id !== id));
}
