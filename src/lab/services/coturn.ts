import { join } from 'node:path';
import { stunBinding } from '../turn-client.js';
import type { ServiceDefinition } from './types.js';

export const coturnService: ServiceDefinition = {
  name: 'coturn',
  requires: (b) => [b.turnserver],
  startTimeoutMs: 15_000,
  async prepare(ctx) {
    const { min, max } = ctx.ports.turnRelay;
    return {
      name: 'coturn',
      command: ctx.bins.turnserver,
      args: [
        '-n', '--no-cli', '--no-tls', '--no-dtls', '--log-file=stdout', '--simple-log',
        `--listening-ip=${ctx.address}`, `--relay-ip=${ctx.address}`, `--listening-port=${ctx.ports.service.coturn}`,
        // TURN REST API credentials, as SecureConnect's video service hands out (time-limited, HMAC of a shared secret).
        '--use-auth-secret', `--static-auth-secret=${ctx.credentials.turnSecret}`, `--realm=${ctx.credentials.turnRealm}`,
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
