import { join } from 'node:path';
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
    return {
      name: 'redis',
      command: ctx.bins.redis,
      // Persistence off: the lab is disposable and fsyncs would only add noise to latency numbers.
      args: ['--bind', ctx.address, '--port', String(ctx.ports.service.redis), '--requirepass', ctx.credentials.redisPassword, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--dir', join(ctx.dir, 'data')],
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
