/**
 * Redaction of secrets from anything the harness prints or writes: logs, reports, error messages.
 * Secrets are registered once (the lab's generated credentials, tokens seen by clients); every
 * output path passes text through `redact`.
 */
const secrets = new Set<string>();

/** Values shorter than this are not registered: redacting "a" or "1" would mangle every line. */
const MIN_SECRET_LENGTH = 6;

export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= MIN_SECRET_LENGTH) secrets.add(value);
}

const PATTERNS: RegExp[] = [
  // Bearer tokens and JWTs wherever they appear.
  /\bBearer\s+[A-Za-z0-9._~+/-]+=*/g,
  /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g,
  // key=value / "key": "value" pairs whose key names a secret.
  /((?:password|passwd|secret|token|access_key|secret_key|authorization)["']?\s*[:=]\s*["']?)([^\s"',&}]+)/gi,
  // Presigned URL signatures.
  /(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s"']+/g,
];

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('[REDACTED]');
  for (const re of PATTERNS) {
    out = out.replace(re, (m: string, p1?: string) => (typeof p1 === 'string' && m.startsWith(p1) ? `${p1}[REDACTED]` : '[REDACTED]'));
  }
  return out;
}
