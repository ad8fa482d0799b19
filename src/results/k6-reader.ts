/**
 * Streaming reader of k6's `--out json=<file>` output (plain or gzipped): one JSON object per line,
 * `Metric` lines (a metric's name and kind) and `Point` lines (one sample). Never holds the file in
 * memory: chunks of 1 MiB are decoded and cut into lines; a partial last line (a crashed k6, or a file
 * still being written) is ignored and reported as `truncated`.
 *
 * Fast path: Point lines in k6's fixed layout
 *   {"metric":"<m>","type":"Point","data":{"time":"<RFC3339>","value":<n>,"tags":{...}}}
 * are cut by hand: the metric name is read first (lines of unwanted metrics are skipped without
 * further work), the time is parsed with a per-second cache, and the tags' JSON text is compared with
 * the 16 most recent tag sets, then looked up in a Map (k6 repeats a few tag sets), so each distinct
 * set is JSON.parsed once. Anything else (Metric lines, other key orders, fields after the tags such as
 * `metadata`) goes through JSON.parse; a test checks both paths give the same samples. See bench/pipeline.ts.
 *
 * Time: a Point whose metadata holds `t0` (epoch ms, set by the probes before each request) is timed at
 * t0, the request's start; every other Point at k6's own time (when the request ended).
 *
 * The tags objects handed to onSample are shared between samples with identical tags: read them,
 * never modify them.
 */
