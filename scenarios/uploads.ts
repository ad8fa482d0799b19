/**
 * Uploads workload (k6, bundled by src/k6/bundle.ts).
 *
 * setup() registers one user; its session comes from login when login works, else from the registration token
 * (one line `SC_SESSIONS {"source":"login"}` or `SC_SESSIONS {"source":"registration","reason":"…"}`). Open model (constant-arrival-rate, SC_RATE iterations/s for
 * SC_DURATION): each iteration takes a size from SC_UPLOAD_SIZES (round-robin on the scenario iteration),
 * generates its payload deterministically (a pattern seeded by size and iteration: no committed blobs),
 * hashes it (sha256), then upload-url → PUT to the presigned URL → upload-complete → download-url → GET
 * (sha256 compared: a difference counts in `sc_checksum_mismatch`) → delete.
 * teardown(), when SC_QUOTA_PROBE_BYTES is set: an upload-url with that file_size (above the quota) must be
 * refused (non-2xx); an accepted one counts in `sc_quota_not_enforced`.
 *
 * Environment: SC_BASE_URL (required), SC_UPLOAD_SIZES ("1KB,64KB,1MB"; B, KB, MB with 1024 multiples, at
 * most 50MB), SC_RATE (2), SC_DURATION ("10s"), SC_PRE_VUS (5), SC_MAX_VUS (50), SC_GRACEFUL_STOP ("30s"),
 * SC_QUOTA_PROBE_BYTES (unset: no probe). Thresholds come from fixtures/budgets.yaml (runner, k6 --config).
 */
import http from 'k6/http';
import type { RefinedResponse, ResponseType } from 'k6/http';
import { check, fail } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import crypto from 'k6/crypto';
import exec from 'k6/execution';
import type { Options } from 'k6/options';
import { num, str } from './lib/env.ts';
import { registerUsers, sessionsFor, tokenOf, type RegisteredUser } from './lib/users.ts';

export const STEPS = ['upload_url', 'put', 'complete', 'download_url', 'get', 'delete', 'quota_probe'] as const;
type Step = (typeof STEPS)[number];

const MAX_SIZE = 50 * 1024 * 1024;

/** "1KB,64KB,1MB" → bytes (B, KB, MB; 1024 multiples; at most 50MB). */
export function parseSizes(raw: string): number[] {
  const out = raw.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB)?$/i.exec(s);
    if (!m) throw new Error(`SC_UPLOAD_SIZES: "${s}" is not a size (e.g. 1KB, 64KB, 1MB)`);
    const unit = (m[2] ?? 'B').toUpperCase();
    const n = Math.round(Number(m[1]) * (unit === 'MB' ? 1024 * 1024 : unit === 'KB' ? 1024 : 1));
    if (n < 1 || n > MAX_SIZE) throw new Error(`SC_UPLOAD_SIZES: "${s}" must be within 1B..50MB`);
    return n;
  });
  if (out.length === 0) throw new Error('SC_UPLOAD_SIZES is empty');
  return out;
}

const SIZES = parseSizes(str('SC_UPLOAD_SIZES', '1KB,64KB,1MB'));

