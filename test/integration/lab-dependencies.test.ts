import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Lab } from '../../src/lab/lab.js';
import { redisClient } from '../../src/lab/services/redis.js';
import { postgresClient } from '../../src/lab/services/postgres.js';
import { cassandraClient } from '../../src/lab/services/cassandra.js';
import { s3Client, LAB_BUCKET } from '../../src/lab/services/minio.js';
import { turnAllocate } from '../../src/lab/turn-client.js';
import { turnRestCredentials } from '../../src/lab/credentials.js';
import { testLab } from './helpers.js';

let lab: Lab;
beforeAll(async () => {
  lab = await testLab();
});

describe('every dependency answers a real client through its Toxiproxy proxy', () => {
  it('Redis PING', async () => {
    const { host, port } = lab.endpoint('redis');
    expect(port).toBe(lab.ports.proxy.redis);
    const r = redisClient(lab.context(), host, port);
    try {
      await r.connect();
      expect(await r.ping()).toBe('PONG');
    } finally {
      r.disconnect();
    }
  });

  it('PostgreSQL SQL query', async () => {
    const { host, port } = lab.endpoint('postgres');
    const c = postgresClient(lab.context(), host, port);
    await c.connect();
    try {
      const r = await c.query<{ db: string; n: number }>('select current_database() as db, 40 + 2 as n');
      expect(r.rows[0]).toEqual({ db: 'secureconnect', n: 42 });
    } finally {
      await c.end();
    }
  });

  it('Cassandra CQL query, with the lab\'s generated role (the default superuser is locked out)', async () => {
    const { host, port } = lab.endpoint('cassandra');
    const c = cassandraClient(lab.context(), host, port);
    try {
      await c.connect();
      const r = await c.execute('select keyspace_name from system_schema.keyspaces where keyspace_name = ?', ['secureconnect'], { prepare: true });
      expect(r.rowLength).toBe(1);
    } finally {
      await c.shutdown();
    }
    const dflt = cassandraClient(lab.context(), host, port, { username: 'cassandra', password: 'cassandra' });
    await expect(dflt.connect()).rejects.toThrow();
    await dflt.shutdown();
  });

  it('MinIO presigned PUT and GET', async () => {
    const { host, port } = lab.endpoint('minio');
    const s3 = s3Client(lab.context(), host, port);
    try {
      const key = `itest/${randomBytes(6).toString('hex')}.bin`;
      const body = randomBytes(64 * 1024);
      const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: LAB_BUCKET, Key: key }), { expiresIn: 900 });
      expect(new URL(putUrl).port).toBe(String(port));
      const put = await fetch(putUrl, { method: 'PUT', body });
      expect(put.status).toBe(200);
      const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: LAB_BUCKET, Key: key }), { expiresIn: 900 });
      const got = Buffer.from(await (await fetch(getUrl)).arrayBuffer());
      expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
      // Without a signature the object is not readable.
      expect((await fetch(`http://${host}:${port}/${LAB_BUCKET}/${key}`)).status).toBe(403);
    } finally {
      s3.destroy();
    }
  });

  it('coturn TURN Allocate with time-limited credentials (TCP, through the proxy) and UDP (direct)', async () => {
    const good = turnRestCredentials(lab.credentials.turnSecret, 'itest');
    const tcp = await turnAllocate({ ...lab.endpoint('coturn'), transport: 'tcp', ...good });
    expect(tcp.relayed.address).toBe(lab.address);
    expect(tcp.relayed.port).toBeGreaterThanOrEqual(lab.ports.turnRelay.min);
    expect(tcp.relayed.port).toBeLessThanOrEqual(lab.ports.turnRelay.max);
    const udp = await turnAllocate({ ...lab.directEndpoint('coturn'), transport: 'udp', ...good });
    expect(udp.lifetimeSeconds).toBeGreaterThan(0);
    const wrong = turnRestCredentials('not-the-secret', 'itest');
    await expect(turnAllocate({ ...lab.endpoint('coturn'), transport: 'tcp', ...wrong })).rejects.toThrow(/401/);
  });
});

describe('Toxiproxy faults on the Redis proxy', () => {
  const pingMedianMs = async (n = 15): Promise<number> => {
    const { host, port } = lab.endpoint('redis');
    const r = redisClient(lab.context(), host, port);
    await r.connect();
    try {
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await r.ping();
        samples.push(performance.now() - t0);
      }
      samples.sort((a, b) => a - b);
      return samples[Math.floor(n / 2)]!;
    } finally {
      r.disconnect();
    }
  };

  afterAll(async () => {
    // Roll back whatever a failed assertion left: no toxic, proxy enabled.
    // Through the REST API: the client's Proxy.toJson() leaves the toxics out.
    const toxics = (await (await fetch(`${lab.toxiproxyUrl}/proxies/redis/toxics`)).json()) as { name: string }[];
    for (const t of toxics) await fetch(`${lab.toxiproxyUrl}/proxies/redis/toxics/${t.name}`, { method: 'DELETE' });
    const p = await lab.toxiproxy().get('redis');
    await p.update({ enabled: true, listen: p.listen, upstream: p.upstream });
  });

  it('a 200 ms latency toxic adds 200 ms ±10% to a PING round trip; removing it restores the baseline', async () => {
    const baseline = await pingMedianMs();
    const proxy = await lab.toxiproxy().get('redis');
    const toxic = await proxy.addToxic({ name: 'itest-latency', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 200, jitter: 0 } });
    const slowed = await pingMedianMs(8);
    await toxic.remove();
    const delta = slowed - baseline;
    expect(delta).toBeGreaterThanOrEqual(180);
    expect(delta).toBeLessThanOrEqual(220);
    expect(await pingMedianMs()).toBeLessThan(baseline + 20);
  });

  it('disabling the proxy makes the client fail; enabling it restores service', async () => {
    const proxy = await lab.toxiproxy().get('redis');
    await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    const { host, port } = lab.endpoint('redis');
    const r = redisClient(lab.context(), host, port);
    await expect(r.connect().then(() => r.ping())).rejects.toThrow();
    r.disconnect();
    await proxy.update({ enabled: true, listen: proxy.listen, upstream: proxy.upstream });
    expect(await pingMedianMs(3)).toBeLessThan(100);
  });
});