import { createReadStream, openSync, readSync, closeSync, existsSync, fstatSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { isAscii } from 'node:buffer';
import { createGunzip, constants, type Gunzip } from 'node:zlib';
import type { MetricKind, Sample } from './model.js';
import { K6CsvParser, isCsvSamplesPath } from './k6-csv.js';
import { extraTagsOf, wantedOf } from './read-options.js';

export interface K6ReadOptions {
  /** Tags added to every sample (they override the sample's own tag of the same name). */
  extraTags?: Record<string, string>;
  /** Only these metrics are delivered (the others are skipped cheaply and counted in `skipped`). */
  metrics?: Iterable<string> | ((metric: string) => boolean);
  /** Called for each Metric line (before any Point of that metric). */
  onMetric?: (name: string, kind: MetricKind) => void;
  /** Hand-written extractor for k6's layout (default true); false: JSON.parse every line. */
  fastPath?: boolean;
  /** Force gzip decoding on/off (default: name ends in .gz, or the file starts with the gzip magic). */
  gzip?: boolean;
  /** Called after each decoded chunk with the number of complete lines so far (for progress / benchmarks). */
  onProgress?: (lines: number) => void;
  /** k6's output format (default: by the file name, `.csv[.gz]` is CSV, anything else JSON). */
  format?: 'json' | 'csv';
  /** Start at this byte of the (decoded) file, a line's start: what comes before was rotated into the windowed history. */
  fromByte?: number;
}

/** What both readers (JSON here, CSV in k6-csv.ts) offer the file and tail loops below. */
export interface SampleParser {
  points: number;
  skipped: number;
  badLines: number;
  bytes: number;
  readonly metrics: Record<string, MetricKind>;
  pushBytes(chunk: Buffer): void;
  /** End of input; true when it ended inside a line. */
  finish(): boolean;
}

/** The parser for a samples file: CSV by its name (`.csv`, `.csv.gz`) or `format`, else k6's JSON. */
export function sampleParser(path: string, onSample: (s: Sample) => void, opts: K6ReadOptions = {}): SampleParser {
  return (opts.format ?? (isCsvSamplesPath(path) ? 'csv' : 'json')) === 'csv' ? new K6CsvParser(onSample, opts) : new K6LineParser(onSample, opts);
}

export interface K6ReadResult {
  /** Samples delivered to onSample. */
  points: number;
  /** Point lines of metrics not wanted (`metrics` option). */
  skipped: number;
  /** Complete lines that are neither a Metric nor a Point, or are not valid JSON. */
  badLines: number;
  /** Every metric declared by a Metric line. */
  metrics: Record<string, MetricKind>;
  /** The input ended inside a line (that partial line was ignored). */
  truncated: boolean;
  /** Decoded bytes of complete lines consumed. */
  bytes: number;
}

const KINDS: ReadonlySet<string> = new Set(['trend', 'rate', 'counter', 'gauge']);

const P_METRIC = '{"metric":"';
const P_POINT_TIME = '","type":"Point","data":{"time":"';
const P_VALUE = '","value":';
const P_TAGS = ',"tags":';
const P_END = '}}}';
const TAG_CACHE_MAX = 20_000;
const EMPTY_TAGS: Record<string, string> = Object.freeze({}) as Record<string, string>;

const MRU_SIZE = 16;

interface TagsEntry {
  /** The tags' JSON text as in the line. */
  key: string;
  tags: Record<string, string>;
}

interface MetricEntry {
  name: string;
  wanted: boolean;
}

/**
 * Parse an RFC 3339 timestamp as k6 writes it (`2026-11-23T15:40:51.123456789Z`, or with a `+01:00`
 * offset; 0–9 fraction digits) into epoch milliseconds, keeping the sub-millisecond fraction.
 */
export function parseK6Time(s: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i.exec(s);
  if (!m) return Date.parse(s);
  const base = Date.parse(`${m[1]}${m[3]}`);
  return m[2] ? base + Number(`0.${m[2]}`) * 1000 : base;
}

/**
 * Cuts text into lines and turns them into samples. Shared by readK6Samples and K6Tail: push decoded
 * chunks with push(); the remainder after the last newline waits for the next chunk.
 */
export class K6LineParser implements SampleParser {
  points = 0;
  skipped = 0;
  badLines = 0;
  bytes = 0;
  lines = 0;
  readonly metrics: Record<string, MetricKind> = {};

  private rest = '';
  private decoderPending = false;
  private readonly decoder = new StringDecoder('utf8');
  private readonly fast: boolean;
  private readonly extra: Record<string, string> | undefined;
  private readonly wanted: ((m: string) => boolean) | undefined;
  private readonly onMetric: ((name: string, kind: MetricKind) => void) | undefined;
  private readonly onProgress: ((lines: number) => void) | undefined;
  private readonly metricCache = new Map<string, MetricEntry>();
  private tagCache = new Map<string, TagsEntry>();
  private readonly mru: TagsEntry[] = [];
  /** Metric entries by name length, for lookups without cutting the name out of the line. */
  private readonly byLength: MetricEntry[][] = [];
  private readonly extraOnly: Record<string, string>;
  // time cache: the `YYYY-MM-DDTHH:MM:SS` prefix and zone of the last fast-path time, and its epoch ms.
  private secKey = -1;
  private zone = '';
  private secMs = 0;

  constructor(private readonly onSample: (s: Sample) => void, opts: K6ReadOptions = {}) {
    this.fast = opts.fastPath !== false;
    this.extra = extraTagsOf(opts);
    this.extraOnly = this.extra ? Object.freeze({ ...this.extra }) : EMPTY_TAGS;
    this.onMetric = opts.onMetric;
    this.onProgress = opts.onProgress;
    this.wanted = wantedOf(opts);
  }

  /** Feed raw bytes (UTF-8). */
  pushBytes(chunk: Buffer): void {
    // ASCII (k6's usual output): latin1 is a plain copy, much faster than UTF-8 decoding.
    if (!this.decoderPending && isAscii(chunk)) this.pushText(chunk.toString('latin1'));
    else {
      const text = this.decoder.write(chunk);
      // The decoder holds back the bytes of a character cut at the chunk's end.
      this.decoderPending = !isAscii(chunk.subarray(Math.max(0, chunk.length - 4)));
      this.pushText(text);
    }
  }

  /** Feed decoded text. */
  pushText(chunk: string): void {
    if (chunk.length === 0) return;
    let start = 0;
    if (this.rest.length > 0) {
      // The line cut by the previous chunk's end: completed on its own, so that `chunk` stays a flat
      // string (operations on a concatenation of two chunks are several times slower).
      const nl = chunk.indexOf('\n');
      if (nl === -1) {
        this.rest = flat(this.rest + chunk);
        return;
      }
      const joined = flat(this.rest + chunk.slice(0, nl + 1));
      this.rest = '';
      this.scan(joined, 0);
      start = nl + 1;
    }
    const restStart = this.scan(chunk, start);
    // Copy the remainder so it does not keep the whole chunk alive (sliced strings share their parent).
    this.rest = restStart < chunk.length ? flat(chunk.slice(restStart)) : '';
    this.onProgress?.(this.lines);
  }

  /** Process the complete lines of text from `start`; returns where the unterminated remainder begins. */
  private scan(text: string, start: number): number {
    let nl = text.indexOf('\n', start);
    while (nl !== -1) {
      let end = nl;
      if (end > start && text.charCodeAt(end - 1) === 13) end--; // \r\n
      if (end > start) {
        this.line(text, start, end);
        this.lines++;
      }
      this.bytes += nl + 1 - start;
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    return start;
  }

  /** Pending partial line (not yet terminated by a newline). */
  get pending(): string {
    return this.rest;
  }

  /**
   * End of input: a remaining line that is complete JSON (only the newline missing) is used, anything
   * else is a truncated tail. Returns whether the input was truncated.
   */
  finish(): boolean {
    const tail = this.rest + this.decoder.end();
    this.rest = '';
    if (tail.trim() === '') return false;
    let obj: unknown;
    try {
      obj = JSON.parse(tail);
    } catch {
      return true;
    }
    this.bytes += tail.length;
    this.object(obj);
    return false;
  }

  private metricEntry(name: string): MetricEntry {
    let e = this.metricCache.get(name);
    if (e === undefined) {
      const n = flat(name);
      e = { name: n, wanted: this.wanted ? this.wanted(n) : true };
      this.metricCache.set(n, e);
    }
    return e;
  }

  private metricAt(text: string, start: number, end: number): MetricEntry {
    const list = this.byLength[end - start];
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const e = list[i] as MetricEntry;
        if (text.startsWith(e.name, start)) return e;
      }
    }
    const e = this.metricEntry(text.slice(start, end));
    (this.byLength[end - start] ??= []).push(e);
    return e;
  }

  private line(text: string, start: number, end: number): void {
    if (this.fast && this.fastLine(text, start, end)) return;
    let obj: unknown;
    try {
      obj = JSON.parse(text.slice(start, end));
    } catch {
      this.badLines++;
      return;
    }
    this.object(obj);
  }

  /** The hand-written extractor; false when the line is not in the expected layout. */
  private fastLine(text: string, start: number, end: number): boolean {
    if (!text.startsWith(P_METRIC, start)) return false;
    const mStart = start + P_METRIC.length;
    const mEnd = text.indexOf('"', mStart);
    if (mEnd < 0 || mEnd >= end || !isPointTime(text, mEnd)) return false;
    const metric = this.metricAt(text, mStart, mEnd);
    if (!metric.wanted) {
      this.skipped++;
      return true;
    }
    const tStart = mEnd + P_POINT_TIME.length;
    const tEnd = text.indexOf('"', tStart);
    if (tEnd < 0 || tEnd >= end) return false;
    const time = this.fastTime(text, tStart, tEnd);
    if (time !== time) return false;
    if (!text.startsWith(P_VALUE, tEnd)) return false;
    const vStart = tEnd + P_VALUE.length;
    const vEnd = text.indexOf(',', vStart);
    if (vEnd < 0 || vEnd >= end) return false;
    const value = fastNumber(text, vStart, vEnd);
    if (value !== value) return false;
    if (!text.startsWith(P_TAGS, vEnd) || !text.startsWith(P_END, end - 3)) return false;
    const tagsStart = vEnd + P_TAGS.length;
    const tagsEnd = end - 2; // the tags object ends before the closing of data and of the line
    let tags: Record<string, string> | undefined;
    if (tagsEnd - tagsStart === 2) tags = this.extraOnly; // {}
    else {
      // k6 repeats a few tag sets (the ~9 lines of one request share one): look in the most recently
      // used ones first, comparing in place; the Map (which must hash a cut-out copy) only on a miss.
      // (slice + === compares with memcmp; startsWith with a long string is ~5× slower in V8)
      const len = tagsEnd - tagsStart;
      const mru = this.mru;
      let found = -1;
      let key: string | undefined;
      for (let i = 0; i < mru.length; i++) {
        const e = mru[i] as TagsEntry;
        if (e.key.length === len && (key ??= text.slice(tagsStart, tagsEnd)) === e.key) {
          found = i;
          break;
        }
      }
      let entry: TagsEntry;
      if (found >= 0) {
        entry = mru[found] as TagsEntry;
        if (found > 0) {
          mru[found] = mru[found - 1] as TagsEntry; // move one step to the front
          mru[found - 1] = entry;
        }
      } else {
        key ??= text.slice(tagsStart, tagsEnd);
        let e = this.tagCache.get(key);
        if (e === undefined) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(key);
          } catch {
            return false; // e.g. fields after tags: not our layout
          }
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return false;
          const t = this.extra ? { ...(parsed as Record<string, string>), ...this.extra } : (parsed as Record<string, string>);
          e = { key: flat(key), tags: Object.freeze(t) };
          if (this.tagCache.size >= TAG_CACHE_MAX) this.tagCache = new Map();
          this.tagCache.set(e.key, e);
        }
        entry = e;
        if (mru.length < MRU_SIZE) mru.push(entry);
        else mru[MRU_SIZE - 1] = entry;
      }
      tags = entry.tags;
    }
    this.points++;
    this.onSample({ metric: metric.name, time, value, tags });
    return true;
  }

  private fastTime(text: string, tStart: number, tEnd: number): number {
    // YYYY-MM-DDTHH:MM:SS = 19 characters
    const fracStart = tStart + 19;
    if (fracStart > tEnd) return NaN;
    let frac = 0;
    let p = fracStart;
    if (text.charCodeAt(p) === 46 /* . */) {
      p++;
      let scale = 100; // first fraction digit is 100 ms
      let c = text.charCodeAt(p);
      while (c >= 48 && c <= 57) {
        frac += (c - 48) * scale;
        scale /= 10;
        p++;
        c = text.charCodeAt(p);
      }
    }
    // The seconds are cached by a number made of the timestamp's digits (no string cut per line).
    const key = digitsKey(text, tStart);
    const zoneLen = tEnd - p;
    if (!(key === this.secKey && (zoneLen === 1 ? this.zone === 'Z' && text.charCodeAt(p) === 90 : zoneLen === this.zone.length && text.startsWith(this.zone, p)))) {
      const prefix = flat(text.slice(tStart, fracStart));
      const zone = flat(text.slice(p, tEnd));
      const ms = Date.parse(prefix + zone);
      if (ms !== ms || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(prefix) || !/^(Z|[+-]\d\d:\d\d)$/.test(zone)) return NaN;
      this.secKey = key;
      this.zone = zone;
      this.secMs = ms;
    }
    return this.secMs + frac;
  }

  /** A line parsed by JSON.parse. */
  private object(obj: unknown): void {
    if (typeof obj !== 'object' || obj === null) {
      this.badLines++;
      return;
    }
    const o = obj as { type?: unknown; metric?: unknown; data?: Record<string, unknown> };
    const data = o.data;
    if (typeof data !== 'object' || data === null) {
      this.badLines++;
      return;
    }
    if (o.type === 'Metric') {
      const name = typeof data.name === 'string' ? data.name : typeof o.metric === 'string' ? o.metric : undefined;
      const kind = data.type;
      if (name === undefined || typeof kind !== 'string' || !KINDS.has(kind)) {
        this.badLines++;
        return;
      }
      this.metrics[name] = kind as MetricKind;
      this.onMetric?.(name, kind as MetricKind);
      return;
    }
    if (o.type === 'Point' && typeof o.metric === 'string' && typeof data.time === 'string' && typeof data.value === 'number') {
      const metric = this.metricEntry(o.metric);
      if (!metric.wanted) {
        this.skipped++;
        return;
      }
      // k6 stamps a sample when its request ends; probes put the request's start in metadata `t0`, and a
      // request belongs to the phase in which it started (a hang started inside a fault stays in that fault).
      const meta = data.metadata as { t0?: unknown } | undefined;
      const t0 = typeof meta?.t0 === 'string' && /^\d{10,15}$/.test(meta.t0) ? Number(meta.t0) : undefined;
      const time = t0 ?? parseK6Time(data.time);
      if (time !== time) {
        this.badLines++;
        return;
      }
      const raw = typeof data.tags === 'object' && data.tags !== null ? (data.tags as Record<string, string>) : {};
      const tags = this.extra ? { ...raw, ...this.extra } : raw;
      this.points++;
      this.onSample({ metric: metric.name, time, value: data.value, tags });
      return;
    }
    this.badLines++;
  }
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * A JSON number. Plain decimals of at most 15 digits (`-12.345678`) are computed as one exact integer
 * divided by an exact power of ten: a single correctly rounded operation, so the same double JSON.parse
 * gives. Anything else (exponents, longer numbers) goes through Number(). NaN when not a number.
 */
