import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { stunBinding } from '../turn-client.js';
import type { ServiceDefinition } from './types.js';

export const coturnService: ServiceDefinition = {
  name: 'coturn',
  requires: (b) => [b.turnserver],
  startTimeoutMs: 15_000,
  async prepare(ctx) {
    const { min, max } = ctx.ports.turnRelay;
    // The shared secret goes in an owner-only config file, not on the command line (visible in ps).
    const conf = join(ctx.dir, 'run', 'turnserver.conf');
    await writeFile(conf, `static-auth-secret=${ctx.credentials.turnSecret}\n`, { mode: 0o600 });
    return {
      name: 'coturn',
      command: ctx.bins.turnserver,
      args: [
        '--no-cli', '--no-tls', '--no-dtls', '--log-file=stdout', '--simple-log',
        `--listening-ip=${ctx.address}`, `--relay-ip=${ctx.address}`, `--listening-port=${ctx.ports.service.coturn}`,
        // TURN REST API credentials, as SecureConnect's video service hands out (time-limited, HMAC of a shared secret).
        '-c', conf, '--use-auth-secret', `--realm=${ctx.credentials.turnRealm}`,
        '--fingerprint', '--allow-loopback-peers', '--no-multicast-peers', '--no-tcp-relay',
        `--min-port=${min}`, `--max-port=${max}`, `--pidfile=${join(ctx.dir, 'run', 'turnserver.pid')}`,
      ],
      logFile: join(ctx.dir, 'logs', 'coturn.log'),
    };
  },
  async probe(ctx) {
    const mapped = await stunBinding(ctx.address, ctx.ports.service.coturn, 'udp');
    return `binding ${mapped.address}`;
  },
};
