import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import cassandra from 'cassandra-driver';
import { HARNESS_ROOT, cacheDir } from '../paths.js';
import { sleep } from '../exec.js';
import type { LabContext, ServiceDefinition } from './types.js';

const SCRIPTS = join(HARNESS_ROOT, 'scripts', 'cassandra');
/** Cassandra's built-in superuser; replaced by the lab's generated role at first start. */
const DEFAULT_SUPERUSER = { username: 'cassandra', password: 'cassandra' };

export function cassandraClient(ctx: LabContext, host: string, port: number, auth = { username: ctx.credentials.cassandraUser, password: ctx.credentials.cassandraPassword }): cassandra.Client {
  return new cassandra.Client({
    contactPoints: [`${host}:${port}`],
    localDataCenter: 'datacenter1',
    credentials: auth,
    // One node behind a proxy: the driver must use the address it was given, not the node's own view of it.
    policies: { addressResolution: new FixedAddressTranslator(host, port) },
    socketOptions: { connectTimeout: 3000, readTimeout: 5000 },
    pooling: { warmup: false },
  });
}

// The driver checks `instanceof` its own AddressTranslator class, which its typings declare as an interface.
const TranslatorBase = (cassandra.policies.addressResolution as unknown as { AddressTranslator: new () => cassandra.policies.addressResolution.AddressTranslator }).AddressTranslator;

/** Maps whatever rpc address the node advertises back to the contact point (its proxy). */
export class FixedAddressTranslator extends TranslatorBase {
  constructor(private readonly host: string, private readonly port: number) {
    super();
  }
  override translate(_address: string, _port: number, callback: (endpoint: string) => void): void {
    callback(`${this.host}:${this.port}`);
  }
}

export const cassandraService: ServiceDefinition = {
  name: 'cassandra',
  requires: (b) => [b.java, b.cassandraLib, join(SCRIPTS, 'run.sh')],
  startTimeoutMs: 120_000,
  async prepare(ctx) {
    const dir = join(ctx.dir, 'data', 'cassandra');
    await mkdir(dir, { recursive: true });
    // scripts/cassandra/run.sh is the one launcher (yaml, JVM options, CDS archive, no mlockall as root);
    // it execs java, so the recorded pid is Cassandra's.
    return {
      name: 'cassandra',
      command: 'bash',
      args: [join(SCRIPTS, 'run.sh')],
      env: {
        SCH_CACHE: cacheDir(), JAVA: ctx.bins.java, CASS_DIR: dir, CASS_ADDRESS: ctx.address, CASS_AUTH: '1',
        CASS_NATIVE_PORT: String(ctx.ports.service.cassandra), CASS_STORAGE_PORT: String(ctx.ports.cassandraStorage),
        CASS_CLUSTER: `sch-${ctx.labName}`, CASS_HEAP: '768M',
      },
      logFile: join(ctx.dir, 'logs', 'cassandra.log'),
    };
  },
  async probe(ctx) {
    // Before initialize() only the default superuser exists; after it, only the lab's role can log in.
    let lastError: Error | null = null;
    for (const auth of [{ username: ctx.credentials.cassandraUser, password: ctx.credentials.cassandraPassword }, DEFAULT_SUPERUSER]) {
      const c = cassandraClient(ctx, ctx.address, ctx.ports.service.cassandra, auth);
      try {
        await c.connect();
        const r = await c.execute('select release_version from system.local');
        return `cassandra ${String(r.first()?.get('release_version'))}`;
      } catch (e) {
        lastError = e as Error;
      } finally {
        await c.shutdown().catch(() => undefined);
      }
    }
    throw lastError ?? new Error('no answer');
  },
  async initialize(ctx) {
    const { cassandraUser: user, cassandraPassword: password } = ctx.credentials;
    // Role DDL takes no bind markers; the generated password is base64url, so it has no quote to escape.
    // The first login can fail for a moment after the port opens: retry, bounded.
    await retry(5, 500, async () => {
      const admin = cassandraClient(ctx, ctx.address, ctx.ports.service.cassandra, DEFAULT_SUPERUSER);
      try {
        await admin.connect();
        await admin.execute(`CREATE ROLE IF NOT EXISTS ${user} WITH PASSWORD = '${password}' AND SUPERUSER = true AND LOGIN = true`);
      } finally {
        await admin.shutdown().catch(() => undefined);
      }
    });
    // Drop the well-known default (ALTER would linger in the 2 s credentials cache): only the lab's role logs in.
    await retry(5, 500, async () => {
      const own = cassandraClient(ctx, ctx.address, ctx.ports.service.cassandra);
      try {
        await own.connect();
        await own.execute('DROP ROLE IF EXISTS cassandra');
        await own.execute(`CREATE KEYSPACE IF NOT EXISTS secureconnect WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
      } finally {
        await own.shutdown().catch(() => undefined);
      }
    });
  },
};

async function retry(times: number, delayMs: number, fn: () => Promise<void>): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= times) throw e;
      await sleep(delayMs);
    }
  }
}
