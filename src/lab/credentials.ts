import { randomBytes, createHmac } from 'node:crypto';
import { registerSecret } from '../util/redact.js';

/** Credentials one lab generates for itself at `up`; kept only in its state file (mode 0600). */
export interface LabCredentials {
  redisPassword: string;
  postgresUser: string;
  postgresPassword: string;
  postgresDatabase: string;
  cassandraUser: string;
  cassandraPassword: string;
  minioUser: string;
  minioPassword: string;
  /** coturn `static-auth-secret`: TURN REST API credentials are derived from it. */
  turnSecret: string;
  turnRealm: string;
  /** Signing key of the reference target's JWTs (SecureConnect requires >= 32 characters). */
  jwtSecret: string;
}

const token = (bytes: number) => randomBytes(bytes).toString('base64url');

export function generateCredentials(): LabCredentials {
  const c: LabCredentials = {
    redisPassword: token(24),
    postgresUser: 'secureconnect',
    postgresPassword: token(24),
    postgresDatabase: 'secureconnect',
    cassandraUser: 'secureconnect',
    cassandraPassword: token(24),
    minioUser: `lab${randomBytes(6).toString('hex')}`,
    minioPassword: token(24),
    turnSecret: token(32),
    turnRealm: 'lab.secureconnect.test',
    jwtSecret: token(48),
  };
  registerCredentials(c);
  return c;
}

/** Make every password of a lab redactable in this process's output. */
export function registerCredentials(c: LabCredentials): void {
  for (const v of [c.redisPassword, c.postgresPassword, c.cassandraPassword, c.minioUser, c.minioPassword, c.turnSecret, c.jwtSecret]) registerSecret(v);
}

/** Time-limited TURN credentials (coturn `use-auth-secret`, the "TURN REST API" scheme). */
export function turnRestCredentials(secret: string, user: string, ttlSeconds = 3600, now = Date.now()): { username: string; password: string; expiresAt: number } {
  const expiresAt = Math.floor(now / 1000) + ttlSeconds;
  const username = `${expiresAt}:${user}`;
  const password = createHmac('sha1', secret).update(username).digest('base64');
  registerSecret(password);
  return { username, password, expiresAt };
}
