import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import type { LabContext, ServiceDefinition } from './types.js';

export function redisClient(ctx: LabContext, host: string, port: number): Redis {
  return new Redis({ host, port, password: ctx.credentials.redisPassword, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 2000, retryStrategy: () => null });
}

export const redisService: ServiceDefinition = {
  name: 'redis',
  requires: (b) => [b.redis],
  startTimeoutMs: 15_000,
  async prepare(ctx) {
    // The password goes in an owner-only config file, not on the command line (visible in ps).
    const conf = join(ctx.dir, 'run', 'redis.conf');
    await writeFile(conf, `requirepass ${ctx.credentials.redisPassword}\n`, { mode: 0o600 });
    return {
      name: 'redis',
      command: ctx.bins.redis,
      // Persistence off: the lab is disposable and fsyncs would only add noise to latency numbers.
      args: [conf, '--bind', ctx.address, '--port', String(ctx.ports.service.redis), '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--dir', join(ctx.dir, 'data')],
      logFile: join(ctx.dir, 'logs', 'redis.log'),
    };
  },
  async probe(ctx) {
    const r = redisClient(ctx, ctx.address, ctx.ports.service.redis);
    try {
      await r.connect();
      return await r.ping();
    } finally {
      r.disconnect();
    }
  },
};
