import { createHash } from 'node:crypto';
import { run, runOk } from './exec.js';
import { netnsExists, netnsPids, type NetnsLayout } from './netns.js';

/**
 * Load generators as separate hosts would be: each k6 instance of a split workload runs in a network
 * namespace of its own (`sch-<lab>_g<n>`: `_` never appears in a lab's name, so no lab's own namespace matches), joined to the lab's namespace by a veth pair of its own, with
 * its own addresses. It reaches the target over that link exactly as a client on another host reaches the
 * lab's services, and it has no route anywhere else (no route out of the lab: the safety rule holds by
 * construction). The namespaces are made once per run and shared by its split workloads; each workload takes
addresses of its own in every generator (takeAddresses), so a per-client-IP rate limit sees the workloads
apart as it does without generators. Addresses: a /27 per generator in 198.19.<lab>.0/24 (the lab's own /24
index, inside the 198.18.0.0/15 benchmark range): `.32(n-1)+1` on the lab's side, the next 29 for the
generator's source addresses.
 */
export interface Generator {
  /** 1-based. */
  index: number;
  netns: string;
  /** The generator's veth (where its addresses go). */
  dev: string;
  /** Its first source address (the subnet's .2, on its veth from the start); the others follow it. */
  first: string;
  /** Source addresses handed out to workloads so far. */
  handedOut: number;
}

export const MAX_GENERATORS = 8;
export const MAX_ADDRESSES_PER_GENERATOR = 29;

const labIndex = (lab: NetnsLayout): number => Number(lab.nsAddress.split('.')[2]);
/** Namespace names of a lab's generators: `sch-<lab>_g<n>` (the lab's own is `sch-<lab>`). */
export const generatorNetnsName = (lab: Pick<NetnsLayout, 'name'>, n: number): string => `${lab.name}_g${n}`;

/** veth names (≤ 15 characters): unique per lab and generator. */
function vethNames(lab: NetnsLayout, n: number): { labSide: string; genSide: string } {
  const h = createHash('sha256').update(lab.name).digest('hex').slice(0, 5);
  return { labSide: `sgl${h}${n}`, genSide: `sgg${h}${n}` };
}

/** Create `count` generator namespaces beside the lab's (any left from a crashed run are removed first). */
export async function createGenerators(lab: NetnsLayout, count: number): Promise<Generator[]> {
  if (!Number.isInteger(count) || count < 1 || count > MAX_GENERATORS) throw new Error(`generators: ${count} is not 1..${MAX_GENERATORS}`);
  await deleteGenerators(lab);
  const idx = labIndex(lab);
  const out: Generator[] = [];
  try {
    for (let n = 1; n <= count; n++) {
      const ns = generatorNetnsName(lab, n);
      const { labSide, genSide } = vethNames(lab, n);
      const base = 32 * (n - 1);
      const labAddr = `198.19.${idx}.${base + 1}`;
      const first = `198.19.${idx}.${base + 2}`;
      await runOk('ip', ['netns', 'add', ns]);
      const inGen = (...a: string[]) => runOk('ip', ['netns', 'exec', ns, ...a]);
      const inLab = (...a: string[]) => runOk('ip', ['netns', 'exec', lab.name, ...a]);
      await inGen('ip', 'link', 'set', 'lo', 'up');
      await runOk('ip', ['link', 'add', labSide, 'netns', lab.name, 'type', 'veth', 'peer', 'name', genSide, 'netns', ns]);
      await inLab('ip', 'addr', 'add', `${labAddr}/27`, 'dev', labSide);
      await inLab('ip', 'link', 'set', labSide, 'up');
      await inGen('ip', 'addr', 'add', `${first}/27`, 'dev', genSide);
      await inGen('ip', 'link', 'set', genSide, 'up');
      // Only the lab's network: the target's address is on the lab's side of this link.
      await inGen('ip', 'route', 'add', `${lab.nsAddress.replace(/\.\d+$/, '.0')}/${lab.prefixLength}`, 'via', labAddr);
      out.push({ index: n, netns: ns, dev: genSide, first, handedOut: 0 });
    }
  } catch (e) {
    await deleteGenerators(lab);
    throw e;
  }
  return out;
}

/** `k` source addresses of a generator for one workload: its next unused ones (the first is on its veth from the start). */
export async function takeAddresses(g: Generator, k: number): Promise<string[]> {
  if (g.handedOut + k > MAX_ADDRESSES_PER_GENERATOR) throw new Error(`generator ${g.index}: ${g.handedOut + k} source addresses wanted, a generator has ${MAX_ADDRESSES_PER_GENERATOR}`);
  const [a, b, c, d] = g.first.split('.').map(Number) as [number, number, number, number];
  const out: string[] = [];
  for (let i = g.handedOut; i < g.handedOut + k; i++) {
    const addr = `${a}.${b}.${c}.${d + i}`;
    if (i > 0) await runOk('ip', ['netns', 'exec', g.netns, 'ip', 'addr', 'add', `${addr}/27`, 'dev', g.dev]);
    out.push(addr);
  }
  g.handedOut += k;
  return out;
}

/** Remove every generator namespace of the lab (their veth pairs go with them); what runs inside is killed first. */
export async function deleteGenerators(lab: Pick<NetnsLayout, 'name'>): Promise<number> {
  const listed = await run('ip', ['netns', 'list']);
  const names = listed.stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`${lab.name}_g`) && /^\d+$/.test(n.slice(lab.name.length + 2)));
  for (const ns of names) {
    for (const pid of await netnsPids(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (await netnsExists(ns)) await run('ip', ['netns', 'delete', ns]);
  }
  return names.length;
}
