import { Command, InvalidArgumentError, Option } from 'commander';
import { pointEdge } from '../lab/edge.js';
import { Lab, LabError } from '../lab/lab.js';
import { startTarget, targetHealth } from '../lab/target.js';
import { stopProcess } from '../lab/process.js';
import { writeState } from '../lab/state.js';
import { table } from './table.js';
import { FlagError, envFlag } from './k6-flags.js';
import { REFERENCE_PROFILES, type ReferenceProfile } from '../util/profiles.js';
import { DEFAULT_LAB } from '../util/lab-name.js';
import { EXIT } from '../util/exit-codes.js';
import { TARGET_SERVICE_ORDER, type TargetServiceName } from '../../fixtures/secureconnect/target/names.js';

/** The runner's own target instance (src/experiment/provision.ts): a run stops whatever holds that name. */
const RUNNER_INSTANCE = 'exp';

export function parseInstance(v: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,15}$/.test(v)) throw new InvalidArgumentError('lower-case letters, digits and dashes, at most 16');
  if (v === RUNNER_INSTANCE) throw new InvalidArgumentError(`"${RUNNER_INSTANCE}" is the experiment runner's own instance (a run stops it): pick another`);
  return v;
}

/** Offset inside the lab's target port range (100 ports; each target takes 5 from its base). */
export function parsePortBase(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 90) throw new InvalidArgumentError('an integer from 0 to 90 (the runner\'s own target uses 90)');
  return n;
}

export function parseTargetServices(v: string): TargetServiceName[] {
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(TARGET_SERVICE_ORDER as readonly string[]).includes(n));
  if (bad.length || names.length === 0) throw new InvalidArgumentError(`unknown service ${bad.join(', ') || '(none given)'}; known: ${TARGET_SERVICE_ORDER.join(', ')}`);
  return names as TargetServiceName[];
}


/** `sch target …`: the reference SecureConnect target, inside a running lab. */
export function targetCommand(): Command {
  const t = new Command('target').description('the reference SecureConnect target (audited, as-built or hardened), run inside a lab');
  const attach = async (name: string) => {
    const lab = await Lab.attach(name);
    if (!lab) throw new LabError(`no lab "${name}" is up (start one with: sch lab up${name === DEFAULT_LAB ? '' : ` --name ${name}`})`);
    return lab;
  };
  const print = async (lab: Lab) => {
    const rows = await targetHealth(lab);
    process.stdout.write(table(['TARGET', 'PROFILE', 'SERVICE', 'URL', 'HEALTH'], rows.map((r) => [r.instance, r.profile, r.service, r.url, r.healthy ? 'healthy' : `DOWN (${r.detail})`])) + '\n');
    // Not healthy: the target cannot be used, as a failed start (2; 1 is "claims not as expected").
    if (!rows.every((r) => r.healthy)) process.exitCode = EXIT.runFailed;
  };
  t.command('up')
    .description('start the target\'s services in the lab, wired to every dependency through its Toxiproxy proxy (a deployment for `sch run --target-url`)')
    .addOption(new Option('--target-profile <profile>', 'audited: as the audit\'s text says; as-built: as the audited code really behaves; hardened: each finding fixed (default audited)').choices(REFERENCE_PROFILES))
    .addOption(new Option('--profile <profile>', 'old name of --target-profile').choices(REFERENCE_PROFILES))
    .option('--name <lab>', 'lab name', DEFAULT_LAB)
    .option('--instance <id>', 'instance name, so several targets share a lab (processes target-<service>-<id>)', parseInstance)
    .option('--port-base <n>', 'port offset inside the lab\'s target range (0..90; default 0)', parsePortBase)
    .option('--services <list>', `start only these (comma-separated; default all: ${TARGET_SERVICE_ORDER.join(',')})`, parseTargetServices)
    .option('--env <KEY=value>', 'the deployment\'s own configuration, e.g. RATE_LIMIT_PER_MINUTE=1000 (repeatable)', envFlag)
    .option('--edge', 'put the lab\'s public entry (nginx) in front of this target\'s gateway, configured for its profile')
    .option('--json', 'print the started target (instance, profile, baseUrl, serviceUrls, edge) as JSON')
    .action(async (o: { targetProfile?: ReferenceProfile; profile?: ReferenceProfile; name: string; instance?: string; portBase?: number; services?: TargetServiceName[]; env?: Record<string, string>; edge?: boolean; json?: boolean }) => {
      if (o.targetProfile && o.profile && o.targetProfile !== o.profile) throw new FlagError(`--target-profile ${o.targetProfile} and --profile ${o.profile} disagree: --profile is the old name of --target-profile, give one`);
      const lab = await attach(o.name);
      const r = await startTarget(lab, {
        profile: o.targetProfile ?? o.profile ?? 'audited',
        ...(o.instance ? { instance: o.instance } : {}), ...(o.portBase !== undefined ? { portBase: o.portBase } : {}),
        ...(o.services ? { services: o.services } : {}), ...(o.env ? { env: o.env } : {}), ...(o.edge ? { edge: true } : {}),
      });
      if (o.json) {
        const serviceUrls = Object.fromEntries(Object.entries(r.serviceUrls).filter(([s]) => !o.services || o.services.includes(s as TargetServiceName)));
        process.stdout.write(`${JSON.stringify({ instance: o.instance ?? 'default', profile: r.profile, baseUrl: r.baseUrl, serviceUrls, edge: r.edge })}\n`);
      } else {
        await print(lab);
        if (r.edge) process.stdout.write(`public entry (nginx): ${r.profile === 'hardened' ? `${r.edge.https} (trust ${r.edge.caFile}); ${r.edge.http} redirects` : r.edge.http}\n`);
      }
    });
  t.command('down')
    .description('stop one target instance\'s services (the lab keeps running)')
    .option('--name <lab>', 'lab name', DEFAULT_LAB)
    .option('--instance <id>', 'instance name given to `target up` (default: the default instance)', parseInstance)
    .action(async (o: { name: string; instance?: string }) => {
      const lab = await attach(o.name);
      const instance = o.instance ?? 'default';
      // Process names as startTarget gives them: target-<service>, or target-<service>-<instance>.
      const names = new Set(TARGET_SERVICE_ORDER.map((s) => `target-${s}${o.instance ? `-${o.instance}` : ''}`));
      lab.refreshState();
      const mine = lab.state.processes.filter((p) => names.has(p.name));
      await Promise.all(mine.map((p) => stopProcess(p, 5000)));
      lab.state.processes = lab.state.processes.filter((p) => !names.has(p.name));
      lab.state.targets = (lab.state.targets ?? []).filter((x) => x.instance !== instance);
      writeState(lab.state);
      if (lab.state.edge?.instance === instance) await pointEdge(lab, null);
      process.stderr.write(`[target] ${instance}: stopped ${mine.length} process(es)\n`);
    });
  t.command('status')
    .description('health of each target service')
    .option('--name <lab>', 'lab name', DEFAULT_LAB)
    .action(async (o: { name: string }) => print(await attach(o.name)));
  return t;
}
