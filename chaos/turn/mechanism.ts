import type { Mechanism } from '../mechanisms.js';
import { freeLeftoverAllocations } from './relay-exhaust.js';

/**
 * A TURN client holding relay allocations (the named fault `turn-relay-exhaust`; no spec key of its own).
 * Sweep: the holder's sockets die with it and coturn keeps their allocations its 600 s lifetime, so when an
 * Allocate is refused for capacity with no fault on, coturn is restarted (it comes back with none).
 */
export const turnMechanism: Mechanism<Record<never, never>> = {
  name: 'turn',
  specs: {},
  async sweep({ lab, attempt }) {
    await attempt('TURN relay sweep', async () => {
      const r = await freeLeftoverAllocations(lab);
      if (r.freed === false) throw new Error(r.detail);
    });
  },
};
