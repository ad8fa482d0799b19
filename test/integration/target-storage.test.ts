import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { Lab } from '../../src/lab/lab.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { PORT_OFFSET, TARGET_SERVICE_ORDER } from '../../fixtures/secureconnect/target/names.js';

/**
 * The reference target's storage service, end to end through the gateway, against real MinIO and
 * PostgreSQL in this file's own lab (MinIO reached through its Toxiproxy proxy, by the service and by
 * the presigned URLs alike).
 */
const LAB = 'hstor';
const QUOTA = 1_000_000;
const COOLDOWN_MS = 2000;
const TARGET_ENV = { STORAGE_QUOTA_BYTES: String(QUOTA), MINIO_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS), RATE_LIMIT_PER_MINUTE: '100000' };
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let lab: Lab;
let target: RunningTarget;
/** The gateway the helpers talk to (the hardened target unless a test switches it). */
let gw = '';

interface Envelope {
  success: boolean;
  data?: Record<string, unknown>;
  error?: { code: string; message: string };
  meta?: { timestamp: string; request_id: string };
}
interface Answer { status: number; body: Envelope; text: string; headers: Headers; ms: number }

async function api(method: string, path: string, o: { token?: string; json?: unknown; raw?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.json !== undefined || o.raw !== undefined) {
    headers['content-type'] = 'application/json';
    body = o.raw ?? JSON.stringify(o.json);
  }
  const t0 = performance.now();
  const res = await fetch(`${gw}${path}`, { method, headers, body, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  const ms = performance.now() - t0;
  let parsed: Envelope;
  try {
    parsed = JSON.parse(text) as Envelope;
  } catch {
    parsed = { success: false };
  }
  return { status: res.status, body: parsed, text, headers: res.headers, ms };
}

async function newUser(): Promise<string> {
  const id = randomBytes(5).toString('hex');
  const r = await api('POST', '/v1/auth/register', { json: { email: `st-${id}@example.test`, username: `st_${id}`, password: 'correct-horse-42', display_name: `Storage ${id}` } });
  expect(r.status, r.text).toBe(201);
  const login = await api('POST', '/v1/auth/login', { json: { email: `st-${id}@example.test`, password: 'correct-horse-42' } });
  expect(login.status, login.text).toBe(200);
  return login.body.data!.access_token as string;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function uploadUrl(token: string, size: number, name = 'blob.bin'): Promise<Answer> {
  return api('POST', '/v1/storage/upload-url', { token, json: { file_name: name, file_size: size, content_type: 'application/octet-stream', is_encrypted: true } });
}

/** upload-url → PUT → upload-complete; returns the file id. */
async function upload(token: string, bytes: Buffer<ArrayBuffer>): Promise<string> {
  const u = await uploadUrl(token, bytes.length);
  expect(u.status, u.text).toBe(200);
  const put = await fetch(u.body.data!.UploadURL as string, { method: 'PUT', body: bytes });
  expect(put.status).toBe(200);
  const c = await api('POST', '/v1/storage/upload-complete', { token, json: { file_id: u.body.data!.FileID } });
  expect(c.status, c.text).toBe(200);
  return u.body.data!.FileID as string;
}

/** A sanitized error: the envelope with the given status and code, no stack trace or internals. */
function expectError(r: Answer, status: number, code: string): void {
  expect(r.status, r.text).toBe(status);
  expect(r.body.success).toBe(false);
  expect(r.body.error?.code).toBe(code);
  expect(typeof r.body.error?.message).toBe('string');
  expect(r.body.meta?.request_id).toBeTruthy();
  expect(r.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|ECONNREFUSED|Error:/);
}

async function setMinioProxy(enabled: boolean): Promise<void> {
  const p = await lab.toxiproxy().get('minio');
  await p.update({ enabled, listen: p.listen, upstream: p.upstream });
}

async function storageMetrics(portBase = 0): Promise<string> {
  const res = await fetch(`http://${lab.address}:${lab.ports.target.min + portBase + PORT_OFFSET.storage}/metrics`);
  return res.text();
}
const breakerGauge = (m: string): number => Number(/^storage_minio_breaker_state(?:\{[^}]*\})? (\d+)/m.exec(m)?.[1]);

beforeAll(async () => {
  // startTarget starts every registered service; chat cannot start without Cassandra.
  const needsCassandra = (TARGET_SERVICE_ORDER as readonly string[]).includes('chat');
  lab = await Lab.up({ name: LAB, basePort: 26000, only: ['redis', 'postgres', 'minio', ...(needsCassandra ? ['cassandra' as const] : [])] });
  target = await startTarget(lab, {
    profile: 'hardened',
    env: TARGET_ENV,
  });
  gw = target.baseUrl;
});

/** Every toxic on the MinIO proxy, removed (Toxiproxy's REST API: the client's Proxy.toJson() omits toxics). */
async function removeMinioToxics(): Promise<void> {
  const list = (await (await fetch(`${lab.toxiproxyUrl}/proxies/minio/toxics`)).json()) as { name: string }[];
  for (const t of list) {
    const res = await fetch(`${lab.toxiproxyUrl}/proxies/minio/toxics/${encodeURIComponent(t.name)}`, { method: 'DELETE' });
    if (!res.ok) throw new Error(`removing toxic ${t.name}: HTTP ${res.status}`);
  }
}

afterAll(async () => {
  await removeMinioToxics().catch(() => undefined);
  await setMinioProxy(true).catch(() => undefined);
  await target?.stop();
  await Lab.down(LAB);
});

describe('storage service through the gateway (hardened profile)', () => {
  it('upload-url → PUT → upload-complete → download-url → GET (same sha256) → delete', async () => {
    const token = await newUser();
    const bytes = randomBytes(256 * 1024);
    const u = await uploadUrl(token, bytes.length, 'photo.jpg');
    expect(u.status, u.text).toBe(200);
    // PascalCase payload (contract N13); the URL is a presigned PUT through the lab's MinIO proxy, 15 min.
    const d = u.body.data!;
    expect(d.FileID).toMatch(UUID_RE);
    const put = new URL(d.UploadURL as string);
    expect(put.host).toBe(`${lab.endpoint('minio').host}:${lab.endpoint('minio').port}`);
    expect(put.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(Math.abs(Date.parse(d.ExpiresAt as string) - (Date.now() + 900_000))).toBeLessThan(60_000);

    // Not completable before the bytes are there.
    expectError(await api('POST', '/v1/storage/upload-complete', { token, json: { file_id: d.FileID } }), 400, 'VALIDATION_ERROR');
    expect((await fetch(put, { method: 'PUT', body: bytes })).status).toBe(200);
    const c = await api('POST', '/v1/storage/upload-complete', { token, json: { file_id: d.FileID } });
    expect(c.status, c.text).toBe(200);
    expect(c.body.data).toEqual({ message: 'Upload completed' });

    const q = await api('GET', '/v1/storage/quota', { token });
    expect(q.status, q.text).toBe(200);
    expect(q.body.data).toMatchObject({ used: bytes.length, total: QUOTA, available: QUOTA - bytes.length });
    expect(q.body.data!.usage_percentage).toBeCloseTo((bytes.length / QUOTA) * 100, 1);

    const dl = await api('GET', `/v1/storage/download-url/${d.FileID}`, { token });
    expect(dl.status, dl.text).toBe(200);
    const getUrl = new URL(dl.body.data!.download_url as string);
    expect(getUrl.searchParams.get('X-Amz-Expires')).toBe('3600');
    const got = Buffer.from(await (await fetch(getUrl)).arrayBuffer());
    expect(sha256(got)).toBe(sha256(bytes));

    // Another user sees neither a download URL nor a way to delete it.
    const other = await newUser();
    expectError(await api('GET', `/v1/storage/download-url/${d.FileID}`, { token: other }), 404, 'NOT_FOUND');
    expectError(await api('DELETE', `/v1/storage/files/${d.FileID}`, { token: other }), 404, 'NOT_FOUND');

    const del = await api('DELETE', `/v1/storage/files/${d.FileID}`, { token });
    expect(del.status, del.text).toBe(200);
    expect(del.body.data).toEqual({ message: 'File deleted successfully' });
    expectError(await api('GET', `/v1/storage/download-url/${d.FileID}`, { token }), 404, 'NOT_FOUND');
    expect((await fetch(getUrl)).status).toBe(404); // the object is gone from MinIO
    expect((await api('GET', '/v1/storage/quota', { token })).body.data).toMatchObject({ used: 0 });
  });

  it('an upload whose size differs from the declared file_size is not completed', async () => {
    const token = await newUser();
    const u = await uploadUrl(token, 1000);
    expect(u.status, u.text).toBe(200);
    expect((await fetch(u.body.data!.UploadURL as string, { method: 'PUT', body: randomBytes(999) })).status).toBe(200);
    const c = await api('POST', '/v1/storage/upload-complete', { token, json: { file_id: u.body.data!.FileID } });
    expectError(c, 400, 'VALIDATION_ERROR');
    expect(c.body.error!.message).toMatch(/999.*1000/);
    // Still pending: no download URL.
    expectError(await api('GET', `/v1/storage/download-url/${u.body.data!.FileID}`, { token }), 400, 'VALIDATION_ERROR');
  });

  it(`the quota (STORAGE_QUOTA_BYTES=${QUOTA}) counts pending and completed files; exceeding it is refused (contract: 500)`, async () => {
    const token = await newUser();
    await upload(token, randomBytes(400_000));
    expect((await uploadUrl(token, 500_000)).status).toBe(200); // pending, counted
    const over = await uploadUrl(token, 100_001);
    expectError(over, 500, 'INTERNAL_ERROR');
    expect(over.body.error!.message).toMatch(/quota/i);
    expect((await uploadUrl(token, 100_000)).status).toBe(200); // exactly at the limit is allowed
    expect((await api('GET', '/v1/storage/quota', { token })).body.data).toMatchObject({ used: QUOTA, total: QUOTA, available: 0, usage_percentage: 100 });
    // The quota is per user.
    expect((await uploadUrl(await newUser(), 900_000)).status).toBe(200);
  });

  it('bad input: 400 with the envelope and no stack trace', async () => {
    const token = await newUser();
    expectError(await api('POST', '/v1/storage/upload-url', { token, raw: '{"file_name": "a.bin", "file_size": ' }), 400, 'VALIDATION_ERROR');
    expectError(await api('POST', '/v1/storage/upload-url', { token, json: { file_name: 'a.bin' } }), 400, 'VALIDATION_ERROR');
    expectError(await api('POST', '/v1/storage/upload-url', { token, json: { file_name: 'a.bin', file_size: 0, content_type: 'text/plain' } }), 400, 'VALIDATION_ERROR');
    expectError(await api('POST', '/v1/storage/upload-url', { token, json: { file_name: '', file_size: 10, content_type: 'text/plain' } }), 400, 'VALIDATION_ERROR');
    expectError(await api('POST', '/v1/storage/upload-complete', { token, raw: 'not json' }), 400, 'VALIDATION_ERROR');
    expectError(await api('POST', '/v1/storage/upload-complete', { token, json: {} }), 400, 'VALIDATION_ERROR');
    expectError(await api('POST', '/v1/storage/upload-complete', { token, json: { file_id: 'not-a-uuid' } }), 400, 'VALIDATION_ERROR');
    expectError(await api('GET', '/v1/storage/download-url/not-a-uuid', { token }), 400, 'VALIDATION_ERROR');
    expectError(await api('DELETE', "/v1/storage/files/1'%20or%201=1", { token }), 400, 'VALIDATION_ERROR');
    expectError(await api('POST', '/v1/storage/upload-complete', { token, json: { file_id: '00000000-0000-4000-8000-000000000000' } }), 404, 'NOT_FOUND');
    // Without a token the gateway answers 401.
    expect((await api('GET', '/v1/storage/quota')).status).toBe(401);
  });

  it('MinIO down: 3 failures open the breaker (fast 503 + Retry-After); it closes again once MinIO is back', async () => {
    const token = await newUser();
    const u = await uploadUrl(token, 1024);
    expect(u.status, u.text).toBe(200);
    const fileId = u.body.data!.FileID as string;
    const complete = () => api('POST', '/v1/storage/upload-complete', { token, json: { file_id: fileId } });
    expect(breakerGauge(await storageMetrics())).toBe(0);
    try {
      await setMinioProxy(false);
      for (let i = 0; i < 3; i++) {
        const r = await complete();
        expectError(r, 503, 'SERVICE_UNAVAILABLE');
        expect(r.body.error!.message).not.toMatch(/circuit breaker open/);
      }
      // Open: refused without calling MinIO.
      for (const r of [await complete(), await uploadUrl(token, 10)]) {
        expectError(r, 503, 'SERVICE_UNAVAILABLE');
        expect(r.body.error!.message).toMatch(/circuit breaker open/);
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(r.ms).toBeLessThan(300);
      }
      const m = await storageMetrics();
      expect(breakerGauge(m)).toBe(2);
      expect(m).toMatch(/storage_minio_call_duration_seconds_count\{[^}]*op="head_object"[^}]*outcome="error"[^}]*\} 3/);
      expect(m).toMatch(/storage_minio_call_duration_seconds_count\{[^}]*outcome="rejected"[^}]*\} [1-9]/);
    } finally {
      await setMinioProxy(true);
    }
    // After the cool-down, a half-open probe succeeds and uploads work again.
    await new Promise((r) => setTimeout(r, COOLDOWN_MS + 200));
    expect((await fetch(u.body.data!.UploadURL as string, { method: 'PUT', body: randomBytes(1024) })).status).toBe(200);
    const probe = await complete();
    expect(probe.status, probe.text).toBe(200);
    expect(breakerGauge(await storageMetrics())).toBe(0);
    const bytes = randomBytes(10_000);
    const id = await upload(token, bytes);
    const dl = await api('GET', `/v1/storage/download-url/${id}`, { token });
    expect(sha256(Buffer.from(await (await fetch(dl.body.data!.download_url as string)).arrayBuffer()))).toBe(sha256(bytes));
  });

  it('a slow MinIO is cut off after the bounded timeout (2 s): 503, not a hanging request', async () => {
    const token = await newUser();
    const u = await uploadUrl(token, 64);
    expect(u.status, u.text).toBe(200);
    expect((await fetch(u.body.data!.UploadURL as string, { method: 'PUT', body: randomBytes(64) })).status).toBe(200);
    const proxy = await lab.toxiproxy().get('minio');
    try {
      await proxy.addToxic({ name: 'hstor-slow', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 5000, jitter: 0 } });
      const r = await api('POST', '/v1/storage/upload-complete', { token, json: { file_id: u.body.data!.FileID } });
      expectError(r, 503, 'SERVICE_UNAVAILABLE');
      expect(r.body.error!.message).toMatch(/within 2000 ms/);
      expect(r.ms).toBeGreaterThan(1800);
      expect(r.ms).toBeLessThan(3500);
      expect(r.headers.get('retry-after')).toBeTruthy();
    } finally {
      await removeMinioToxics();
    }
    expect((await (await fetch(`${lab.toxiproxyUrl}/proxies/minio/toxics`)).json())).toEqual([]);
    // One failure does not open the breaker; the next call succeeds and resets the count.
    const again = await api('POST', '/v1/storage/upload-complete', { token, json: { file_id: u.body.data!.FileID } });
    expect(again.status, again.text).toBe(200);
    expect(await storageMetrics()).toMatch(/storage_minio_call_duration_seconds_count\{[^}]*op="head_object"[^}]*outcome="timeout"[^}]*\} 1/);
  });
});

describe('storage service, audited profile', () => {
  it('has the MinIO breaker too (audit 002 records it as implemented)', async () => {
    const PORT_BASE = 10;
    const audited = await startTarget(lab, { profile: 'audited', instance: 'audited', portBase: PORT_BASE, env: TARGET_ENV });
    gw = audited.baseUrl;
    try {
      const token = await newUser();
      const u = await uploadUrl(token, 16);
      expect(u.status, u.text).toBe(200);
      const complete = () => api('POST', '/v1/storage/upload-complete', { token, json: { file_id: u.body.data!.FileID } });
      try {
        await setMinioProxy(false);
        for (let i = 0; i < 3; i++) expectError(await complete(), 503, 'SERVICE_UNAVAILABLE');
        const r = await complete();
        expectError(r, 503, 'SERVICE_UNAVAILABLE');
        expect(r.body.error!.message).toMatch(/circuit breaker open/);
        expect(r.ms).toBeLessThan(300);
        expect(breakerGauge(await storageMetrics(PORT_BASE))).toBe(2);
      } finally {
        await setMinioProxy(true);
      }
    } finally {
      gw = target.baseUrl;
      await audited.stop();
    }
  });
});
