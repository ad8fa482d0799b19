/** Test accounts for k6 scenarios: deterministic credentials per id, registered through the public API. */
import http, { type Response } from 'k6/http';
import encoding from 'k6/encoding';
import { fail } from 'k6';

export interface UserNaming {
  /** `<email>-<id>@load.test` (default `k6`). */
  email?: string;
  /** `<username>_<id>`, cut to 30 characters (default `k6`). */
  username?: string;
  /** `<display> <id>` (default `Load`). */
  display?: string;
  /** The `name` tag of the register requests (default `register`). */
  tag?: string;
}

export interface RegisteredUser {
  email: string;
  password: string;
  user_id: string;
  token: string;
  /** The refresh token registration or login returned with `token` (absent when the target returned none). */
  refresh?: string;
}

export function credentialsFor(id: string, n: UserNaming = {}): { email: string; username: string; password: string; display_name: string } {
  return {
    email: `${n.email ?? 'k6'}-${id}@load.test`,
    username: `${n.username ?? 'k6'}_${id}`.slice(0, 30).replace(/[^A-Za-z0-9_.-]/g, '_'),
    password: `pw-${id}-long`,
    display_name: `${n.display ?? 'Load'} ${id}`,
  };
}

/** Registers users in parallel batches of 20 (the auth service hashes each password); any non-201 fails the run. */
export function registerUsers(base: string, ids: string[], n: UserNaming = {}): RegisteredUser[] {
  const out: RegisteredUser[] = [];
  for (let i = 0; i < ids.length; i += 20) {
    const chunk = ids.slice(i, i + 20);
    const creds = chunk.map((id) => credentialsFor(id, n));
    const rs = http.batch(creds.map((c) => ({
      method: 'POST', url: `${base}/v1/auth/register`, body: JSON.stringify(c),
      params: { headers: { 'content-type': 'application/json' }, tags: { name: n.tag ?? 'register' } },
    })));
    rs.forEach((r, j) => {
      if (r.status !== 201) fail(`register ${chunk[j]}: HTTP ${r.status} ${String(r.body).slice(0, 200)}`);
      const d = (r.json() as { data: { user: { user_id: string }; access_token: string; refresh_token?: unknown } }).data;
      out.push({ email: creds[j]!.email, password: creds[j]!.password, user_id: d.user.user_id, token: d.access_token, ...refreshOf(d) });
    });
  }
  return out;
}

/** Where a scenario's sessions came from, as its `SC_SESSIONS` line says. */
export type SessionSource = { source: 'login' } | { source: 'registration'; reason: string };

const refreshOf = (d: { refresh_token?: unknown } | undefined): { refresh?: string } => (typeof d?.refresh_token === 'string' ? { refresh: d.refresh_token } : {});

interface Pair { status: number; token: string | null; refresh?: string }

/** A 200's token pair from POST /v1/auth/login or /v1/auth/refresh; `token` null on anything else. */
function pairFrom(r: Response): Pair {
  let d: { access_token?: unknown; refresh_token?: unknown } | undefined;
  try { d = (r.json() as { data?: typeof d } | null)?.data; } catch { /* not JSON */ }
  return r.status === 200 && typeof d?.access_token === 'string' ? { status: r.status, token: d.access_token, ...refreshOf(d) } : { status: r.status, token: null };
}

function refreshToken(base: string, refresh: string): Pair {
  return pairFrom(http.post(`${base}/v1/auth/refresh`, JSON.stringify({ refresh_token: refresh }), {
    headers: { 'content-type': 'application/json' }, tags: { name: 'session_refresh' },
    // A shared token another VU used first answers 401: this VU then logs in, and no request failed.
    responseCallback: http.expectedStatuses(200, 401),
  }));
}

/** `u` holding a new pair of tokens. */
const withTokens = (u: RegisteredUser, token: string, refresh: string | undefined): RegisteredUser => ({ ...u, token, ...(refresh ? { refresh } : {}) });

function loginToken(base: string, u: Pick<RegisteredUser, 'email' | 'password'>, tag: string): Pair {
  return pairFrom(http.post(`${base}/v1/auth/login`, JSON.stringify({ email: u.email, password: u.password }), { headers: { 'content-type': 'application/json' }, tags: { name: tag } }));
}

/**
 * Sessions for registered accounts, from login when login works, else the tokens registration returned (the
 * real backend's login answers 500 while register works). ONE login decides, so a broken login costs one request;
 * when it works every account logs in. Prints exactly one `SC_SESSIONS {"source":…}` line (no token in it).
 */
