import { run } from '../../src/lab/exec.js';
import { FaultError, type FaultLab } from '../fault.js';

/** The lab's own nft table inside its namespace (created by netns.ts); fault chains live here. */
export const NFT_FAMILY = 'inet';
export const NFT_TABLE = 'sch';
/** Every fault chain is `fault-<faultId>-in|out`: cleanup deletes all chains with this prefix. */
export const CHAIN_PREFIX = 'fault-';

export const faultChains = (faultId: string): { input: string; output: string } => ({ input: `${CHAIN_PREFIX}${faultId}-in`, output: `${CHAIN_PREFIX}${faultId}-out` });

export function requireNetns(lab: Pick<FaultLab, 'netns'>, faultId: string, what: string): string {
  const ns = lab.netns?.name;
  if (!ns) throw new FaultError(`fault "${faultId}" (${what}) needs the lab network namespace (nftables on UDP): start the lab as root without --no-netns`);
  return ns;
}

export async function nft(ns: string, args: string[], input?: string): Promise<string> {
  const r = await run('ip', ['netns', 'exec', ns, 'nft', ...args], input === undefined ? { timeoutMs: 10_000 } : { timeoutMs: 10_000, input });
  if (r.code !== 0) throw new FaultError(`nft ${args.join(' ')} in ${ns}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

export async function listChains(ns: string): Promise<string[]> {
  const r = await run('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'table', NFT_FAMILY, NFT_TABLE], { timeoutMs: 10_000 });
  if (r.code !== 0) return [];
  const j = JSON.parse(r.stdout) as { nftables: { chain?: { name: string } }[] };
  return j.nftables.flatMap((x) => (x.chain ? [x.chain.name] : []));
}

export interface RuleCounter {
  comment: string;
  packets: number;
  bytes: number;
}

/** Counters of the rules of one chain (null when the chain does not exist). */
export async function chainCounters(ns: string, chain: string): Promise<RuleCounter[] | null> {
  const r = await run('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'chain', NFT_FAMILY, NFT_TABLE, chain], { timeoutMs: 10_000 });
  if (r.code !== 0) return null;
  const j = JSON.parse(r.stdout) as { nftables: { rule?: { comment?: string; expr: Record<string, unknown>[] } }[] };
  return j.nftables.flatMap((x) => {
    if (!x.rule) return [];
    const c = x.rule.expr.find((e) => 'counter' in e)?.counter as { packets: number; bytes: number } | undefined;
    return [{ comment: x.rule.comment ?? '', packets: c?.packets ?? 0, bytes: c?.bytes ?? 0 }];
  });
}

/** Delete chains (rules first: nft refuses to delete a non-empty chain); missing ones are skipped. */
export async function deleteChains(ns: string, chains: string[]): Promise<number> {
  const existing = new Set(await listChains(ns));
  const gone = chains.filter((c) => existing.has(c));
  if (gone.length === 0) return 0;
  const script = gone.map((c) => `flush chain ${NFT_FAMILY} ${NFT_TABLE} ${c}\ndelete chain ${NFT_FAMILY} ${NFT_TABLE} ${c}\n`).join('');
  await nft(ns, ['-f', '-'], script);
  return gone.length;
}

/** coturn's UDP listener and its relay range: what the UDP faults act on. */
export function turnPortSet(lab: Pick<FaultLab, 'ports'>): string {
  return `{ ${lab.ports.service.coturn}, ${lab.ports.turnRelay.min}-${lab.ports.turnRelay.max} }`;
}
