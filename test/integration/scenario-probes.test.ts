import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { ensureHostAddress } from '../../src/lab/netns.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { readSamples, runScenario, type ScenarioRunResult } from '../../src/k6/run.js';
import { parseSetupLog } from '../../src/k6/setup-log.js';
import { sleep } from '../../src/lab/exec.js';
import { testLab } from './helpers.js';

/**
 * The probes workload against the reference target: each probe sets up on its own (a broken logout costs only
 * the revoked* probes), sessions fall back to registration tokens where login is broken, the baseline probes
 * (register, logout_revokes, call, delete) give their wanted classes on hardened, and spreading over client
 * addresses keeps a per-IP rate limit from throttling the probes.
 */
let lab: Lab;
let target: RunningTarget | undefined;
const runRoot = join(HARNESS_ROOT, 'reports', 'runs', `itest-probes-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
});

afterEach(async () => {
  await target?.stop();
  target = undefined;
});

/** sc_attempt and sc_outcome of each probe: attempts, and class → count. */
function outcomesOf(r: ScenarioRunResult): { attempts: Record<string, number>; classes: Record<string, Record<string, number>> } {
  const attempts: Record<string, number> = {};
  const classes: Record<string, Record<string, number>> = {};
  for (const s of readSamples(r.samplesPath)) {
    if (s.type !== 'Point') continue;
    const probe = s.data.tags?.probe;
    if (!probe) continue;
    if (s.metric === 'sc_attempt') attempts[probe] = (attempts[probe] ?? 0) + s.data.value;
    if (s.metric === 'sc_outcome') {
      const c = s.data.tags?.class ?? '?';
      classes[probe] = { ...classes[probe], [c]: (classes[probe]?.[c] ?? 0) + s.data.value };
    }
  }
  return { attempts, classes };
}

const counterOf = (r: ScenarioRunResult, metric: string): number =>
  readSamples(r.samplesPath).reduce((n, s) => n + (s.type === 'Point' && s.metric === metric ? s.data.value : 0), 0);

/** k6 ran to its end (thresholds may be crossed: the budgets are not what these tests are about). */
function expectRanToEnd(r: ScenarioRunResult): void {
  expect(r.timedOut).toBe(false);
  expect(r.outcome, `${r.failure ?? ''}\n${r.stderr.slice(-2000)}`).not.toBe('failed');
}

describe('scenario probes (k6)', () => {
  it('as-built (logout 500, login 500): the revoked* probes say why they cannot set up and record nothing; the others run on registration tokens', async () => {
    target = await startTarget(lab, { profile: 'as-built', instance: 'prb', portBase: 60, services: ['auth', 'chat', 'gateway'], env: { RATE_LIMIT_SCOPE: `prb-ab-${Date.now()}` } });
    // as-built limits 100 requests/min per client IP on every route: ~75 requests in all (setup included).
    const r = await runScenario({
      name: 'probes', baseUrl: target.baseUrl, profile: 'smoke', outDir: join(runRoot, 'as-built'), timeoutMs: 120_000,
      env: { SC_PROBES: 'revoked,revoked_ws_chat,authed,send,login,register,logout_revokes', SC_PROBE_RATE: '1', SC_DURATION: '6s', SC_USERS: '2' },
    });
    expectRanToEnd(r);
    // The log on disk (redacted) is what the analysis reads: the reasons must survive the redaction.
    const log = parseSetupLog(readFileSync(join(runRoot, 'as-built', 'k6.log'), 'utf8'));
    expect(log.sessions).toEqual({ source: 'registration', reason: 'POST /v1/auth/login answered 500' });
    expect(log.reported.sort()).toEqual(['authed', 'login', 'logout_revokes', 'register', 'revoked', 'revoked_ws_chat', 'send']);
    expect(log.failures).toEqual({
      revoked: 'no public path revokes a token (POST /v1/auth/logout answered 500)',
      revoked_ws_chat: 'no public path revokes a token (POST /v1/auth/logout answered 500)',
    });
    const { attempts, classes } = outcomesOf(r);
    expect(attempts.revoked).toBeUndefined();
    expect(attempts.revoked_ws_chat).toBeUndefined();
    for (const p of ['authed', 'send', 'login', 'register', 'logout_revokes']) expect(attempts[p], p).toBeGreaterThanOrEqual(4);
    expect(Object.keys(classes.authed ?? {})).toEqual(['served']);
    expect(Object.keys(classes.send ?? {})).toEqual(['served']);
    expect(Object.keys(classes.register ?? {})).toEqual(['served']);
    expect(Object.keys(classes.login ?? {})).toEqual(['server-error']);
    expect(Object.keys(classes.logout_revokes ?? {})).toEqual(['server-error']);
    // The real logout never revokes: every token still worked afterwards.
    expect(counterOf(r, 'sc_logout_token_still_valid')).toBe(attempts.logout_revokes);
    // Neither a token nor a password in the setup lines.
    for (const line of `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /SC_PROBE_SETUP|SC_SESSIONS/.test(l))) expect(line).not.toMatch(/eyJ|pw-/);
  }, 180_000);

  it('hardened: register served, logout_revokes refused-revoked, a call connects, a delete is served; sessions from login', async () => {
    target = await startTarget(lab, { profile: 'hardened', instance: 'prb', portBase: 60, env: { RATE_LIMIT_PER_MINUTE: '100000' } });
    const r = await runScenario({
      name: 'probes', baseUrl: target.baseUrl, profile: 'smoke', outDir: join(runRoot, 'hardened'), timeoutMs: 120_000,
      env: { SC_PROBES: 'register,logout_revokes,call,delete,revoked', SC_PROBE_RATE: '1', SC_DURATION: '6s', SC_USERS: '2', SC_VIDEO_URL: target.serviceUrls.video },
    });
    expectRanToEnd(r);
    const log = parseSetupLog(`${r.stdout}\n${r.stderr}`);
    expect(log.sessions).toEqual({ source: 'login' });
    expect(log.failures).toEqual({});
    expect(log.reported.sort()).toEqual(['call', 'delete', 'logout_revokes', 'register', 'revoked']);
    const { attempts, classes } = outcomesOf(r);
    for (const p of ['register', 'logout_revokes', 'call', 'delete', 'revoked']) expect(attempts[p], p).toBeGreaterThanOrEqual(4);
    expect(classes.register).toEqual({ served: attempts.register });
    expect(classes.logout_revokes).toEqual({ 'refused-revoked': attempts.logout_revokes });
    expect(classes.call).toEqual({ served: attempts.call });
    expect(classes.delete).toEqual({ served: attempts.delete });
    expect(classes.revoked).toEqual({ 'refused-revoked': attempts.revoked });
    expect(counterOf(r, 'sc_logout_token_still_valid')).toBe(0);
  }, 180_000);

  it('a revoked token that expires: each VU renews it (a new one, proved revoked) and attempts go on; kept past its expiry (SC_REVOKED_RENEW=0), no attempt is made — never a refusal read as the revocation\'s', async () => {
    // Tokens that live 15 s: setup's revoked one expires about 10 s into 24 s of attempts at 2 a second.
    target = await startTarget(lab, { profile: 'audited', instance: 'prb', portBase: 60, services: ['auth', 'gateway'], env: { SC_TEST_ACCESS_TTL_S: '15', RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_SCOPE: `prb-exp-${Date.now()}` } });
    const run = (name: string, env: Record<string, string>) => runScenario({
      name: 'probes', baseUrl: target!.baseUrl, profile: 'smoke', outDir: join(runRoot, name), timeoutMs: 120_000,
      env: { SC_PROBES: 'revoked', SC_PROBE_RATE: '2', SC_DURATION: '24s', SC_USERS: '2', ...env },
    });
    const [renewed, kept] = await Promise.all([run('renewed', {}), run('kept', { SC_REVOKED_RENEW: '0' })]);
    for (const r of [renewed, kept]) {
      expectRanToEnd(r);
      expect(parseSetupLog(`${r.stdout}\n${r.stderr}`).failures).toEqual({});
    }
    // console.log on k6's stderr: logfmt, the JSON's quotes escaped.
    const q = '\\\\?"';
    const renewedOut = `${renewed.stdout}\n${renewed.stderr}`;
    const r1 = outcomesOf(renewed);
    // Attempts through the whole 24 s (~48), every one refused as revoked: the renewed tokens are revoked ones.
    expect(r1.attempts.revoked).toBeGreaterThanOrEqual(38);
    expect(r1.classes.revoked).toEqual({ 'refused-revoked': r1.attempts.revoked });
    expect(renewedOut).toMatch(new RegExp(`SC_PROBE_RENEW \\{${q}ok${q}:true`));
    expect(renewedOut).not.toMatch(/SC_PROBE_RENEW \{\\?"ok\\?":false|SC_PROBE_STALE/);
    const keptOut = `${kept.stdout}\n${kept.stderr}`;
    const r2 = outcomesOf(kept);
    // Refused while the token lived; no attempt after.
    expect(r2.attempts.revoked).toBeGreaterThanOrEqual(4);
    expect(r2.attempts.revoked).toBeLessThan(30);
    expect(r2.classes.revoked).toEqual({ 'refused-revoked': r2.attempts.revoked });
    expect(keptOut).toMatch(/SC_PROBE_STALE \{\\?"probe\\?":\\?"revoked\\?",\\?"reason\\?":\\?"the revoked token expires at [^"\\]+: no attempt after it/);
    expect(keptOut).not.toMatch(/SC_PROBE_RENEW/);
  }, 180_000);

  it('a per-IP limit of 100/min: 12 probes/s for 20 s over 8 client addresses is never throttled, over one it is', async () => {
    target = await startTarget(lab, { profile: 'audited', instance: 'prb', portBase: 60, services: ['auth', 'gateway'], env: { RATE_LIMIT_PER_MINUTE: '100', RATE_LIMIT_SCOPE: `prb-rl-${Date.now()}` } });
    const ns = lab.netns;
    if (!ns) throw new Error('this test needs the lab namespace (further client addresses on its veth)');
    // Addresses 40+ stay clear of those the experiment runner hands out (from 0).
    const spread: string[] = [];
    for (let i = 0; i < 8; i++) spread.push(await ensureHostAddress(ns, 40 + i));
    const single = await ensureHostAddress(ns, 48);
    // The limiter's window is the clock's minute, so the 20 s may straddle two windows: 240 requests from one
    // address exceed 100 in at least one of them, 30 from each of 8 exceed it in none.
    const probes = (dir: string, addresses: string[]) => runScenario({
      name: 'probes', baseUrl: target!.baseUrl, profile: 'smoke', outDir: join(runRoot, dir), timeoutMs: 90_000,
      k6Env: { K6_LOCAL_IPS: addresses.join(',') },
      env: { SC_PROBES: 'authed', SC_PROBE_RATE: '12', SC_DURATION: '20s', SC_USERS: '2', SC_SOURCE_ADDRESSES: String(addresses.length) },
    });
    const [many, one] = await Promise.all([probes('spread-8', spread), probes('spread-1', [single])]);
    expectRanToEnd(many);
    expectRanToEnd(one);
    const m = outcomesOf(many);
    const o = outcomesOf(one);
    expect(m.attempts.authed).toBeGreaterThanOrEqual(230);
    expect(m.classes.authed).toEqual({ served: m.attempts.authed });
    expect(o.attempts.authed).toBeGreaterThanOrEqual(230);
    expect(o.classes.authed?.throttled ?? 0).toBeGreaterThan(0);
  }, 180_000);
});
