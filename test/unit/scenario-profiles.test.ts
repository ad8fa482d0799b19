import { describe, expect, it } from 'vitest';
import { listScenarios } from '../../src/k6/bundle.js';
import { PROFILES, PROFILE_PLANS, ScenarioInputError, inspectScenario, planFor, planSeconds, type Profile } from '../../src/k6/run.js';

/**
 * Every scenario under every profile is a plan k6 accepts (`k6 inspect --execution-requirements`: options,
 * executors and thresholds validated, no load, no setup), and the scenarios that follow the profile's stages
 * get a different plan per profile; the soak duration changes the soak plan.
 */
const FOLLOW_PROFILE = ['registration', 'chat-fanout', 'call-signaling'];
const plans = new Map<string, { maxVUs: number; seconds: number }>();

describe('load profiles × scenarios (k6 inspect)', () => {
  for (const name of listScenarios()) {
    it(`${name}: every profile is a valid k6 plan`, async () => {
      for (const profile of PROFILES) {
        const r = await inspectScenario({ name, profile });
        expect(r.maxVUs, `${name}/${profile}`).toBeGreaterThan(0);
        expect(r.totalDurationSeconds, `${name}/${profile}`).toBeGreaterThan(0);
        plans.set(`${name}/${profile}`, { maxVUs: r.maxVUs, seconds: r.totalDurationSeconds });
      }
    }, 60_000);
  }

  it('the variants are valid plans too: chat-fanout sending over REST and the socket to several groups, call-signaling with the SFU', async () => {
    for (const profile of PROFILES) {
      const fan = await inspectScenario({ name: 'chat-fanout', profile, env: { SC_SEND_VIA: 'both', SC_GROUPS: '2,10,50,200', SC_RECEIVER_VUS: '4' } });
      expect(Object.keys(fan.raw.scenarios as object).sort()).toEqual(['receivers', 'sender', 'ws_sender']);
      expect(fan.totalDurationSeconds).toBeGreaterThanOrEqual(plans.get(`chat-fanout/${profile}`)!.seconds);
      const calls = await inspectScenario({ name: 'call-signaling', profile, env: { SC_SFU: '1', SC_PARTICIPANTS: '4' } });
      expect(calls.maxVUs).toBe(plans.get(`call-signaling/${profile}`)!.maxVUs);
    }
    await expect(inspectScenario({ name: 'chat-fanout', profile: 'smoke', env: { SC_SEND_VIA: 'pigeon' } })).rejects.toThrow(/SC_SEND_VIA=pigeon must be rest, ws or both/);
    await expect(inspectScenario({ name: 'chat-fanout', profile: 'smoke', env: { SC_GROUPS: '1,10' } })).rejects.toThrow(/SC_GROUPS=1,10 must list member counts/);
    await expect(inspectScenario({ name: 'call-signaling', profile: 'smoke', env: { SC_PARTICIPANTS: '1' } })).rejects.toThrow(/SC_PARTICIPANTS must be at least 2/);
  }, 90_000);

  it('probes: every probe is a valid plan; steady probes pre-allocate a VU per source address; the saturation and burst size follow the limits', async () => {
    const all = 'login,authed,register,logout_revokes,revoked,revoked_ws_chat,revoked_ws_signaling,send,deliver,upload,delete,call,ws_origin,ws_open,ws_saturation,rate_limit';
    const video = { SC_VIDEO_URL: 'http://127.0.0.1:9' };
    type Sc = { preAllocatedVUs?: number; maxVUs?: number; vus?: number; executor: string };
    const r = await inspectScenario({ name: 'probes', profile: 'smoke', env: { ...video, SC_PROBES: all, SC_SOURCE_ADDRESSES: '8', SC_WS_MAX_CONNECTIONS: '20' } });
    const sc = r.raw.scenarios as Record<string, Sc>;
    expect(Object.keys(sc).sort()).toEqual(all.split(',').sort());
    for (const [name, s] of Object.entries(sc)) {
      if (s.executor !== 'constant-arrival-rate' || name === 'rate_limit') continue;
      expect(s.preAllocatedVUs, name).toBe(8);
      expect(s.maxVUs!, name).toBeGreaterThanOrEqual(8);
    }
    // 2 × SC_WS_MAX_CONNECTIONS sockets, one VU each, plus the service_up VU; SC_WS_SATURATION_SOCKETS wins.
    expect(sc.ws_saturation!.vus).toBe(41);
    const given = await inspectScenario({ name: 'probes', profile: 'smoke', env: { SC_PROBES: 'ws_saturation,authed', SC_WS_SATURATION_SOCKETS: '5' } });
    const g = given.raw.scenarios as Record<string, Sc>;
    expect(g.ws_saturation!.vus).toBe(6);
    expect(g.authed!.preAllocatedVUs).toBe(2);
    await expect(inspectScenario({ name: 'probes', profile: 'smoke', env: { SC_PROBES: 'authed,teleport' } })).rejects.toThrow(/SC_PROBES: unknown probe \\?"teleport\\?" \(known: login, /);
    await expect(inspectScenario({ name: 'probes', profile: 'smoke', env: { SC_PROBES: 'call' } })).rejects.toThrow(/SC_PROBES: call needs SC_VIDEO_URL/);
  }, 90_000);

  it.each(FOLLOW_PROFILE)('%s follows the profile: stress uses more VUs than smoke, soak runs longest', (name) => {
    const get = (p: Profile) => plans.get(`${name}/${p}`)!;
    expect(get('stress').maxVUs).toBeGreaterThan(get('smoke').maxVUs);
    expect(get('load').seconds).toBeGreaterThan(get('smoke').seconds);
    for (const p of ['smoke', 'load', 'stress', 'spike'] as const) expect(get('soak').seconds).toBeGreaterThan(get(p).seconds);
    // The profile's own length shows through (k6 adds the graceful stop and the scenario's own warmup).
    expect(get('soak').seconds).toBeGreaterThanOrEqual(planSeconds(PROFILE_PLANS.soak));
  });

  it('the soak duration (option or SC_SOAK_DURATION) changes the soak plan, and only it', async () => {
    const base = await inspectScenario({ name: 'registration', profile: 'soak' });
    const twoHours = await inspectScenario({ name: 'registration', profile: 'soak', soakDuration: '2h' });
    const viaEnv = await inspectScenario({ name: 'registration', profile: 'soak', env: { SC_SOAK_DURATION: '5m' } });
    expect(twoHours.totalDurationSeconds - base.totalDurationSeconds).toBe(2 * 3600 - 30 * 60);
    expect(base.totalDurationSeconds - viaEnv.totalDurationSeconds).toBe(25 * 60);
    const stages = (twoHours.raw.scenarios as Record<string, { stages: { duration: string }[] }>).registration!.stages;
    expect(stages.map((s) => s.duration)).toEqual(['1m0s', '2h0m0s', '1m0s']);
    expect(planFor('soak', { soakDuration: '90m' }).stages[1]).toEqual({ target: 10, duration: '90m' });
    expect(planFor('load', { soakDuration: '90m' })).toEqual(PROFILE_PLANS.load);
  }, 60_000);

  it('a bad soak duration or profile is refused before k6', async () => {
    expect(() => planFor('soak', { soakDuration: 'forever' })).toThrow(ScenarioInputError);
    expect(() => planFor('soak', { soakDuration: 'forever' })).toThrow(/soak duration "forever"/);
    expect(() => planFor('blast' as Profile)).toThrow(/unknown profile "blast"/);
    await expect(inspectScenario({ name: 'registration', profile: 'soak', soakDuration: '0s' })).rejects.toThrow(ScenarioInputError);
  });
});
