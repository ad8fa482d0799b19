/**
 * The SFU worker's CPU at a load, read off every window measured near it rather than off one step's: at a constant
 * load (a conference of 40 rooms, 480 consumers, one run of 50 windows) one 6-s window's worker CPU moved between
 * 49 and 75 % (sd 9 % of the mean), so a CPU knee judged per step moved by as much from run to run. The worker's
 * cost is near proportional to its consumers, so the windows within ±FIT_SPAN of the load give its cost per
 * consumer (their CPU summed over their consumers summed), and that times the load is the CPU the budget judges.
 * Local, not one line over the whole search: near its knee a worker costs more per consumer than at a few rooms
 * (a conference's cost per room rose by a fifth between 49 and 71 rooms). Pure: unit-tested on recorded windows.
 */
import type { SfuStep } from './sfu-step.js';

/** Windows whose consumers are within this share of the load count. */
export const FIT_SPAN = 0.35;
/** Windows a fit needs; with fewer the step's own CPU is judged. */
export const FIT_MIN_WINDOWS = 3;
/**
 * A window at or above this share of a core is a saturated worker: it tells no cost (a full core reads 100 %
 * whatever the load asks), so it is left out of fits, and a step measured there is judged on its own CPU.
 */
export const CPU_SATURATED = 0.97;

export interface FittedCpu {
  /** The worker's CPU at the load, as a share of its core. */
  value: number;
  /** Windows and distinct loads (consumers) it was read off. */
  windows: number;
  loads: number;
}

/** The worker's CPU at `consumers` from the windows near it, or null when fewer than FIT_MIN_WINDOWS are. */
export function fitWorkerCpu(windows: readonly SfuStep[], consumers: number): FittedCpu | null {
  if (!(consumers > 0)) return null;
  const near = windows.filter(
    (w) => w.workerCpu !== null && w.workerCpu > 0 && w.workerCpu < CPU_SATURATED && w.consumers > 0 && Math.abs(w.consumers - consumers) <= consumers * FIT_SPAN,
  );
  if (near.length < FIT_MIN_WINDOWS) return null;
  const perConsumer = near.reduce((a, w) => a + w.workerCpu!, 0) / near.reduce((a, w) => a + w.consumers, 0);
  return { value: perConsumer * consumers, windows: near.length, loads: new Set(near.map((w) => w.consumers)).size };
}