export const options: Options = {
  scenarios: {
    uploads: {
      executor: 'constant-arrival-rate',
      rate: num('SC_RATE', 2),
      timeUnit: '1s',
      duration: str('SC_DURATION', '10s'),
      // At least one VU per client address (SC_SOURCE_ADDRESSES; iterations go to free VUs in turn).
      preAllocatedVUs: Math.max(num('SC_SOURCE_ADDRESSES', 1), num('SC_PRE_VUS', 5)),
      maxVUs: Math.max(num('SC_SOURCE_ADDRESSES', 1), num('SC_MAX_VUS', 50)),
      gracefulStop: str('SC_GRACEFUL_STOP', '30s'),
    },
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

/** Duration of each step (ms), tagged `step`. */
const stepDuration = new Trend('sc_step_duration', true);
/** Downloaded bytes differ from the uploaded ones: must stay 0. */
const checksumMismatch = new Counter('sc_checksum_mismatch');
/** An upload-url above the quota was accepted: must stay 0. */
const quotaNotEnforced = new Counter('sc_quota_not_enforced');
/** Completed iterations (every step ran). */
const flows = new Counter('sc_flows_completed');

/** The account (renewed by tokenOf before its token expires). */
interface SetupData { base: string; account: RegisteredUser }
type Res = RefinedResponse<ResponseType | undefined>;

function params(step: Step, token?: string, expected?: ReturnType<typeof http.expectedStatuses>, json = true) {
  // No content-type without a body: the API refuses an empty application/json body (400).
  const headers: Record<string, string> = json ? { 'content-type': 'application/json' } : {};
  if (token) headers.authorization = `Bearer ${token}`;
  return { headers, tags: { step, name: step }, ...(expected ? { responseCallback: expected } : {}) };
}

function dataOf<T>(r: Res): T | null {
  try {
    return ((r.json() as { data?: T } | null)?.data ?? null);
  } catch {
    return null;
  }
}

/** Deterministic printable-ASCII payload of `size` bytes: a 4 KiB block from an LCG seeded by size and iteration, repeated. */
export function payload(size: number, iteration: number): string {
  let x = (Math.imul(size, 2654435761) ^ Math.imul(iteration + 1, 40503)) >>> 0;
  const chars: string[] = [];
  const block = Math.min(size, 4096);
  for (let i = 0; i < block; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    chars.push(String.fromCharCode(33 + (x >>> 24) % 94));
  }
  const b = chars.join('');
  return b.repeat(Math.ceil(size / block)).slice(0, size);
}

export function setup(): SetupData {
  const base = __ENV.SC_BASE_URL;
  if (!base) fail('SC_BASE_URL is not set');
  const [user] = registerUsers(base, [`${str('SC_RUN_ID', 'r')}-up`], { display: 'Uploads' });
  // A session from login when login works, else the registration token (SC_SESSIONS says which).
  const [session] = sessionsFor(base, [user!]).users;
  return { base, account: session! };
}

export default function uploads(data: SetupData): void {
  const { base } = data;
  const token = tokenOf(base, data.account);
  const iteration = exec.scenario.iterationInTest;
  const size = SIZES[iteration % SIZES.length]!;
  const body = payload(size, iteration);
  const digest = crypto.sha256(body, 'hex');

  const u = http.post(`${base}/v1/storage/upload-url`, JSON.stringify({ file_name: `k6-${iteration}-${size}.bin`, file_size: size, content_type: 'application/octet-stream', is_encrypted: false }), params('upload_url', token));
  stepDuration.add(u.timings.duration, { step: 'upload_url' });
  const ud = dataOf<{ FileID?: string; UploadURL?: string }>(u);
  if (!check(u, { 'upload_url: 200 with FileID and UploadURL': (r) => r.status === 200 && typeof ud?.FileID === 'string' && typeof ud?.UploadURL === 'string' }, { step: 'upload_url' }) || !ud?.FileID || !ud.UploadURL) return;
  const fileId = ud.FileID;

  const put = http.put(ud.UploadURL, body, { headers: { 'content-type': 'application/octet-stream' }, tags: { step: 'put', name: 'put' } });
  stepDuration.add(put.timings.duration, { step: 'put' });
  if (!check(put, { 'put: 200': (r) => r.status === 200 }, { step: 'put' })) return;

  const c = http.post(`${base}/v1/storage/upload-complete`, JSON.stringify({ file_id: fileId }), params('complete', token));
  stepDuration.add(c.timings.duration, { step: 'complete' });
  if (!check(c, { 'complete: 200': (r) => r.status === 200 }, { step: 'complete' })) return;

  const d = http.get(`${base}/v1/storage/download-url/${fileId}`, params('download_url', token, undefined, false));
  stepDuration.add(d.timings.duration, { step: 'download_url' });
  const url = dataOf<{ download_url?: string }>(d)?.download_url;
  if (!check(d, { 'download_url: 200 with download_url': (r) => r.status === 200 && typeof url === 'string' }, { step: 'download_url' }) || !url) return;

  const g = http.get(url, { responseType: 'binary', tags: { step: 'get', name: 'get' } });
  stepDuration.add(g.timings.duration, { step: 'get' });
  const got = g.status === 200 && g.body instanceof ArrayBuffer ? crypto.sha256(g.body, 'hex') : null;
  check(g, { 'get: 200 with the uploaded sha256': (r) => r.status === 200 && got === digest }, { step: 'get' });
  if (g.status === 200) checksumMismatch.add(got === digest ? 0 : 1, { size: String(size) });

  const del = http.del(`${base}/v1/storage/files/${fileId}`, null, params('delete', token, undefined, false));
  stepDuration.add(del.timings.duration, { step: 'delete' });
  if (!check(del, { 'delete: 200': (r) => r.status === 200 }, { step: 'delete' })) return;
  flows.add(1);
}

export function teardown(data: SetupData): void {
  // Always add, so the counters exist (and read 0) in every summary.
  checksumMismatch.add(0);
  quotaNotEnforced.add(0);
  const probe = num('SC_QUOTA_PROBE_BYTES', 0);
  if (probe <= 0) return;
  const r = http.post(`${data.base}/v1/storage/upload-url`, JSON.stringify({ file_name: 'k6-quota-probe.bin', file_size: probe, content_type: 'application/octet-stream', is_encrypted: false }),
    params('quota_probe', tokenOf(data.base, data.account), http.expectedStatuses({ min: 400, max: 599 })));
  stepDuration.add(r.timings.duration, { step: 'quota_probe' });
  const refused = r.status < 200 || r.status >= 300;
  check(r, { 'quota_probe: above the quota is refused': () => refused }, { step: 'quota_probe' });
  if (!refused) {
    quotaNotEnforced.add(1);
    // Do not leave a pending file counted against the quota.
    const id = dataOf<{ FileID?: string }>(r)?.FileID;
    if (id) http.del(`${data.base}/v1/storage/files/${id}`, null, params('quota_probe', tokenOf(data.base, data.account), undefined, false));
  }
}
