import { Command, Option, InvalidArgumentError } from 'commander';
import { Lab, LabError, type NetnsMode, type ServiceStatus } from '../lab/lab.js';
import { table } from './table.js';
import { SERVICES } from '../lab/services/index.js';
import type { ServiceName } from '../lab/services/types.js';
import { redact } from '../util/redact.js';
import { DEFAULT_LAB } from '../util/lab-name.js';
import { EXIT } from '../util/exit-codes.js';
import { activeFaults, faultsText } from './fault-view.js';

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1024 || n > 32000) throw new InvalidArgumentError('must be an integer from 1024 to 32000');
  return n;
}

export function parseServices(value: string): ServiceName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const known = SERVICES.map((s) => s.name);
  const bad = names.filter((n) => !known.includes(n as ServiceName));
  if (bad.length || names.length === 0) throw new InvalidArgumentError(`unknown service ${bad.join(', ') || '(none given)'}; known: ${known.join(', ')}`);
  return names as ServiceName[];
}

export function statusTable(rows: ServiceStatus[]): string {
  return table(['SERVICE', 'ADDRESS', 'PROXY', 'PID', 'HEALTH', 'DETAIL'],
    rows.map((r) => [r.name, r.address, r.proxy ?? '-', r.pid ? String(r.pid) : '-', r.healthy ? 'healthy' : r.running ? 'UNHEALTHY' : 'DOWN', r.detail]));
}

/** The lab by name, or a LabError (exit 2) saying how to start it. */
export async function requireLab(name: string): Promise<Lab> {
  const lab = await Lab.attach(name);
  if (!lab) throw new LabError(`no lab "${name}" is up (start one with: sch lab up${name === DEFAULT_LAB ? '' : ` --name ${name}`})`);
  return lab;
}

/** Runs `fn` with an AbortSignal tied to SIGINT/SIGTERM, so an interrupted start stops what it started. */
export async function withInterrupts<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) return;
    process.stderr.write(`\n${sig}: stopping what was started...\n`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(ac.signal);
  } catch (e) {
    // Interrupted, then the start threw because of it: 130, as for every interrupted command.
    if (!ac.signal.aborted) throw e;
    process.stderr.write(`error: ${redact(e instanceof Error ? e.message : String(e))}\n`);
    process.exit(EXIT.interrupted);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function labCommand(): Command {
  const lab = new Command('lab').description('start, inspect and stop the lab: the real servers the harness tests against');
  lab.command('up')
    .description('start every lab service (in a network namespace when root) with Toxiproxy in front of each dependency')
    .option('--name <name>', 'lab name: several labs can run side by side', DEFAULT_LAB)
    .addOption(new Option('--base-port <port>', 'first port of the lab\'s port range').default(21000).argParser(parsePort))
    .option('--no-netns', 'run on the host loopback even as root (UDP faults are then unavailable)')
    .addOption(new Option('--only <services>', 'comma-separated subset of services to start (toxiproxy always starts)').argParser(parseServices))
    .option('--json', 'print the status as JSON')
    .action(async (o: { name: string; basePort: number; netns: boolean; json?: boolean; only?: ServiceName[] }) => {
      const mode: NetnsMode = o.netns ? 'auto' : 'never';
      const started = Date.now();
      const l = await withInterrupts((signal) => Lab.up({ name: o.name, basePort: o.basePort, netns: mode, signal, ...(o.only ? { only: o.only } : {}), onProgress: (m) => process.stderr.write(`[lab] ${m}\n`) }));
      const st = await l.status();
      process.stderr.write(`[lab] up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      process.stdout.write(o.json ? JSON.stringify(st, null, 2) + '\n' : statusTable(st) + '\n');
      // A service not healthy: the lab cannot be used, as a failed start (2; 1 is "claims not as expected").
      if (!st.every((s) => s.healthy)) process.exitCode = EXIT.runFailed;
    });
  lab.command('status')
    .description('print each service, its address, its proxy, health and pid, then the active faults (sch fault list)')
    .option('--name <name>', 'lab name', DEFAULT_LAB)
    .option('--json', 'print JSON: { services, faults }')
    .action(async (o: { name: string; json?: boolean }) => {
      const l = await requireLab(o.name);
      const st = await l.status();
      // The chaos journal: faults a running experiment or `sch fault apply` left on.
      const faults = activeFaults(l);
      const text = `${statusTable(st)}\n\n${faults.length ? 'active faults:\n' : ''}${faultsText(faults)}`;
      process.stdout.write(redact(o.json ? JSON.stringify({ services: st, faults }, null, 2) : text) + '\n');
      // A service not healthy: the lab cannot be used, as a failed start (2; 1 is "claims not as expected").
      if (!st.every((s) => s.healthy)) process.exitCode = EXIT.runFailed;
    });
  lab.command('down')
    .description('stop every lab process and remove the namespace, nft rules, toxics, data and credentials')
    .option('--name <name>', 'lab name', DEFAULT_LAB)
    .action(async (o: { name: string }) => {
      const r = await Lab.down(o.name);
      process.stderr.write(`[lab] down: stopped ${r.stoppedProcesses} processes, killed ${r.killedInNamespace} more in the namespace, namespace ${r.namespaceDeleted ? 'deleted' : 'absent'}\n`);
    });
  return lab;
}

/**
 * Whatever a command throws ends it with exit 2: bad input (ExperimentError, FlagError, TargetRefused,
 * DurationError, …) or a run that could not be carried out (a lab that would not start, a crash). Never 1:
 * that says "claims not as expected", which only a verdict can.
 */
export function reportError(e: unknown): never {
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`error: ${redact(msg)}\n`);
  process.exit(EXIT.badInput);
}
