import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROFILES, SWITCHES, resolveSwitches } from '../../fixtures/secureconnect/target/kit/profiles.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';

describe('reference target profiles', () => {
  it('the README table is exactly the switch list', () => {
    const readme = readFileSync(join(HARNESS_ROOT, 'fixtures', 'secureconnect', 'target', 'README.md'), 'utf8');
    const block = readme.split('<!-- switches:begin -->')[1]!.split('<!-- switches:end -->')[0]!.trim().split('\n').slice(2);
    expect(block).toEqual(SWITCHES.map((s) => `| ${s.name} | \`${s.env}\` | ${s.audit} | ${s.audited} | ${s.hardened} |`));
  });

  it('every switch differs between the profiles', () => {
    for (const s of SWITCHES) expect(PROFILES.audited[s.name], s.name).not.toEqual(PROFILES.hardened[s.name]);
    expect(Object.keys(PROFILES.audited).sort()).toEqual(SWITCHES.map((s) => s.name).sort());
  });

  it('one switch can be flipped alone; bad values name the variable', () => {
    const r = resolveSwitches({ SC_PROFILE: 'hardened', SC_SWITCH_REVOCATION_FAIL_CLOSED: 'off' });
    expect(r.switches).toEqual({ ...PROFILES.hardened, revocationFailClosed: false });
    expect(resolveSwitches({ SC_SWITCH_PARTICIPANT_LIMIT: '8' }).switches.participantLimit).toBe(8);
    expect(() => resolveSwitches({ SC_PROFILE: 'secure' })).toThrow(/SC_PROFILE/);
    expect(() => resolveSwitches({ SC_SWITCH_CASSANDRA_GUARD: 'yes' })).toThrow(/SC_SWITCH_CASSANDRA_GUARD must be on or off/);
    expect(() => resolveSwitches({ SC_SWITCH_PARTICIPANT_LIMIT: '1' })).toThrow(/SC_SWITCH_PARTICIPANT_LIMIT/);
  });
});
