/**
 * `bench.json`: one SFU capacity benchmark run as a file — the shape, the budgets it was judged by, every step
 * measured (calibration, step-up, bisection) with its judgement, the search's result, the verdict and, with
 * `--baseline`, the comparison. The run directory's history: the report and JUnit are rendered from it, and a
 * later run's `--baseline` reads it back (zod-validated; errors name the file and field).
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { RoomShapeSchema } from './room-shape.js';
import type { KneeResult } from './knee-search.js';

export const BENCH_FILES = { json: 'bench.json', report: 'report.html', junit: 'junit.xml', log: 'bench.log' } as const;

const num = z.number().finite();
const nullableNum = num.nullable();

export const SfuStepSchema = z.object({
  level: z.number().int().min(1),
  consumers: z.number().int().min(0),
  workerCpu: nullableNum,
  loss: nullableNum,
  delayP50Ms: nullableNum,
  delayP95Ms: nullableNum,
  generatorCpu: nullableNum,
  packets: z.number().int().min(0),
  silentConsumers: z.number().int().min(0),
  rooms: z.number().int().min(0).optional(),
  wantedConsumers: z.number().int().min(0).optional(),
  jitterP95Ms: nullableNum.optional(),
  bitrateInKbps: nullableNum.optional(),
  bitrateOutKbps: nullableNum.optional(),
  payloadOutKbps: nullableNum.optional(),
  nackPerS: nullableNum.optional(),
  pliPerS: nullableNum.optional(),
  generatorLagP95Ms: nullableNum.optional(),
  generatorLagP99Ms: nullableNum.optional(),
  workerWait: nullableNum.optional(),
  workerSys: nullableNum.optional(),
  workerCoreBusy: nullableNum.optional(),
  unannouncedPackets: z.number().int().min(0).optional(),
  joinS: num.optional(),
  windowS: num.optional(),
  errors: z.array(z.string()).optional(),
  roomsNotJoined: z.number().int().min(0).optional(),
  delayHistogram: z.object({ hdr: z.string().min(1), count: z.number().int().min(1), sum: num, min: num, max: num }).strict().optional(),
  workerCpuFitted: z.object({ value: num, windows: z.number().int().min(1), loads: z.number().int().min(1) }).strict().optional(),
  windowMedian: z.object({ windows: z.number().int().min(1), loss: nullableNum, delayP50Ms: nullableNum, delayP95Ms: nullableNum }).strict().optional(),
}).strict();

const CrossedSchema = z.object({ metric: z.string(), stat: z.string(), op: z.enum(['<', '<=', '>', '>=', '==']), limit: num, value: num, read: z.string().optional() }).strict();

const JudgementSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('good') }).strict(),
  z.object({ kind: z.literal('past-knee'), crossed: z.array(CrossedSchema) }).strict(),
  z.object({ kind: z.literal('inconclusive'), reason: z.string(), disturbed: z.literal(true).optional() }).strict(),
]);

const JudgedStepSchema = z.object({ step: SfuStepSchema, judgement: JudgementSchema, phase: z.enum(['step-up', 'bisect', 'confirm']) }).strict();

export const KneeResultSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('knee'), capacity: z.number().int().min(0), lastGood: SfuStepSchema.nullable(), firstBad: SfuStepSchema,
    bisection: z.union([z.object({ complete: z.literal(true) }).strict(), z.object({ complete: z.literal(false), reason: z.string() }).strict()]),
    confirmation: z.union([z.object({ confirmed: z.literal(true) }).strict(), z.object({ confirmed: z.literal(false), reason: z.string(), exhausted: z.literal(true).optional() }).strict()]).optional(),
    steps: z.array(JudgedStepSchema),
  }).strict(),
  z.object({ status: z.literal('no-knee'), atLeast: z.number().int().min(0), lastGood: SfuStepSchema, steps: z.array(JudgedStepSchema) }).strict(),
  z.object({ status: z.literal('inconclusive'), reason: z.string(), atLeast: z.number().int().min(0).nullable(), steps: z.array(JudgedStepSchema) }).strict(),
]);

const VerdictSchema = z.enum(['PASS', 'FAIL', 'INCONCLUSIVE']);

export const CrossCheckSideSchema = z.object({
  participants: z.number().int().min(1),
  consumers: z.number().int().min(0),
  bitrateOutKbps: nullableNum,
  loss: nullableNum,
}).strict();

export const BenchResultSchema = z.object({
  schemaVersion: z.literal(1),
  kind: z.literal('sfu-capacity'),
  id: z.string(),
  startedAt: z.string(),
  endedAt: z.string(),
  target: z.object({ kind: z.enum(['embedded', 'external']), baseUrl: z.string(), profile: z.string().optional(), env: z.record(z.string(), z.string()).optional() }).strict(),
  shape: RoomShapeSchema,
  /** What each step was judged by (fixtures/budgets.yaml benches.sfu, or the file given). */
  budgets: z.object({
    knee: z.array(z.object({ metric: z.string(), stat: z.string(), op: z.enum(['<', '<=', '>', '>=', '==']), value: num }).strict()),
    generatorCpuMax: num,
    baselineTolerance: num,
    workerWaitMax: num.optional(),
    generatorLagMaxMs: num.optional(),
  }).strict(),
  /** Knee budgets left out, and why (an external target's worker CPU cannot be read). */
  notJudged: z.array(z.string()),
  pinning: z.object({ workerCore: z.number().int(), otherCores: z.string(), pids: z.number().int().array() }).strict().nullable(),
  /** The worker's core's speed (src/bench/core-speed.ts, hashes/s) with no room open, at the start and the end; pinned runs only. */
  coreSpeed: z.object({ core: z.number().int(), before: z.number().positive(), after: z.number().positive() }).strict().optional(),
  calibration: z.object({
    steps: z.array(SfuStepSchema),
    /** The generator's CPU (share of a core): fixed part and per consumer, from the calibration steps. */
    generatorFixed: num,
    generatorPerConsumer: num,
    /** The largest level the search may ask for (generator kept below its budget), and the plan it gave. */
    maxRooms: z.number().int().min(1),
    levels: z.array(z.number().int().min(1)),
  }).strict(),
  result: KneeResultSchema,
  verdict: VerdictSchema,
  reason: z.string(),
  baseline: z.object({
    run: z.string(), verdict: VerdictSchema, reason: z.string(), capacity: z.string(),
    /** This run's step at the baseline's capacity level, beside the baseline's own (quality at the same load). */
    atBaselineCapacity: z.object({ consumers: z.number().int().min(0), now: SfuStepSchema, baseline: SfuStepSchema }).strict().optional(),
    /** The worker's CPU at equal loads, this run's over the baseline's (baseline.ts compareCost); null: not comparable. */
    cost: z.object({ ratio: num, pairs: z.number().int().min(1), impliedDrop: num }).strict().nullable().optional(),
  }).strict().optional(),
  crossCheck: z.object({ browser: CrossCheckSideSchema, synthetic: CrossCheckSideSchema, agree: z.boolean(), note: z.string() }).strict().optional(),
  durationS: num,
  error: z.string().optional(),
}).strict();

export type BenchResult = z.output<typeof BenchResultSchema>;

export class BenchResultError extends Error {
  override name = 'BenchResultError';
}

export function writeBenchResult(dir: string, r: BenchResult): string {
  const file = join(dir, BENCH_FILES.json);
  writeFileSync(file, `${JSON.stringify(BenchResultSchema.parse(r), null, 2)}\n`);
  return file;
}

/** A run directory or its bench.json. */
export function readBenchResult(path: string): BenchResult {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, BENCH_FILES.json) : path;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new BenchResultError(`${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const r = BenchResultSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new BenchResultError(`${file}: ${i.path.join('.') || '(top level)'}: ${i.message}`);
  }
  return r.data;
}

/** The capacity as a run knows it: "480", "≥ 480", or "none". */
export function capacityText(r: KneeResult): string {
  return r.status === 'knee' ? `${r.capacity}` : r.status === 'no-knee' ? `≥ ${r.atLeast}` : r.atLeast === null ? 'none' : `≥ ${r.atLeast} (inconclusive)`;
}
