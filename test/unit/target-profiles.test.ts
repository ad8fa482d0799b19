/**
 * The reference target's profile switches as its README documents them: the table names every
 * switch with the variable that sets it; each variable, read by the target's own config loader,
 * flips that switch alone on either profile; and one switch's documented effect, through the real
 * auth guard (the others need the lab: test/integration/target-*.test.ts run both profiles).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { PROFILES, PROFILE_NAMES, SWITCHES, renderSwitchTable, resolveSwitches, type ProfileName, type Switches } from '../../fixtures/secureconnect/target/kit/profiles.js';
import { loadConfig } from '../../fixtures/secureconnect/target/kit/config.js';
import { authGuard, blacklistKey } from '../../fixtures/secureconnect/target/kit/auth-guard.js';
import { mirrorFor } from '../../fixtures/secureconnect/target/kit/revocation-mirror.js';
import { Jwt } from '../../fixtures/secureconnect/target/kit/jwt.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { REFERENCE_PROFILES } from '../../src/util/profiles.js';

interface Row {
  name: string;
  env: string;
  audit: string;
  audited: string;
  asBuilt: string;
  hardened: string;
}

/** The switch table between the README's markers. */
function readmeBlock(): string {
  const readme = readFileSync(join(HARNESS_ROOT, 'fixtures', 'secureconnect', 'target', 'README.md'), 'utf8');
  const block = readme.split('<!-- switches:begin -->')[1]?.split('<!-- switches:end -->')[0];
  if (!block) throw new Error('README has no switches:begin / switches:end block');
  return block.trim();
}

