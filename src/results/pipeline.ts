/**
 * The result pipeline: samples in (any order), statistics out. Each sample is routed, for every
 * selector it matches, into constant-size accumulators (never kept):
 *   - one per (selector, phase) for each phase containing the sample's time,
 *   - one per (selector, 'run'),
 *   - one per (selector, time window) of `windowMs` from the run's start (the time series).
 * Memory grows with selectors × (phases + windows), never with the number of samples.
 *
 * Trend window histograms use `windowDigits` significant digits (default 2: ±1%, ~8× smaller than
 * 3 digits) so that a long run's thousands of windows stay small; phase and run histograms use 3.
 */
import { newAccumulator, type Accumulator } from './accumulators.js';
import type { SignificantDigits } from './histogram.js';
import { readK6Samples, type K6ReadOptions, type K6ReadResult } from './k6-reader.js';
import type { MetricKind, Phase, PhaseStatsRow, Sample, Series, SeriesPoint, SeriesSelector, Stats } from './model.js';

export interface ResultPipelineOptions {
  phases: Phase[];
  selectors: SeriesSelector[];
  /** Epoch ms: window 0 starts here. */
  runStartMs: number;
  /** Epoch ms: end of the run (counter perSecond over 'run'); default: the latest sample's time. */
  runEndMs?: number;
  /** Series window (default 1000 ms). */
  windowMs?: number;
  /** Known metric kinds (k6 Metric lines add to these); a metric of unknown kind is a trend. */
  metricKinds?: Record<string, MetricKind>;
  /** Significant digits of window trend histograms (default 2). */
  windowDigits?: SignificantDigits;
  /** Epoch ms: samples at or after this are dropped (a killed run's history ends at its checkpoint). */
  untilMs?: number;
}

