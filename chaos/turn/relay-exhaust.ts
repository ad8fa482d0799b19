import { setTimeout as sleep } from 'node:timers/promises';
import { turnRestCredentials } from '../../src/lab/credentials.js';
import { turnHold, TurnError, type HeldAllocation } from '../../src/lab/turn-client.js';
import { BaseFault, errText, FaultError, type CheckResult, type FaultContext, type FaultLab, type FaultMeta } from '../fault.js';

/**
 * coturn's answers that mean "no relay left": 508 Insufficient Capacity (what it answers, as "Cannot create
 * socket", when its relay port range is used up — measured) and 486 Allocation Quota Reached (its total-quota /
 * user-quota, SecureConnect's production configuration's `total-quota=100`).
 */
export const CAPACITY_CODES: readonly number[] = [508, 486];
/** Asked of coturn; it grants its default of 600 s whatever less is asked (measured), so a crash sweep restarts it. */
const LIFETIME_S = 60;
/** Beyond the relay range: allocations the fault tries before it stops without a refusal (then verify says so). */
const MARGIN = 16;
/** coturn frees a released relay port on its next timer tick (~1 s, measured): how long rollback waits for a free one. */
const FREED_WITHIN_MS = 5_000;

/** Short-lived TURN REST credentials from the lab's shared secret (null when the lab does not expose it). */
function credentialsOf(lab: FaultLab, user: string): { username: string; password: string } | null {
  const secret = lab.credentials?.turnSecret;
  return secret ? turnRestCredentials(secret, user, 3600) : null;
}

export type AllocateOutcome = { kind: 'allocated'; held: HeldAllocation } | { kind: 'capacity'; code: number; reason: string } | { kind: 'error'; detail: string };

/** One Allocate against the lab's coturn, classified: a relay, a refusal for capacity, or anything else. */
export async function tryAllocate(lab: FaultLab, creds: { username: string; password: string }): Promise<AllocateOutcome> {
  try {
    return { kind: 'allocated', held: await turnHold({ host: lab.address, port: lab.ports.service.coturn, ...creds, lifetimeSeconds: LIFETIME_S, timeoutMs: 2000 }) };
  } catch (e) {
    if (e instanceof TurnError && CAPACITY_CODES.includes(e.code)) return { kind: 'capacity', code: e.code, reason: e.reason };
    return { kind: 'error', detail: errText(e) };
  }
}

/**
 * After a crash the holder's sockets are gone and coturn keeps its allocations 600 s: when the relay is
 * still full with nothing of ours held, restart coturn (the lab's own server: it comes back empty).
 * `freed`: an Allocate works now (null: not ours to judge — no lab coturn, or it does not answer Allocates at all,
 * which is no leftover of this fault).
 */
export async function freeLeftoverAllocations(lab: FaultLab): Promise<{ freed: boolean | null; detail: string }> {
  const creds = credentialsOf(lab, 'sch-sweep');
  if (!creds || lab.isExternal || !lab.state.services.includes('coturn')) return { freed: null, detail: 'no lab coturn' };
  const probe = await tryAllocate(lab, creds);
  if (probe.kind === 'allocated') {
    await probe.held.release();
    return { freed: true, detail: 'nothing held; an Allocate works' };
  }
  if (probe.kind === 'error') return { freed: null, detail: `TURN Allocate probe: ${probe.detail}` };
  await lab.restartService('coturn');
  const after = await tryAllocate(lab, creds);
  if (after.kind === 'allocated') await after.held.release();
  const then = after.kind === 'allocated' ? 'worked' : after.kind === 'capacity' ? `was refused again (${after.code})` : `failed: ${after.detail}`;
  return { freed: after.kind === 'allocated', detail: `coturn refused an Allocate (${probe.code} ${probe.reason}) with no fault holding relays: restarted it; an Allocate then ${then}` };
}

/**
 * The TURN relay used up as a real load would use it: real Allocate requests (the lab's TURN REST credentials,
 * one UDP socket each, as many clients) until coturn refuses one for capacity, each held and refreshed while the
 * fault is on. Rollback releases each with a zero-lifetime Refresh and waits until an Allocate works again.
 * Held by the process that applied it: left on by `sch fault apply` (which exits), the allocations stay without
 * refresh, until coturn's 600 s lifetime or `sch fault clear` (a rollback with nothing held: coturn restarted).
 */
