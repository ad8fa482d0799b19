/**
 * Measures the SFU at a load level (rooms of one shape) with synthetic participants: rooms are added or
 * closed to reach the level (rooms already in place stay: a step adds load, it does not rebuild it), every
 * consumer is waited for, the load settles for `warmupS`, then for `windowS` the receivers' RTP windows, the
 * SFU's ingress and egress on the wire, the senders' RTCP feedback, this process's CPU (the generator) and the
 * SFU worker's CPU are read. The result is one SfuStep; what was not measured is null, never a default.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CallApi, CallUser } from '../media/call-api.js';
import type { Recording } from '../media/rtp-recording.js';
import type { RtpReplaySender } from '../media/rtp-replay-sender.js';
import { quantile } from '../media/rtp-stream-stats.js';
import { TrendHistogram } from '../results/histogram.js';
import { delayHistogramOf } from './merge-steps.js';
import { seatsOf, type RoomShape } from './room-shape.js';
import type { SfuStep } from './sfu-step.js';
import type { MeasureHints } from './sfu-bench.js';
import type { WorkerReading } from './sfu-worker-cpu.js';
import { SyntheticRoom, addCounters, zeroCounters, type RoomCounters } from './synthetic-room.js';

export interface SyntheticStepRunnerOptions {
  api: CallApi;
  origin: string;
  recording: Recording;
  shape: RoomShape;
  /** Registered users, at least one a seat of the shape (every room seats the same users). */
  users: CallUser[];
  warmupS: number;
  windowS: number;
  /** The SFU worker's counters so far (CPU, run-queue wait, its core's busy time); null: not measurable (an external target). */
  readWorker: () => WorkerReading | null;
  /** Rooms joined side by side while a step adds load. */
  joinConcurrency?: number;
  /** How long every consumer of a step may take to be set up. */
  consumersTimeoutMs?: number;
  log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const JOIN_ATTEMPTS = 3;
const pct = (x: number) => `${(x * 100).toFixed(0)} %`;

export interface WorkerSettled {
  /** The worker's cost came back within the margin (two slices running), or the bound passed first. */
  back: boolean;
  /** The last slice's CPU (share of a core); null when the worker could not be read. */
  cpu: number | null;
  waitedS: number;
}

/**
 * Wait, reading the worker's CPU in slices of `sliceS`, until two slices running cost at most `cpu` plus the margin
 * (10 % of it and 5 points); at most `maxS`. Bounded: maxS / sliceS readings.
 */
export async function waitForWorkerCost(read: () => WorkerReading | null, cpu: number, o: { sliceS?: number; maxS?: number; sleep?: (ms: number) => Promise<void>; now?: () => number } = {}): Promise<WorkerSettled> {
  const sliceS = o.sliceS ?? 2;
  const maxS = o.maxS ?? 60;
  const wait = o.sleep ?? sleep;
  const now = o.now ?? (() => performance.now() / 1000);
  const limit = cpu * 1.1 + 0.05;
  const t0 = now();
  let prev = read();
  let prevT = now();
  let below = 0;
  let last: number | null = null;
  for (let n = 0; n < Math.ceil(maxS / sliceS); n++) {
    await wait(sliceS * 1000);
    const r = read();
    const t = now();
    if (!prev || !r) return { back: false, cpu: null, waitedS: t - t0 };
    last = (r.cpuS - prev.cpuS) / Math.max(1e-6, t - prevT);
    prev = r;
    prevT = t;
    below = last <= limit ? below + 1 : 0;
    if (below >= 2) return { back: true, cpu: last, waitedS: t - t0 };
  }
  return { back: false, cpu: last, waitedS: now() - t0 };
}

const settleText = (s: WorkerSettled, cpu: number, warmupS: number): string =>
  `${s.back ? 'the worker at' : 'the worker still at'} ${s.cpu === null ? '?' : pct(s.cpu)} after ${Math.round(s.waitedS + warmupS)} s (${pct(cpu)} when measured good)`;

export class SyntheticStepRunner {
  private readonly rooms: SyntheticRoom[] = [];
  private readonly senders = new Map<string, RtpReplaySender>();
  private readonly seats;
  private made = 0;
  /** Rooms joined afresh after a failed join, over the runner's life. */
  joinRetries = 0;

  constructor(private readonly o: SyntheticStepRunnerOptions) {
    this.seats = seatsOf(o.shape);
    if (o.users.length < this.seats.length) throw new Error(`a ${o.shape.kind} room needs ${this.seats.length} users (got ${o.users.length})`);
  }

