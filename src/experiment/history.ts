/**
 * A run directory is the run's whole history (Jepsen's history): everything `analyze` needs to
 * re-derive phases, calibration, every verdict and the reports, with nothing kept in memory only.
 *
 *   manifest.json            what was asked: the experiment as run, seed, options, versions; then, as the run
 *                            goes, runStartMs and the fault timeline (scheduled and actual times, verify, rollback)
 *   run.json                 how it ended: runEndMs, a run error, each workload's k6 exit and failure
 *   events.jsonl             the fault timeline as events (applied / verified / removed, with cycles): for live views
 *   observations.jsonl       the runner's own samples: path RTT through faulted proxies, the target's own
 *                            connections through them, the proxies' traffic counters, the generator's CPU, each
 *                            service's /metrics series and processes (server-observer.ts) (one JSON Sample a line)
 *   observations.<k>.jsonl.gz   a long run's earlier observations (observation-rotator.ts): the same lines, closed
 *                            and gzipped every few MB; the stream is the segments in order, then observations.jsonl
 *   workloads/<id>/          k6's raw samples (samples.csv.gz with metric-kinds.json beside it; samples.csv
 *                            while k6 runs or after a killed run; older runs: samples.json.gz), summary.json, k6.log (console output: the
 *                            fan-out SETUP / SENT / DELIVERY records; k6.log.gz past 8 MiB; while k6 runs, or after a killed run,
 *                            its two streams as k6.log.{stdout,stderr}.part.gz, gzip members), options.json
 *   workloads/<id>/windows.jsonl.gz   a long run's rotated samples (--rotate-samples; src/results/window-segment.ts):
 *                            one segment a line, each line a gzip member (older runs: plain windows.jsonl), each standing for the raw lines [fromByte, toByte) of the samples file
 *                            beside it — per series and 1 s window the accumulators (HDR at 3 digits, exact counts,
 *                            sums, min, max), the windows holding a phase boundary raw; those lines are then released
 *                            from the samples file (zeros), whose raw samples start at the last segment's end
 *   checkpoint.json          rewritten every 30 s while the load runs (checkpoint.ts): up to when the history is
 *                            complete, faults on, workloads; a run killed outright (no run.json) is judged up to it
 *   workloads/<id>/setup/, g1/, g2/, …   a workload split over generators (split-workload.ts): the setup-only
 *                            run's log, then each instance's own samples, kinds, summary and log
 *   workloads/<id>/history.json   chat workloads: each conversation's history, read after the run
 *   run.log                  the runner's log
 * Derived (rewritten by `sch analyze`): result.json, junit.xml, report.html, report.png.
 *
 * Every file is read back through a zod schema, so a damaged history fails naming the file and field.
 */
