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

/** What closeSocket needs of a k6/websockets socket (its readyState: 0 connecting, 1 open). */
interface ClosableSocket {
  readonly readyState: number;
  onopen: ((e?: unknown) => void) | null;
  close(): void;
}

/**
 * Closes a k6/websockets socket without ever blocking its VU. k6 (v2.2.0) hands close()'s frame over an unbuffered
 * channel that only the connection's write loop reads; a socket still connecting has no loop yet, and if its dial
 * then fails it never gets one, so close() waits forever on the VU's event loop and k6 cannot end (the probes' k6 of
 * a 2-hour soak hung past its deadline this way; `test/unit/socket-close.test.ts` reproduces it). So a connecting
 * socket is closed as it opens instead, and one whose dial fails closes by itself.
 */
export function closeSocket(s: ClosableSocket): void {
  if (s.readyState === 0) s.onopen = () => s.close();
  else if (s.readyState === 1) s.close();
}
