import type { Lab } from '../../src/lab/lab.js';
import { netnsPids } from '../../src/lab/netns.js';
import { listChains, CHAIN_PREFIX } from '../../chaos/udp/nft.js';
import { procState } from '../../chaos/process/targets.js';

export interface Leftovers {
  /** `<proxy>/<toxic>` for every toxic on any proxy. */
  toxics: string[];
  disabledProxies: string[];
  /** Fault chains in the lab namespace's nft table. */
  faultChains: string[];
  /** `<pid>` of every process in the lab namespace (or recorded in its state) that is stopped (SIGSTOP). */
  paused: string[];
}

/** What faults can leave behind, read from the real places (Toxiproxy's API, nft, /proc). */
export async function leftovers(lab: Lab): Promise<Leftovers> {
  const res = await fetch(`${lab.toxiproxyUrl}/proxies`);
  const proxies = (await res.json()) as Record<string, { enabled: boolean; toxics: { name: string }[] }>;
  const toxics = Object.entries(proxies).flatMap(([p, v]) => v.toxics.map((t) => `${p}/${t.name}`));
  const disabledProxies = Object.entries(proxies).filter(([, v]) => !v.enabled).map(([p]) => p);
  const faultChains = lab.netns ? (await listChains(lab.netns.name)).filter((c) => c.startsWith(CHAIN_PREFIX)) : [];
  lab.refreshState();
  const pids = new Set<number>([...lab.state.processes.map((p) => p.pid), ...(lab.netns ? await netnsPids(lab.netns.name) : [])]);
  const paused = [...pids].filter((pid) => procState(pid) === 'T').map(String);
  return { toxics, disabledProxies, faultChains, paused };
}
