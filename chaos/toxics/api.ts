import { Toxiproxy, type ICreateToxicBody, type ToxicType as ClientToxicType } from 'toxiproxy-node-client';
import type { FaultLab } from '../fault.js';
import type { DependencyName } from '../types.js';
import type { ToxicStream, ToxicType } from './mechanism.js';

/** All the Toxiproxy API needs of a lab: where its API answers. */
type ToxiproxyHost = Pick<FaultLab, 'toxiproxyUrl'>;

/** Every toxic the harness adds is named `sch-<faultId>…`, so a sweep can find them all. */
export const TOXIC_PREFIX = 'sch-';
export const toxicName = (faultId: string): string => `${TOXIC_PREFIX}${faultId}`;

export interface ToxicInfo {
  name: string;
  type: string;
  stream: ToxicStream;
  toxicity: number;
  attributes: Record<string, number>;
}

async function api<T>(lab: ToxiproxyHost, method: 'GET' | 'DELETE' | 'POST', path: string, body?: unknown): Promise<T | null> {
  const res = await fetch(`${lab.toxiproxyUrl}${path}`, {
    method,
    signal: AbortSignal.timeout(5000),
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  if (res.status === 404 && method === 'DELETE') return null;
  if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: HTTP ${res.status} ${(await res.text()).trim()}`);
  const text = await res.text();
  return text ? (JSON.parse(text) as T) : null;
}

/** Toxics of one proxy through the REST API (the client's Proxy.toJson() leaves them out). */
export async function listToxics(lab: ToxiproxyHost, proxy: string): Promise<ToxicInfo[]> {
  return (await api<ToxicInfo[]>(lab, 'GET', `/proxies/${encodeURIComponent(proxy)}/toxics`)) ?? [];
}

export async function deleteToxic(lab: ToxiproxyHost, proxy: string, name: string): Promise<void> {
  await api(lab, 'DELETE', `/proxies/${encodeURIComponent(proxy)}/toxics/${encodeURIComponent(name)}`);
}

const client = (lab: ToxiproxyHost): Toxiproxy => new Toxiproxy(lab.toxiproxyUrl);

export async function addToxic(lab: ToxiproxyHost, proxy: DependencyName, t: { name: string; type: ToxicType; stream: ToxicStream; toxicity: number; attributes: Record<string, number> }): Promise<void> {
  const p = await client(lab).get(proxy);
  const body: ICreateToxicBody<Record<string, number>> = { name: t.name, type: t.type as ClientToxicType, stream: t.stream, toxicity: t.toxicity, attributes: t.attributes };
  await p.addToxic(body);
}

export async function proxyNames(lab: ToxiproxyHost): Promise<string[]> {
  return Object.keys(await client(lab).getAll());
}

export async function proxyEnabled(lab: ToxiproxyHost, proxy: string): Promise<boolean> {
  const p = await api<{ enabled: boolean }>(lab, 'GET', `/proxies/${encodeURIComponent(proxy)}`);
  return p?.enabled ?? false;
}

export async function setProxyEnabled(lab: ToxiproxyHost, proxy: DependencyName | string, enabled: boolean): Promise<void> {
  const p = await client(lab).get(proxy);
  await p.update({ enabled, listen: p.listen, upstream: p.upstream });
}

/** Remove the toxics whose name starts with `prefix` from one proxy; returns how many. */
export async function removeToxics(lab: ToxiproxyHost, proxy: string, prefix: string): Promise<number> {
  const mine = (await listToxics(lab, proxy)).filter((t) => t.name.startsWith(prefix));
  for (const t of mine) await deleteToxic(lab, proxy, t.name);
  return mine.length;
}
