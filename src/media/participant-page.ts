/**
 * What a browser participant (mesh-participant.ts, sfu-participant.ts) does with its page the same way:
 * every call into the page bounded in time, and its stats read once a second.
 */
import type { Page } from 'puppeteer-core';
import type { PageSnapshot } from './mesh-protocol.js';

/** How long a call into the page may take before it counts as not answering. */
export const EVALUATE_TIMEOUT_MS = 10_000;

/** `p`, or a rejection naming `what` after `ms`. */
export function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); })]).finally(() => clearTimeout(timer));
}

/** The page's counters now, from its API object (`scMesh`, `scSfu`); null when the page does not answer in time. */
export async function readSnapshot(page: Page, api: 'scMesh' | 'scSfu', label: string, log: (line: string) => void): Promise<PageSnapshot | null> {
  try {
    const s = await bounded(page.evaluate((k) => (window as unknown as Record<string, { snapshot(): PageSnapshot }>)[k]!.snapshot(), api), EVALUATE_TIMEOUT_MS, `${label}: stats`);
    for (const e of s.errors) log(`[${label}] ${e}`);
    return s;
  } catch (e) {
    log(`[${label}] stats: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
}