  get roomCount(): number {
    return this.rooms.length;
  }

  /** Senders whose producer is open (a closed participant takes its sender out). */
  get senderCount(): number {
    return this.senders.size;
  }

  /**
   * Add or close rooms until `rooms` are in place. A room that fails to join (every attempt) is closed, the rooms
   * that did join stay, and RoomsNotJoined is thrown.
   */
  async setRooms(rooms: number): Promise<void> {
    while (this.rooms.length > rooms) this.rooms.pop()!.close();
    const concurrency = Math.max(1, this.o.joinConcurrency ?? 2);
    while (this.rooms.length < rooms) {
      const n = Math.min(concurrency, rooms - this.rooms.length);
      const settled = await Promise.allSettled(Array.from({ length: n }, () => this.joinRoom()));
      for (const x of settled) if (x.status === 'fulfilled') this.rooms.push(x.value);
      const failed = settled.find((x) => x.status === 'rejected');
      if (failed) throw new RoomsNotJoined(rooms - this.rooms.length, failed.reason instanceof Error ? failed.reason.message : String(failed.reason));
    }
  }

  /**
   * One more room, joined; a room whose join failed (an ICE check or a request unanswered while the SFU is busy
   * with the load already there) is closed and joined afresh, JOIN_ATTEMPTS times at most, then the error is thrown.
   */
  private async joinRoom(): Promise<SyntheticRoom> {
    for (let attempt = 1; ; attempt++) {
      const room = new SyntheticRoom({
        api: this.o.api, origin: this.o.origin, recording: this.o.recording, seats: this.seats, users: this.o.users,
        senders: this.senders, label: `r${this.made++}`, ...(this.o.log ? { log: this.o.log } : {}),
      });
      try {
        await room.join();
        return room;
      } catch (e) {
        room.close();
        const m = e instanceof Error ? e.message : String(e);
        if (attempt >= JOIN_ATTEMPTS) throw new Error(`a room of ${this.rooms.length + 1} did not join in ${JOIN_ATTEMPTS} attempts: ${m}`);
        this.o.log?.(`room ${room.callId}: join attempt ${attempt} failed (${m}); joining afresh`);
        this.joinRetries++;
      }
    }
  }

