/**
 * `sch fault apply | list | clear`: one fault by hand, as toxiproxy-cli does, through the same Fault
 * interface and journal as an experiment's faults (so `sch fault clear`, `sch lab status` and the next
 * run's cleanupFaults see it).
 */
import { Command, Option } from 'commander';
import { cleanupFaults, type CleanupReport } from '../../chaos/cleanup.js';
import { createFault } from '../../chaos/spec.js';
import { CompositeFault } from '../../chaos/composite.js';
import { readJournal } from '../../chaos/journal.js';
import { errText, type CheckResult, type FaultContext } from '../../chaos/fault.js';
import { requireLab } from './lab-commands.js';
import { DEFAULT_LAB } from '../util/lab-name.js';
import { EXIT } from '../util/exit-codes.js';
import { redact } from '../util/redact.js';
import { durationFlag, FlagError } from './k6-flags.js';
import { faultIdFlag, faultSpecFromFlags, labNameFlag, paramFlag } from './fault-input.js';
import { applyFault } from './fault-apply.js';
import { activeFaults, describeEntry, faultsText } from './fault-view.js';

const say = (l: string): void => void process.stdout.write(`${redact(l)}\n`);
const note = (l: string): void => void process.stderr.write(`${redact(l)}\n`);

const labOption = (): Option => new Option('--lab <name>', 'the lab (as sch lab up --name)').default(DEFAULT_LAB).argParser(labNameFlag);

function applyCommand(): Command {
  return new Command('apply')
    .description('apply one fault to the lab, check on the wire that it landed, and leave it on (or hold it for --duration)')
    .argument('[fault]', 'a named fault: redis-outage, cassandra-slow, minio-down, turn-loss, turn-outage, redis-crash-restart, postgres-slow, turn-relay-exhaust (sch list --what faults)')
    .option('--param <key=value>', 'a named fault\'s parameter (repeatable; numbers read as numbers), e.g. --param latencyMs=500', paramFlag)
    .option('--spec <entry>', 'instead of a named fault: one fault entry as an experiment writes it, JSON or YAML, inline or @file, e.g. \'{proxyDown: redis}\', \'{toxic: {proxy: cassandra, type: latency, attributes: {latency: 500}}}\', \'{udp: {action: loss, percent: 20}}\', \'{process: {action: pause, target: redis}}\'')
    .option('--id <id>', 'the fault\'s id in the journal (default: the named fault\'s name, or manual-<mechanism>: manual-toxiproxy, manual-nft, manual-process)', faultIdFlag)
    .addOption(labOption())
    .option('-d, --duration <time>', 'hold the fault this long from when it is applied (k6 durations: 500ms, 20s, 1m30s), then roll it back and exit; without it the fault stays on after the command exits', durationFlag)
    .addHelpText('after', `
Without --duration the fault stays on, journaled like an experiment's: sch fault list shows it,
sch fault clear <id> (or the next sch run's cleanup) rolls it back. With --duration the command holds it
(at least until verify has measured), rolls it back and exits; Ctrl-C / SIGTERM rolls it back first.

Exit codes: 0 applied and seen on the wire (with --duration: and rolled back cleanly); 1 applied, but
verify did not see it on the wire (it is left on without --duration: inspect, then sch fault clear);
2 bad input, no lab up, the id already applied, apply failed (rolled back) or a rollback not clean;
130 interrupted (rolled back first). 130 wins over 2, 2 over 1.

Examples:
  sch fault apply redis-outage
  sch fault apply cassandra-slow --param latencyMs=500 --duration 30s
  sch fault apply --spec '{toxic: {proxy: postgres, type: latency, attributes: {latency: 200}}}' --id pg-200ms
  sch fault apply turn-loss --param percent=20 --lab mylab`)
    .action(async (name: string | undefined, o: { param?: Record<string, unknown>; spec?: string; id?: string; lab: string; duration?: number }) => {
      const spec = faultSpecFromFlags({ ...(name !== undefined ? { fault: name } : {}), ...(o.param ? { param: o.param } : {}), ...(o.spec !== undefined ? { spec: o.spec } : {}), ...(o.id !== undefined ? { id: o.id } : {}) });
      const fault = createFault(spec);
      const lab = await requireLab(o.lab);
      // A composite (turn-outage) journals each part under <id>-<part> too: none may be taken.
      const ids = [fault.id, ...(fault instanceof CompositeFault ? fault.parts.map((p) => p.id) : [])];
      const taken = readJournal(lab).filter((e) => ids.includes(e.id));
      if (taken.length) {
        const e = describeEntry(taken[0]!);
        throw new FlagError(`already applied in lab "${lab.name}": ${e.id} (${e.name}, since ${e.appliedAt}); sch fault clear ${e.id}${lab.name === DEFAULT_LAB ? '' : ` --lab ${lab.name}`} first, or give another --id`);
      }
      process.exitCode = await applyFault(lab, fault, o.duration !== undefined ? { durationMs: o.duration } : {});
    });
}

