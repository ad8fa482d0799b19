import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { ContractValidator } from '../../src/contract/openapi.js';
import { postgresClient } from '../../src/lab/services/postgres.js';
import { testLab } from './helpers.js';

/**
 * Contract coverage sweep: every /v1 operation of openapi.yaml that the gateway routes is called
 * through the reference target's gateway with a valid request; its status must be one the contract
 * lists for it and its body must conform. The operation list comes from the YAML, so an operation
 * added to the contract enters the sweep and fails until RECIPES has a request for it.
 */

// ---------------------------------------------------------------- the contract's operations
const SPEC_FILE = join(HARNESS_ROOT, 'fixtures', 'secureconnect', 'contract', 'openapi.yaml');
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
interface SpecOperation { operationId?: string; tags?: string[]; 'x-gateway-routed'?: boolean; 'x-upstream-registered'?: boolean; 'x-websocket'?: unknown }
interface Op { id: string; method: (typeof METHODS)[number]; path: string }

function contractOperations(): { routed: Op[]; skipped: { op: Op; reason: string }[] } {
  const spec = parse(readFileSync(SPEC_FILE, 'utf8')) as { paths: Record<string, Partial<Record<string, SpecOperation>>> };
  const routed: Op[] = [];
  const skipped: { op: Op; reason: string }[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    if (!path.startsWith('/v1/')) continue;
    for (const method of METHODS) {
      const o = item[method];
      if (!o) continue;
      const op: Op = { id: o.operationId ?? `${method.toUpperCase()} ${path}`, method, path };
      if (o['x-gateway-routed'] === false) skipped.push({ op, reason: 'x-gateway-routed: false (only on its service)' });
      else if (o['x-upstream-registered'] === false) skipped.push({ op, reason: 'x-upstream-registered: false (gateway routes it, upstream does not register it)' });
      else if (o['x-websocket'] !== undefined || o.tags?.includes('websocket')) skipped.push({ op, reason: 'WebSocket upgrade route' });
      else routed.push(op);
    }
  }
  return { routed, skipped };
}

const { routed, skipped } = contractOperations();

// ---------------------------------------------------------------- HTTP helpers
let lab: Lab;
let t: RunningTarget;
const contract = new ContractValidator();

