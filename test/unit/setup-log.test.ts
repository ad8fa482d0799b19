import { describe, expect, it } from 'vitest';
import { parseSetupLog } from '../../src/k6/setup-log.js';

const logfmt = (kind: string, o: unknown) => `time="2026-01-01T00:00:00Z" level=info msg="${kind} ${JSON.stringify(o).replace(/"/g, '\\"')}" source=console`;

describe('the setup lines of a k6 log', () => {
  it('reads each probe\'s setup and where sessions came from, raw or inside k6\'s logfmt', () => {
    const text = [
      logfmt('SC_SESSIONS', { source: 'registration', reason: 'POST /v1/auth/login answered 500' }),
      logfmt('SC_PROBE_SETUP', { probe: 'login', ok: true }),
      logfmt('SC_PROBE_SETUP', { probe: 'revoked', ok: false, reason: 'no public path revokes a token (POST /v1/auth/logout answered 500)' }),
      'SC_PROBE_SETUP {"probe":"call","ok":false}',
      'SC_PROBE_SETUP {"probe":"broken"', // cut off: ignored
      logfmt('SENT', { client_message_id: 'x' }),
    ].join('\n');
    expect(parseSetupLog(text)).toEqual({
      failures: { revoked: 'no public path revokes a token (POST /v1/auth/logout answered 500)', call: 'setup failed (no reason given)' },
      reported: ['login', 'revoked', 'call'],
      sessions: { source: 'registration', reason: 'POST /v1/auth/login answered 500' },
    });
  });

  it('a log without setup lines reports nothing (not every scenario prints them)', () => {
    expect(parseSetupLog('time="x" level=info msg="hello" source=console\n')).toEqual({ failures: {}, reported: [], sessions: null });
  });
});
