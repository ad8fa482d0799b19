import { isIP } from 'node:net';

/** A target the harness must not send traffic to without `--allow-remote` (or a URL that is not one). */
export class TargetRefused extends Error {
  override name = 'TargetRefused';
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1)$/;

export const isLoopbackHost = (host: string): boolean => LOOPBACK.test(host.replace(/^\[|\]$/g, '').toLowerCase());

/** True for loopback, the lab's own address, and 198.18.0.0/15 (where labs put their namespaces). */
export function isLocalHost(host: string, labAddress: string | null): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  // 198.18.0.0/15 is RFC 2544 benchmarking space: never routed, so it cannot be someone else's machine.
  return LOOPBACK.test(h) || (labAddress !== null && h === labAddress) || (isIP(h) === 4 && /^198\.1[89]\./.test(h));
}

/**
 * Refuse a target outside loopback and the lab's network unless `allowRemote` (load and faults would
 * leave this machine). `what` names the input in messages (`target.baseUrl`, `--base-url`, `SC_VIDEO_URL`).
 * Throws TargetRefused; a value that is not a URL is refused whatever `allowRemote` says.
 */
export function checkTargetAddress(url: string, labAddress: string | null, allowRemote: boolean, what = 'target'): void {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    throw new TargetRefused(`${what} "${url}" is not a URL`);
  }
  if (allowRemote || isLocalHost(host, labAddress)) return;
  const named = what === 'target' ? `target ${url}` : `${what} ${url}`;
  throw new TargetRefused(`${named} is outside loopback and the lab's network: load and faults would leave this machine. Pass --allow-remote if that is intended.`);
}
