import { BaseFault, errText, type CheckResult, type FaultContext, type FaultLab, type FaultMeta } from '../fault.js';
import { chainCounters, deleteChains, faultChains, listChains, nft, requireNetns, turnPortSet, NFT_FAMILY, NFT_TABLE, type RuleCounter } from './nft.js';
import { stunBurst, type StunBurstResult } from './stun-burst.js';

/** What one UDP action adds after `udp dport|sport <turn ports>`, e.g. `numgen random mod 100 < 30`. */
export interface UdpAction {
  /** Human label: `loss 30 %`. */
  label: string;
  /** nft match+statements placed before `counter drop`. */
  match: string;
  verify(m: UdpMeasure): CheckResult;
  /** STUN requests verify() sends (0: counters only). */
  burst: number;
}

export interface UdpMeasure {
  burst: StunBurstResult | null;
  counters: { input: RuleCounter[]; output: RuleCounter[] };
}

const sum = (rs: RuleCounter[], comment: string): number => rs.filter((r) => r.comment === comment).reduce((a, r) => a + r.packets, 0);
export const seen = (m: UdpMeasure): number => sum(m.counters.input, 'seen') + sum(m.counters.output, 'seen');
export const dropped = (m: UdpMeasure): number => sum(m.counters.input, 'drop') + sum(m.counters.output, 'drop');

/**
 * A UDP fault on coturn's listener and relay ports, inside the lab namespace. Two base chains per
 * fault, each rule with a counter so verify() can read what really happened; rollback deletes exactly
 * this fault's chains. Every packet is dropped where it is received, never where coturn sends it: a
 * drop in the output hook fails coturn's sendto() with EPERM, and coturn then closes that client's
 * socket (its allocation dies: media stops for good instead of losing packets). So `input` takes what
 * reaches coturn (dport) and what coturn sends to a receiver in the namespace (sport: browsers, the SFU,
 * coturn's own relay ports — a packet crossing coturn twice meets the rule twice); `output` takes only
 * what leaves the namespace (oifname not lo: the harness's own STUN probe from the host), where nothing
 * else can drop it.
 */
export class UdpFault extends BaseFault {
  readonly mechanism = 'nft' as const;

  constructor(meta: FaultMeta, private readonly action: UdpAction) {
    super(meta);
  }

  private chains() {
    return faultChains(this.id);
  }

  protected async applyFault(ctx: FaultContext): Promise<void> {
    const ns = requireNetns(ctx.lab, this.id, this.action.label);
    const ports = turnPortSet(ctx.lab);
    const { input, output } = this.chains();
    await deleteChains(ns, [input, output]);
    const t = `${NFT_FAMILY} ${NFT_TABLE}`;
    // Priority -10: before any accept a later chain might add.
    const rules = (chain: string, sel: string) => [
      `add rule ${t} ${chain} ${sel} counter comment "seen"`,
      `add rule ${t} ${chain} ${sel} ${this.action.match} counter drop comment "drop"`,
    ];
    const script = [
      `add chain ${t} ${input} { type filter hook input priority -10 ; policy accept ; }`,
      ...rules(input, `udp dport ${ports}`),
      ...rules(input, `udp sport ${ports}`),
      `add chain ${t} ${output} { type filter hook output priority -10 ; policy accept ; }`,
      ...rules(output, `meta oifname != "lo" udp sport ${ports}`),
    ].join('\n');
    await nft(ns, ['-f', '-'], `${script}\n`);
  }

  private async measure(lab: FaultLab, ns: string, burst: number): Promise<UdpMeasure | null> {
    const b = burst > 0 ? await stunBurst(lab.address, lab.ports.service.coturn, { count: burst }) : null;
    const { input, output } = this.chains();
    const ci = await chainCounters(ns, input);
    const co = await chainCounters(ns, output);
    if (!ci || !co) return null;
    return { burst: b, counters: { input: ci, output: co } };
  }

  protected async verifyFault(ctx: FaultContext): Promise<CheckResult> {
    const ns = requireNetns(ctx.lab, this.id, this.action.label);
    try {
      const m = await this.measure(ctx.lab, ns, this.action.burst);
      if (!m) return { ok: false, detail: `chains ${this.chains().input}/${this.chains().output} not in ${ns}` };
      return this.action.verify(m);
    } catch (e) {
      return { ok: false, detail: `measuring ${this.action.label}: ${errText(e)}` };
    }
  }

  protected async rollbackFault(ctx: FaultContext): Promise<CheckResult> {
    const ns = ctx.lab.netns?.name;
    if (!ns) return { ok: true, detail: 'no lab namespace: nothing was applied' };
    try {
      const { input, output } = this.chains();
      const removed = await deleteChains(ns, [input, output]);
      const left = (await listChains(ns)).filter((c) => c === input || c === output);
      if (left.length) return { ok: false, detail: `chains still present: ${left.join(', ')}` };
      const b = await stunBurst(ctx.lab.address, ctx.lab.ports.service.coturn, { count: 10, gapMs: 5, waitMs: 500 });
      const ok = b.answered >= 8;
      return { ok, detail: `${removed} chain(s) removed; coturn answered ${b.answered}/${b.sent} STUN bindings` };
    } catch (e) {
      return { ok: false, detail: `removing ${this.action.label}: ${errText(e)}` };
    }
  }
}