function fastNumber(text: string, start: number, end: number): number {
  let p = start;
  let neg = false;
  if (text.charCodeAt(p) === 45) {
    neg = true;
    p++;
  }
  let mant = 0;
  let digits = 0;
  let fracDigits = 0;
  let c = text.charCodeAt(p);
  while (c >= 48 && c <= 57) {
    mant = mant * 10 + (c - 48);
    digits++;
    p++;
    c = text.charCodeAt(p);
  }
  if (c === 46 && digits > 0) {
    p++;
    c = text.charCodeAt(p);
    while (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48);
      digits++;
      fracDigits++;
      p++;
      c = text.charCodeAt(p);
    }
  }
  if (p === end && digits > 0 && digits <= 15 && (fracDigits > 0 || c !== 46)) {
    const v = fracDigits === 0 ? mant : mant / (POW10[fracDigits] as number);
    return neg ? -v : v;
  }
  const s = text.slice(start, end);
  return s.length > 0 && s.trim() === s ? Number(s) : NaN;
}

/** `","type":"Point","data":{"time":"` at `at` (the metric name's closing quote), checked char by char. */
function isPointTime(text: string, at: number): boolean {
  for (let i = 0; i < P_POINT_TIME.length; i++) if (text.charCodeAt(at + i) !== P_POINT_TIME.charCodeAt(i)) return false;
  return true;
}

