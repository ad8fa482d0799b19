/**
 * The data a run produces, shared by the result pipeline (src/results/), the verdict engine
 * (src/verdicts/) and the renderers (reports/). Plain JSON-serialisable objects: result.json is
 * exactly a RunResult.
 */

export type Verdict = 'PASS' | 'FAIL' | 'INCONCLUSIVE';

/** One measurement, as read from k6's JSON output (a `Point` line). */
export interface Sample {
  metric: string;
  /** Epoch milliseconds. */
  time: number;
  value: number;
  tags: Record<string, string>;
}

/** What a metric is (k6's metric types). */
export type MetricKind = 'trend' | 'rate' | 'counter' | 'gauge';

/** Which samples a statistic is about: one metric, and the samples whose tags include every given tag. */
export interface SeriesSelector {
  metric: string;
  tags?: Record<string, string>;
}

/** `before-load` / `after-load`: the target observed before the workloads start and after they end (an experiment's afterLoadS). */
export type PhaseKind = 'baseline' | 'fault' | 'recovery' | 'before-load' | 'after-load';

/** A time window of the run. Phases are derived from the fault timeline (src/experiment/phases.ts). */
export interface Phase {
  /** `baseline`, `fault:<faultId>`, `recovery:<faultId>`. */
  id: string;
  kind: PhaseKind;
  faultId?: string;
  /** Epoch milliseconds, start inclusive, end exclusive. */
  startMs: number;
  endMs: number;
}

/** Statistics of a selector's samples over one window. Fields a kind does not have are absent. */
export interface Stats {
  kind: MetricKind;
  count: number;
  /** trend: milliseconds (or the metric's unit) from an HDR histogram; gauge: last/min/max. */
  min?: number;
  max?: number;
  mean?: number;
  p50?: number;
  p90?: number;
  p95?: number;
  p99?: number;
  /** rate: share of non-zero samples (0..1); `passes` of them. */
  rate?: number;
  passes?: number;
  /** counter: sum of the values; per second over the window. */
  sum?: number;
  perSecond?: number;
  /** gauge: the value of the latest sample (by time). */
  last?: number;
}

/** One row of the per-phase table: a phase in which the selector has samples, or the whole run ('run', always there). */
export interface PhaseStatsRow {
  selector: SeriesSelector;
  /** Human label: `metric{tag=value,…}`. */
  label: string;
  phase: string;
  stats: Stats;
}

/** One point of a time series (a fixed window, e.g. 1 s). */
export interface SeriesPoint {
  /** Window start, milliseconds since the run's start. */
  t: number;
  stats: Stats;
}

export interface Series {
  selector: SeriesSelector;
  label: string;
  windowMs: number;
  points: SeriesPoint[];
}

export type FaultMechanism = 'toxiproxy' | 'nft' | 'process' | 'turn';

/** What happened to one fault of the timeline. */
export interface FaultRecord {
  /** The timeline entry's id; for a repeating fault, its n-th cycle's is `<id>#<n>` (the first keeps `<id>`). */
  id: string;
  /** A repeating fault's cycle: its entry's id and the cycle's number (1-based). */
  entryId?: string;
  cycle?: number;
  /** Named fault (`redis-outage`, …) or `custom`. */
  name: string;
  mechanism: FaultMechanism;
  /** The dependency / process / path it acts on (e.g. `redis`, `turn-udp`, `target:chat`). */
  target: string;
  params: Record<string, unknown>;
  /** Seconds from the run's start, as planned. */
  plannedStartS: number;
  plannedDurationS: number;
  /** Epoch ms, as scheduled from the run's start. */
  scheduledApplyMs?: number;
  scheduledRemoveMs?: number;
  /** Epoch ms, when it was really applied (in effect) / removed (rollback confirmed); absent when it never was. */
  appliedAtMs?: number;
  removedAtMs?: number;
  /** Epoch ms: the rollback was issued (at the scheduled end, whatever verify() was doing). */
  rollbackIssuedAtMs?: number;
  /** Epoch ms: verify() started / answered (it runs beside the fault, never delaying its rollback). */
  verifyStartedAtMs?: number;
  verifiedAtMs?: number;
  /** Latency-type faults: the latency (ms) a request through the path should gain (calibration's yardstick). */
  expectedLatencyMs?: number;
  /** verify() after apply: did it land, and what was seen. */
  verified: boolean;
  verifyDetail: string;
  /** rollback() confirmed the path is clean again. */
  rolledBack: boolean;
  error?: string;
}

/** Calibration: did a fault measurably land on the path the workload uses? */
export interface CalibrationResult {
  faultId: string;
  selector: SeriesSelector;
  label: string;
  /** e.g. "median delta ≈ 150 ms ±10%", "samples during the fault ≥ 5". */
  expected: string;
  observed: number | null;
  ok: boolean;
  detail: string;
}

export interface HypothesisResult {
  id: string;
  description: string;
  /** `check` decides PASS / FAIL; `precondition` only gates the checks that rely on it. */
  role: 'check' | 'precondition';
  /** The preconditions that did not hold and made this check INCONCLUSIVE. */
  gatedBy?: string[];
  /** The verdict expected on this reference profile (null: no expectation). */
  expectedVerdict: Verdict | null;
  asExpected: boolean;
  /** Phase id it was evaluated on (or `run` for whole-run checks such as nothing-lost). */
  phase: string;
  claims: string[];
  verdict: Verdict;
  /** The number compared, e.g. 0.97 for a rate, 1240 for a p95 in ms. */
  observed: number | null;
  /** The condition as text, e.g. `p95 < 1000 ms`. */
  expected: string;
  /** Why this verdict (numbers a reviewer can check). */
  evidence: string;
  /** An `alerts` check: when each rule fired, for the report's timeline. */
  timeline?: AlertRow[];
  /** A `no-growth` check: the line it fitted in each phase it judged, for the report's chart of that series. */
  trends?: FittedTrend[];
}