/** The README's switch table, one object per row. */
function readmeRows(): Row[] {
  const lines = readmeBlock().split('\n');
  expect(lines[0]).toBe('| switch | variable | from | audited | as-built | hardened |');
  return lines.slice(2).map((line) => {
    const cells = line.split(' | ').map((c) => c.replace(/^\|\s*|\s*\|$/g, '').trim());
    const [name, env, audit, audited, asBuilt, hardened] = cells;
    return { name: name!, env: env!.replace(/`/g, ''), audit: audit!, audited: audited!, asBuilt: asBuilt!, hardened: hardened! };
  });
}

const SWITCH_NAMES = Object.keys(PROFILES.audited) as (keyof Switches)[];
const asEnv = (v: Switches[keyof Switches]): string => (typeof v === 'number' ? String(v) : v ? 'on' : 'off');
const differing = (a: Switches, b: Switches): string[] => SWITCH_NAMES.filter((k) => a[k] !== b[k]);
const config = (env: Record<string, string>) => loadConfig('chat', { JWT_SECRET: 'j'.repeat(32), ...env });

describe('reference target profiles', () => {
  it('the README table documents every switch, with the variable and audit line the module gives', () => {
    const rows = readmeRows();
    expect(rows.map((r) => r.name).sort()).toEqual([...SWITCH_NAMES].sort());
    expect(rows).toEqual(SWITCHES.map((s) => ({ name: s.name, env: s.env, audit: s.audit, audited: s.audited, asBuilt: s.asBuilt, hardened: s.hardened })));
    // The block is exactly what readme-table.ts writes (regenerate with it, never by hand).
    expect(readmeBlock()).toBe(renderSwitchTable());
    // A number the table states is the profile's number.
    const limit = rows.find((r) => r.name === 'participantLimit')!;
    expect(limit.audited).toBe(String(PROFILES.audited.participantLimit));
    expect(limit.asBuilt).toBe(String(PROFILES['as-built'].participantLimit));
    expect(limit.hardened.split(' ')[0]).toBe(String(PROFILES.hardened.participantLimit));
  });

  it('the target and the harness name the same three profiles; each new as-built switch says on or off as its value is', () => {
    expect([...PROFILE_NAMES]).toEqual([...REFERENCE_PROFILES]);
    expect(Object.keys(PROFILES).sort()).toEqual([...PROFILE_NAMES].sort());
    for (const s of SWITCHES) {
      for (const [profile, text] of [['audited', s.audited], ['as-built', s.asBuilt], ['hardened', s.hardened]] as const) {
        const v = PROFILES[profile][s.name];
        // A boolean switch whose text starts with on/off must state its value (texts like "as audited" describe it instead).
        if (typeof v === 'boolean' && /^(on|off)\b/.test(text)) expect(text.startsWith(v ? 'on' : 'off'), `${s.name} on ${profile}: "${text}"`).toBe(true);
      }
    }
  });

  it('as-built differs from audited only where the real backend does, and needs no test hook', () => {
    const differs = differing(PROFILES.audited, PROFILES['as-built']);
    // The switches the audit already gets right (fail-open revocation, unbounded sockets, 4 participants, no Cassandra guard) stay equal.
    for (const same of ['cassandraGuard', 'revocationFailClosed', 'turnFailureReport', 'wsConnectionLimit', 'participantLimit'] as const) expect(differs).not.toContain(same);
    expect(differs.length).toBeGreaterThan(10);
    const c = config({ SC_PROFILE: 'as-built' });
    expect(c.profile).toBe('as-built');
    expect(c.switches).toEqual(PROFILES['as-built']);
    expect(c.testHooks).toEqual(config({}).testHooks);
  });

  it('SC_PROFILE picks the profile (audited by default) for every service config', () => {
    expect(config({}).profile).toBe('audited');
    expect(config({}).switches).toEqual(PROFILES.audited);
    expect(config({ SC_PROFILE: 'hardened' }).switches).toEqual(PROFILES.hardened);
    expect(config({ SC_PROFILE: 'as-built' }).switches).toEqual(PROFILES['as-built']);
  });

  it('each documented variable flips its switch alone, on any profile, to any other profile\'s value: one defect at a time', () => {
    for (const profile of PROFILE_NAMES) {
      for (const other of PROFILE_NAMES.filter((p) => p !== profile)) {
        for (const row of readmeRows()) {
          const name = row.name as keyof Switches;
          const wanted = PROFILES[other][name];
          const c = config({ SC_PROFILE: profile, [row.env]: asEnv(wanted) });
          expect(c.profile).toBe(profile);
          expect(c.switches[name], `${profile} + ${row.env}=${asEnv(wanted)}`).toBe(wanted);
          expect(differing(PROFILES[profile], c.switches), `${profile} + ${row.env}`).toEqual(PROFILES[profile][name] === wanted ? [] : [name]);
        }
      }
    }
    // Every switch is flipped by at least one pair of profiles (none is the same everywhere), but a test switch: the same
    // on all three (a defect or a seeded slowdown no profile has), and its variable alone flips it.
    const testOnly = new Set(SWITCHES.filter((s) => s.testOnly).map((s) => s.name));
    for (const name of SWITCH_NAMES.filter((n) => !testOnly.has(n))) expect(new Set(PROFILE_NAMES.map((p) => PROFILES[p][name])).size, name).toBeGreaterThan(1);
    for (const name of testOnly) {
      const row = SWITCHES.find((s) => s.name === name)!;
      expect(new Set(PROFILE_NAMES.map((p) => PROFILES[p][name])).size, name).toBe(1);
      for (const profile of PROFILE_NAMES) {
        const flipped = PROFILES[profile][name] ? 'off' : 'on';
        expect(differing(PROFILES[profile], config({ SC_PROFILE: profile, [row.env]: flipped }).switches)).toEqual([name]);
      }
    }
  });

  it('bad values name the variable', () => {
    expect(resolveSwitches({ SC_SWITCH_PARTICIPANT_LIMIT: '8' }).switches.participantLimit).toBe(8);
    expect(() => resolveSwitches({ SC_PROFILE: 'secure' })).toThrow(/SC_PROFILE must be one of audited, as-built, hardened/);
    expect(() => resolveSwitches({ SC_PROFILE: 'as-built', SC_SWITCH_LOGOUT_REVOKES: '1' })).toThrow(/SC_SWITCH_LOGOUT_REVOKES must be on or off/);
    expect(() => resolveSwitches({ SC_SWITCH_CASSANDRA_GUARD: 'yes' })).toThrow(/SC_SWITCH_CASSANDRA_GUARD must be on or off/);
    expect(() => resolveSwitches({ SC_SWITCH_PARTICIPANT_LIMIT: '1' })).toThrow(/SC_SWITCH_PARTICIPANT_LIMIT/);
  });
});

/** Redis as the guard and its revocation mirror use it (EXISTS, SCAN), with an off switch for the outage. */
class ScriptedRedis {
  up = true;
  readonly revoked = new Set<string>();
  async exists(key: string): Promise<number> {
    this.check();
    return [...this.revoked].some((jti) => blacklistKey(jti) === key) ? 1 : 0;
  }
  async scan(): Promise<[string, string[]]> {
    this.check();
    return ['0', [...this.revoked].map(blacklistKey)];
  }
  private check(): void {
    if (!this.up) throw new Error('connect ECONNREFUSED (Redis down)');
  }
}

describe('revocationFailClosed, through the auth guard', () => {
  const apps: FastifyInstance[] = [];
  const redises: Redis[] = [];
  afterEach(async () => {
    for (const r of redises.splice(0)) mirrorFor(r).stop();
    for (const a of apps.splice(0)) await a.close();
  });

  async function guarded(profile: ProfileName, fake: ScriptedRedis) {
    const redis = fake as unknown as Redis;
    redises.push(redis);
    const jwt = new Jwt('s'.repeat(32));
    const app = Fastify();
    apps.push(app);
    app.get('/me', { preHandler: authGuard(jwt, redis, config({ SC_PROFILE: profile }).switches) }, async (req) => ({ user: req.user?.user_id }));
    await app.ready();
    const token = async (user: string) => jwt.issue({ user_id: user, email: `${user}@example.test`, username: user }, 'access');
    const call = async (t: string) => {
      const r = await app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${t}` } });
      return { status: r.statusCode, retryAfter: r.headers['retry-after'] };
    };
    return { token, call };
  }

  it.each(['audited', 'as-built'] as const)('%s: with Redis down a revoked token is accepted (fail-open)', async (profile) => {
    const redis = new ScriptedRedis();
    const g = await guarded(profile, redis);
    const revoked = await g.token('u1');
    redis.revoked.add(revoked.jti);
    expect((await g.call(revoked.token)).status).toBe(401);
    redis.up = false;
    expect((await g.call(revoked.token)).status).toBe(200);
  });

  it('hardened: with Redis down the mirror decides (revoked refused, others work); never synced: 503 + Retry-After', async () => {
    const redis = new ScriptedRedis();
    const g = await guarded('hardened', redis);
    const revoked = await g.token('u1');
    const other = await g.token('u2');
    redis.revoked.add(revoked.jti);
    expect((await g.call(other.token)).status).toBe(200);
    // The mirror's first copy is taken as it starts (first call): give it a moment to land.
    await new Promise((r) => setTimeout(r, 50));
    redis.up = false;
    expect((await g.call(revoked.token)).status).toBe(401);
    expect((await g.call(other.token)).status).toBe(200);

    const cold = new ScriptedRedis();
    cold.up = false;
    const c = await guarded('hardened', cold);
    expect(await c.call((await c.token('u3')).token)).toEqual({ status: 503, retryAfter: '5' });
  });
});
