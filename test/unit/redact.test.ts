import { describe, expect, it } from 'vitest';
import { redact, registerSecret } from '../../src/util/redact.js';
import { turnRestCredentials, generateCredentials } from '../../src/lab/credentials.js';
import { createHmac } from 'node:crypto';

describe('redaction', () => {
  it('removes registered secrets, bearer tokens, JWTs, password fields and presigned signatures', () => {
    registerSecret('hunter2-lab-password');
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    const text = `conn with hunter2-lab-password; Authorization: Bearer abc.def.ghi; token ${jwt}; {"password":"p4ss"} url?X-Amz-Signature=deadbeef&x=1`;
    const out = redact(text);
    for (const s of ['hunter2-lab-password', 'abc.def.ghi', jwt, 'p4ss', 'deadbeef']) expect(out).not.toContain(s);
    expect(out).toContain('x=1');
  });

  it('registers every generated lab credential', () => {
    const c = generateCredentials();
    expect(redact(`redis ${c.redisPassword} minio ${c.minioPassword} turn ${c.turnSecret}`)).toBe('redis [REDACTED] minio [REDACTED] turn [REDACTED]');
  });

  it('derives TURN REST credentials as coturn use-auth-secret expects', () => {
    const { username, password, expiresAt } = turnRestCredentials('s3cret-shared', 'alice', 600, 1_700_000_000_000);
    expect(username).toBe(`${1_700_000_000 + 600}:alice`);
    expect(expiresAt).toBe(1_700_000_600);
    expect(password).toBe(createHmac('sha1', 's3cret-shared').update(username).digest('base64'));
  });
});
