import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import cassandra from 'cassandra-driver';
import { HARNESS_ROOT } from '../paths.js';
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
class FixedAddressTranslator extends TranslatorBase {
  constructor(private readonly host: string, private readonly port: number) {
    super();
  }
  override translate(_address: string, _port: number, callback: (endpoint: string) => void): void {
    callback(`${this.host}:${this.port}`);
  }
}

async function renderYaml(ctx: LabContext, dir: string): Promise<string> {
  const tpl = await readFile(join(SCRIPTS, 'cassandra.yaml.tpl'), 'utf8');
  const yaml = tpl
    .replaceAll('{{CLUSTER_NAME}}', `sch-${ctx.labName}`)
    .replaceAll('{{DIR}}', dir)
    .replaceAll('{{STORAGE_PORT}}', String(ctx.ports.cassandraStorage))
    .replaceAll('{{NATIVE_PORT}}', String(ctx.ports.service.cassandra))
    .replaceAll('{{AUTHENTICATOR}}', 'PasswordAuthenticator')
    .replaceAll('{{AUTHORIZER}}', 'CassandraAuthorizer')
    .replaceAll('127.0.0.1', ctx.address);
  const file = join(dir, 'cassandra.yaml');
  await writeFile(file, yaml);
  return file;
}

async function jvmOptions(): Promise<string[]> {
  const text = await readFile(join(SCRIPTS, 'jvm17.options'), 'utf8');
  return text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('-'));
}

export const cassandraService: ServiceDefinition = {
  name: 'cassandra',
  requires: (b) => [b.java, b.cassandraLib],
  startTimeoutMs: 120_000,
  async prepare(ctx) {
    const dir = join(ctx.dir, 'data', 'cassandra');
    for (const sub of ['data', 'commitlog', 'saved_caches', 'hints', 'cdc_raw', 'logs']) await mkdir(join(dir, sub), { recursive: true });
    const yaml = await renderYaml(ctx, dir);
    return {
      name: 'cassandra',
      command: ctx.bins.java,
      args: [
        ...(await jvmOptions()),
        '-Xms768M', '-Xmx768M',
        `-Dcassandra.config=file://${yaml}`, `-Dcassandra.storagedir=${dir}`, `-Dcassandra.logdir=${join(dir, 'logs')}`,
        `-Dlogback.configurationFile=${join(SCRIPTS, 'logback.xml')}`, '-Dcassandra-foreground=yes',
        // Single throw-away node: nothing to gossip with, no reason to wait for it.
        '-Dcassandra.skip_wait_for_gossip_to_settle=0', '-Dcassandra.ring_delay_ms=1000', '-Dcassandra.superuser_setup_delay_ms=0',
        '-cp', `${ctx.bins.cassandraLib}/*`, 'org.apache.cassandra.service.CassandraDaemon',
      ],
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
    const admin = cassandraClient(ctx, ctx.address, ctx.ports.service.cassandra, DEFAULT_SUPERUSER);
    try {
      await admin.connect();
      // Role DDL takes no bind markers; the generated password is base64url, so it has no quote to escape.
      await admin.execute(`CREATE ROLE IF NOT EXISTS ${user} WITH PASSWORD = '${password}' AND SUPERUSER = true AND LOGIN = true`);
    } finally {
      await admin.shutdown().catch(() => undefined);
    }
    // Lock the well-known default out: only the generated credentials open this lab.
    const own = cassandraClient(ctx, ctx.address, ctx.ports.service.cassandra);
    try {
      await own.connect();
      await own.execute(`ALTER ROLE cassandra WITH PASSWORD = '${randomBytes(24).toString('base64url')}' AND SUPERUSER = false AND LOGIN = false`);
      await own.execute(`CREATE KEYSPACE IF NOT EXISTS secureconnect WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
    } finally {
      await own.shutdown().catch(() => undefined);
    }
  },
};
