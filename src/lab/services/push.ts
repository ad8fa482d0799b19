import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { transform } from 'esbuild';
import { HARNESS_ROOT } from '../paths.js';
import type { ServiceDefinition } from './types.js';

const SERVER = join(HARNESS_ROOT, 'src', 'lab', 'push-endpoint', 'server.ts');

/**
 * The push endpoint (FCM's send API shape; the provider itself cannot run in the lab): one Node process
 * serving src/lab/push-endpoint/server.ts, transpiled into the lab's run folder at start.
 */
export const pushService: ServiceDefinition = {
  name: 'push',
  requires: () => [process.execPath, SERVER],
  startTimeoutMs: 10_000,
  async prepare(ctx) {
    const js = await transform(await readFile(SERVER, 'utf8'), { loader: 'ts', format: 'esm', target: 'node20' });
    const file = join(ctx.dir, 'run', 'push-endpoint.mjs');
    await writeFile(file, js.code);
    return {
      name: 'push',
      command: process.execPath,
      args: [file],
      env: { PUSH_HOST: ctx.address, PUSH_PORT: String(ctx.ports.service.push) },
      logFile: join(ctx.dir, 'logs', 'push.log'),
    };
  },
  async probe(ctx) {
    const res = await fetch(`http://${ctx.address}:${ctx.ports.service.push}/health`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`/health answered ${res.status}`);
    return 'serving';
  },
};

/** What the push endpoint accepted so far (its /stats). */
export async function pushStats(host: string, port: number): Promise<{ received: number; rejected: number; byType: Record<string, number> }> {
  const res = await fetch(`http://${host}:${port}/stats`, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`push endpoint /stats answered ${res.status}`);
  return await res.json() as { received: number; rejected: number; byType: Record<string, number> };
}
