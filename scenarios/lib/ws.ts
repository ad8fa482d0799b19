/** WebSocket helpers shared by the k6 scenarios (plain TypeScript, bundled). */

/** http(s)://host → ws(s)://host. */
export function wsBase(httpBase: string): string {
  return httpBase.replace(/^http/, 'ws');
}

/** An Origin every SecureConnect upgrader allows by default (contract N03: WS_AUTH.defaultAllowedOrigins). */
export const DEFAULT_ORIGIN = 'http://localhost:3000';

/**
 * Upgrade headers as SecureConnect's clients send them: the bearer token in `Authorization` (the only
 * credential the real backend reads, contract N02) and an allowed Origin (N03).
 */
export function wsHeaders(token: string, origin: string = __ENV.SC_WS_ORIGIN || DEFAULT_ORIGIN): Record<string, string> {
  return { Authorization: `Bearer ${token}`, Origin: origin };
}
