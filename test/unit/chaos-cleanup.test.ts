/**
 * cleanupFaults over the mechanism registry, against a scripted Toxiproxy API and a lab that is only
 * a FaultLab: the order (recover → journal → sweep), what each mechanism's sweep counts, and what an
 * external Toxiproxy is spared. The real thing, with real leftovers, is test/integration/chaos-udp-process.test.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { cleanupFaults, journalFile, readJournal, type FaultLab, type FaultProcessRecord } from '../../chaos/index.js';
import { journalAdd } from '../../chaos/journal.js';
import type { LabServiceName } from '../../chaos/types.js';

interface ScriptedProxy {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: { name: string; type: string; stream: string; toxicity: number; attributes: Record<string, number> }[];
}

/** What happened, in order: `restart <service>` from the lab, `<METHOD> <path>` from the Toxiproxy API. */
const events: string[] = [];
let proxies: Record<string, ScriptedProxy> = {};
let server: Server;
let url = '';
const savedStateDir = process.env.SCH_STATE_DIR;

beforeAll(async () => {
  process.env.SCH_STATE_DIR = mkdtempSync(`${tmpdir()}/sch-unit-cleanup-`);
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      events.push(`${req.method} ${req.url}`);
      const [, , name, sub, toxic] = (req.url ?? '').split('/').map(decodeURIComponent);
      const p = name ? proxies[name] : undefined;
      const send = (status: number, v?: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(v === undefined ? '' : JSON.stringify(v));
      };
      if (req.url === '/proxies') return send(200, proxies);
      if (!p) return send(404, { error: 'proxy not found' });
      if (sub === 'toxics' && req.method === 'GET') return send(200, p.toxics);
      if (sub === 'toxics' && req.method === 'DELETE') {
        const before = p.toxics.length;
        p.toxics = p.toxics.filter((t) => t.name !== toxic);
        return send(p.toxics.length < before ? 204 : 404);
      }
      if (req.method === 'POST') Object.assign(p, { enabled: (JSON.parse(body) as { enabled: boolean }).enabled });
      return send(200, p);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  if (savedStateDir === undefined) delete process.env.SCH_STATE_DIR;
  else process.env.SCH_STATE_DIR = savedStateDir;
});

beforeEach(() => {
  events.length = 0;
  const toxic = (name: string) => ({ name, type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 100, jitter: 0 } });
  // A run died with its toxic on (journaled) and the proxy down; someone else's toxic sits beside it.
  proxies = { redis: { name: 'redis', listen: '127.0.0.1:1', upstream: '127.0.0.1:1', enabled: false, toxics: [toxic('sch-j1'), toxic('foreign')] } };
});

function scriptedLab(name: string, o: { external: boolean; services: LabServiceName[] }): FaultLab {
  const none = (): never => {
    throw new Error('not in this test');
  };
  return {
    name, isExternal: o.external, toxiproxyUrl: url, netns: null, address: '127.0.0.1',
    ports: { service: { coturn: 1 }, turnRelay: { min: 2, max: 3 } },
    // No process records: every service the lab runs counts as dead.
    state: { services: o.services, processes: [] },
    // Nothing listens on port 1: a rollback's path probe fails fast.
    endpoint: () => ({ host: '127.0.0.1', port: 1 }),
    directEndpoint: () => ({ host: '127.0.0.1', port: 1 }),
    refreshState: () => undefined,
    restartService: async (s): Promise<FaultProcessRecord> => {
      events.push(`restart ${s}`);
      return { name: s, pid: 1, startTime: '0' };
    },
    restartTargetService: none,
    probeService: none,
  };
}

const journalToxic = (lab: FaultLab) =>
  journalAdd(lab, {
    id: 'j1', name: 'custom', mechanism: 'toxiproxy', target: 'redis', params: {}, appliedAtMs: 0, pid: 0,
    spec: { id: 'j1', toxic: { proxy: 'redis', type: 'latency', attributes: { latency: 100 } } },
  });

describe('cleanupFaults over the registry', () => {
  it('recovers processes (Toxiproxy first), then rolls back the journal, then sweeps', async () => {
    const lab = scriptedLab('unit-own', { external: false, services: ['redis', 'toxiproxy'] });
    journalToxic(lab);
    const report = await cleanupFaults(lab);

    expect(report.restarted).toEqual(['toxiproxy', 'redis']);
    const at = (e: string): number => events.indexOf(e);
    expect(at('restart toxiproxy')).toBe(0);
    expect(at('restart redis')).toBe(1);
    // The journal's own rollback deletes exactly its toxic, before the sweep lists the proxies.
    expect(at('DELETE /proxies/redis/toxics/sch-j1')).toBeGreaterThan(1);
    expect(at('GET /proxies')).toBeGreaterThan(at('DELETE /proxies/redis/toxics/sch-j1'));
    expect(report.journal.map((j) => j.id)).toEqual(['j1']);
    // The sweep: the rest of the toxics, and the proxy enabled again.
    expect(report.toxicsRemoved).toBe(1);
    expect(report.proxiesEnabled).toBe(1);
    expect(proxies.redis).toMatchObject({ enabled: true, toxics: [] });
    expect(report.nftChainsRemoved).toBe(0);
    expect(report.errors).toEqual([]);
    expect(readJournal(lab)).toEqual([]);
    expect(existsSync(journalFile(lab.name))).toBe(false);
  });

  it('on an external Toxiproxy, sweeps only the harness\'s own toxics and leaves its proxies as they are', async () => {
    const lab = scriptedLab('unit-ext', { external: true, services: [] });
    const report = await cleanupFaults(lab);
    expect(events.some((e) => e.startsWith('restart'))).toBe(false);
    expect(report.toxicsRemoved).toBe(1);
    expect(report.proxiesEnabled).toBe(0);
    expect(proxies.redis!.toxics.map((t) => t.name)).toEqual(['foreign']);
    expect(proxies.redis!.enabled).toBe(false);
  });

  it('a failing step is reported by name and does not stop the others', async () => {
    const lab = { ...scriptedLab('unit-fail', { external: false, services: ['redis'] }), restartService: async (): Promise<never> => { throw new Error('no binary'); } };
    const report = await cleanupFaults(lab);
    expect(report.errors).toEqual(['restarting redis: no binary']);
    expect(report.toxicsRemoved).toBe(2);
    expect(report.proxiesEnabled).toBe(1);
  });
});
