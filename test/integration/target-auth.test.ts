import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Lab } from '../../src/lab/lab.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { ContractValidator } from '../../src/contract/openapi.js';
import { postgresClient } from '../../src/lab/services/postgres.js';
import { testLab } from './helpers.js';

/** The reference target's auth path through its gateway, on both profiles, against the contract. */
let lab: Lab;
const targets: Partial<Record<'audited' | 'hardened', RunningTarget>> = {};
const contract = new ContractValidator();

beforeAll(async () => {
  lab = await testLab();
  // Load tests come from one address: lift the gateway's 100/min/IP limit here (a test below checks it).
  targets.audited = await startTarget(lab, { profile: 'audited', portBase: 0, instance: 'aud', env: { RATE_LIMIT_PER_MINUTE: '100000' } });
  targets.hardened = await startTarget(lab, { profile: 'hardened', portBase: 10, instance: 'hard', env: { RATE_LIMIT_PER_MINUTE: '100000' } });
});

afterAll(async () => {
  await redisProxy(true);
  for (const t of Object.values(targets)) await t?.stop();
});

async function redisProxy(enabled: boolean): Promise<void> {
  const p = await lab.toxiproxy().get('redis');
  await p.update({ enabled, listen: p.listen, upstream: p.upstream });
  // The services' Redis clients retry at most every second: give them time to reconnect.
  if (enabled) await new Promise((r) => setTimeout(r, 1500));
}

interface Res { status: number; body: unknown; headers: Headers; text: string }
async function call(t: RunningTarget, method: string, path: string, opts: { body?: unknown; raw?: string; token?: string; headers?: Record<string, string> } = {}): Promise<Res> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] = 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const r = await fetch(`${t.baseUrl}${path}`, { method, headers, body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)) });
  const text = await r.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body, headers: r.headers, text };
}

/** Asserts the response conforms to the contract's schema for that operation and status. */
function conforms(method: string, path: string, r: Res): void {
  expect(contract.check(method, path, r.status, r.body), `${method} ${path} -> ${r.status}: ${r.text.slice(0, 300)}`).toBeNull();
}

async function newUser(t: RunningTarget): Promise<{ email: string; password: string; access: string; refresh: string }> {
  const id = randomUUID().slice(0, 8);
  const email = `u${id}@lab.test`;
  const password = `pw-${id}-long`;
  const reg = await call(t, 'POST', '/v1/auth/register', { body: { email, username: `user_${id}`, password, display_name: `User ${id}` } });
  expect(reg.status).toBe(201);
  conforms('post', '/v1/auth/register', reg);
  const d = (reg.body as { data: { access_token: string; refresh_token: string } }).data;
  return { email, password, access: d.access_token, refresh: d.refresh_token };
}