interface Res { status: number; body: unknown; text: string }
async function call(method: string, path: string, opts: { body?: unknown; token?: string | null } = {}): Promise<Res> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const r = await fetch(`${t.baseUrl}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await r.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body, text };
}

/** `data` of a success envelope, after checking the status (setup steps only). */
async function dataOf<T>(what: string, status: number, res: Promise<Res>): Promise<T> {
  const r = await res;
  expect(r.status, `setup ${what}: ${r.text.slice(0, 300)}`).toBe(status);
  return (r.body as { data: T }).data;
}

interface User { id: string; email: string; password: string; access: string; refresh: string }
async function newUser(): Promise<User> {
  const tag = randomUUID().slice(0, 8);
  const email = `cov${tag}@lab.test`;
  const password = `pw-${tag}-long`;
  const d = await dataOf<{ user: { user_id: string }; access_token: string; refresh_token: string }>('register', 201,
    call('POST', '/v1/auth/register', { body: { email, username: `cov_${tag}`, password, display_name: `Cov ${tag}` } }));
  return { id: d.user.user_id, email, password, access: d.access_token, refresh: d.refresh_token };
}

const newConversation = async (owner: User, other: User): Promise<string> =>
  (await dataOf<{ conversation_id: string }>('create conversation', 201, call('POST', '/v1/conversations', { token: owner.access, body: { title: 'coverage', type: 'group', participant_ids: [owner.id, other.id] } }))).conversation_id;

const initiateCall = async (caller: User, convId: string, callee: User): Promise<string> =>
  (await dataOf<{ CallID: string }>('initiate call', 201, call('POST', '/v1/calls/initiate', { token: caller.access, body: { call_type: 'audio', conversation_id: convId, callee_ids: [callee.id] } }))).CallID;

const FILE_BYTES = 64;
async function newFile(owner: User, opts: { put?: boolean; complete?: boolean } = {}): Promise<string> {
  const d = await dataOf<{ FileID: string; UploadURL: string }>('upload-url', 200,
    call('POST', '/v1/storage/upload-url', { token: owner.access, body: { file_name: 'coverage.bin', file_size: FILE_BYTES, content_type: 'application/octet-stream' } }));
  if (opts.put || opts.complete) expect((await fetch(d.UploadURL, { method: 'PUT', body: randomBytes(FILE_BYTES) })).status, 'setup: PUT to the presigned URL').toBe(200);
  if (opts.complete) await dataOf('upload-complete', 200, call('POST', '/v1/storage/upload-complete', { token: owner.access, body: { file_id: d.FileID } }));
  return d.FileID;
}

const friendRequest = async (from: User, to: User): Promise<void> => {
  await dataOf('friend request', 201, call('POST', `/v1/users/${to.id}/friend`, { token: from.access }));
};

// ---------------------------------------------------------------- one valid request per operation
/** A request for one operation: path parameters, query, body and caller (null: no token), and the success status expected. */
interface Req { params?: Record<string, string>; query?: string; body?: unknown; token?: string | null; expect: number }
interface Ctx { a: User; b: User; convId: string }

const RECIPES: Record<string, (c: Ctx) => Promise<Req>> = {
  // auth
  register: async () => {
    const tag = randomUUID().slice(0, 8);
    return { token: null, body: { email: `reg${tag}@lab.test`, username: `reg_${tag}`, password: 'password-1234', display_name: 'Reg' }, expect: 201 };
  },
  login: async ({ a }) => ({ token: null, body: { email: a.email, password: a.password }, expect: 200 }),
  refreshToken: async () => ({ token: null, body: { refresh_token: (await newUser()).refresh }, expect: 200 }),
  logout: async () => ({ token: (await newUser()).access, body: {}, expect: 200 }),
  getTokenProfile: async ({ a }) => ({ token: a.access, expect: 200 }),
  // users
  getMe: async ({ a }) => ({ token: a.access, expect: 200 }),
  updateMe: async ({ a }) => ({ token: a.access, body: { display_name: 'Coverage A', avatar_url: 'https://cdn.lab.test/a.png' }, expect: 200 }),
  deleteMe: async () => ({ token: (await newUser()).access, expect: 200 }),
  changePassword: async () => {
    const u = await newUser();
    return { token: u.access, body: { old_password: u.password, new_password: 'another-pass-123' }, expect: 200 };
  },
  changeEmail: async () => {
    const u = await newUser();
    return { token: u.access, body: { new_email: `new${randomUUID().slice(0, 8)}@lab.test`, password: u.password }, expect: 202 };
  },
  verifyEmail: async () => {
    const u = await newUser();
    await dataOf('change email', 202, call('POST', '/v1/users/me/email', { token: u.access, body: { new_email: `ver${randomUUID().slice(0, 8)}@lab.test`, password: u.password } }));
    // The lab sends no mail: the pending token is read where auth-service keeps it.
    const db = postgresClient(lab.context(), lab.endpoint('postgres').host, lab.endpoint('postgres').port);
    await db.connect();
    try {
      const row = (await db.query<{ token: string }>('select token from email_change_tokens where user_id = $1', [u.id])).rows[0];
      expect(row, 'setup: pending email-change token').toBeDefined();
      return { token: u.access, body: { token: row!.token }, expect: 200 };
    } finally {
      await db.end();
    }
  },
  listBlocked: async ({ a }) => ({ token: a.access, query: 'limit=10&offset=0', expect: 200 }),
  blockUser: async ({ b }) => ({ token: (await newUser()).access, params: { id: b.id }, body: { reason: 'unwanted messages' }, expect: 201 }),
  unblockUser: async ({ b }) => {
    const u = await newUser();
    await dataOf('block', 201, call('POST', `/v1/users/${b.id}/block`, { token: u.access, body: { reason: 'unwanted messages' } }));
    return { token: u.access, params: { id: b.id }, expect: 200 };
  },
  listFriends: async ({ a }) => ({ token: a.access, query: 'limit=10', expect: 200 }),
  sendFriendRequest: async ({ b }) => ({ token: (await newUser()).access, params: { id: b.id }, expect: 201 }),
  acceptFriendRequest: async () => {
    const [from, to] = [await newUser(), await newUser()];
    await friendRequest(from, to);
    return { token: to.access, params: { id: from.id }, expect: 200 };
  },
  rejectFriendRequest: async () => {
    const [from, to] = [await newUser(), await newUser()];
    await friendRequest(from, to);
    return { token: to.access, params: { id: from.id }, expect: 200 };
  },
  unfriend: async () => {
    const [from, to] = [await newUser(), await newUser()];
    await friendRequest(from, to);
    await dataOf('accept', 200, call('POST', `/v1/users/me/friends/${from.id}/accept`, { token: to.access }));
    return { token: from.access, params: { id: to.id }, expect: 200 };
  },
  // conversations
  createConversation: async ({ a, b }) => ({ token: a.access, body: { title: 'created', type: 'group', participant_ids: [a.id, b.id] }, expect: 201 }),
  listConversations: async ({ a }) => ({ token: a.access, query: 'limit=5', expect: 200 }),
  getConversation: async ({ a, convId }) => ({ token: a.access, params: { id: convId }, expect: 200 }),
  updateConversation: async ({ a, convId }) => ({ token: a.access, params: { id: convId }, body: { title: 'renamed', avatar_url: 'https://cdn.lab.test/c.png' }, expect: 200 }),
  deleteConversation: async ({ a, b }) => ({ token: a.access, params: { id: await newConversation(a, b) }, expect: 200 }),
  updateConversationSettings: async ({ a, convId }) => ({ token: a.access, params: { id: convId }, body: { is_e2ee_enabled: true }, expect: 200 }),
  addParticipants: async ({ a, convId }) => ({ token: a.access, params: { id: convId }, body: { user_ids: [(await newUser()).id] }, expect: 200 }),
  listParticipants: async ({ a, convId }) => ({ token: a.access, params: { id: convId }, expect: 200 }),
  removeParticipant: async ({ a, b }) => ({ token: b.access, params: { id: await newConversation(a, b), userId: b.id }, expect: 200 }),
  // messages, presence
  sendMessage: async ({ a, convId }) => ({ token: a.access, body: { conversation_id: convId, content: 'coverage hello', message_type: 'text' }, expect: 201 }),
  listMessages: async ({ a, convId }) => ({ token: a.access, query: `conversation_id=${convId}&limit=10`, expect: 200 }),
  updatePresence: async ({ a }) => ({ token: a.access, body: { online: true }, expect: 200 }),
  // calls
  initiateCall: async ({ a, b, convId }) => ({ token: a.access, body: { call_type: 'video', conversation_id: convId, callee_ids: [b.id] }, expect: 201 }),
  endCall: async ({ a, b, convId }) => ({ token: a.access, params: { id: await initiateCall(a, convId, b) }, expect: 200 }),
  // storage
  createUploadUrl: async ({ a }) => ({ token: a.access, body: { file_name: 'notes.txt', file_size: 128, content_type: 'text/plain' }, expect: 200 }),
  completeUpload: async ({ a }) => ({ token: a.access, body: { file_id: await newFile(a, { put: true }) }, expect: 200 }),
  createDownloadUrl: async ({ a }) => ({ token: a.access, params: { file_id: await newFile(a, { complete: true }) }, expect: 200 }),
  deleteFile: async ({ a }) => ({ token: a.access, params: { file_id: await newFile(a, { complete: true }) }, expect: 200 }),
  getQuota: async ({ a }) => ({ token: a.access, expect: 200 }),
};

function concretePath(op: Op, params: Record<string, string> = {}): string {
  const path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`recipe for ${op.id} (${op.method.toUpperCase()} ${op.path}) gives no value for path parameter {${name}}`);
    return encodeURIComponent(v);
  });
  return path;
}

// ---------------------------------------------------------------- the sweep
let ctx: Ctx;
const results: { op: Op; status: number; outcome: 'pass' | 'fail'; note?: string }[] = [];

beforeAll(async () => {
  lab = await testLab();
  t = await startTarget(lab, { profile: 'hardened', portBase: 50, instance: 'cov', env: { RATE_LIMIT_PER_MINUTE: '100000' } });
  const [a, b] = [await newUser(), await newUser()];
  ctx = { a, b, convId: await newConversation(a, b) };
});

afterAll(async () => {
  await t?.stop();
  const lines = [
    `contract coverage (hardened target): ${results.filter((r) => r.outcome === 'pass').length}/${routed.length} routed operations pass`,
    ...results.map((r) => `  ${r.outcome.toUpperCase().padEnd(4)} ${r.op.id.padEnd(28)} ${r.op.method.toUpperCase().padEnd(6)} ${r.op.path} -> ${r.status}${r.note ? ` (${r.note})` : ''}`),
    `skipped (${skipped.length}):`,
    ...skipped.map((s) => `  ${s.op.id.padEnd(28)} ${s.op.method.toUpperCase().padEnd(6)} ${s.op.path}: ${s.reason}`),
  ];
  console.info(lines.join('\n'));
});

describe('contract coverage through the gateway (hardened)', () => {
  it('reads the routed operations from openapi.yaml', () => {
    expect(routed.length).toBeGreaterThan(30);
    // The explicit exclusions the brief names: keys (N10) and the sockets.
    expect(skipped.map((s) => s.op.path)).toEqual(expect.arrayContaining(['/v1/keys/upload', '/v1/ws/chat', '/v1/ws/signaling']));
  });

  it('the catch-all detector is not vacuous: the unregistered /v1/keys routes (N10) do answer "Route not found"', async () => {
    const r = await call('GET', `/v1/keys/${ctx.b.id}`, { token: ctx.a.access });
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ error: { message: 'Route not found' } });
  });

  it('error paths of the auth-service user and conversation routes answer the contract\'s (real backend\'s) statuses', async () => {
    const { a, b } = ctx;
    const outsider = await newUser();
    const convId = await newConversation(a, b);
    const cases: [string, string, string, { body?: unknown; token: string }, number][] = [
      ['post', '/v1/users/me/password', '/v1/users/me/password', { token: outsider.access, body: { old_password: 'wrong-password', new_password: 'another-pass-123' } }, 401],
      ['post', '/v1/users/me/email', '/v1/users/me/email', { token: outsider.access, body: { new_email: a.email, password: outsider.password } }, 500],
      ['post', '/v1/users/me/email/verify', '/v1/users/me/email/verify', { token: outsider.access, body: { token: 'no-such-token' } }, 401],
      ['post', '/v1/users/{id}/block', `/v1/users/${outsider.id}/block`, { token: outsider.access, body: { reason: 'self block' } }, 500],
      ['post', '/v1/users/{id}/block', `/v1/users/${b.id}/block`, { token: outsider.access, body: { reason: 'x' } }, 400],
      ['post', '/v1/users/{id}/friend', `/v1/users/${randomUUID()}/friend`, { token: outsider.access }, 500],
      ['post', '/v1/users/me/friends/{id}/accept', `/v1/users/me/friends/${b.id}/accept`, { token: outsider.access }, 500],
      ['delete', '/v1/users/me/friends/{id}', `/v1/users/me/friends/${b.id}`, { token: outsider.access }, 500],
      ['patch', '/v1/conversations/{id}', `/v1/conversations/${convId}`, { token: outsider.access, body: { title: 'hijack' } }, 500],
      ['delete', '/v1/conversations/{id}', `/v1/conversations/${convId}`, { token: b.access }, 500],
      ['delete', '/v1/conversations/{id}', '/v1/conversations/not-a-uuid', { token: a.access }, 400],
      ['put', '/v1/conversations/{id}/settings', `/v1/conversations/${randomUUID()}/settings`, { token: a.access, body: {} }, 500],
      ['delete', '/v1/conversations/{id}/participants/{userId}', `/v1/conversations/${convId}/participants/${b.id}`, { token: a.access }, 500],
    ];
    for (const [method, template, path, opts, status] of cases) {
      const r = await call(method.toUpperCase(), path, opts);
      expect(r.status, `${method.toUpperCase()} ${path}: ${r.text.slice(0, 300)}`).toBe(status);
      expect(contract.check(method, template, r.status, r.body), `${method.toUpperCase()} ${path} -> ${r.status}: ${r.text.slice(0, 300)}`).toBeNull();
    }
  });

  for (const op of routed) {
    it(`${op.id}: ${op.method.toUpperCase()} ${op.path}`, async () => {
      const recipe = RECIPES[op.id];
      if (!recipe) throw new Error(`no request recipe for operation ${op.id} (${op.method.toUpperCase()} ${op.path}): add one to RECIPES in this file`);
      const req = await recipe(ctx);
      const path = concretePath(op, req.params) + (req.query ? `?${req.query}` : '');
      const r = await call(op.method.toUpperCase(), path, { body: req.body, token: req.token === undefined ? ctx.a.access : req.token });
      const record = (outcome: 'pass' | 'fail', note?: string) => results.push({ op, status: r.status, outcome, note });
      try {
        // (b) The operation is routed: never the gateway's (or a service's) catch-all 404.
        const routeMissing = r.status === 404 && (r.body as { error?: { message?: string } } | null)?.error?.message === 'Route not found';
        expect(routeMissing, `${op.id}: ${op.method.toUpperCase()} ${path} answered the catch-all 404 "Route not found"`).toBe(false);
        // (a) A status the contract lists, and a body that conforms to it.
        const listed = contract.statuses(op.method, op.path);
        expect(listed, `${op.id}: status ${r.status} is not listed by the contract (${listed.join(', ')}): ${r.text.slice(0, 300)}`).toContain(String(r.status));
        expect(contract.check(op.method, op.path, r.status, r.body), `${op.id}: ${op.method.toUpperCase()} ${path} -> ${r.status}: ${r.text.slice(0, 300)}`).toBeNull();
        // A valid request to a healthy target succeeds (a listed 500/502/504 would hide a defect).
        expect(r.status, `${op.id}: ${op.method.toUpperCase()} ${path}: ${r.text.slice(0, 300)}`).toBe(req.expect);
        record('pass');
      } catch (e) {
        record('fail', (e as Error).message.split('\n')[0]);
        throw e;
      }
    });
  }
});