/**
 * The digits of `YYYY-MM-DDTHH:MM:SS` at `at` as one number (-2 when a digit is missing): equal keys
 * mean the same second (the separators are checked when the key is first parsed by Date.parse).
 */
function digitsKey(text: string, at: number): number {
  let k = 0;
  for (let i = 0; i < 19; i++) {
    if (i === 4 || i === 7 || i === 10 || i === 13 || i === 16) continue;
    const d = text.charCodeAt(at + i) - 48;
    if (d < 0 || d > 9) return -2;
    k = k * 10 + d;
  }
  return k;
}

/** Force a flat, standalone copy of a (possibly sliced) string. */
function flat(s: string): string {
  // Round-tripping through a Buffer is the reliable way to drop the reference to the parent string.
  return s.length <= 12 ? (' ' + s).slice(1) : Buffer.from(s, 'utf8').toString('utf8');
}

function isGzipFile(path: string, force?: boolean): boolean {
  if (force !== undefined) return force;
  if (path.endsWith('.gz')) return true;
  if (!existsSync(path)) return false;
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

const CHUNK = 1 << 20;

/**
 * Did the gzip stream end with its trailer? A cut stream decodes without error (Z_SYNC_FLUSH), so
 * compare the trailer's ISIZE (the last 4 bytes: decoded length mod 2^32) with what was decoded; a cut
 * file's last bytes match by chance with probability 2^-32. (Single-member files, as k6 writes.)
 */
function gzipComplete(path: string, decodedBytes: number): boolean {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 18) return false;
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, size - 4);
    return b.readUInt32LE(0) === decodedBytes % 2 ** 32;
  } finally {
    closeSync(fd);
  }
}