export function sessionsFor(base: string, users: RegisteredUser[], tag = 'login'): { users: RegisteredUser[]; source: SessionSource } {
  if (users.length === 0) return { users, source: { source: 'registration', reason: 'no account to log in' } };
  const first = loginToken(base, users[0]!, tag);
  let source: SessionSource;
  let out = users;
  if (first.token === null) {
    source = { source: 'registration', reason: `POST /v1/auth/login answered ${first.status === 0 ? 'nothing (no connection)' : first.status === 200 ? '200 without an access_token' : first.status}` };
  } else {
    out = [withTokens(users[0]!, first.token, first.refresh)];
    for (let i = 1; i < users.length; i += 20) {
      const chunk = users.slice(i, i + 20);
      const rs = http.batch(chunk.map((u) => ({
        method: 'POST', url: `${base}/v1/auth/login`, body: JSON.stringify({ email: u.email, password: u.password }),
        params: { headers: { 'content-type': 'application/json' }, tags: { name: tag } },
      })));
      rs.forEach((r, j) => {
        const p = pairFrom(r);
        // Login worked for the first account: one failing now is a target in trouble, not a missing feature.
        if (p.token === null) fail(`login ${chunk[j]!.email}: HTTP ${r.status} (the first login worked)`);
        out.push(withTokens(chunk[j]!, p.token, p.refresh));
      });
    }
    source = { source: 'login' };
  }
  console.log(`SC_SESSIONS ${JSON.stringify(source)}`);
  return { users: out, source };
}

/** The `exp` and `iat` of a JWT (ms), read from its payload; null when it is not one. */
export function lifeOf(token: string): { expMs: number; iatMs: number } | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const c = JSON.parse(encoding.b64decode(part, 'rawurl', 's')) as { exp?: unknown; iat?: unknown };
    return typeof c.exp === 'number' ? { expMs: c.exp * 1000, iatMs: typeof c.iat === 'number' ? c.iat * 1000 : c.exp * 1000 - 900_000 } : null;
  } catch {
    return null;
  }
}

interface HeldSession { token: string; expMs: number; renewAtMs: number; refresh?: string }
/** This VU's sessions by account (module state is per VU in k6). */
const held = new Map<string, HeldSession>();

/**
 * When to renew `token`: a minute before its expiry (a fifth of its life when tokens live less than five minutes),
 * plus a random share of up to three minutes more (a fifth of its life). Every VU got its token in setup at the same
 * moment, and renewing all at once was a burst of logins that slowed the target for seconds (a 2-hour soak's probes,
 * 510 ms p95 at 15 min). Not a JWT: no expiry known, never renewed.
 */
export function renewalOf(token: string): { expMs: number; renewAtMs: number } {
  const life = lifeOf(token);
  if (!life) return { expMs: Infinity, renewAtMs: Infinity };
  const fifth = (life.expMs - life.iatMs) / 5;
  return { expMs: life.expMs, renewAtMs: life.expMs - Math.min(60_000, fifth) - Math.random() * Math.min(180_000, fifth) };
}

const hold = (token: string, refresh: string | undefined): HeldSession => ({ token, ...renewalOf(token), refresh });

/**
 * The account's access token, renewed before it expires, so a run longer than a token's life (15 min on
 * SecureConnect) keeps its sessions as a real client would. Each VU holds its own session and renews it through
 * POST /v1/auth/refresh with its refresh token: the account's from setup at first, then the one its own renewal
 * returned. Where refresh tokens are single-use the first VU to present the shared one wins and the others log in
 * once, each getting a pair of its own; so logins stay within a per-account login limit however long the run, and a
 * VU left idle past its token's expiry still renews. With neither working (no refresh token, login refused: the real
 * backend's login answers 500) the token stays as it is, a renewal is tried again every 2 s until it expires and every
 * 30 s after, and requests after its expiry are refused as for any client.
 */
export function tokenOf(base: string, u: { email?: string; password?: string; token: string; refresh?: string }): string {
  const key = u.email ?? u.token;
  let s = held.get(key);
  if (!s) held.set(key, (s = hold(u.token, u.refresh)));
  const now = Date.now();
  if (now < s.renewAtMs) return s.token;
  let p: Pair | null = s.refresh ? refreshToken(base, s.refresh) : null;
  if (p?.token == null && u.email && u.password) p = loginToken(base, { email: u.email, password: u.password }, 'session_renew');
  // A target that answers a refresh without a new refresh token: the old one is presented again next time.
  if (p?.token != null) held.set(key, (s = hold(p.token, p.refresh ?? s.refresh)));
  // Refused (a per-account login limit, a target in trouble): again soon while the token still works, else every 30 s.
  else s.renewAtMs = now + (now < s.expMs - 2_000 ? 2_000 : 30_000);
  return s.token;
}
