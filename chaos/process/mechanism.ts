import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Mechanism } from '../mechanisms.js';
import { KillRestartFault } from './kill-restart.js';
import { PauseFault } from './pause.js';
import { isAlive, signalTree, treeStates } from './targets.js';

export type ProcessAction = 'pause' | 'kill-restart';

export const ProcessSpecSchema = z.object({
  action: z.enum(['pause', 'kill-restart']),
  /**
   * A lab service (`redis`, `postgres`, …), a target service (`target:chat`, `target:<instance>:chat`), or the SFU's
   * mediasoup workers of the target's video service (`target:sfu-worker`, `target:<instance>:sfu-worker`; pause only).
   */
  target: z.string().regex(/^(target:([a-z0-9-]+:)?([a-z]+|sfu-worker)|[a-z]+)$/, 'must be a lab service (redis, postgres, …) or target:<service> / target:<instance>:<service> / target:sfu-worker'),
}).strict().refine((p) => !(p.action === 'kill-restart' && p.target.endsWith(':sfu-worker')), { message: 'target:sfu-worker can only be paused (a killed worker is not restarted by the video service)', path: ['target'] });
export type ProcessFaultSpec = z.infer<typeof ProcessSpecSchema>;

const stopped = (pid: number): number => treeStates(pid).T ?? 0;

/**
 * Process signals: `process:` (pause = SIGSTOP of the process tree, kill-restart = SIGKILL, restarted
 * on rollback). Recover, before the journal: every stopped recorded process resumed, every dead lab
 * service restarted, so the journal's rollbacks and the other sweeps find their servers answering.
 */
export const processMechanism: Mechanism<{ process: ProcessFaultSpec }> = {
  name: 'process',
  specs: {
    process: {
      schema: ProcessSpecSchema,
      target: (p) => p.target,
      create: (p, meta) => (p.action === 'pause' ? new PauseFault(meta, p.target) : new KillRestartFault(meta, p.target)),
    },
  },
  async recover({ lab, report, attempt }) {
    // Resume first: a paused Toxiproxy or coturn would make every later step hang or fail.
    for (const rec of lab.state.processes) {
      if (!isAlive(rec) || stopped(rec.pid) === 0) continue;
      // Twice, apart: a wrapper (runuser) stops itself again after noticing its child was stopped.
      for (let i = 0; i < 10 && (i === 0 || stopped(rec.pid) > 0); i++) {
        signalTree(rec.pid, 'SIGCONT');
        await sleep(100);
      }
      report.resumed.push(rec.name);
    }
    // Then restart dead lab services, Toxiproxy first: the journal's rollbacks talk to it.
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
  },
};
