/** Test accounts for k6 scenarios: deterministic credentials per id, registered through the public API. */
import http from 'k6/http';
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
      const d = (r.json() as { data: { user: { user_id: string }; access_token: string } }).data;
      out.push({ email: creds[j]!.email, password: creds[j]!.password, user_id: d.user.user_id, token: d.access_token });
    });
  }
  return out;
}
