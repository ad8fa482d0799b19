import { appendFileSync, closeSync, fsyncSync, openSync } from 'node:fs';
import { run } from '../lab/exec.js';
import type { MetricKind, Sample } from '../results/model.js';
import { SegmentBuilder, encodeSegmentLine } from '../results/window-segment.js';

export interface SampleRotatorOptions {
  /** The plain samples file k6 (or a video workload) appends to while it runs. */
  samplesPath: string;
  /** Its windowed history beside it (WORKLOAD_FILES.windows). */
  windowsPath: string;
  kindOf: (metric: string) => MetricKind;
  log?: (line: string) => void;
}

/**
 * Bounded disk for long runs: the samples of a live samples file, as its tail delivers them, are written every so often
 * as one segment of the windowed history (window-segment.ts), then the raw lines they came from are released from the
 * file (fallocate --punch-hole: k6 keeps writing at its offset, the disk blocks before it are freed; the file reads
 * as zeros there, and analyze starts its raw read at the last segment's end). The segment is on disk (fsync) before any
 * line is released, so a kill between the two only leaves both.
 */
export class SampleRotator {
  /** Samples delivered since the last rotate(), and those of the stretch before it (written at the next rotate()). */
  private current: SegmentBuilder;
  private previous: { builder: SegmentBuilder; toByte: number } | null = null;
  private fromByte = 0;
  /** Bytes released from the samples file so far. */
  released = 0;
  segments = 0;
  private failed = false;

  constructor(private readonly o: SampleRotatorOptions) {
    this.current = new SegmentBuilder(o.kindOf);
  }

  /** Each sample the tail delivers, in file order. */
  add(s: Sample): void {
    if (!this.failed) this.current.add(s);
  }

  /**
   * Write the stretch delivered before the previous rotate() as a segment and release its lines; the stretch since
   * (up to `toByte`, the tail's complete bytes) waits for the next call, so that what is summed is at least one
   * stretch old (most of it before `rawFromMs`, whose boundaries are known). Boundaries and rawFromMs as
   * SegmentBuilder.take.
   */
  async rotate(toByte: number, runStartMs: number, boundaries: readonly number[], rawFromMs: number): Promise<void> {
    if (this.failed) return;
    const prev = this.previous;
    if (toByte > (prev?.toByte ?? this.fromByte)) {
      this.previous = { builder: this.current, toByte };
      this.current = new SegmentBuilder(this.o.kindOf);
    } else if (prev) this.previous = null;
    else return;
    if (!prev) return;
    const seg = prev.builder.take(this.fromByte, prev.toByte, runStartMs, boundaries, rawFromMs);
    const fd = openSync(this.o.windowsPath, 'a');
    try {
      appendFileSync(fd, encodeSegmentLine(seg));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.fromByte = prev.toByte;
    this.segments++;
    const r = await run('fallocate', ['--punch-hole', '--offset', '0', '--length', String(prev.toByte), this.o.samplesPath], { timeoutMs: 10_000 }).catch((e: Error) => ({ code: 1, stdout: '', stderr: e.message }));
    if (r.code !== 0) {
      // The history stays exact (the segments and the raw lines after them agree); only the disk is not bounded.
      this.failed = true;
      this.o.log?.(`sample rotation: cannot release ${this.o.samplesPath} (${r.stderr.trim()}): its raw samples are kept`);
      return;
    }
    this.released = prev.toByte;
  }
}