describe.each(['audited', 'hardened'] as const)('auth through the gateway (%s)', (profile) => {
  it('register, login, profile, refresh (rotating), logout: each conforms to the contract', async () => {
    const t = targets[profile]!;
    const u = await newUser(t);
    const login = await call(t, 'POST', '/v1/auth/login', { body: { email: u.email, password: u.password } });
    expect(login.status).toBe(200);
    conforms('post', '/v1/auth/login', login);
    const access = (login.body as { data: { access_token: string } }).data.access_token;
    const profileRes = await call(t, 'GET', '/v1/auth/profile', { token: access });
    expect(profileRes.status).toBe(200);
    conforms('get', '/v1/auth/profile', profileRes);
    const refreshed = await call(t, 'POST', '/v1/auth/refresh', { body: { refresh_token: u.refresh } });
    expect(refreshed.status).toBe(200);
    conforms('post', '/v1/auth/refresh', refreshed);
    // Rotation: the used refresh token does not work twice.
    const again = await call(t, 'POST', '/v1/auth/refresh', { body: { refresh_token: u.refresh } });
    expect(again.status).toBe(401);
    conforms('post', '/v1/auth/refresh', again);
    const out = await call(t, 'POST', '/v1/auth/logout', { token: access, body: {} });
    expect(out.status).toBe(200);
    conforms('post', '/v1/auth/logout', out);
    const revoked = await call(t, 'GET', '/v1/auth/profile', { token: access });
    expect(revoked.status).toBe(401);
    conforms('get', '/v1/auth/profile', revoked);
  });

  it('duplicate email is a 409 CONFLICT; wrong password a 401; 5 failures lock the account', async () => {
    const t = targets[profile]!;
    const u = await newUser(t);
    const dup = await call(t, 'POST', '/v1/auth/register', { body: { email: u.email, username: `other_${randomUUID().slice(0, 6)}`, password: 'password-123', display_name: 'X' } });
    expect(dup.status).toBe(409);
    conforms('post', '/v1/auth/register', dup);
    for (let i = 0; i < 5; i++) {
      const bad = await call(t, 'POST', '/v1/auth/login', { body: { email: u.email, password: 'wrong-password' } });
      expect(bad.status).toBe(401);
      conforms('post', '/v1/auth/login', bad);
    }
    const locked = await call(t, 'POST', '/v1/auth/login', { body: { email: u.email, password: u.password } });
    expect(locked.status).toBe(401);
    expect(JSON.stringify(locked.body)).toMatch(/locked/i);
  });

  it('bad input gets the right 4xx with a sanitized body and corrupts nothing', async () => {
    const t = targets[profile]!;
    const u = await newUser(t);
    const db = postgresClient(lab.context(), lab.endpoint('postgres').host, lab.endpoint('postgres').port);
    await db.connect();
    const count = async () => Number((await db.query<{ n: string }>('select count(*) as n from users')).rows[0]!.n);
    try {
      const before = await count();
      const cases: [string, Res, number][] = [
        ['malformed JSON', await call(t, 'POST', '/v1/auth/register', { raw: '{"email": "x@y.test", ' }), 400],
        ['missing fields', await call(t, 'POST', '/v1/auth/register', { body: { email: 'x@y.test' } }), 400],
        ['short password', await call(t, 'POST', '/v1/auth/register', { body: { email: 'z@y.test', username: 'zzz_user', password: 'short', display_name: 'Z' } }), 400],
        ['oversized body', await call(t, 'POST', '/v1/auth/register', { raw: JSON.stringify({ email: 'big@y.test', username: 'big_user', password: 'password-123', display_name: 'x'.repeat(2 * 1024 * 1024) }) }), 413],
        ['unknown route', await call(t, 'GET', '/v1/no/such/route', { token: u.access }), 404],
      ];
      for (const [what, r, status] of cases) {
        expect(r.status, what).toBe(status);
        expect(r.body, what).toMatchObject({ success: false, error: { code: expect.any(String), message: expect.any(String) } });
        expect(r.text, what).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
      }
      const badToken = await call(t, 'GET', '/v1/auth/profile', { token: 'not.a.jwt' });
      expect(badToken.status).toBe(401);
      conforms('get', '/v1/auth/profile', badToken);
      const key = new TextEncoder().encode(lab.credentials.jwtSecret);
      const past = Math.floor(Date.now() / 1000) - 3600;
      const expired = await new SignJWT({ user_id: randomUUID(), username: 'x', role: 'user' }).setProtectedHeader({ alg: 'HS256' })
        .setIssuer('secureconnect-auth').setAudience('secureconnect-api').setJti(randomUUID()).setIssuedAt(past - 900).setExpirationTime(past).sign(key);
      const exp = await call(t, 'GET', '/v1/auth/profile', { token: expired });
      expect(exp.status).toBe(401);
      expect(exp.text).toMatch(/expired/i);
      const forged = await call(t, 'GET', '/v1/auth/profile', { token: `${u.access.slice(0, -4)}AAAA` });
      expect(forged.status).toBe(401);
      const origin = await call(t, 'GET', '/v1/auth/profile', { token: u.access, headers: { origin: 'http://evil.example' } });
      expect(origin.status).toBe(403);
      expect(await count()).toBe(before);
      // The account created before the bad input still works.
      expect((await call(t, 'POST', '/v1/auth/login', { body: { email: u.email, password: u.password } })).status).toBe(200);
    } finally {
      await db.end();
    }
  });
});

describe('conversations (auth-service)', () => {
  it('create a group, list it, read it and its participants, add one: each conforms to the contract', async () => {
    const t = targets.hardened!;
    const users = [await newUser(t), await newUser(t), await newUser(t)];
    const ids = await Promise.all(users.map(async (u) => ((await call(t, 'GET', '/v1/auth/profile', { token: u.access })).body as { data: { user_id: string } }).data.user_id));
    const created = await call(t, 'POST', '/v1/conversations', { token: users[0]!.access, body: { title: 'load group', type: 'group', participant_ids: [ids[0], ids[1]] } });
    expect(created.status).toBe(201);
    conforms('post', '/v1/conversations', created);
    const convId = (created.body as { data: { conversation_id: string } }).data.conversation_id;
    const list = await call(t, 'GET', '/v1/conversations', { token: users[1]!.access });
    conforms('get', '/v1/conversations', list);
    expect(JSON.stringify(list.body)).toContain(convId);
    conforms('get', '/v1/conversations/{id}', await call(t, 'GET', `/v1/conversations/${convId}`, { token: users[1]!.access }));
    const add = await call(t, 'POST', `/v1/conversations/${convId}/participants`, { token: users[0]!.access, body: { user_ids: [ids[2]] } });
    conforms('post', '/v1/conversations/{id}/participants', add);
    const parts = await call(t, 'GET', `/v1/conversations/${convId}/participants`, { token: users[2]!.access });
    conforms('get', '/v1/conversations/{id}/participants', parts);
    expect((parts.body as { data: { participants: unknown[] } }).data.participants).toHaveLength(3);
    const outsider = await newUser(t);
    expect((await call(t, 'GET', `/v1/conversations/${convId}`, { token: outsider.access })).status).toBe(404);
  });
});

