import { Command, Option } from 'commander';
import { Lab, LabError } from '../lab/lab.js';
import { startTarget, targetHealth } from '../lab/target.js';
import { table } from './table.js';
import { REFERENCE_PROFILES, type ReferenceProfile } from '../util/profiles.js';

/** `sch target …`: the reference SecureConnect target, inside a running lab. */
export function targetCommand(): Command {
  const t = new Command('target').description('the reference SecureConnect target (audited or hardened), run inside a lab');
  const attach = async (name: string) => {
    const lab = await Lab.attach(name);
    if (!lab) throw new LabError(`no lab "${name}" is up (start one with: sch lab up${name === 'default' ? '' : ` --name ${name}`})`);
    return lab;
  };
  const print = async (lab: Lab) => {
    const rows = await targetHealth(lab);
    process.stdout.write(table(['TARGET', 'PROFILE', 'SERVICE', 'URL', 'HEALTH'], rows.map((r) => [r.instance, r.profile, r.service, r.url, r.healthy ? 'healthy' : `DOWN (${r.detail})`])) + '\n');
    if (!rows.every((r) => r.healthy)) process.exitCode = 1;
  };
  t.command('up')
    .description('start the target\'s services in the lab, wired to every dependency through its Toxiproxy proxy')
    .addOption(new Option('--profile <profile>', 'audited: as the audit\'s text says; as-built: as the audited code really behaves; hardened: each finding fixed').choices(REFERENCE_PROFILES).default('audited'))
    .option('--name <lab>', 'lab name', 'default')
    .action(async (o: { profile: ReferenceProfile; name: string }) => {
      const lab = await attach(o.name);
      await startTarget(lab, { profile: o.profile });
      await print(lab);
    });
  t.command('status')
    .description('health of each target service')
    .option('--name <lab>', 'lab name', 'default')
    .action(async (o: { name: string }) => print(await attach(o.name)));
  return t;
}