/**
 * A least-squares line a check fitted through a series (its bins' means after the warm-up): through `level` at
 * `atMs`, `slopePerHour` per hour, drawn from `fromMs` to `toMs` (epoch ms).
 */
export interface FittedTrend {
  /** The series' label (`metric{tag=value}`), as in `series`. */
  label: string;
  phase: string;
  fromMs: number;
  toMs: number;
  atMs: number;
  level: number;
  slopePerHour: number;
  unit: string;
}

/** One alert rule on the run's timeline: when it fired, or why it could not be evaluated. */
export interface AlertRow {
  id: string;
  label: string;
  firing: { startMs: number; endMs: number }[];
  notEvaluable?: string;
}

export interface ClaimSource {
  /** File in shared/secureconnect/, e.g. 002_4e8d9492772e3056.txt */
  file: string;
  section: string;
  line: number;
  /** The passage the claim rests on, when longer than the quoted line. */
  lines?: [number, number];
  quote: string;
}

export interface ClaimResult {
  id: string;
  title: string;
  source: ClaimSource;
  verdict: Verdict;
  /** The verdict the catalogue expects for this target profile (null: no expectation, e.g. an external target). */
  expected: Verdict | null;
  /** verdict === expected (true when there is no expectation and the verdict is not INCONCLUSIVE). */
  asExpected: boolean;
  hypotheses: string[];
  reason: string;
  /** baseline: works with no fault; fault: holds under a fault; guard: an edge guard. */
  kind: 'baseline' | 'fault' | 'guard';
  /** Baseline claims this one requires that did not PASS in the run (it is INCONCLUSIVE for them). */
  gatedBy?: string[];
  /** What the audit's text says (verdict and statement). */
  audit?: { verdict: 'PASS' | 'FAIL'; says: string };
  /** A decided verdict (PASS / FAIL) that differs from the audit's. */
  contradictsAudit?: boolean;
}

/** Where a claim's expected verdict came from. */
export interface Expectation {
  /** The reference profile the run is judged by (the embedded target's, or --expect-profile); null: none. */
  profile: string | null;
  /**
   * `catalogue`: the claim's expectation for that profile; `experiment`: the catalogue's override for this
   * experiment (`expectedIn`); `none`: no expectation (external target without --expect-profile);
   * `unrecorded`: upgraded from a result.json (schema 1) that did not record it.
   */
  source: 'catalogue' | 'experiment' | 'none' | 'unrecorded';
}

/** A claim as result.json records it: the checker's result and where its expectation came from. */
export interface ReportedClaim extends ClaimResult {
  expectation: Expectation;
}

export interface RunFile {
  /** What it is: `report`, `junit`, `json`, `manifest`, `samples`, `k6-summary`, `screenshot`, `log`. */
  kind: string;
  /** Relative to the run directory. */
  path: string;
}

/** One picture of what a participant of a video workload received (its frames.jsonl line), as the report shows it. */
export interface FilmstripFrame {
  /** The phase it stands for: the picture nearest that phase's middle, taken inside it. */
  phase: string;
  participant: string;
  /** The JPEG, relative to the run directory. */
  path: string;
  /** Epoch ms. */
  atMs: number;
  width: number;
  height: number;
  /** Left to right, one per remote participant: whose video, and whether it was frozen at the capture (null: unknown). */
  tiles: { track: string; frozen: boolean | null }[];
}

/** A video workload's filmstrip: per phase and participant, one received picture (none where nothing was taken). */
export interface Filmstrip {
  workload: string;
  participants: string[];
  frames: FilmstripFrame[];
}

/**
 * The version of result.json's shape. 1 (no `schemaVersion`): `experiment` a name, `description` beside it,
 * no `expectation`; 2: `experiment: { name, description }` (the manifest's `experiment` has the same two
 * fields among others), each claim's `expectation`. readResultJson upgrades 1 to 2.
 */
export const RESULT_SCHEMA_VERSION = 2;

export interface RunResult {
  schemaVersion: typeof RESULT_SCHEMA_VERSION;
  runId: string;
  /** The experiment's name and description, as in the manifest's `experiment`. */
  experiment: { name: string; description: string };
  target: { kind: 'embedded' | 'external'; profile?: string; baseUrl: string };
  /** Epoch ms. */
  startedAtMs: number;
  endedAtMs: number;
  phases: Phase[];
  faults: FaultRecord[];
  phaseTable: PhaseStatsRow[];
  series: Series[];
  calibration: CalibrationResult[];
  hypotheses: HypothesisResult[];
  claims: ReportedClaim[];
  /** Workload runs: k6 exit codes, failed thresholds, sample counts. */
  workloads: { id: string; scenario: string; profile: string; exitCode: number | null; samples: number; failedThresholds: string[] }[];
  /** 0: every claim as expected; 1: some claim not as expected; 2: the run itself failed (error set). */
  exitCode: number;
  error?: string;
  /**
   * The run did not finish: stopped by a signal (SIGINT / SIGTERM: faults rolled back, run.json written), or killed
   * outright and judged up to its last checkpoint (`atMs`: epoch ms, the end of what was judged). Exit code 130 either way.
   */
  interrupted?: { how: 'signal' | 'killed'; atMs: number; detail: string };
  /** What a reader must know of how the run was made: probes that could not set up, sessions from registration, settings not applied. */
  notes?: string[];
  /** Video workloads: what each participant received, one picture per phase (absent without a video workload). */
  filmstrips?: Filmstrip[];
  files: RunFile[];
}
