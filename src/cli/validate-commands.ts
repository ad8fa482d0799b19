import { Command } from 'commander';
import { readExperiment } from '../experiment/load.js';
import { preflightExperiment } from '../experiment/preflight.js';
import { cycleCount } from '../experiment/schedule.js';
import { ExperimentError, setWarningSink, type Experiment } from '../experiment/spec.js';
import { redact } from '../util/redact.js';

export interface ValidationReport {
  file: string;
  experiment?: Experiment;
  /** One line per problem, each naming its field; empty: the experiment can run. */
  errors: string[];
  /** Accepted, but to be rewritten (old statistic names). */
  warnings: string[];
}

/**
 * Everything `sch run` checks before starting anything, without a lab: the file's structure and
 * cross-references (spec.ts), then what preflight.ts can know (scenarios, metrics, probes, faults build,
 * claims, the timeline's feasibility). Never throws for a bad experiment: the problems are the answer.
 */
export async function validateExperimentFile(nameOrPath: string): Promise<ValidationReport> {
  const warnings: string[] = [];
  const prev = setWarningSink((w) => warnings.push(w));
  try {
    const { experiment, file } = await readExperiment(nameOrPath);
    const p = preflightExperiment(experiment, file);
    return { file, experiment, errors: p.errors, warnings: [...warnings, ...p.warnings] };
  } catch (e) {
    if (!(e instanceof ExperimentError)) throw e;
    return { file: nameOrPath, errors: e.message.split('\n'), warnings };
  } finally {
    setWarningSink(prev);
  }
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * `sch validate <experiment...>`: exit 0 when every one can run (deprecation warnings allowed), 2 with
 * one line per problem otherwise.
 */
export function validateCommand(): Command {
  return new Command('validate')
    .description('check experiments (names or .ts / .json / .yaml files) before any load: fields, scenarios, metrics, probes, faults, claims, timeline')
    .argument('<experiment...>', 'experiment names (fixtures/experiments/) or files')
    .option('--json', 'one JSON object per experiment: { file, ok, errors, warnings }')
    .action(async (names: string[], o: { json?: boolean }) => {
      let bad = 0;
      for (const n of names) {
        const r = await validateExperimentFile(n);
        const ok = r.errors.length === 0;
        if (!ok) bad++;
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ file: r.file, ok, errors: r.errors, warnings: r.warnings })}\n`);
          continue;
        }
        for (const w of r.warnings) process.stderr.write(`warning: ${redact(w)}\n`);
        for (const e of r.errors) process.stderr.write(`error: ${redact(e)}\n`);
        if (ok && r.experiment) {
          const e = r.experiment;
          // A repeating fault is one entry but several applications: say how many the load holds.
          const applied = e.faults.reduce((n, f) => n + cycleCount(f, e.durationS), 0);
          const faults = `${plural(e.faults.length, 'fault')}${applied > e.faults.length ? ` (${applied} applications)` : ''}`;
          process.stdout.write(`${r.file}: ok — ${e.name}, ${e.durationS} s, ${plural(e.workloads.length, 'workload')}, ${faults}, ${plural(e.hypotheses.length, 'hypothesis', 'hypotheses')}\n`);
        }
      }
      // Bad input: 2, like every refused input.
      process.exit(bad ? 2 : 0);
    });
}
