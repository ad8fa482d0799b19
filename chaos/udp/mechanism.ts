import { z } from 'zod';
import type { Mechanism } from '../mechanisms.js';
import { udpLoss } from './loss.js';
import { CHAIN_PREFIX, deleteChains, listChains } from './nft.js';
import { udpOutage } from './outage.js';
import { udpRateCap } from './rate-cap.js';
import { UdpFault } from './udp-fault.js';

export type UdpAction = 'loss' | 'outage' | 'rate-cap';

export const UdpSpecSchema = z.object({
  action: z.enum(['loss', 'outage', 'rate-cap']),
  /** loss: share of packets dropped, each direction (0..100). */
  percent: z.number().min(0).max(100).optional(),
  /** rate-cap: allowed rate per direction. */
  kbytesPerSecond: z.number().positive().optional(),
}).strict().superRefine((u, ctx) => {
  if (u.action === 'loss' && u.percent === undefined) ctx.addIssue({ code: 'custom', path: ['percent'], message: 'required for action "loss"' });
  if (u.action === 'rate-cap' && u.kbytesPerSecond === undefined) ctx.addIssue({ code: 'custom', path: ['kbytesPerSecond'], message: 'required for action "rate-cap"' });
});
export type UdpSpec = z.infer<typeof UdpSpecSchema>;

/**
 * nftables: `udp:` (loss, outage, rate cap on coturn's UDP ports, chains `fault-<faultId>-in|out` in
 * the lab namespace). Sweep: every `fault-*` chain of the lab's table.
 */
export const udpMechanism: Mechanism<{ udp: UdpSpec }> = {
  name: 'nft',
  specs: {
    udp: {
      schema: UdpSpecSchema,
      target: () => 'turn-udp',
      create: (u, meta) => new UdpFault(meta, u.action === 'loss' ? udpLoss(u.percent!) : u.action === 'outage' ? udpOutage() : udpRateCap(u.kbytesPerSecond!)),
    },
  },
  async sweep({ lab, report, attempt }) {
    const ns = lab.netns?.name;
    if (!ns) return;
    await attempt('nft sweep', async () => {
      report.nftChainsRemoved = await deleteChains(ns, (await listChains(ns)).filter((c) => c.startsWith(CHAIN_PREFIX)));
    });
  },
};
