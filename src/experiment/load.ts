import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { noteWarnings, preflightExperiment } from './preflight.js';
import { HARNESS_ROOT } from '../lab/paths.js';
import { ExperimentError, validateExperiment, type Experiment } from './spec.js';
import { cyclesThatFit } from './schedule.js';
import { isScriptFile } from '../k6/bundle.js';

export const EXPERIMENTS_DIR = join(HARNESS_ROOT, 'fixtures', 'experiments');

/** The experiments shipped in fixtures/experiments/ (one `<name>.ts` each). */
export function listExperiments(dir: string = EXPERIMENTS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /^[a-z0-9][a-z0-9-]*\.ts$/.test(f)).map((f) => f.slice(0, -3)).sort();
}

export interface LoadOptions {
  /**
   * Also check what can be known before any load (preflight.ts: scenarios, metrics, probes, faults build,
   * claims, the timeline's feasibility). Default true: `sch run` refuses before starting anything.
   */
  preflight?: boolean;
}

/**
 * An experiment by name (fixtures/experiments/<name>.ts) or by file (.ts / .js exporting default
 * `defineExperiment(...)`, or .json / .yaml data). Errors name the file and the field.
 */
export async function loadExperiment(nameOrPath: string, dir: string = EXPERIMENTS_DIR, o: LoadOptions = {}): Promise<Experiment> {
  const { experiment, file } = await readExperiment(nameOrPath, dir);
  if (o.preflight !== false) {
    const p = preflightExperiment(experiment, file);
    noteWarnings(p.warnings);
    if (p.errors.length) throw new ExperimentError(p.errors.join('\n'));
  }
  return experiment;
}

/** The experiment file's path for a name or path (it need not exist). */
export function experimentFile(nameOrPath: string, dir: string = EXPERIMENTS_DIR): { file: string; looksLikePath: boolean } {
  const looksLikePath = /[/\\]|\.(ts|js|mjs|json|ya?ml)$/.test(nameOrPath);
  return { file: looksLikePath ? resolve(nameOrPath) : join(dir, `${nameOrPath}.ts`), looksLikePath };
}

/** Read and validate (structure and cross-references, no preflight). */
export async function readExperiment(nameOrPath: string, dir: string = EXPERIMENTS_DIR): Promise<{ experiment: Experiment; file: string }> {
  return { experiment: await readValidated(nameOrPath, dir), file: experimentFile(nameOrPath, dir).file };
}

async function readValidated(nameOrPath: string, dir: string): Promise<Experiment> {
  const { file, looksLikePath } = experimentFile(nameOrPath, dir);
  if (!existsSync(file)) {
    throw new ExperimentError(looksLikePath
      ? `experiment file ${file} not found`
      : `unknown experiment "${nameOrPath}" (known: ${listExperiments(dir).join(', ') || 'none'}; or give a file path)`);
  }
  const ext = extname(file);
  if (ext === '.json' || ext === '.yaml' || ext === '.yml') {
    let raw: unknown;
    try {
      raw = ext === '.json' ? JSON.parse(readFileSync(file, 'utf8')) : parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ExperimentError(`${file}: not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
    }
    return withScriptPaths(validateExperiment(raw, file), file);
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (e) {
    // defineExperiment validates at import: keep its field-by-field message, prefixed with the file.
    if (e instanceof ExperimentError) throw new ExperimentError(e.message.replace(/^experiment:/gm, `${file}:`));
    throw new ExperimentError(`${file}: cannot load: ${(e as Error).message}`);
  }
  if (mod.default === undefined) throw new ExperimentError(`${file}: no default export (export default defineExperiment({...}))`);
  return withScriptPaths(validateExperiment(mod.default, file), file);
}

/**
 * A workload running a k6 script of your own (`scenario: ./load/my.js`) gets its absolute path, relative
 * to the experiment file (the manifest, and so a replay, then names the same file); a missing one is
 * refused here, before any load.
 */
function withScriptPaths(e: Experiment, file: string): Experiment {
  const problems: string[] = [];
  const workloads = e.workloads.map((w, i) => {
    if (w.kind !== 'k6' || !isScriptFile(w.scenario)) return w;
    const path = isAbsolute(w.scenario) ? w.scenario : resolve(dirname(file), w.scenario);
    if (!existsSync(path)) problems.push(`${file}: workloads[${i}].scenario: k6 script ${path} not found`);
    return { ...w, scenario: path };
  });
  if (problems.length) throw new ExperimentError(problems.join('\n'));
  return { ...e, workloads };
}

/**
 * Stretch (or shrink) the timeline to a new total duration. A timeline of one-off faults scales: start times
 * and recovery windows stretch, each fault keeps its length (breaker cooldowns and the hypotheses' stated
 * times are absolute). A repeating fault (`everyS`) keeps its rhythm instead and fills the new length with
 * cycles (an explicit `cycles` is cut to what fits); recovery windows then keep theirs too, since a cycle's
 * recovery must end before the next one. Only when even its first cycle would not fit does it scale.
 */
export function scaleExperiment(e: Experiment, durationS: number): Experiment {
  if (!(durationS > 0)) throw new ExperimentError(`--duration must be positive (got ${durationS})`);
  const k = durationS / e.durationS;
  const r = (x: number) => Math.round(x * k * 10) / 10;
  const repeats = e.faults.some((f) => f.everyS !== undefined);
  const stretched = (f: Experiment['faults'][number]) => ({ ...f, startS: r(f.startS), durationS: Math.min(f.durationS, Math.max(1, durationS - r(f.startS))) });
  return {
    ...e,
    durationS,
    recoveryS: repeats ? e.recoveryS : r(e.recoveryS),
    faults: e.faults.map((f) => {
      if (f.everyS === undefined) return stretched(f);
      const fit = cyclesThatFit(f, durationS);
      if (fit === 0) {
        const { cycles: _c, ...once } = stretched(f);
        return once;
      }
      return f.cycles === undefined ? f : { ...f, cycles: Math.min(f.cycles, fit) };
    }),
  };
}
