/**
 * Writes samples in k6's JSON output format (`--out json=…gz`: a Metric line before a metric's first
 * Point, one Point line per sample), gzipped, flushed after each batch so K6Tail sees them while the
 * workload runs. A workload that is not k6 (the video workload) writes its samples file with this, so
 * the reader, phases, statistics and hypotheses take it as they take k6's.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { createGzip, constants, type Gzip } from 'node:zlib';
import type { MetricKind, Sample } from '../results/model.js';

export class SampleWriter {
  private readonly gzip: Gzip;
  private readonly file: WriteStream;
  private readonly declared = new Set<string>();
  private closed: Promise<void> | null = null;
  private failed: Error | null = null;
  count = 0;

  constructor(readonly path: string, private readonly kinds: Readonly<Record<string, MetricKind>>) {
    this.file = createWriteStream(path);
    this.gzip = createGzip();
    this.gzip.pipe(this.file);
    const fail = (e: Error) => {
      this.failed ??= e;
    };
    this.file.on('error', fail);
    this.gzip.on('error', fail);
  }

  /** One line per sample (its metric declared first), then a sync flush: readers get whole lines. */
  write(samples: readonly Sample[]): void {
    if (this.closed || samples.length === 0) return;
    if (this.failed) throw this.failed;
    const lines: string[] = [];
    for (const s of samples) {
      if (!this.declared.has(s.metric)) {
        const kind = this.kinds[s.metric];
        if (!kind) throw new Error(`sample of undeclared metric ${s.metric}`);
        this.declared.add(s.metric);
        lines.push(JSON.stringify({ type: 'Metric', data: { name: s.metric, type: kind, contains: 'default', thresholds: [], submetrics: null }, metric: s.metric }));
      }
      // k6's layout (metric, type, data{time, value, tags}): the reader's fast path.
      lines.push(`{"metric":${JSON.stringify(s.metric)},"type":"Point","data":{"time":${JSON.stringify(new Date(s.time).toISOString())},"value":${Number.isFinite(s.value) ? s.value : 0},"tags":${JSON.stringify(s.tags)}}}`);
      this.count++;
    }
    this.gzip.write(`${lines.join('\n')}\n`);
    this.gzip.flush(constants.Z_SYNC_FLUSH);
  }

  /** Ends the gzip stream and closes the file. Idempotent. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.file.once('close', () => resolve());
      this.file.once('error', () => resolve());
      this.gzip.end();
    });
    return this.closed;
  }
}