function listCommand(): Command {
  return new Command('list')
    .description('the lab\'s active faults (its chaos journal): by an experiment still running, or applied by hand and left on')
    .addOption(labOption())
    .option('--json', 'print JSON')
    .action(async (o: { lab: string; json?: boolean }) => {
      const lab = await requireLab(o.lab);
      const faults = activeFaults(lab);
      if (o.json) say(JSON.stringify(faults, null, 2));
      else say(faultsText(faults));
    });
}

function cleanupText(r: CleanupReport): string[] {
  return [
    ...r.journal.map((j) => `${j.id}: ${j.ok ? 'rolled back' : 'rollback NOT clean'}: ${j.detail}`),
    `swept: ${r.toxicsRemoved} toxics removed, ${r.proxiesEnabled} proxies enabled, ${r.nftChainsRemoved} nft chains removed; resumed: ${r.resumed.join(', ') || 'none'}; restarted: ${r.restarted.join(', ') || 'none'}`,
    ...r.errors.map((e) => `error: ${e}`),
  ];
}

function clearCommand(): Command {
  return new Command('clear')
    .description('roll back one active fault by id, or, without an id, put the whole lab back to no fault (the cleanup a run does first)')
    .argument('[id]', 'a fault id from sch fault list')
    .addOption(labOption())
    .addHelpText('after', `
Without an id: every journaled fault rolled back, then every trace swept by name (toxics, disabled proxies,
nft chains; stopped processes resumed, dead lab services restarted), as sch run does before it starts.
A fault an experiment still running applied is cleared too (with a warning): that run's phase is then void.

Exit codes: 0 clean; 2 unknown id, no lab up, or a rollback that was not clean.`)
    .action(async (id: string | undefined, o: { lab: string }) => {
      const lab = await requireLab(o.lab);
      const journal = readJournal(lab);
      const targets = id === undefined ? journal : journal.filter((e) => e.id === id);
      if (id !== undefined && targets.length === 0) {
        throw new FlagError(`no active fault "${id}" in lab "${lab.name}"; ${journal.length ? `active: ${journal.map((e) => e.id).join(', ')}` : 'none is active'}`);
      }
      for (const e of targets.map((t) => describeEntry(t)).filter((e) => e.appliedBy.alive)) {
        note(`warning: ${e.id} belongs to a running process (pid ${e.appliedBy.pid}: ${e.appliedBy.command ?? '?'}): clearing it anyway`);
      }
      const ctx: FaultContext = { lab, log: (l) => note(`[fault] ${l}`) };
      if (id === undefined) {
        const r = await cleanupFaults(lab, { log: (l) => note(`[fault] ${l}`) });
        for (const l of cleanupText(r)) say(l);
        if (r.journal.some((j) => !j.ok) || r.errors.length) process.exitCode = EXIT.runFailed;
        return;
      }
      const entry = targets[0]!;
      let r: CheckResult;
      try {
        r = await createFault(entry.spec).rollback(ctx);
      } catch (e) {
        r = { ok: false, detail: errText(e) };
      }
      say(`${entry.id}: ${r.ok ? 'rolled back' : 'rollback NOT clean'}: ${r.detail}`);
      if (!r.ok) process.exitCode = EXIT.runFailed;
    });
}

export function faultCommand(): Command {
  return new Command('fault')
    .description('apply, list and clear faults by hand (as toxiproxy-cli does), journaled like an experiment\'s')
    .addCommand(applyCommand())
    .addCommand(listCommand())
    .addCommand(clearCommand());
}