/**
 * Read a k6 JSON output file (plain or gzipped), calling onSample for each Point line (in file order).
 * A truncated gzip stream yields what it holds (finishFlush Z_SYNC_FLUSH); a partial last line is ignored.
 */
export async function readK6Samples(path: string, onSample: (s: Sample) => void, opts: K6ReadOptions = {}): Promise<K6ReadResult> {
  const parser = sampleParser(path, onSample, opts);
  const gz = isGzipFile(path, opts.gzip);
  let streamTruncated = false;
  let decoded = 0;
  const skip = opts.fromByte ?? 0;
  // A rotated file (sample-rotator.ts) starts with a hole of zeros: plain, read from the offset; gzipped, decoded past it.
  const src = createReadStream(path, { highWaterMark: CHUNK, ...(skip > 0 && !gz ? { start: skip } : {}) });
  if (gz) {
    const gunzip = createGunzip({ finishFlush: constants.Z_SYNC_FLUSH, chunkSize: CHUNK });
    await new Promise<void>((resolveDone, reject) => {
      src.on('error', reject);
      gunzip.on('error', (e: NodeJS.ErrnoException) => {
        // A stream cut inside the gzip header / a damaged tail: keep what was decoded.
        if (e.code === 'Z_BUF_ERROR' || e.code === 'Z_DATA_ERROR' || /unexpected end/i.test(e.message)) {
          streamTruncated = true;
          src.destroy();
          resolveDone();
        } else reject(e);
      });
      gunzip.on('data', (c: Buffer) => {
        const at = decoded;
        decoded += c.length;
        if (decoded <= skip) return;
        parser.pushBytes(at >= skip ? c : c.subarray(skip - at));
      });
      gunzip.on('end', () => resolveDone());
      src.pipe(gunzip);
    });
    if (!streamTruncated && !gzipComplete(path, decoded)) streamTruncated = true;
  } else {
    for await (const c of src) parser.pushBytes(c as Buffer);
  }
  const truncated = parser.finish() || streamTruncated;
  return { points: parser.points, skipped: parser.skipped, badLines: parser.badLines, metrics: { ...parser.metrics }, truncated, bytes: parser.bytes };
}