describe('Redis outage (Toxiproxy proxy disabled)', () => {
  it('login still succeeds in both profiles (degraded mode, audit 002 §5)', async () => {
    const users = { audited: await newUser(targets.audited!), hardened: await newUser(targets.hardened!) };
    await redisProxy(false);
    try {
      for (const p of ['audited', 'hardened'] as const) {
        const r = await call(targets[p]!, 'POST', '/v1/auth/login', { body: { email: users[p].email, password: users[p].password } });
        expect(r.status, p).toBe(200);
      }
    } finally {
      await redisProxy(true);
    }
  });

  it('a revoked token during a Redis outage: accepted by audited (fail-open, the audit finding), refused by hardened (its mirror) while valid tokens still work', async () => {
    const revoked: Record<string, string> = {};
    for (const p of ['audited', 'hardened'] as const) {
      const u = await newUser(targets[p]!);
      expect((await call(targets[p]!, 'POST', '/v1/auth/logout', { token: u.access, body: {} })).status).toBe(200);
      expect((await call(targets[p]!, 'GET', '/v1/auth/profile', { token: u.access })).status).toBe(401);
      revoked[p] = u.access;
    }
    const valid = await newUser(targets.hardened!);
    // The hardened mirror re-reads the revocations every second.
    await new Promise((r) => setTimeout(r, 1500));
    await redisProxy(false);
    try {
      const aud = await call(targets.audited!, 'GET', '/v1/auth/profile', { token: revoked.audited });
      expect(aud.status).toBe(200);
      const hard = await call(targets.hardened!, 'GET', '/v1/auth/profile', { token: revoked.hardened });
      expect(hard.status).toBe(401);
      expect((await call(targets.hardened!, 'GET', '/v1/auth/profile', { token: valid.access })).status).toBe(200);
    } finally {
      await redisProxy(true);
    }
    // Redis back: the revocation holds again everywhere.
    expect((await call(targets.audited!, 'GET', '/v1/auth/profile', { token: revoked.audited })).status).toBe(401);
  });
});

describe('per-account login rate limit (auth-service)', () => {
  it('answers 429 past LOGIN_RATE_PER_MINUTE attempts on one account, whatever the password', async () => {
    const t = await startTarget(lab, { profile: 'hardened', portBase: 60, instance: 'acct', services: ['auth', 'gateway'], env: { RATE_LIMIT_PER_MINUTE: '100000', LOGIN_RATE_PER_MINUTE: '3' } });
    try {
      const u = await newUser(t);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await call(t, 'POST', '/v1/auth/login', { body: { email: u.email, password: u.password } })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const other = await newUser(t);
      expect((await call(t, 'POST', '/v1/auth/login', { body: { email: other.email, password: other.password } })).status).toBe(200);
    } finally {
      await t.stop();
    }
  });
});

describe('gateway rate limit', () => {
  it('answers 429 with the limit body and headers past RATE_LIMIT_PER_MINUTE', async () => {
    // Its own limiter scope: the other gateways of this lab share the client IP and Redis.
    const t = await startTarget(lab, { profile: 'audited', portBase: 20, instance: 'rl', env: { RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_SCOPE: `rl-${randomUUID()}` } });
    try {
      const statuses: number[] = [];
      let last: Res | null = null;
      for (let i = 0; i < 7; i++) {
        last = await call(t, 'POST', '/v1/auth/login', { body: { email: 'nobody@lab.test', password: 'x' } });
        statuses.push(last.status);
      }
      expect(statuses.slice(0, 5).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(5)).toEqual([429, 429]);
      conforms('post', '/v1/auth/login', last!);
      expect(last!.headers.get('x-ratelimit-limit')).toBe('5');
      expect(last!.headers.get('x-ratelimit-remaining')).toBe('0');
    } finally {
      await t.stop();
    }
  });
});
