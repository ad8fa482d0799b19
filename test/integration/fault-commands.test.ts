import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Lab } from '../../src/lab/lab.js';
import { cleanupFaults, probeRtt, readJournal } from '../../chaos/index.js';
import { listToxics, type ToxicInfo } from '../../chaos/toxics/api.js';
import type { ActiveFault } from '../../src/cli/fault-view.js';
import type { ServiceStatus } from '../../src/lab/lab.js';
import { sch, type SchResult } from '../sch.js';
import { testLab } from './helpers.js';

/**
 * `sch fault apply | list | clear` as a user types them, against the shared test lab: the fault is
 * measured on the wire (Redis PING through its proxy, the Toxiproxy API), not taken from the output.
 */
let lab: Lab;

beforeAll(async () => {
  lab = await testLab();
  await cleanupFaults(lab);
});
afterAll(async () => {
  if (lab) await cleanupFaults(lab);
});

const redisPing = (): Promise<number> => {
  const { host, port } = lab.endpoint('redis');
  return probeRtt('redis', host, port, { timeoutMs: 2000 });
};

/** Polls the cassandra proxy's toxics until `until` holds or the command ends; the last list seen. */
async function watchToxics(running: Promise<SchResult>, until: (ts: ToxicInfo[]) => boolean): Promise<ToxicInfo[]> {
  let done = false;
  void running.then(() => (done = true));
  let seen: ToxicInfo[] = [];
  while (!done) {
    seen = await listToxics(lab, 'cassandra');
    if (until(seen)) return seen;
    await sleep(100);
  }
  return seen;
}

describe('sch fault by hand', () => {
  it('redis-outage: applied and left on (the proxy refuses PING), listed, in lab status, refused twice, cleared (PING answers, journal empty)', async () => {
    expect(await redisPing()).toBeGreaterThan(0);
    const apply = await sch(['fault', 'apply', 'redis-outage', '--lab', lab.name]);
    expect(apply.code, apply.err).toBe(0);
    expect(apply.out).toMatch(/landed \(measured on the wire\)/);
    expect(apply.out).toContain(`stays on until: sch fault clear redis-outage --lab ${lab.name}`);
    // After the command exited: still down, on the wire.
    await expect(redisPing()).rejects.toThrow();
    expect(readJournal(lab).map((e) => e.id)).toEqual(['redis-outage']);

    const [list, listText, status, again] = await Promise.all([
      sch(['fault', 'list', '--lab', lab.name, '--json']),
      sch(['fault', 'list', '--lab', lab.name]),
      sch(['lab', 'status', '--name', lab.name, '--json']),
      sch(['fault', 'apply', 'redis-outage', '--lab', lab.name]),
    ]);
    expect(list.code, list.err).toBe(0);
    const faults = JSON.parse(list.out) as ActiveFault[];
    expect(faults).toHaveLength(1);
    expect(faults[0]).toMatchObject({ id: 'redis-outage', name: 'redis-outage', mechanism: 'toxiproxy', target: 'redis', appliedBy: { alive: false } });
    expect(listText.out).toMatch(/redis-outage\s+redis-outage\s+toxiproxy\s+redis/);
    expect(listText.out).toMatch(/exited \(pid \d+\)\nexited: applied by hand and left on/);
    expect(status.code, status.err).toBe(0);
    const st = JSON.parse(status.out) as { services: ServiceStatus[]; faults: ActiveFault[] };
    expect(st.services.map((s) => s.name)).toContain('redis');
    expect(st.faults.map((f) => f.id)).toEqual(['redis-outage']);
    expect(again.code).toBe(2);
    expect(again.err).toContain(`already applied in lab "${lab.name}": redis-outage`);
    expect(again.err).toContain(`sch fault clear redis-outage --lab ${lab.name} first`);

    const clear = await sch(['fault', 'clear', 'redis-outage', '--lab', lab.name]);
    expect(clear.code, clear.err).toBe(0);
    expect(clear.out).toMatch(/redis-outage: rolled back: proxy redis enabled/);
    expect(await redisPing()).toBeGreaterThan(0);
    expect(readJournal(lab)).toEqual([]);
    const empty = await sch(['fault', 'list', '--lab', lab.name]);
    expect(empty.out.trim()).toBe('no active faults');
  });

  it('cassandra-slow --param latencyMs=500 --duration 3s: on while the command runs, verified, gone after it exits', async () => {
    const started = Date.now();
    const run = sch(['fault', 'apply', 'cassandra-slow', '--param', 'latencyMs=500', '--duration', '3s', '--lab', lab.name]);
    const during = await watchToxics(run, (ts) => ts.length > 0);
    const r = await run;
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    expect(during).toEqual([expect.objectContaining({ name: 'sch-cassandra-slow', type: 'latency', attributes: expect.objectContaining({ latency: 500 }) })]);
    expect(r.out).toMatch(/landed \(measured on the wire\): added \d+\.\d ms/);
    expect(r.out).toMatch(/held [\dms]+; rolled back: clean/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    expect(await listToxics(lab, 'cassandra')).toEqual([]);
    expect(readJournal(lab)).toEqual([]);
  });

  it('SIGINT while holding a --duration: rolled back first, exit 130', async () => {
    let child: { kill(s: NodeJS.Signals): boolean } | undefined;
    const run = sch(['fault', 'apply', '--spec', '{toxic: {proxy: cassandra, type: latency, attributes: {latency: 100}}}', '--id', 'by-hand', '--duration', '1m', '--lab', lab.name], { started: (c) => (child = c) });
    const during = await watchToxics(run, (ts) => ts.length > 0);
    expect(during.map((t) => t.name)).toEqual(['sch-by-hand']);
    // Once verify has measured it (the hold has begun), the interrupt lands in the wait.
    await sleep(1500);
    child!.kill('SIGINT');
    const r = await run;
    expect(r.code, `${r.out}\n${r.err}`).toBe(130);
    expect(r.out).toMatch(/interrupted.*; rolled back: clean/);
    expect(await listToxics(lab, 'cassandra')).toEqual([]);
    expect(readJournal(lab)).toEqual([]);
  });
});