/** `metric{tag=value,…}` (tags sorted by name). */
export function selectorLabel(s: SeriesSelector): string {
  const tags = Object.entries(s.tags ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return tags.length === 0 ? s.metric : `${s.metric}{${tags.map(([k, v]) => `${k}=${v}`).join(',')}}`;
}

interface SelectorState {
  selector: SeriesSelector;
  label: string;
  tagKeys: string[];
  tagValues: string[];
  kind: MetricKind | undefined;
  run: Accumulator | undefined;
  phases: (Accumulator | undefined)[];
  windows: (Accumulator | undefined)[];
}

const NO_PHASES: readonly number[] = [];

export class ResultPipeline {
  readonly phases: readonly Phase[];
  readonly selectors: readonly SeriesSelector[];
  readonly runStartMs: number;
  readonly windowMs: number;
  runEndMs: number | undefined;
  readonly untilMs: number;
  /** Samples given to add(). */
  samples = 0;
  /** Samples that matched at least one selector. */
  matched = 0;
  /** Time of the earliest / latest sample given to add() (epoch ms). */
  firstSampleMs = Infinity;
  lastSampleMs = -Infinity;

  private readonly kinds = new Map<string, MetricKind>();
  private readonly states: SelectorState[];
  private readonly byLabel = new Map<string, SelectorState>();
  private readonly byMetric = new Map<string, SelectorState[]>();
  private readonly windowDigits: SignificantDigits;
  // Phase lookup: sorted boundaries; each segment between two boundaries has a fixed set of phases.
  private readonly bounds: number[];
  private readonly segPhases: (readonly number[])[];
  private segLo = Infinity;
  private segHi = -Infinity;
  private curPhases: readonly number[] = NO_PHASES;

  constructor(o: ResultPipelineOptions) {
    this.phases = o.phases.map((p) => ({ ...p }));
    this.selectors = o.selectors.map((s) => ({ metric: s.metric, ...(s.tags ? { tags: { ...s.tags } } : {}) }));
    this.runStartMs = o.runStartMs;
    this.runEndMs = o.runEndMs;
    this.windowMs = o.windowMs ?? 1000;
    this.untilMs = o.untilMs ?? Infinity;
    if (!(this.windowMs > 0)) throw new Error(`windowMs must be > 0 (got ${this.windowMs})`);
    this.windowDigits = o.windowDigits ?? 2;
    for (const [m, k] of Object.entries(o.metricKinds ?? {})) this.kinds.set(m, k);
    for (const p of this.phases) if (!(p.endMs >= p.startMs)) throw new Error(`phase ${p.id}: endMs ${p.endMs} < startMs ${p.startMs}`);
    const ids = new Set<string>();
    for (const p of this.phases) {
      if (ids.has(p.id) || p.id === 'run') throw new Error(`duplicate or reserved phase id "${p.id}"`);
      ids.add(p.id);
    }

    this.states = [];
    for (const sel of this.selectors) {
      const label = selectorLabel(sel);
      if (this.byLabel.has(label)) continue; // duplicates share one state
      const entries = Object.entries(sel.tags ?? {});
      const st: SelectorState = {
        selector: sel,
        label,
        tagKeys: entries.map(([k]) => k),
        tagValues: entries.map(([, v]) => v),
        kind: undefined,
        run: undefined,
        phases: this.phases.map(() => undefined),
        windows: [],
      };
      this.states.push(st);
      this.byLabel.set(label, st);
      const list = this.byMetric.get(sel.metric) ?? [];
      list.push(st);
      this.byMetric.set(sel.metric, list);
    }

    const b = [...new Set(this.phases.flatMap((p) => [p.startMs, p.endMs]))].sort((x, y) => x - y);
    this.bounds = b;
    this.segPhases = [];
    for (let i = 0; i + 1 < b.length; i++) {
      const lo = b[i] as number;
      const inside: number[] = [];
      this.phases.forEach((p, pi) => {
        if (p.startMs <= lo && lo < p.endMs) inside.push(pi);
      });
      this.segPhases.push(inside);
    }
  }

  /** The metrics some selector is about (pass to the reader's `metrics` filter). */
  get metrics(): string[] {
    return [...this.byMetric.keys()];
  }

  /** Set a metric's kind (from a k6 Metric line). Ignored once that metric's samples are accumulated. */
  setMetricKind(metric: string, kind: MetricKind): void {
    this.kinds.set(metric, kind);
  }

  metricKind(metric: string): MetricKind | undefined {
    return this.kinds.get(metric);
  }

  add(s: Sample): void {
    const t = s.time;
    if (t >= this.untilMs) return;
    this.samples++;
    if (t < this.firstSampleMs) this.firstSampleMs = t;
    if (t > this.lastSampleMs) this.lastSampleMs = t;
    const list = this.byMetric.get(s.metric);
    if (list === undefined) return;
    const tags = s.tags;
    const v = s.value;
    let phases = this.curPhases;
    if (!(t >= this.segLo && t < this.segHi)) phases = this.locate(t);
    const w = Math.floor((t - this.runStartMs) / this.windowMs);
    let hit = false;
    for (let i = 0; i < list.length; i++) {
      const st = list[i] as SelectorState;
      const keys = st.tagKeys;
      let ok = true;
      for (let k = 0; k < keys.length; k++) {
        if (tags[keys[k] as string] !== st.tagValues[k]) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      hit = true;
      const kind = st.kind ?? this.initKind(st, s.metric);
      (st.run as Accumulator).add(v, t);
      for (let p = 0; p < phases.length; p++) {
        const pi = phases[p] as number;
        let acc = st.phases[pi];
        if (acc === undefined) acc = st.phases[pi] = newAccumulator(kind);
        acc.add(v, t);
      }
      if (w >= 0) {
        let acc = st.windows[w];
        if (acc === undefined) acc = st.windows[w] = newAccumulator(kind, this.windowDigits);
        acc.add(v, t);
      }
    }
    if (hit) this.matched++;
  }

  /**
   * Add a series' accumulated samples of one window [startMs, startMs + lengthMs) of the windowed history
   * (window-segment.ts): the window must hold no phase boundary, and lie inside one of this pipeline's windows.
   */
  addAggregate(metric: string, tags: Record<string, string>, startMs: number, lengthMs: number, acc: Accumulator): void {
    if (acc.count === 0 || startMs >= this.untilMs) return;
    this.samples += acc.count;
    if (startMs < this.firstSampleMs) this.firstSampleMs = startMs;
    if (startMs + lengthMs - 1 > this.lastSampleMs) this.lastSampleMs = startMs + lengthMs - 1;
    const list = this.byMetric.get(metric);
    if (list === undefined) return;
    let phases = this.curPhases;
    if (!(startMs >= this.segLo && startMs < this.segHi)) phases = this.locate(startMs);
    const w = Math.floor((startMs - this.runStartMs) / this.windowMs);
    let hit = false;
    for (const st of list) {
      if (!st.tagKeys.every((k, i) => tags[k] === st.tagValues[i])) continue;
      hit = true;
      const kind = st.kind ?? this.initKind(st, metric);
      if (kind !== acc.kind) throw new Error(`${metric}: the windowed history holds it as a ${acc.kind}, the run's metric kinds say ${kind}`);
      (st.run as Accumulator).merge(acc);
      for (const pi of phases) (st.phases[pi] ??= newAccumulator(kind)).merge(acc);
      if (w >= 0) (st.windows[w] ??= newAccumulator(kind, this.windowDigits)).merge(acc);
    }
    if (hit) this.matched += acc.count;
  }

  private initKind(st: SelectorState, metric: string): MetricKind {
    const kind = this.kinds.get(metric) ?? 'trend';
    st.kind = kind;
    st.run = newAccumulator(kind);
    return kind;
  }

  /** Find the phase segment containing t and cache it. */
  private locate(t: number): readonly number[] {
    const b = this.bounds;
    if (b.length === 0 || t < (b[0] as number)) {
      this.segLo = -Infinity;
      this.segHi = b.length === 0 ? Infinity : (b[0] as number);
      this.curPhases = NO_PHASES;
    } else if (t >= (b[b.length - 1] as number)) {
      this.segLo = b[b.length - 1] as number;
      this.segHi = Infinity;
      this.curPhases = NO_PHASES;
    } else {
      let lo = 0;
      let hi = b.length - 1; // b[lo] <= t < b[hi]
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if ((b[mid] as number) <= t) lo = mid;
        else hi = mid;
      }
      this.segLo = b[lo] as number;
      this.segHi = b[hi] as number;
      this.curPhases = this.segPhases[lo] ?? NO_PHASES;
    }
    return this.curPhases;
  }

  private state(selector: SeriesSelector | string): SelectorState {
    const label = typeof selector === 'string' ? selector : selectorLabel(selector);
    const st = this.byLabel.get(label);
    if (!st) throw new Error(`unknown selector ${label} (known: ${[...this.byLabel.keys()].join(', ')})`);
    return st;
  }

  private kindOf(st: SelectorState): MetricKind {
    return st.kind ?? this.kinds.get(st.selector.metric) ?? 'trend';
  }

  private emptyStats(st: SelectorState, durationMs: number): Stats {
    return newAccumulator(this.kindOf(st)).stats(durationMs);
  }

  /** End of the run for 'run' statistics: runEndMs, else the latest sample (at least 1 window). */
  get effectiveRunEndMs(): number {
    if (this.runEndMs !== undefined) return this.runEndMs;
    return Math.max(this.lastSampleMs, this.runStartMs + this.windowMs);
  }

  /** Statistics of a selector (or its label) over a phase, or over the whole run. */
  stats(selector: SeriesSelector | string, phaseId: string | 'run'): Stats {
    const st = this.state(selector);
    if (phaseId === 'run') {
      const d = this.effectiveRunEndMs - this.runStartMs;
      return st.run ? st.run.stats(d) : this.emptyStats(st, d);
    }
    const pi = this.phases.findIndex((p) => p.id === phaseId);
    if (pi < 0) throw new Error(`unknown phase "${phaseId}" (known: ${this.phases.map((p) => p.id).join(', ')}, run)`);
    const p = this.phases[pi] as Phase;
    const acc = st.phases[pi];
    return acc ? acc.stats(p.endMs - p.startMs) : this.emptyStats(st, p.endMs - p.startMs);
  }

  /**
   * One row per selector × phase that has samples, then one per selector for 'run' (always, even with none). A missing
   * (selector, phase) row means no sample: a 2-h soak has hundreds of phases and most series are silent in most of
   * them, and writing those empty rows made two thirds of its result.json.
   */
  phaseTable(): PhaseStatsRow[] {
    const rows: PhaseStatsRow[] = [];
    for (const st of this.states) {
      this.phases.forEach((p, i) => {
        // The phase's accumulator at hand (stats() would look the selector and phase up again, row by row).
        const acc = st.phases[i];
        if (acc && acc.count > 0) rows.push({ selector: st.selector, label: st.label, phase: p.id, stats: acc.stats(p.endMs - p.startMs) });
      });
      rows.push({ selector: st.selector, label: st.label, phase: 'run', stats: this.stats(st.label, 'run') });
    }
    return rows;
  }

  /** Every selector's series: one point per window that has samples, from the run's start on. */
  series(): Series[] {
    return this.states.map((st) => this.seriesOf(st));
  }

  seriesFor(selector: SeriesSelector | string): Series {
    return this.seriesOf(this.state(selector));
  }

  private seriesOf(st: SelectorState): Series {
    const points: SeriesPoint[] = [];
    st.windows.forEach((acc, i) => {
      if (acc && acc.count > 0) points.push({ t: i * this.windowMs, stats: acc.stats(this.windowMs) });
    });
    return { selector: st.selector, label: st.label, windowMs: this.windowMs, points };
  }

  /** Number of windows from the run's start to the latest sample. */
  get windowCount(): number {
    return this.lastSampleMs < this.runStartMs ? 0 : Math.floor((this.lastSampleMs - this.runStartMs) / this.windowMs) + 1;
  }

  /**
   * Statistics of the windows whose start lies in [fromMs, toMs) (epoch ms; so the span is rounded
   * to whole windows), merged. perSecond is over the windows' total length.
   */
  windowStats(selector: SeriesSelector | string, fromMs: number, toMs: number): Stats {
    const st = this.state(selector);
    const first = Math.max(0, Math.ceil((fromMs - this.runStartMs) / this.windowMs));
    const last = Math.ceil((toMs - this.runStartMs) / this.windowMs) - 1; // start < toMs
    const kind = this.kindOf(st);
    const acc = newAccumulator(kind);
    for (let i = first; i <= last && i < st.windows.length; i++) {
      const w = st.windows[i];
      if (w) acc.merge(w);
    }
    return acc.stats(Math.max(0, last - first + 1) * this.windowMs);
  }

  /** Feed a k6 JSON output file (only the selectors' metrics are parsed; Metric lines set kinds). */
  async readK6(path: string, opts: Omit<K6ReadOptions, 'metrics' | 'onMetric'> = {}): Promise<K6ReadResult> {
    return readK6Samples(path, (s) => this.add(s), {
      ...opts,
      metrics: this.metrics,
      onMetric: (name, kind) => this.setMetricKind(name, kind),
    });
  }
}
