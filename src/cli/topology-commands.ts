import { Command } from 'commander';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { composeYaml, toxiproxyConfigJson, nginxConfig, TOXIPROXY_CONFIG, NGINX_CONFIG } from '../topology/compose.js';
import { labPorts, boundPorts } from '../topology/topology.js';
import { HARNESS_ROOT } from '../lab/paths.js';
import { table } from './table.js';

export const GENERATED_FILES: { path: string; render: () => string }[] = [
  { path: 'docker-compose.test.yml', render: composeYaml },
  { path: TOXIPROXY_CONFIG, render: toxiproxyConfigJson },
  { path: NGINX_CONFIG, render: nginxConfig },
];

export function topologyCommand(): Command {
  const t = new Command('topology').description('the one topology behind the native lab, docker-compose.test.yml and the testcontainers provider');
  t.command('compose')
    .description('write docker-compose.test.yml, docker/toxiproxy.json and docker/nginx.conf from the topology')
    .option('--check', 'only check the committed files are up to date (exit 1 if not)')
    .action((o: { check?: boolean }) => {
      let stale = 0;
      for (const f of GENERATED_FILES) {
        const path = join(HARNESS_ROOT, f.path);
        const want = f.render();
        let have = '';
        try { have = readFileSync(path, 'utf8'); } catch { /* missing */ }
        if (have === want) continue;
        if (o.check) {
          process.stderr.write(`${f.path} is out of date: run sch topology compose\n`);
          stale++;
        } else {
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, want);
          process.stderr.write(`wrote ${f.path}\n`);
        }
      }
      if (stale) process.exitCode = 1;
    });
  t.command('ports')
    .description('print the native lab\'s port plan')
    .option('--base-port <port>', 'first port', '21000')
    .action((o: { basePort: string }) => {
      const p = labPorts(Number(o.basePort));
      const rows = boundPorts(p).map((b) => [b.owner, String(b.port)]);
      rows.push(['coturn relays (udp)', `${p.turnRelay.min}-${p.turnRelay.max}`], ['sfu rtc (udp)', `${p.rtc.min}-${p.rtc.max}`], ['target services', `${p.target.min}-${p.target.max}`]);
      process.stdout.write(table(['WHAT', 'PORT'], rows) + '\n');
    });
  return t;
}
