/**
 * The report's filmstrip from a video workload's pictures (src/media/frame-store.ts): for each phase as it really
 * happened and each participant, the picture taken inside the phase nearest its middle. The runner asks for one
 * at each planned phase's middle, so the pick is normally that one; a phase with no picture inside it (too short,
 * the participant not in the call yet) has none, rather than one from another phase. Pure.
 */
import { posix } from 'node:path';
import type { Filmstrip, FilmstripFrame, Phase } from '../results/model.js';
import type { FrameLine } from '../media/frame-store.js';

/**
 * @param workloadPath the workload's folder relative to the run directory (`workloads/call`)
 * @param participants in the order the report shows them
 */
export function pickFilmstrip(workload: string, workloadPath: string, lines: readonly FrameLine[], phases: readonly Phase[], participants: readonly string[]): Filmstrip {
  const frames: FilmstripFrame[] = [];
  for (const phase of phases) {
    const mid = (phase.startMs + phase.endMs) / 2;
    for (const participant of participants) {
      let best: FrameLine | null = null;
      for (const l of lines) {
        if (l.participant !== participant || l.atMs < phase.startMs || l.atMs >= phase.endMs) continue;
        if (best === null || Math.abs(l.atMs - mid) < Math.abs(best.atMs - mid)) best = l;
      }
      if (best) frames.push({ phase: phase.id, participant, path: posix.join(workloadPath, best.file), atMs: best.atMs, width: best.width, height: best.height, tiles: best.tiles.map((t) => ({ ...t })) });
    }
  }
  return { workload, participants: [...participants], frames };
}
