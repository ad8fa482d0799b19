/**
 * Reader of k6's `--out csv=<file>` output, the raw sample format the harness asks k6 for by default: k6
 * writes CSV at a fraction of its JSON writer's cost (bench/k6-overhead.ts). One record per sample:
 *
 *   metric_name,timestamp,metric_value,check,error,…,url,extra_tags,metadata
 *
 * with the system tags as columns (empty when absent), every other tag in `extra_tags` as `k=v&k=v`, and
 * the sample's metadata in `metadata` the same way (a probe's `t0`). The harness runs k6 with
 * `K6_CSV_TIME_FORMAT=unix_micro`: k6's default is whole seconds, too coarse for phases cut at a fault's
 * applied time. Unlike JSON, CSV carries no metric types: they come from the scenarios' declarations and
 * k6's built-ins (src/k6/metric-kinds.ts), passed to the pipeline beside the file.
 *
 * Limits of the format, accepted: values are printed with 6 decimals (a trend in ms keeps nanoseconds);
 * a tag whose value contains `&` cannot be told from two tags (the harness's own tags never do); an empty
 * system tag (k6's `group: ""`) is absent here.
 *
 * Lines are cut by hand (a partial last line — a crashed k6, a file still being written — waits or is
 * reported as `truncated`, as in the JSON reader); each block of complete lines is parsed by csv-parse.
 */
import { StringDecoder } from 'node:string_decoder';
import { parse } from 'csv-parse/sync';
import type { MetricKind, Sample } from './model.js';
import type { K6ReadOptions, SampleParser } from './k6-reader.js';
import { extraTagsOf, wantedOf } from './read-options.js';

/** The columns k6 v2 writes, in its order: the header of every file it writes. */
export const K6_CSV_COLUMNS = [
  'metric_name', 'timestamp', 'metric_value', 'check', 'error', 'error_code', 'expected_response', 'group', 'method', 'name',
  'proto', 'scenario', 'service', 'status', 'subproto', 'tls_version', 'url', 'extra_tags', 'metadata',
] as const;

/** Is this a k6 CSV sample file (by name: `.csv`, `.csv.gz`)? */
export const isCsvSamplesPath = (path: string): boolean => /\.csv(\.gz)?$/i.test(path);

/** `a=1&b=2` → entries (a value may hold `=`: cut at the first). */
function pairs(text: string): [string, string][] {
  if (text === '') return [];
  return text.split('&').map((p) => {
    const eq = p.indexOf('=');
    return eq < 0 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)];
  });
}

/** A timestamp column: unix seconds, milli-, micro- or nanoseconds (by its digits), or RFC 3339; epoch ms. */
export function parseCsvTime(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (text.length <= 11) return n * 1000;
    if (text.length <= 14) return n;
    if (text.length <= 17) return n / 1000;
    return n / 1e6;
  }
  // k6's rfc3339 time format (nanoseconds: Date.parse keeps the milliseconds).
  return Date.parse(text);
}

const TAG_CACHE_MAX = 20_000;

export class K6CsvParser implements SampleParser {
  points = 0;
  skipped = 0;
  badLines = 0;
  bytes = 0;
  lines = 0;
  /** CSV declares no metric types: empty (kinds come from src/k6/metric-kinds.ts). */
  readonly metrics: Record<string, MetricKind> = {};

  private rest = '';
  private readonly decoder = new StringDecoder('utf8');
  private columns: readonly string[] = K6_CSV_COLUMNS;
  private tagColumns: number[] = [];
  private extraAt = -1;
  private metaAt = -1;
  private readonly extra: Record<string, string> | undefined;
  private readonly wanted: ((m: string) => boolean) | undefined;
  private readonly onProgress: ((lines: number) => void) | undefined;
  private readonly wantedCache = new Map<string, boolean>();
  /** Tags by the raw text of their columns: k6 repeats a few tag sets, each is built once. */
  private tagCache = new Map<string, Record<string, string>>();

  constructor(private readonly onSample: (s: Sample) => void, opts: K6ReadOptions = {}) {
    this.extra = extraTagsOf(opts);
    this.onProgress = opts.onProgress;
    this.wanted = wantedOf(opts);
    this.setColumns(K6_CSV_COLUMNS);
  }

  private setColumns(cols: readonly string[]): void {
    this.columns = cols;
    this.extraAt = cols.indexOf('extra_tags');
    this.metaAt = cols.indexOf('metadata');
    this.tagColumns = cols.map((_, i) => i).filter((i) => i > 2 && i !== this.extraAt && i !== this.metaAt);
  }

  pushBytes(chunk: Buffer): void {
    this.pushText(this.decoder.write(chunk));
  }

  pushText(text: string): void {
    if (text.length === 0) return;
    const all = this.rest + text;
    const cut = all.lastIndexOf('\n');
    if (cut < 0) {
      this.rest = all;
      return;
    }
    this.rest = all.slice(cut + 1);
    this.block(all.slice(0, cut + 1));
    this.onProgress?.(this.lines);
  }

  /** Complete lines: parsed together; a malformed record is skipped and counted, never fatal. */
  private block(text: string): void {
    this.bytes += Buffer.byteLength(text);
    const records = parse(text, {
      relax_column_count: true, skip_empty_lines: true, skip_records_with_error: true,
      on_skip: () => {
        this.badLines++;
      },
    }) as string[][];
    for (const r of records) {
      this.lines++;
      this.record(r);
    }
  }

  private record(r: string[]): void {
    if (r[0] === 'metric_name') {
      this.setColumns(r);
      return;
    }
    if (r.length !== this.columns.length) {
      this.badLines++;
      return;
    }
    const metric = r[0]!;
    let wanted = this.wantedCache.get(metric);
    if (wanted === undefined) {
      wanted = this.wanted ? this.wanted(metric) : true;
      this.wantedCache.set(metric, wanted);
    }
    if (!wanted) {
      this.skipped++;
      return;
    }
    const value = Number(r[2]);
    let time = parseCsvTime(r[1]!);
    // A probe's request start (metadata t0, epoch ms): the sample belongs to the phase its request started in.
    const meta = this.metaAt >= 0 ? r[this.metaAt]! : '';
    if (meta !== '') {
      const t0 = pairs(meta).find(([k]) => k === 't0')?.[1];
      if (t0 !== undefined && /^\d{10,15}$/.test(t0)) time = Number(t0);
    }
    if (r[2] === '' || value !== value || time !== time) {
      this.badLines++;
      return;
    }
    this.points++;
    this.onSample({ metric, time, value, tags: this.tags(r) });
  }

  private tags(r: string[]): Record<string, string> {
    let key = this.extraAt >= 0 ? r[this.extraAt]! : '';
    for (const i of this.tagColumns) key += `\u0001${r[i]!}`;
    const hit = this.tagCache.get(key);
    if (hit) return hit;
    const tags: Record<string, string> = {};
    for (const i of this.tagColumns) if (r[i] !== '') tags[this.columns[i]!] = r[i]!;
    if (this.extraAt >= 0) for (const [k, v] of pairs(r[this.extraAt]!)) tags[k] = v;
    // Shared by every sample with the same tags, as in the JSON reader: read, never modified.
    const out = this.extra ? { ...tags, ...this.extra } : tags;
    if (this.tagCache.size >= TAG_CACHE_MAX) this.tagCache = new Map();
    this.tagCache.set(key, out);
    return out;
  }

  /** End of input: a last line without its newline is a truncated tail (k6 ends every record with one). */
  finish(): boolean {
    const tail = this.rest + this.decoder.end();
    this.rest = '';
    return tail.length > 0;
  }
}
