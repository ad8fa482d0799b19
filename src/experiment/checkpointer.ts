import type { Sample } from '../results/model.js';
import { COMPLETE_LAG_MS, DEFAULT_CHECKPOINT_EVERY_MS, harnessMemory, writeCheckpoint, type Checkpoint } from './checkpoint.js';

export interface CheckpointerOptions {
  dir: string;
  runStartMs: number;
  /** Between checkpoints (default 30 s). */
  intervalMs?: number;
  /** Between readings of the harness's own memory (default 5 s; at most intervalMs). */
  memoryEveryMs?: number;
  /** What the checkpoint says of faults and workloads now. */
  state: () => Pick<Checkpoint, 'faultsOn' | 'workloads'>;
  /** Where the harness's memory readings go (observations.jsonl). */
  record: (s: Sample) => void;
  /** After each checkpoint is written (the sample rotation: sample-rotator.ts); one at a time. */
  afterCheckpoint?: (c: Checkpoint) => Promise<void>;
  log?: (line: string) => void;
}

/** Writes the run's checkpoint periodically (checkpoint.ts) and records the harness's own memory beside it. */
export class Checkpointer {
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;
  private lastWriteMs = 0;
  private after: Promise<void> = Promise.resolve();
  private readonly intervalMs: number;
  private readonly tickMs: number;

  constructor(private readonly o: CheckpointerOptions) {
    this.intervalMs = o.intervalMs ?? DEFAULT_CHECKPOINT_EVERY_MS;
    this.tickMs = Math.min(o.memoryEveryMs ?? 5000, this.intervalMs);
  }

  start(): void {
    if (this.timer) return;
    this.lastWriteMs = Date.now();
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** How many checkpoints were written. */
  get written(): number {
    return this.seq;
  }

  private tick(): void {
    const now = Date.now();
    const mem = harnessMemory(now);
    for (const s of mem.samples) this.o.record(s);
    if (now - this.lastWriteMs < this.intervalMs - this.tickMs / 2) return;
    this.lastWriteMs = now;
    const c: Checkpoint = { seq: this.seq + 1, atMs: now, completeToMs: now - COMPLETE_LAG_MS, runStartMs: this.o.runStartMs, pid: process.pid, ...this.o.state(), harness: { rssMib: mem.rssMib, heapMib: mem.heapMib } };
    try {
      writeCheckpoint(this.o.dir, c);
      this.seq++;
    } catch (e) {
      // A full disk must not stop the run: the run's end (run.json) does not depend on it.
      this.o.log?.(`checkpoint: ${(e as Error).message}`);
      return;
    }
    const after = this.o.afterCheckpoint;
    if (after) this.after = this.after.then(() => after(c)).catch((e: Error) => this.o.log?.(`after checkpoint: ${e.message}`));
  }

  /** Stop, and wait for the work after the last checkpoint to end. */
  async drain(): Promise<void> {
    this.stop();
    await this.after;
  }
}