export interface K6TailOptions extends K6ReadOptions {
  /** Poll interval (default 500 ms). */
  intervalMs?: number;
  /** Bytes read per poll at most (default 8 MiB): a big backlog is read over several polls. */
  maxBytesPerPoll?: number;
}

/**
 * Follows a k6 output file while k6 writes it: every `intervalMs` it reads what was appended since the
 * last offset (plain: the bytes; gzip: fed into one running gunzip, which yields each completed
 * deflate block) and passes complete lines to the parser; a partial last line waits for the next poll.
 * The file may not exist yet when started. stop() reads what is left and returns the totals.
 */
export class K6Tail {
  private readonly parser: SampleParser;
  private readonly intervalMs: number;
  private readonly maxBytes: number;
  private fh: FileHandle | undefined;
  private offset = 0;
  private gunzip: Gunzip | undefined;
  private gz: boolean | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private stopped = false;
  private streamError: Error | undefined;
  private decoded = 0;
  private readonly buf: Buffer;

  constructor(readonly path: string, onSample: (s: Sample) => void, private readonly opts: K6TailOptions = {}) {
    this.parser = sampleParser(path, onSample, opts);
    this.intervalMs = opts.intervalMs ?? 500;
    this.maxBytes = opts.maxBytesPerPoll ?? 8 * CHUNK;
    this.buf = Buffer.allocUnsafe(CHUNK);
  }