export class TurnRelayExhaustFault extends BaseFault {
  readonly mechanism = 'turn' as const;
  private held: HeldAllocation[] = [];
  private refusal: { code: number; reason: string } | null = null;
  private refresher: NodeJS.Timeout | null = null;

  constructor(meta: FaultMeta) {
    super(meta);
  }

  private creds(lab: FaultLab): { username: string; password: string } {
    const c = credentialsOf(lab, `sch-fault-${this.id}`);
    if (!c) throw new FaultError(`fault "${this.id}" (TURN relay exhaustion) needs the lab's TURN secret: an external deployment's TURN is not ours to fill`);
    return c;
  }

  protected async applyFault(ctx: FaultContext): Promise<void> {
    const creds = this.creds(ctx.lab);
    const bound = ctx.lab.ports.turnRelay.max - ctx.lab.ports.turnRelay.min + 1 + MARGIN;
    for (let i = 0; i < bound && !this.refusal; i++) {
      const r = await tryAllocate(ctx.lab, creds);
      if (r.kind === 'allocated') this.held.push(r.held);
      else if (r.kind === 'capacity') this.refusal = { code: r.code, reason: r.reason };
      else throw new FaultError(`fault "${this.id}": Allocate ${i + 1} failed: ${r.detail}`);
    }
    ctx.log?.(`fault ${this.id}: holding ${this.held.length} relay allocations; ${this.refusal ? `the next was refused: ${this.refusal.code} ${this.refusal.reason}` : `no refusal within ${bound} allocations`}`);
    // Refresh well before coturn's granted lifetime runs out (every third of it), for as long as the fault is on.
    const every = Math.max(5, Math.min(...this.held.map((h) => h.lifetimeSeconds), LIFETIME_S) / 3) * 1000;
    this.refresher = setInterval(() => void Promise.all(this.held.map((h) => h.refresh().catch(() => 0))), every);
    this.refresher.unref();
  }

  /** On the wire: every held allocation still refreshes, and one more Allocate is refused for capacity. */
  protected async verifyFault(ctx: FaultContext): Promise<CheckResult> {
    try {
      const creds = this.creds(ctx.lab);
      const alive = (await Promise.all(this.held.map((h) => h.refresh().then(() => true, () => false)))).filter(Boolean).length;
      const extra = await tryAllocate(ctx.lab, creds);
      if (extra.kind === 'allocated') await extra.held.release();
      const said = extra.kind === 'allocated' ? `one more Allocate got relay port ${extra.held.relayed.port}` : extra.kind === 'capacity' ? `one more Allocate refused: ${extra.code} ${extra.reason}` : `one more Allocate failed otherwise: ${extra.detail}`;
      return { ok: extra.kind === 'capacity' && alive > 0, detail: `${alive}/${this.held.length} held relay allocations refreshed; ${said}` };
    } catch (e) {
      return { ok: false, detail: `measuring the TURN relay: ${errText(e)}` };
    }
  }

  protected async rollbackFault(ctx: FaultContext): Promise<CheckResult> {
    if (this.refresher) clearInterval(this.refresher);
    this.refresher = null;
    const mine = this.held.length;
    const released = (await Promise.all(this.held.map((h) => h.release()))).filter(Boolean).length;
    this.held = [];
    this.refusal = null;
    try {
      if (mine === 0) {
        // Another process's fault (a crashed run's journal entry): its sockets are gone.
        const swept = await freeLeftoverAllocations(ctx.lab);
        return { ok: swept.freed !== false, detail: swept.detail };
      }
      const creds = this.creds(ctx.lab);
      const deadline = Date.now() + FREED_WITHIN_MS;
      let last: AllocateOutcome = { kind: 'error', detail: 'not tried' };
      for (let i = 0; i < 50 && Date.now() < deadline; i++) {
        last = await tryAllocate(ctx.lab, creds);
        if (last.kind === 'allocated') break;
        await sleep(200);
      }
      if (last.kind === 'allocated') await last.held.release();
      const ok = last.kind === 'allocated' && released === mine;
      return { ok, detail: `${released}/${mine} allocations released (Refresh lifetime 0 confirmed); ${last.kind === 'allocated' ? 'an Allocate works again' : `an Allocate still fails: ${last.kind === 'capacity' ? `${last.code} ${last.reason}` : last.detail}`}` };
    } catch (e) {
      return { ok: false, detail: `releasing TURN allocations: ${errText(e)}` };
    }
  }
}
