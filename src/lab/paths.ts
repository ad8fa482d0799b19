import { homedir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

/** Repository root (this file lives in src/lab). */
export const HARNESS_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Build cache shared with scripts/lib.sh: outside the clone so a fresh clone reuses it. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SCH_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'secureconnect-harness');
}

/** Pinned versions from scripts/versions.env (the one place versions are written). */
export function pinnedVersions(): Record<string, string> {
  const text = readFileSync(join(HARNESS_ROOT, 'scripts', 'versions.env'), 'utf8');
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) out[m[1]] = m[2].replace(/^["']|["']$/g, '');
  }
  return out;
}

export interface BinaryPaths {
  k6: string;
  toxiproxy: string;
  minio: string;
  mediasoupWorker: string;
  cassandraLib: string;
  redis: string;
  postgresBin: string;
  turnserver: string;
  chromium: string;
  java: string;
  nginx: string;
  openssl: string;
}

export function binaries(env: NodeJS.ProcessEnv = process.env): BinaryPaths {
  const c = cacheDir(env);
  const v = pinnedVersions();
  return {
    k6: join(c, 'bin', 'k6'),
    toxiproxy: join(c, 'bin', 'toxiproxy-server'),
    minio: join(c, 'bin', 'minio'),
    mediasoupWorker: env.MEDIASOUP_WORKER_BIN ?? join(c, 'mediasoup', v.MEDIASOUP_VERSION ?? 'unknown', 'mediasoup-worker'),
    cassandraLib: join(c, 'cassandra', v.CASSANDRA_VERSION ?? 'unknown', 'lib'),
    redis: '/usr/bin/redis-server',
    postgresBin: '/usr/lib/postgresql/15/bin',
    turnserver: '/usr/bin/turnserver',
    chromium: '/usr/bin/chromium',
    java: '/usr/bin/java',
    nginx: '/usr/sbin/nginx',
    openssl: '/usr/bin/openssl',
  };
}

/** Where a lab keeps its state file, data and logs. One folder per lab name. */
export function stateDir(labName: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(env.SCH_STATE_DIR ?? join('/tmp', `sch-lab-${process.getuid?.() ?? 0}`), labName);
}
