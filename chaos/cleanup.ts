import { isAlive } from '../src/lab/process.js';
import type { Lab } from '../src/lab/lab.js';
import { errText, type FaultContext } from './fault.js';
import { readJournal, journalFile } from './journal.js';
import { signalTree, treeStates } from './process/targets.js';
import { createFault } from './spec.js';
import { deleteToxic, listToxics, proxyEnabled, proxyNames, setProxyEnabled, TOXIC_PREFIX } from './toxics/api.js';
import { CHAIN_PREFIX, deleteChains, listChains } from './udp/nft.js';
import { rmSync } from 'node:fs';
import { sleep } from '../src/lab/exec.js';

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
 * Put the lab back to no-fault, whatever a crashed (or SIGKILLed) run left: roll back what the
 * journal lists, then sweep every mechanism regardless: every toxic on every proxy, every proxy
 * enabled, every `fault-*` chain in the namespace's nft table, every process resumed, every dead
 * lab service restarted. Safe to call any time; the runner calls it at start and in finally blocks.
 */
export async function cleanupFaults(lab: Lab, o: { log?: (line: string) => void } = {}): Promise<CleanupReport> {
  const ctx: FaultContext = { lab, ...(o.log ? { log: o.log } : {}) };
  const report: CleanupReport = { journal: [], toxicsRemoved: 0, proxiesEnabled: 0, nftChainsRemoved: 0, resumed: [], restarted: [], errors: [] };
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      report.errors.push(`${what}: ${errText(e)}`);
    }
  };
  lab.refreshState();

  // Resume first: a paused Toxiproxy or coturn would make every later step hang or fail.
  for (const rec of lab.state.processes) {
    if (!isAlive(rec)) continue;
    if ((treeStates(rec.pid).T ?? 0) === 0) continue;
    // Twice, apart: a wrapper (runuser) stops itself again after noticing its child was stopped.
    for (let i = 0; i < 10 && (i === 0 || (treeStates(rec.pid).T ?? 0) > 0); i++) {
      signalTree(rec.pid, 'SIGCONT');
      await sleep(100);
    }
    report.resumed.push(rec.name);
  }
  // Then restart dead lab services (Toxiproxy first: the journal's rollbacks talk to it).
  const dead = lab.state.services.filter((s) => {
    const rec = lab.state.processes.find((p) => p.name === s);
    return !rec || !isAlive(rec);
  }).sort((a, b) => (a === 'toxiproxy' ? -1 : b === 'toxiproxy' ? 1 : 0));
  for (const s of dead) {
    await attempt(`restarting ${s}`, async () => {
      await lab.restartService(s);
      report.restarted.push(s);
    });
  }

  for (const entry of readJournal(lab)) {
    await attempt(`rolling back ${entry.id}`, async () => {
      const r = await createFault(entry.spec).rollback(ctx);
      report.journal.push({ id: entry.id, ...r });
    });
  }

  await attempt('toxiproxy sweep', async () => {
    for (const proxy of await proxyNames(lab)) {
      for (const t of await listToxics(lab, proxy)) {
        // Someone else's Toxiproxy: only the harness's own toxics (the journal re-enabled what it disabled).
        if (lab.isExternal && !t.name.startsWith(TOXIC_PREFIX)) continue;
        await deleteToxic(lab, proxy, t.name);
        report.toxicsRemoved++;
      }
      if (!lab.isExternal && !(await proxyEnabled(lab, proxy))) {
        await setProxyEnabled(lab, proxy, true);
        report.proxiesEnabled++;
      }
    }
  });

  const ns = lab.netns?.name;
  if (ns) {
    await attempt('nft sweep', async () => {
      report.nftChainsRemoved = await deleteChains(ns, (await listChains(ns)).filter((c) => c.startsWith(CHAIN_PREFIX)));
    });
  }

  // Everything the journal could list has been swept: an entry whose own rollback failed is moot now.
  if (report.errors.length === 0) rmSync(journalFile(lab.name), { force: true });
  o.log?.(`cleanup: ${report.journal.length} journal entries, ${report.toxicsRemoved} toxics, ${report.proxiesEnabled} proxies enabled, ${report.nftChainsRemoved} nft chains, resumed [${report.resumed.join(', ')}], restarted [${report.restarted.join(', ')}]${report.errors.length ? `; errors: ${report.errors.join('; ')}` : ''}`);
  return report;
}
