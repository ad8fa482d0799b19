import { join } from 'node:path';
import { edgeFiles, edgeStatus, ensureEdgeCertificate, writeEdgeConfig } from '../edge.js';
import type { ServiceDefinition } from './types.js';

/**
 * nginx, SecureConnect's public entry. It starts fronting nothing (503 on its HTTP listener); a target
 * started with `edge: true` points it at its gateway with that profile's config (src/lab/edge.ts).
 */
export const nginxService: ServiceDefinition = {
  name: 'nginx',
  requires: (b) => [b.nginx, b.openssl],
  startTimeoutMs: 15_000,
  async prepare(ctx) {
    await ensureEdgeCertificate(ctx);
    writeEdgeConfig(ctx, null);
    const f = edgeFiles(ctx.dir);
    return {
      name: 'nginx',
      command: ctx.bins.nginx,
      // -e: nginx opens its error log before reading the config; the packaged default is /var/log/nginx.
      args: ['-p', f.runDir, '-e', f.errorLog, '-c', f.conf],
      logFile: join(ctx.dir, 'logs', 'nginx.log'),
    };
  },
  async probe(ctx) {
    return `serving config ${await edgeStatus(ctx.address, ctx.ports.edge.status)}`;
  },
};
