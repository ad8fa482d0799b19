import { closeSync, existsSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { HISTORY_FILES, observationSegments } from './history.js';

export interface ObservationRotatorOptions {
  /** The run directory (its observations.jsonl). */
  dir: string;
  /** The live file's size from which rotate() closes it as a segment (default 4 MiB; 0: whatever it holds). */
  minBytes?: number;
  log?: (line: string) => void;
}

/** A segment is closed once the live file has this much: a few minutes of a soak's server metrics. */
export const OBSERVATION_SEGMENT_BYTES = 4 * 1024 * 1024;

/**
 * Bounded disk for a long run's observations (the target's /metrics series dominate them: ~0.5 MB a minute): the
 * live observations.jsonl is closed every so often as a gzipped segment, observations.<k>.jsonl.gz, and a new live
 * file starts. Nothing is summed or dropped — the segments are the same lines, compressed (about 20×) — so every
 * reader of observations (history.ts) sees one stream: the segments in order, then the live file.
 *
 * Crash-safe at each step: the live file is renamed to observations.<k>.jsonl first (the next append, synchronous in
 * this process, starts a new live file), then compressed beside it and fsynced, then renamed to .gz, and only then is
 * the plain segment removed; a reader takes the plain segment while it exists.
 */
export class ObservationRotator {
  segments = 0;
  /** Bytes of plain lines closed into segments, and the segments' size on disk. */
  plainBytes = 0;
  gzBytes = 0;
  private failed = false;

  constructor(private readonly o: ObservationRotatorOptions) {}

  /** Close the live file as a segment if it holds at least `minBytes` (default: the options'). One call at a time. */
  async rotate(minBytes = this.o.minBytes ?? OBSERVATION_SEGMENT_BYTES): Promise<void> {
    if (this.failed) return;
    const live = join(this.o.dir, HISTORY_FILES.observations);
    if (!existsSync(live)) return;
    const size = statSync(live).size;
    if (size === 0 || size < minBytes) return;
    const k = observationSegments(this.o.dir).reduce((m, s) => Math.max(m, s.index), 0) + 1;
    const plain = join(this.o.dir, `observations.${k}.jsonl`);
    const gz = `${plain}.gz`;
    try {
      renameSync(live, plain);
      await pipeline(createReadStream(plain), createGzip(), createWriteStream(`${gz}.part`));
      const fd = openSync(`${gz}.part`, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(`${gz}.part`, gz);
      unlinkSync(plain);
    } catch (e) {
      // The lines are all still there (plain segment, or live file); only the disk is not bounded.
      this.failed = true;
      this.o.log?.(`observation rotation: ${(e as Error).message}: observations are kept as they are`);
      return;
    }
    this.segments++;
    this.plainBytes += size;
    this.gzBytes += statSync(gz).size;
  }
}
