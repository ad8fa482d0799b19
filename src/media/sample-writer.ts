/**
 * Writes samples as k6 writes its raw output for the harness (src/k6/run.ts): CSV with k6's columns
 * (`metric_name,timestamp,metric_value,<system tags>,extra_tags,metadata`, times in unix microseconds,
 * every tag in `extra_tags` as `k=v&k=v`), plain while the workload runs — appended once per batch, so the
 * runner's K6Tail follows it live — then gzipped at close; the metric kinds, which CSV does not carry, in
 * `metric-kinds.json` beside it. A workload that is not k6 (the video workload) writes its samples with
 * this, so the reader, phases, statistics and hypotheses take them as they take k6's.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import type { MetricKind, Sample } from '../results/model.js';
import { K6_CSV_COLUMNS } from '../results/k6-csv.js';
import { gzipFile } from '../k6/run.js';

/** The system-tag columns between metric_value and extra_tags: left empty (every tag goes in extra_tags). */
const EMPTY_SYSTEM = ','.repeat(K6_CSV_COLUMNS.length - 5);

/** A tag's text inside `extra_tags`: `&` and `=` would cut it (the format's own limit), so they become `_`. */
const tagText = (v: string): string => v.replace(/[&=\r\n]/g, '_');

/** A CSV field: quoted when it holds a comma or a quote. */
const field = (v: string): string => (/[",]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export class SampleWriter {
  private closed: Promise<void> | null = null;
  count = 0;

  /**
   * @param livePath  the plain CSV written while the workload runs (`samples.csv`)
   * @param finalPath the gzipped file it becomes at close (`samples.csv.gz`)
   * @param kindsPath where the metric kinds are written (`metric-kinds.json`)
   */
  constructor(readonly livePath: string, readonly finalPath: string, kindsPath: string, private readonly kinds: Readonly<Record<string, MetricKind>>) {
    writeFileSync(kindsPath, `${JSON.stringify(kinds, null, 2)}\n`);
    writeFileSync(livePath, `${K6_CSV_COLUMNS.join(',')}\n`);
  }

  /** One record per sample, appended at once: a reader never sees half a batch's line. */
  write(samples: readonly Sample[]): void {
    if (this.closed || samples.length === 0) return;
    const lines: string[] = [];
    for (const s of samples) {
      if (!this.kinds[s.metric]) throw new Error(`sample of undeclared metric ${s.metric}`);
      const tags = Object.entries(s.tags).map(([k, v]) => `${tagText(k)}=${tagText(v)}`).join('&');
      lines.push(`${s.metric},${Math.round(s.time * 1000)},${Number.isFinite(s.value) ? s.value : 0}${EMPTY_SYSTEM},${field(tags)},`);
      this.count++;
    }
    appendFileSync(this.livePath, `${lines.join('\n')}\n`);
  }

  /** Gzip the CSV into its final name (removing the plain one). Idempotent. */
  close(): Promise<void> {
    this.closed ??= gzipFile(this.livePath, this.finalPath);
    return this.closed;
  }
}
