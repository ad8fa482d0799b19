import { mkdir, writeFile, chmod, chown } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { runOk } from '../exec.js';
import type { LabContext, ServiceDefinition } from './types.js';

/** PostgreSQL stands in for CockroachDB: same wire protocol, starts in seconds. */
export function postgresClient(ctx: LabContext, host: string, port: number, database = ctx.credentials.postgresDatabase): pg.Client {
  return new pg.Client({ host, port, user: ctx.credentials.postgresUser, password: ctx.credentials.postgresPassword, database, connectionTimeoutMillis: 3000 });
}

async function uidOf(user: string): Promise<{ uid: number; gid: number }> {
  const out = await runOk('id', ['-u', user]);
  const gid = await runOk('id', ['-g', user]);
  return { uid: Number(out.trim()), gid: Number(gid.trim()) };
}

export const postgresService: ServiceDefinition = {
  name: 'postgres',
  requires: (b) => [`${b.postgresBin}/postgres`, `${b.postgresBin}/initdb`],
  startTimeoutMs: 30_000,
  async prepare(ctx) {
    const data = join(ctx.dir, 'data', 'postgres');
    const sock = join(ctx.dir, 'run', 'postgres');
    await mkdir(sock, { recursive: true });
    const pwfile = join(ctx.dir, 'run', 'pgpass.tmp');
    await writeFile(pwfile, ctx.credentials.postgresPassword, { mode: 0o600 });
    // PostgreSQL refuses to run as root: as root, data and socket belong to the system "postgres" user.
    const runAs = ctx.asRoot ? ['runuser', '-u', 'postgres', '--'] : [];
    if (ctx.asRoot) {
      const { uid, gid } = await uidOf('postgres');
      for (const p of [join(ctx.dir, 'data'), sock, pwfile]) await chown(p, uid, gid);
      await chmod(join(ctx.dir, 'data'), 0o755);
    }
    try {
      await runOk(runAs[0] ?? join(ctx.bins.postgresBin, 'initdb'), [
        ...runAs.slice(1),
        ...(ctx.asRoot ? [join(ctx.bins.postgresBin, 'initdb')] : []),
        '-D', data, '-U', ctx.credentials.postgresUser, '--pwfile', pwfile, '--auth', 'scram-sha-256', '--no-sync', '-E', 'UTF8', '--locale', 'C',
      ], { timeoutMs: 60_000 });
    } finally {
      await writeFile(pwfile, '');
    }
    // initdb trusts only local sockets; clients come over the veth (or loopback), always with a password.
    await writeFile(join(data, 'pg_hba.conf'), 'local all all scram-sha-256\nhost all all 0.0.0.0/0 scram-sha-256\n');
    return {
      name: 'postgres',
      command: runAs[0] ?? join(ctx.bins.postgresBin, 'postgres'),
      args: [
        ...runAs.slice(1),
        ...(ctx.asRoot ? [join(ctx.bins.postgresBin, 'postgres')] : []),
        '-D', data, '-p', String(ctx.ports.service.postgres), '-c', `listen_addresses=${ctx.address}`, '-c', `unix_socket_directories=${sock}`,
        // Durability off: a disposable lab database; latency faults come from Toxiproxy, not fsync.
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300',
      ],
      logFile: join(ctx.dir, 'logs', 'postgres.log'),
    };
  },
  async probe(ctx) {
    const c = postgresClient(ctx, ctx.address, ctx.ports.service.postgres, 'postgres');
    try {
      await c.connect();
      const r = await c.query<{ v: string }>('select version() as v');
      return r.rows[0]?.v.split(' ').slice(0, 2).join(' ') ?? 'ok';
    } finally {
      await c.end().catch(() => undefined);
    }
  },
  async initialize(ctx) {
    const c = postgresClient(ctx, ctx.address, ctx.ports.service.postgres, 'postgres');
    await c.connect();
    try {
      await c.query(`create database ${ctx.credentials.postgresDatabase}`);
    } finally {
      await c.end();
    }
  },
};