  /** Start polling (the first poll runs at once). */
  start(): this {
    const tick = () => {
      this.polling = this.polling.then(() => this.poll()).catch((e: unknown) => {
        this.streamError ??= e instanceof Error ? e : new Error(String(e));
      });
      if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
    };
    tick();
    return this;
  }

  /** Samples delivered so far. */
  get points(): number {
    return this.parser.points;
  }

  /** Bytes of complete lines parsed so far (a plain file: the offset where the next line starts). */
  get completeBytes(): number {
    return this.parser.bytes;
  }

  get metrics(): Record<string, MetricKind> {
    return this.parser.metrics;
  }

  /** Read everything appended since the last poll (callable directly, e.g. from tests). */
  async poll(): Promise<void> {
    if (this.fh === undefined) {
      if (!existsSync(this.path)) return;
      this.fh = await open(this.path, 'r');
    }
    const size = (await this.fh.stat()).size;
    if (size < this.offset) throw new Error(`${this.path} shrank from ${this.offset} to ${size} bytes: not the file being followed`);
    let budget = this.maxBytes;
    while (this.offset < size && budget > 0) {
      const want = Math.min(this.buf.length, size - this.offset, budget);
      const { bytesRead } = await this.fh.read(this.buf, 0, want, this.offset);
      if (bytesRead <= 0) break;
      const chunk = this.buf.subarray(0, bytesRead);
      if (this.gz === undefined) this.gz = this.opts.gzip ?? (this.path.endsWith('.gz') || (chunk[0] === 0x1f && (bytesRead < 2 || chunk[1] === 0x8b)));
      if (this.gz) await this.feedGzip(Buffer.from(chunk));
      else this.parser.pushBytes(chunk);
      this.offset += bytesRead;
      budget -= bytesRead;
    }
  }

  private gunzipStream(): Gunzip {
    if (!this.gunzip) {
      const g = createGunzip({ finishFlush: constants.Z_SYNC_FLUSH, chunkSize: CHUNK });
      g.on('data', (c: Buffer) => {
        this.decoded += c.length;
        this.parser.pushBytes(c);
      });
      g.on('error', (e: Error) => {
        this.streamError ??= e;
      });
      this.gunzip = g;
    }
    return this.gunzip;
  }

  private feedGzip(chunk: Buffer): Promise<void> {
    const g = this.gunzipStream();
    return new Promise((resolveDone) => {
      // The write callback fires once zlib has consumed the chunk; flush() makes it emit what it has.
      g.write(chunk, () => g.flush(constants.Z_SYNC_FLUSH, () => resolveDone()));
    });
  }

  /** Stop polling, read the rest of the file, and return the totals (as readK6Samples). */
  async stop(): Promise<K6ReadResult> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
    await this.poll().catch((e: unknown) => {
      this.streamError ??= e instanceof Error ? e : new Error(String(e));
    });
    let streamTruncated = false;
    if (this.gunzip) {
      const g = this.gunzip;
      await new Promise<void>((resolveDone) => {
        g.once('end', () => resolveDone());
        g.once('error', () => {
          streamTruncated = true;
          resolveDone();
        });
        g.end();
      });
      if (!streamTruncated && !gzipComplete(this.path, this.decoded)) streamTruncated = true;
    }
    await this.fh?.close();
    this.fh = undefined;
    if (this.streamError && !/unexpected end|Z_BUF_ERROR/i.test(this.streamError.message)) throw this.streamError;
    const truncated = this.parser.finish() || streamTruncated;
    const p = this.parser;
    return { points: p.points, skipped: p.skipped, badLines: p.badLines, metrics: { ...p.metrics }, truncated, bytes: p.bytes };
  }
}

/** Size of a file (0 when absent): for progress lines. */
export function fileSize(path: string): number {
  if (!existsSync(path)) return 0;
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}
