/** WebSocket helpers shared by the k6 scenarios (plain TypeScript, bundled). */

/** http(s)://host → ws(s)://host. */
export function wsBase(httpBase: string): string {
  return httpBase.replace(/^http/, 'ws');
}

/** An Origin every SecureConnect upgrader allows by default (contract N03: WS_AUTH.defaultAllowedOrigins). */
export const DEFAULT_ORIGIN = 'http://localhost:3000';

/** The allowed Origin every socket presents: SC_ORIGIN, else the default. */
export function allowedOrigin(): string {
  return __ENV.SC_ORIGIN || DEFAULT_ORIGIN;
}

/**
 * Upgrade headers as SecureConnect's clients send them: the bearer token in `Authorization` (the only
 * credential the real backend reads, contract N02) and an allowed Origin (N03: the real chat socket refuses
 * a missing one too).
 */
export function wsHeaders(token: string, origin: string = allowedOrigin()): Record<string, string> {
  return { Authorization: `Bearer ${token}`, Origin: origin };
}