import { appendFileSync, createReadStream, existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip, gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { z } from 'zod';
import type { FaultRecord, Sample } from '../results/model.js';
import type { FaultEvent } from '../results/fault-events.js';
import { ExperimentError, formatIssues, validateExperiment, type Experiment } from './spec.js';
import { forEachJsonLine, readJsonLines } from '../util/jsonl.js';
import { K6_LOG_GZ, K6_LOG_PARTS, K6_LOG_PARTS_PLAIN, K6_LOG_STDERR_MARK, TOLERANT_GUNZIP } from '../k6/log-parts.js';
import { EXPOSURES } from './calibration.js';

export const HISTORY_FILES = {
  manifest: 'manifest.json',
  run: 'run.json',
  observations: 'observations.jsonl',
  /** The fault timeline as events (src/results/fault-events.ts): what a live view shows; the manifest's timeline is what analyze reads. */
  events: 'events.jsonl',
  log: 'run.log',
} as const;

export const workloadDir = (runDir: string, id: string): string => join(runDir, 'workloads', id);
export const WORKLOAD_FILES = { samples: 'samples.csv.gz', samplesLive: 'samples.csv', windows: 'windows.jsonl.gz', windowsPlain: 'windows.jsonl', samplesJson: 'samples.json.gz', metricKinds: 'metric-kinds.json', summary: 'summary.json', log: 'k6.log', logGz: K6_LOG_GZ, history: 'history.json' } as const;

/**
 * A workload's raw samples as written: CSV, gzipped once k6 is done (plain while it runs, and after a
 * killed run), or JSON (older runs); null when none.
 */
function samplesIn(dir: string): string | null {
  for (const f of [WORKLOAD_FILES.samples, WORKLOAD_FILES.samplesLive, WORKLOAD_FILES.samplesJson]) {
    const p = join(dir, f);
    if (existsSync(p)) return p;
  }
  return null;
}

/** The windowed history beside a samples file in `dir` (gzipped; plain in older runs), or null. */
export function windowsIn(dir: string): string | null {
  for (const f of [WORKLOAD_FILES.windows, WORKLOAD_FILES.windowsPlain]) if (existsSync(join(dir, f))) return join(dir, f);
  return null;
}

/** A split workload's instance folders (g1, g2, …: split-workload.ts), in order; [] for a workload run as one k6. */
export function instanceDirs(runDir: string, id: string): string[] {
  const d = workloadDir(runDir, id);
  if (!existsSync(d)) return [];
  return readdirSync(d).filter((n) => /^g\d+$/.test(n)).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
}

/**
 * Every raw samples file of a workload, with the folder it sits in (its metric kinds beside it) and, for an
 * instance of a split workload, its generator (`g2`): the analysis merges them into one set of statistics.
 */
export function workloadSampleFiles(runDir: string, id: string): { path: string; dir: string; generator?: string }[] {
  const d = workloadDir(runDir, id);
  const gens = instanceDirs(runDir, id);
  if (gens.length === 0) {
    const p = samplesIn(d);
    return p ? [{ path: p, dir: d }] : [];
  }
  return gens.flatMap((g) => {
    const p = samplesIn(join(d, g));
    return p ? [{ path: p, dir: join(d, g), generator: g }] : [];
  });
}

/**
 * Where a k6 run's log is in `dir`: k6.log or k6.log.gz (a long one) whole, or the parts a run killed outright left
 * (k6/run.ts K6_LOG_PARTS, gzip members; older runs: plain), stdout and stderr, either possibly missing; null when none.
 */
function k6LogIn(dir: string): { whole: string } | { out: string | null; err: string | null } | null {
  for (const f of [WORKLOAD_FILES.log, WORKLOAD_FILES.logGz]) if (existsSync(join(dir, f))) return { whole: join(dir, f) };
  for (const parts of [K6_LOG_PARTS, K6_LOG_PARTS_PLAIN]) {
    const [out, err] = [parts.stdout, parts.stderr].map((f) => (existsSync(join(dir, f)) ? join(dir, f) : null));
    if (out || err) return { out: out ?? null, err: err ?? null };
  }
  return null;
}

/** The log's files, in order: the whole log, or stdout's part then stderr's. */
const k6LogFilesIn = (dir: string): string[] => {
  const l = k6LogIn(dir);
  return l === null ? [] : 'whole' in l ? [l.whole] : [l.out, l.err].filter((p): p is string => p !== null);
};

/** A log file's text: gzip (every member; a last one cut short read as far as it goes) or plain. */
const logText = (path: string): string => (path.endsWith('.gz') ? gunzipSync(readFileSync(path), TOLERANT_GUNZIP) : readFileSync(path)).toString('utf8');

/** Where a workload's k6 logs are, in order: its own folder, or a split workload's setup-only run's then each instance's. */
function logDirs(runDir: string, id: string): string[] {
  const d = workloadDir(runDir, id);
  return [d, join(d, 'setup'), ...instanceDirs(runDir, id).map((g) => join(d, g))];
}

/** A k6 run's log in `dir` as one text: k6.log (or .gz), or the parts joined by the stderr mark; null when none. */
function k6LogTextIn(dir: string): string | null {
  const l = k6LogIn(dir);
  if (l === null) return null;
  if ('whole' in l) return logText(l.whole);
  return `${l.out ? logText(l.out) : ''}${K6_LOG_STDERR_MARK}${l.err ? logText(l.err) : ''}`;
}

/** The workload's k6 console output as one text, in order; null when there is none. */
export function workloadLog(runDir: string, id: string): string | null {
  const logs = logDirs(runDir, id).map(k6LogTextIn).filter((l): l is string => l !== null);
  return logs.length ? logs.join('\n') : null;
}

/**
 * The workload's k6 console output line by line, in workloadLog's order, without holding it (a soak's chat log is
 * tens of MB); false when there is none.
 */
export async function forEachWorkloadLogLine(runDir: string, id: string, fn: (line: string) => void): Promise<boolean> {
  const files = logDirs(runDir, id).flatMap(k6LogFilesIn);
  for (const path of files) {
    const input = path.endsWith('.gz') ? createReadStream(path).pipe(createGunzip(TOLERANT_GUNZIP)) : createReadStream(path);
    for await (const line of createInterface({ input, crlfDelay: Infinity })) fn(line);
  }
  return files.length > 0;
}

const FaultRecordSchema = z.object({
  id: z.string(),
  entryId: z.string().optional(),
  cycle: z.number().int().min(1).optional(),
  name: z.string(),
  mechanism: z.enum(['toxiproxy', 'nft', 'process', 'turn']),
  target: z.string(),
  params: z.record(z.string(), z.unknown()),
  plannedStartS: z.number(),
  plannedDurationS: z.number(),
  scheduledApplyMs: z.number().optional(),
  scheduledRemoveMs: z.number().optional(),
  appliedAtMs: z.number().optional(),
  removedAtMs: z.number().optional(),
  rollbackIssuedAtMs: z.number().optional(),
  verifyStartedAtMs: z.number().optional(),
  verifiedAtMs: z.number().optional(),
  expectedLatencyMs: z.number().optional(),
  verified: z.boolean(),
  verifyDetail: z.string(),
  rolledBack: z.boolean(),
  error: z.string().optional(),
}).strict();

/** How the target was reached, and what the exposure check needs to know of it. */
const TargetInfoSchema = z.object({
  kind: z.enum(['embedded', 'external']),
  profile: z.string().optional(),
  baseUrl: z.string(),
  /** External targets: faults through the deployment's own Toxiproxy. */
  toxiproxyUrl: z.string().optional(),
  /** External targets: the video service (SC_VIDEO_URL of every workload). */
  videoUrl: z.string().optional(),
  /** How the exposure calibration is evidenced (calibration.ts); absent in older runs: from `kind`. */
  exposure: z.enum(EXPOSURES).optional(),
}).strict();

export const ManifestSchema = z.object({
  runId: z.string(),
  createdAt: z.string(),
  seed: z.number().int(),
  experiment: z.unknown(),
  options: z.object({
    profile: z.string().optional(),
    /** External targets: the reference profile whose expectations the verdicts are judged by (sch run --expect-profile). */
    expectProfile: z.string().optional(),
    targetEnv: z.record(z.string(), z.string()).optional(),
    workloadEnv: z.record(z.string(), z.record(z.string(), z.string())).optional(),
    labName: z.string(),
    basePort: z.number().optional(),
    allowRemote: z.boolean(),
  }).strict(),
  versions: z.record(z.string(), z.string()),
  target: TargetInfoSchema.optional(),
  /** What only the embedded reference target understands and an external one did not get (one line each). */
  notApplied: z.array(z.string()).optional(),
  /** External targets: the deployment's limits the probes were sized by — assumed, not set by the harness. */
  assumedParams: z.object({ rateLimitPerMinute: z.number().int().positive(), wsMaxConnections: z.number().int().positive() }).strict().optional(),
  runStartMs: z.number().optional(),
  /** An experiment with afterLoadS: when the target's own metrics were first read (before the load) and when the workloads ended. */
  observedFromMs: z.number().optional(),
  loadEndMs: z.number().optional(),
  /** The load generator at start (generator-capacity.ts): its idle cores, and why it may be short of CPU. */
  generator: z.object({ idleCores: z.number(), cores: z.number().int(), warning: z.string().optional() }).strict().optional(),
  timeline: z.array(FaultRecordSchema),
}).strict();

export type RunManifest = Omit<z.output<typeof ManifestSchema>, 'experiment' | 'timeline'> & { experiment: Experiment; timeline: FaultRecord[] };

const WorkloadEndSchema = z.object({
  id: z.string(),
  scenario: z.string(),
  profile: z.string(),
  /** k6's exit code (null: k6 never ran). */
  exitCode: z.number().int().nullable(),
  /** Why the workload counts as a failed run (k6 aborted, crashed, timed out, could not start); absent when it ran. */
  failure: z.string().optional(),
  failedThresholds: z.array(z.string()),
}).strict();
export type WorkloadEnd = z.output<typeof WorkloadEndSchema>;

export const RunEndSchema = z.object({
  runEndMs: z.number(),
  /** The run could not be carried out (refused target, lab failure, a workload that never ran…). */
  error: z.string().optional(),
  interrupted: z.boolean(),
  workloads: z.array(WorkloadEndSchema),
}).strict();
export type RunEnd = z.output<typeof RunEndSchema>;

const SampleSchema = z.object({ metric: z.string(), time: z.number(), value: z.number(), tags: z.record(z.string(), z.string()) }).strict();

export class HistoryError extends Error {
  override name = 'HistoryError';
}

/** A history file read and checked against its schema; a missing or damaged one is a HistoryError naming the file. */
export function readJson<S extends z.ZodType>(dir: string, file: string, schema: S): z.output<S> {
  const path = join(dir, file);
  if (!existsSync(path)) throw new HistoryError(`${path}: missing (is ${dir} a run directory?)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new HistoryError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new HistoryError(formatIssues(path, r.error.issues));
  return r.data;
}

/** Atomically (a temporary file renamed over it): a run killed mid-write keeps its previous manifest whole. */
export function writeManifest(dir: string, m: RunManifest): void {
  const path = join(dir, HISTORY_FILES.manifest);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(m, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

export function readManifest(dir: string): RunManifest {
  const m = readJson(dir, HISTORY_FILES.manifest, ManifestSchema);
  let experiment: Experiment;
  try {
    experiment = validateExperiment(m.experiment, `${join(dir, HISTORY_FILES.manifest)}: experiment`);
  } catch (e) {
    throw new HistoryError(e instanceof ExperimentError ? e.message : String(e));
  }
  return { ...m, experiment, timeline: m.timeline as FaultRecord[] };
}

export function writeRunEnd(dir: string, r: RunEnd): void {
  writeFileSync(join(dir, HISTORY_FILES.run), `${JSON.stringify(r, null, 2)}\n`);
}

export function readRunEnd(dir: string): RunEnd {
  return readJson(dir, HISTORY_FILES.run, RunEndSchema);
}

/** Appends one fault event to events.jsonl. */
export function appendFaultEvent(dir: string, e: FaultEvent): void {
  appendFileSync(join(dir, HISTORY_FILES.events), `${JSON.stringify(e)}\n`);
}

/** Appends one observation (the runner's own sample) to observations.jsonl. */
export function appendObservation(dir: string, s: Sample): void {
  appendFileSync(join(dir, HISTORY_FILES.observations), `${JSON.stringify(s)}\n`);
}

/**
 * The closed segments of a long run's observations (observation-rotator.ts), in order: observations.<k>.jsonl.gz, or
 * observations.<k>.jsonl while it exists (a rotation cut short: the plain lines are whole, the .gz may not be).
 */
export function observationSegments(dir: string): { index: number; path: string; gz: boolean }[] {
  if (!existsSync(dir)) return [];
  const byIndex = new Map<number, { index: number; path: string; gz: boolean }>();
  for (const n of readdirSync(dir)) {
    const m = /^observations\.(\d+)\.jsonl(\.gz)?$/.exec(n);
    if (!m) continue;
    const index = Number(m[1]);
    const gz = m[2] !== undefined;
    if (gz && byIndex.has(index)) continue;
    byIndex.set(index, { index, path: join(dir, n), gz });
  }
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

/** Every file of the observations stream, in order: the closed segments, then the live observations.jsonl. */
export function observationFiles(dir: string): { path: string; gz: boolean }[] {
  const live = join(dir, HISTORY_FILES.observations);
  return [...observationSegments(dir), ...(existsSync(live) ? [{ path: live, gz: false }] : [])];
}

const observationError = (where: string, p: string | z.ZodError) => new HistoryError(typeof p === 'string' ? `${where}: ${p}` : formatIssues(where, p.issues));

/** Every observation (segments, then the live file); a line cut short by a crash is skipped, any other bad line names the file and line. */
export function readObservations(dir: string): Sample[] {
  return observationFiles(dir).flatMap((f) => readJsonLines(f.path, SampleSchema, observationError, f.gz ? (b) => gunzipSync(b) : undefined));
}

/**
 * Every observation in turn, read line by line (a long soak's files are not held whole): the segments, then the
 * live file; a line cut short by a crash at a file's end is skipped, any other bad line names the file and line.
 */
export async function forEachObservation(dir: string, fn: (s: Sample) => void): Promise<void> {
  for (const f of observationFiles(dir)) await forEachJsonLine(f.path, { gz: f.gz, schema: SampleSchema, fail: observationError }, fn);
}

const HistorySchema = z.record(z.string(), z.array(z.string()));

export function writeConversationHistory(dir: string, workload: string, h: Record<string, string[]>): void {
  writeFileSync(join(workloadDir(dir, workload), WORKLOAD_FILES.history), `${JSON.stringify(h)}\n`);
}

/** A chat workload's conversation histories, or why there are none. */
export function readConversationHistory(dir: string, workload: string): Record<string, string[]> | { error: string } {
  const d = workloadDir(dir, workload);
  const path = join(d, WORKLOAD_FILES.history);
  if (!existsSync(path)) {
    const why = join(d, 'history-error.txt');
    return { error: existsSync(why) ? readFileSync(why, 'utf8').trim() : 'no conversation history was read after the run' };
  }
  return readJson(d, WORKLOAD_FILES.history, HistorySchema);
}

export function writeHistoryError(dir: string, workload: string, why: string): void {
  writeFileSync(join(workloadDir(dir, workload), 'history-error.txt'), `${why}\n`);
}
