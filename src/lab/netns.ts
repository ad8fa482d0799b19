import { createHash } from 'node:crypto';
import { run, runOk } from './exec.js';

/**
 * The lab's network namespace: everything the lab starts runs inside it, so UDP faults (nftables)
 * and any load stay off the host network. A veth pair joins it to the host; both ends get addresses
 * from 198.18.0.0/15 (reserved for benchmarks, so no clash with real networks). Chromium inside
 * the namespace needs a non-loopback interface to gather ICE candidates: the namespace end is it.
 */
export interface NetnsLayout {
  name: string;
  hostVeth: string;
  nsVeth: string;
  hostAddress: string;
  nsAddress: string;
  prefixLength: number;
}

export function netnsLayout(labName: string): NetnsLayout {
  // One /24 per lab name so two labs can run side by side.
  const idx = createHash('sha256').update(labName).digest()[0]! % 250;
  const short = labName.replace(/[^a-z0-9]/gi, '').slice(0, 8) || 'lab';
  return {
    name: `sch-${labName}`,
    hostVeth: `schh-${short}`.slice(0, 15),
    nsVeth: `schn-${short}`.slice(0, 15),
    hostAddress: `198.18.${idx}.1`,
    nsAddress: `198.18.${idx}.2`,
    prefixLength: 24,
  };
}

export async function netnsExists(name: string): Promise<boolean> {
  const r = await run('ip', ['netns', 'list']);
  return r.stdout.split('\n').some((l) => l.split(' ')[0] === name);
}

export async function createNetns(l: NetnsLayout): Promise<void> {
  await runOk('ip', ['netns', 'add', l.name]);
  const ns = (...a: string[]) => runOk('ip', ['netns', 'exec', l.name, ...a]);
  await ns('ip', 'link', 'set', 'lo', 'up');
  await runOk('ip', ['link', 'add', l.hostVeth, 'type', 'veth', 'peer', 'name', l.nsVeth]);
  await runOk('ip', ['link', 'set', l.nsVeth, 'netns', l.name]);
  await runOk('ip', ['addr', 'add', `${l.hostAddress}/${l.prefixLength}`, 'dev', l.hostVeth]);
  await runOk('ip', ['link', 'set', l.hostVeth, 'up']);
  await ns('ip', 'addr', 'add', `${l.nsAddress}/${l.prefixLength}`, 'dev', l.nsVeth);
  await ns('ip', 'link', 'set', l.nsVeth, 'up');
  // The lab's own nft table: faults add their rules here, and deleting the namespace drops it.
  await ns('nft', 'add', 'table', 'inet', 'sch');
}

/** Pids of every process inside the namespace. */
export async function netnsPids(name: string): Promise<number[]> {
  const r = await run('ip', ['netns', 'pids', name]);
  if (r.code !== 0) return [];
  return r.stdout.split('\n').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
}

/** Delete the namespace and the host end of the veth (the namespace end and its nft tables go with it). */
export async function deleteNetns(l: Pick<NetnsLayout, 'name' | 'hostVeth'>): Promise<void> {
  if (await netnsExists(l.name)) await run('ip', ['netns', 'delete', l.name]);
  const link = await run('ip', ['link', 'show', l.hostVeth]);
  if (link.code === 0) await run('ip', ['link', 'delete', l.hostVeth]);
}

/** The nft ruleset inside the namespace (empty string when there is none). */
export async function netnsRuleset(name: string): Promise<string> {
  const r = await run('ip', ['netns', 'exec', name, 'nft', 'list', 'ruleset']);
  return r.code === 0 ? r.stdout : '';
}

export function nsPrefix(name: string | null): string[] {
  return name ? ['ip', 'netns', 'exec', name] : [];
}

/**
 * A further host-side source address in the lab's /24 (`.10 + n`), for a load generator that must look
 * like another client (a rate-limit burst that would otherwise throttle every other probe). Idempotent;
 * it goes with the veth when the lab is taken down.
 */
export async function ensureHostAddress(l: NetnsLayout, n: number): Promise<string> {
  if (!Number.isInteger(n) || n < 0 || n > 200) throw new Error(`source address index ${n} out of range 0..200`);
  const address = l.hostAddress.replace(/\.\d+$/, `.${10 + n}`);
  const shown = await run('ip', ['-o', 'addr', 'show', 'dev', l.hostVeth]);
  if (!shown.stdout.includes(` ${address}/`)) await runOk('ip', ['addr', 'add', `${address}/${l.prefixLength}`, 'dev', l.hostVeth]);
  return address;
}