  /**
   * Hold `level` rooms and measure them. `afterOverload`: the step before was past the knee; the SFU is given time
   * to work off what the overload left (a full socket buffer, late frames, the NACKs and retransmissions that keep an
   * overload going). With `settleAt` it holds that many rooms (the last level measured good) first, then goes up to
   * `level`: the level is approached from below. With `settleCpu` too (what the worker cost at `settleAt` when measured
   * good) it holds them until the worker costs that again, not for a fixed time: after an overload the same level
   * has cost the worker 100 % for 20 s and 68 % after, and 89 % falling to 60 % over 40 s.
   */
  async measure(level: number, o: MeasureHints = {}): Promise<SfuStep> {
    const settle = o.afterOverload === true && o.settleAt !== undefined && o.settleAt < this.rooms.length;
    if (settle) {
      const to = Math.min(o.settleAt!, level);
      await this.setRooms(to);
      // settleCpu comes only from a step whose worker CPU was read: the worker is readable here.
      if (o.settleCpu !== undefined) {
        await sleep(this.o.warmupS * 1000);
        const back = await waitForWorkerCost(this.o.readWorker, o.settleCpu);
        this.o.log?.(`level ${level}: back to ${to} room(s) after the overload: ${settleText(back, o.settleCpu, this.o.warmupS)}; then up`);
      } else {
        this.o.log?.(`level ${level}: back to ${to} room(s) for ${this.o.warmupS * 3} s after the overload, then up`);
        await sleep(this.o.warmupS * 3 * 1000);
      }
    }
    const joinStart = performance.now();
    let roomsNotJoined = 0;
    let joinError: string | null = null;
    try {
      await this.setRooms(level);
    } catch (e) {
      // No room at all in place: nothing measures the SFU, and the benchmark fails saying why.
      if (!(e instanceof RoomsNotJoined) || this.rooms.length === 0) throw e;
      roomsNotJoined = e.rooms;
      joinError = e.message;
      this.o.log?.(`level ${level}: ${roomsNotJoined} room(s) could not join (${e.message}); measuring the ${this.rooms.length} in place`);
    }
    const want = this.rooms.reduce((n, r) => n + r.wantedConsumers, 0);
    const deadline = Date.now() + (this.o.consumersTimeoutMs ?? 30_000);
    const have = () => this.rooms.reduce((n, r) => n + r.consumers, 0);
    while (have() < want && Date.now() < deadline) await sleep(100);
    if (have() < want) this.o.log?.(`level ${level}: only ${have()} of ${want} consumers set up`);
    const joinS = (performance.now() - joinStart) / 1000;
    await sleep(this.o.warmupS * (o.afterOverload && !settle ? 3 : 1) * 1000);
    for (const r of this.rooms) r.take();
    const c0 = this.sum();
    const cpu0 = process.cpuUsage();
    const w0 = this.o.readWorker();
    // The generator's own event loop: a receiver stamps a packet's arrival when its callback runs, so a loop that
    // lagged adds its lag to the forwarding delay measured.
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const t0 = performance.now();
    await sleep(this.o.windowS * 1000);
    const wallS = (performance.now() - t0) / 1000;
    lag.disable();
    const cpu = process.cpuUsage(cpu0);
    const w1 = this.o.readWorker();
    const c1 = this.sum();
    const windows = this.rooms.flatMap((r) => r.take());
    const packets = windows.reduce((n, w) => n + w.received, 0);
    const expected = windows.reduce((n, w) => n + w.expected, 0);
    const lost = windows.reduce((n, w) => n + w.lost, 0);
    const delays = windows.flatMap((w) => w.delaysMs);
    // Kept as a histogram too, so the windows of a level pool their delays (merge-steps.ts).
    const delayHist = new TrendHistogram(3);
    for (const d of delays) delayHist.record(d);
    const errors = this.rooms.flatMap((r) => r.errors);
    const kbps = (bytes: number) => (bytes * 8) / 1000 / wallS;
    return {
      level,
      consumers: windows.length,
      workerCpu: w0 && w1 ? (w1.cpuS - w0.cpuS) / wallS : null,
      workerSys: w0 && w1 ? (w1.sysS - w0.sysS) / wallS : null,
      // Waiting for a CPU says something only about a worker with a core of its own (pinned): unpinned, it shares them all.
      workerWait: w0?.core && w1?.core ? (w1.waitS - w0.waitS) / wallS : null,
      workerCoreBusy: w0?.core && w1?.core ? (w1.core.busyS - w0.core.busyS) / Math.max(1e-9, w1.core.totalS - w0.core.totalS) : null,
      loss: expected > 0 ? lost / expected : null,
      delayP50Ms: quantile(delays, 0.5),
      delayP95Ms: quantile(delays, 0.95),
      generatorCpu: (cpu.user + cpu.system) / 1e6 / wallS,
      // Lateness past the sampling timer's own 5 ms period.
      generatorLagP95Ms: lag.count > 0 ? Math.max(0, lag.percentile(95) / 1e6 - 5) : null,
      generatorLagP99Ms: lag.count > 0 ? Math.max(0, lag.percentile(99) / 1e6 - 5) : null,
      packets,
      silentConsumers: windows.filter((w) => w.received === 0).length,
      rooms: this.rooms.length,
      wantedConsumers: want,
      jitterP95Ms: quantile(windows.map((w) => w.jitterMs), 0.95),
      bitrateInKbps: kbps(c1.bytesIn - c0.bytesIn),
      bitrateOutKbps: kbps(c1.bytesOut - c0.bytesOut),
      payloadOutKbps: kbps(c1.payloadOut - c0.payloadOut),
      nackPerS: (c1.nacks - c0.nacks) / wallS,
      pliPerS: (c1.keyframeRequests - c0.keyframeRequests) / wallS,
      unannouncedPackets: c1.unannounced,
      joinS,
      windowS: wallS,
      errors: [...(joinError ? [joinError] : []), ...errors].slice(0, 10),
      ...(roomsNotJoined ? { roomsNotJoined } : {}),
      ...(delayHist.count > 0 ? { delayHistogram: delayHistogramOf(delayHist) } : {}),
    };
  }

  private sum(): RoomCounters {
    const c = zeroCounters();
    for (const r of this.rooms) addCounters(c, r.counters());
    return c;
  }

  close(): void {
    while (this.rooms.length) this.rooms.pop()!.close();
  }
}

/** Rooms of a level that could not join, each after JOIN_ATTEMPTS tries. */
export class RoomsNotJoined extends Error {
  constructor(readonly rooms: number, cause: string) {
    super(`${rooms} room${rooms === 1 ? '' : 's'} could not join: ${cause}`);
    this.name = 'RoomsNotJoined';
  }
}
