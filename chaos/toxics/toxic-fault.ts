import type { z } from 'zod';
import { BaseFault, errText, type CheckResult, type FaultContext, type FaultLab, type FaultMeta } from '../fault.js';
import { probeRtts } from '../path-probe.js';
import type { DependencyName } from '../types.js';
import type { ToxicStream, ToxicType } from './mechanism.js';
import { addToxic, listToxics, deleteToxic, toxicName } from './api.js';

/** What a toxic's verify() gets: the proxied path and the baseline measured before apply. */
export interface ToxicProbeContext {
  lab: FaultLab;
  dep: DependencyName;
  host: string;
  port: number;
  stream: ToxicStream;
  attributes: Record<string, number>;
  /** Median RTT through the proxy before the toxic (null when apply did not run in this process). */
  baselineMs: number | null;
}

/** One Toxiproxy toxic type: its attributes and how to see it on the wire. */
export interface ToxicKind<A extends Record<string, number> = Record<string, number>> {
  type: ToxicType;
  /** Attribute schema with Toxiproxy's field names (validated in fault specs). */
  attributes: z.ZodType<A>;
  expectedLatencyMs?(attrs: A): number;
  verify(p: ToxicProbeContext & { attributes: A }): Promise<CheckResult>;
}

export interface ToxicFaultOptions {
  proxy: DependencyName;
  attributes: Record<string, number>;
  stream?: ToxicStream;
  toxicity?: number;
}

/** A toxic on one proxy, named `sch-<faultId>`; rollback deletes exactly that toxic. */
export class ToxicFault extends BaseFault {
  readonly mechanism = 'toxiproxy' as const;
  readonly expectedLatencyMs?: number;
  private baselineMs: number | null = null;

  constructor(meta: FaultMeta, private readonly kind: ToxicKind, private readonly o: ToxicFaultOptions) {
    super(meta);
    const attrs = kind.attributes.parse(o.attributes);
    if (kind.expectedLatencyMs) this.expectedLatencyMs = kind.expectedLatencyMs(attrs);
  }

  get toxicName(): string {
    return toxicName(this.id);
  }

  private path(lab: FaultLab): { host: string; port: number } {
    return lab.endpoint(this.o.proxy);
  }

  protected async applyFault(ctx: FaultContext): Promise<void> {
    const { host, port } = this.path(ctx.lab);
    // Baseline through the same proxy, so verify() compares like with like. Its floor, not its median: a busy moment
    // while it is taken (5 connections at once on a loaded machine: a median of 24 ms for a 2 ms path, measured) would
    // otherwise shrink what the toxic seems to add.
    this.baselineMs = floorMs((await probeRtts(this.o.proxy, host, port, 5)).rtts);
    // A half-applied earlier attempt may have left the toxic: replace it.
    if ((await listToxics(ctx.lab, this.o.proxy)).some((t) => t.name === this.toxicName)) await deleteToxic(ctx.lab, this.o.proxy, this.toxicName);
    await addToxic(ctx.lab, this.o.proxy, { name: this.toxicName, type: this.kind.type, stream: this.o.stream ?? 'downstream', toxicity: this.o.toxicity ?? 1, attributes: this.kind.attributes.parse(this.o.attributes) });
  }

  protected async verifyFault(ctx: FaultContext): Promise<CheckResult> {
    const present = (await listToxics(ctx.lab, this.o.proxy)).some((t) => t.name === this.toxicName);
    if (!present) return { ok: false, detail: `toxic ${this.toxicName} is not on proxy ${this.o.proxy}` };
    const { host, port } = this.path(ctx.lab);
    let baselineMs = this.baselineMs;
    if (baselineMs === null) {
      // Applied by another process: the server directly is the nearest baseline we can get.
      const d = ctx.lab.directEndpoint(this.o.proxy);
      baselineMs = floorMs((await probeRtts(this.o.proxy, d.host, d.port, 3)).rtts);
    }
    try {
      return await this.kind.verify({ lab: ctx.lab, dep: this.o.proxy, host, port, stream: this.o.stream ?? 'downstream', attributes: this.kind.attributes.parse(this.o.attributes), baselineMs });
    } catch (e) {
      return { ok: false, detail: `measuring ${this.kind.type} on ${this.o.proxy}: ${errText(e)}` };
    }
  }

  protected async rollbackFault(ctx: FaultContext): Promise<CheckResult> {
    try {
      await deleteToxic(ctx.lab, this.o.proxy, this.toxicName);
      const left = (await listToxics(ctx.lab, this.o.proxy)).some((t) => t.name === this.toxicName);
      if (left) return { ok: false, detail: `toxic ${this.toxicName} still on proxy ${this.o.proxy}` };
      const { host, port } = this.path(ctx.lab);
      const after = await probeRtts(this.o.proxy, host, port, 3);
      if (after.medianMs === null) return { ok: false, detail: `toxic removed, but ${this.o.proxy} does not answer through its proxy: ${after.failures[0] ?? ''}` };
      return { ok: true, detail: `toxic ${this.toxicName} removed; ${this.o.proxy} answers through its proxy in ${after.medianMs.toFixed(1)} ms` };
    } catch (e) {
      return { ok: false, detail: `rollback of ${this.toxicName}: ${errText(e)}` };
    }
  }
}

export const fmt = (ms: number | null): string => (ms === null ? 'n/a' : `${ms.toFixed(1)} ms`);

/** The fastest round trip of a baseline (null when none answered). */
function floorMs(rtts: readonly number[]): number | null {
  return rtts.length ? Math.min(...rtts) : null;
}
