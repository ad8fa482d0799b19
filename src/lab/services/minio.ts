import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import type { LabContext, ServiceDefinition } from './types.js';

export const LAB_BUCKET = 'secureconnect';

// The SDK is pinned; its notice about future releases needing Node 22 is noise in every lab command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export function s3Client(ctx: LabContext, host: string, port: number): S3Client {
  return new S3Client({
    endpoint: `http://${host}:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ctx.credentials.minioUser, secretAccessKey: ctx.credentials.minioPassword },
    maxAttempts: 1,
  });
}

export const minioService: ServiceDefinition = {
  name: 'minio',
  requires: (b) => [b.minio],
  startTimeoutMs: 30_000,
  async prepare(ctx) {
    const data = join(ctx.dir, 'data', 'minio');
    await mkdir(data, { recursive: true });
    return {
      name: 'minio',
      command: ctx.bins.minio,
      args: ['server', '--quiet', '--address', `${ctx.address}:${ctx.ports.service.minio}`, data],
      env: {
        MINIO_ROOT_USER: ctx.credentials.minioUser,
        MINIO_ROOT_PASSWORD: ctx.credentials.minioPassword,
        // No console, no update checks, no phone-home: the lab has no network beyond itself.
        MINIO_BROWSER: 'off',
        MINIO_UPDATE: 'off',
        MINIO_CALLHOME_ENABLE: 'off',
      },
      logFile: join(ctx.dir, 'logs', 'minio.log'),
    };
  },
  async probe(ctx) {
    const res = await fetch(`http://${ctx.address}:${ctx.ports.service.minio}/minio/health/live`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`health/live answered ${res.status}`);
    return 'live';
  },
  async initialize(ctx) {
    const s3 = s3Client(ctx, ctx.address, ctx.ports.service.minio);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: LAB_BUCKET }));
    } finally {
      s3.destroy();
    }
  },
};
