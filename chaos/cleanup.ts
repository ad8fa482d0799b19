import { rmSync } from 'node:fs';
import { errText, type FaultContext, type FaultLab } from './fault.js';
import { readJournal, journalFile } from './journal.js';
import { MECHANISMS, type SweepContext } from './mechanisms.js';
import { createFault } from './spec.js';

export interface CleanupReport {
  /** Journal entries (faults a run applied and never rolled back) and how their rollback went. */
  journal: { id: string; ok: boolean; detail: string }[];
  toxicsRemoved: number;
  proxiesEnabled: number;
  nftChainsRemoved: number;
  /** Process records that were stopped (SIGSTOP) and got SIGCONT. */
  resumed: string[];
  /** Lab services whose recorded process was dead, restarted. */
  restarted: string[];
  errors: string[];
}

/**
 * Put the lab back to no-fault, whatever a crashed (or SIGKILLed) run left: each mechanism's
 * recover() (stopped processes resumed, dead lab services restarted), the journal rolled back, then
 * each mechanism's sweep() regardless of the journal (every toxic on every proxy, every proxy enabled,
 * every `fault-*` chain in the namespace's nft table). Safe to call any time; the runner calls it at
 * start and in finally blocks.
 */
export async function cleanupFaults(lab: FaultLab, o: { log?: (line: string) => void } = {}): Promise<CleanupReport> {
  const ctx: FaultContext = { lab, ...(o.log ? { log: o.log } : {}) };
  const report: CleanupReport = { journal: [], toxicsRemoved: 0, proxiesEnabled: 0, nftChainsRemoved: 0, resumed: [], restarted: [], errors: [] };
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      report.errors.push(`${what}: ${errText(e)}`);
    }
  };
  const sc: SweepContext = { lab, report, attempt };
  lab.refreshState();

  // The order matters. 1. recover: processes resumed and dead lab services restarted (Toxiproxy
  // first), since a paused or dead Toxiproxy or coturn would make every later step hang or fail.
  // 2. the journal: each fault's own rollback undoes exactly what it did (on an external Toxiproxy
  // it is the only thing that re-enables a proxy it disabled). 3. sweep: whatever is left by name.
  for (const m of MECHANISMS) if (m.recover) await m.recover(sc);

  for (const entry of readJournal(lab)) {
    await attempt(`rolling back ${entry.id}`, async () => {
      const r = await createFault(entry.spec).rollback(ctx);
      report.journal.push({ id: entry.id, ...r });
    });
  }

  for (const m of MECHANISMS) if (m.sweep) await m.sweep(sc);

  // Everything the journal could list has been swept: an entry whose own rollback failed is moot now.
  if (report.errors.length === 0) rmSync(journalFile(lab.name), { force: true });
  o.log?.(`cleanup: ${report.journal.length} journal entries, ${report.toxicsRemoved} toxics, ${report.proxiesEnabled} proxies enabled, ${report.nftChainsRemoved} nft chains, resumed [${report.resumed.join(', ')}], restarted [${report.restarted.join(', ')}]${report.errors.length ? `; errors: ${report.errors.join('; ')}` : ''}`);
  return report;
}
