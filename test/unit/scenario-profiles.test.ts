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
