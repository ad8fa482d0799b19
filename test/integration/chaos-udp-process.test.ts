import { spawn } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/lab/lab.js';
import { isAlive } from '../../src/lab/process.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { DEPENDENCY_NAMES } from '../../src/topology/topology.js';
import { cleanupFaults, createFault, journalFile, probeRtt, readJournal, stunBurst, type FaultContext } from '../../chaos/index.js';
import { procState } from '../../chaos/process/targets.js';
import { listToxics } from '../../chaos/toxics/api.js';
import { CHAIN_PREFIX, chainCounters, faultChains, listChains } from '../../chaos/udp/nft.js';
import { testLab } from './helpers.js';

let lab: Lab;
let ctx: FaultContext;
let target: RunningTarget | null = null;

beforeAll(async () => {
  lab = await testLab();
  ctx = { lab, log: (l) => process.stderr.write(`[chaos] ${l}\n`) };
  await cleanupFaults(lab);
});
afterAll(async () => {
  if (lab) await cleanupFaults(lab);
  await target?.stop();
});

const ns = (): string => lab.netns!.name;
const coturnUdp = () => ({ host: lab.address, port: lab.ports.service.coturn });

describe('UDP faults (nftables in the lab namespace)', () => {
  it('turn-loss 30 %: STUN bursts lose ≈ 1-(0.7)² of round trips; rollback removes exactly its chains', async () => {
    const f = createFault({ id: 'tloss', fault: 'turn-loss' });
    await f.apply(ctx);
    try {
      expect(await listChains(ns())).toEqual(expect.arrayContaining([faultChains('tloss').input, faultChains('tloss').output]));
      const v = await f.verify(ctx);
      expect(v.ok, v.detail).toBe(true);
      const b = await stunBurst(coturnUdp().host, coturnUdp().port, { count: 200 });
      expect(b.loss).toBeGreaterThan(0.3);
      expect(b.loss).toBeLessThan(0.72);
    } finally {
      const rb = await f.rollback(ctx);
      expect(rb.ok, rb.detail).toBe(true);
    }
    expect((await listChains(ns())).filter((c) => c.startsWith(CHAIN_PREFIX))).toEqual([]);
    const after = await stunBurst(coturnUdp().host, coturnUdp().port, { count: 50 });
    expect(after.loss).toBeLessThan(0.05);
  });

  it('udp outage: no STUN binding answered', async () => {
    const f = createFault({ id: 'uout', udp: { action: 'outage' } });
    await f.apply(ctx);
    try {
      const v = await f.verify(ctx);
      expect(v.ok, v.detail).toBe(true);
      expect((await stunBurst(coturnUdp().host, coturnUdp().port, { count: 20 })).answered).toBe(0);
    } finally {
      expect((await f.rollback(ctx)).ok).toBe(true);
    }
  });

  it('turn-outage: UDP dropped and coturn TCP proxy down; both back after rollback', async () => {
    const f = createFault({ id: 'tout', fault: 'turn-outage' });
    await f.apply(ctx);
    try {
      const v = await f.verify(ctx);
      expect(v.ok, v.detail).toBe(true);
    } finally {
      const rb = await f.rollback(ctx);
      expect(rb.ok, rb.detail).toBe(true);
    }
    const { host, port } = lab.endpoint('coturn');
    expect(await probeRtt('coturn', host, port)).toBeLessThan(500);
    expect(readJournal(lab)).toEqual([]);
  });

  it('udp rate-cap: chains present with counters that count', async () => {
    const f = createFault({ id: 'ucap', udp: { action: 'rate-cap', kbytesPerSecond: 64 } });
    await f.apply(ctx);
    try {
      const v = await f.verify(ctx);
      expect(v.ok, v.detail).toBe(true);
      const c = await chainCounters(ns(), faultChains('ucap').input);
      expect(c?.find((r) => r.comment === 'seen')?.packets).toBeGreaterThan(0);
      expect(await run(['list', 'chain', 'inet', 'sch', faultChains('ucap').input])).toMatch(/limit rate over 64 kbytes\/second/);
    } finally {
      expect((await f.rollback(ctx)).ok).toBe(true);
    }
  });
});

describe('UDP rate cap, measured', () => {
  it('a 2 kB/s cap drops most of a fast STUN burst', async () => {
    const f = createFault({ id: 'ucap2', udp: { action: 'rate-cap', kbytesPerSecond: 2 } });
    await f.apply(ctx);
    try {
      const b = await stunBurst(coturnUdp().host, coturnUdp().port, { count: 200, gapMs: 1 });
      const c = await chainCounters(ns(), faultChains('ucap2').input);
      expect(b.loss).toBeGreaterThan(0.3);
      expect(c?.find((r) => r.comment === 'drop')?.packets).toBeGreaterThan(0);
    } finally {
      expect((await f.rollback(ctx)).ok).toBe(true);
    }
  });
});

async function run(args: string[]): Promise<string> {
  const { runOk } = await import('../../src/lab/exec.js');
  return runOk('ip', ['netns', 'exec', ns(), 'nft', ...args]);
}

describe('process faults', () => {
  it('pause / resume a lab service (postgres): state T, probe fails, then healthy', async () => {
    const f = createFault({ id: 'ppg', process: { action: 'pause', target: 'postgres' } });
    const rec = lab.state.processes.find((p) => p.name === 'postgres')!;
    await f.apply(ctx);
    try {
      const v = await f.verify(ctx);
      expect(v.ok, v.detail).toBe(true);
      expect(procState(rec.pid)).toBe('T');
      const { host, port } = lab.endpoint('postgres');
      await expect(probeRtt('postgres', host, port, { timeoutMs: 1000 })).rejects.toThrow();
    } finally {
      const rb = await f.rollback(ctx);
      expect(rb.ok, rb.detail).toBe(true);
    }
    expect(procState(rec.pid)).not.toBe('T');
  });

  it('pause / resume a target service (target:chat)', async () => {
    target = await startTarget(lab, { profile: 'hardened', services: ['chat'] });
    const f = createFault({ id: 'pchat', process: { action: 'pause', target: 'target:chat' } });
    await f.apply(ctx);
    try {
      const v = await f.verify(ctx);
      expect(v.ok, v.detail).toBe(true);
      await expect(fetch(`${target.serviceUrls.chat}/health`, { signal: AbortSignal.timeout(1000) })).rejects.toThrow();
    } finally {
      const rb = await f.rollback(ctx);
      expect(rb.ok, rb.detail).toBe(true);
    }
    expect((await fetch(`${target.serviceUrls.chat}/health`)).ok).toBe(true);
  });

  it('kill-restart a target service (target:default:chat): pid gone, then a new healthy process', async () => {
    const f = createFault({ id: 'kchat', process: { action: 'kill-restart', target: 'target:default:chat' } });
    await f.apply(ctx);
    const v = await f.verify(ctx);
    expect(v.ok, v.detail).toBe(true);
    const rb = await f.rollback(ctx);
    expect(rb.ok, rb.detail).toBe(true);
    expect((await fetch(`${target!.serviceUrls.chat}/health`)).ok).toBe(true);
  });

  it('stopping the target also stops the service a fault restarted (new pid)', async () => {
    lab.refreshState();
    const rec = lab.state.processes.find((p) => p.name === 'target-chat')!;
    await target!.stop();
    target = null;
    expect(isAlive(rec)).toBe(false);
    expect(lab.state.processes.some((p) => p.name === 'target-chat')).toBe(false);
  });

  it('redis-crash-restart: redis-server gone, then answers again (new pid in the lab state)', async () => {
    lab.refreshState();
    const old = lab.state.processes.find((p) => p.name === 'redis')!;
    const f = createFault({ id: 'rcrash', fault: 'redis-crash-restart' });
    await f.apply(ctx);
    const v = await f.verify(ctx);
    expect(v.ok, v.detail).toBe(true);
    expect(isAlive(old)).toBe(false);
    const { host, port } = lab.endpoint('redis');
    await expect(probeRtt('redis', host, port, { timeoutMs: 1000 })).rejects.toThrow();
    const rb = await f.rollback(ctx);
    expect(rb.ok, rb.detail).toBe(true);
    const fresh = lab.state.processes.find((p) => p.name === 'redis')!;
    expect(fresh.pid).not.toBe(old.pid);
    expect(isAlive(fresh)).toBe(true);
    expect(await probeRtt('redis', host, port)).toBeLessThan(500);
    const status = await lab.status();
    expect(status.find((s) => s.name === 'redis')?.healthy).toBe(true);
  });

  it('kill-restart postgres (runuser wrapper, forked backends): restarted with its data, answers SQL again', async () => {
    const f = createFault({ id: 'kpg', process: { action: 'kill-restart', target: 'postgres' } });
    await f.apply(ctx);
    expect((await f.verify(ctx)).ok).toBe(true);
    const rb = await f.rollback(ctx);
    expect(rb.ok, rb.detail).toBe(true);
    const status = await lab.status();
    expect(status.find((s) => s.name === 'postgres')?.healthy).toBe(true);
  });
});

describe('crash safety', () => {
  it('cleanupFaults undoes what a SIGKILLed process applied (toxic, nft chain, paused service)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sch-chaos-'));
    const script = join(dir, 'apply-and-hang.mts');
    const chaos = pathToFileURL(resolve('chaos/index.ts')).href;
    const labMod = pathToFileURL(resolve('src/lab/lab.ts')).href;
    writeFileSync(script, `
import { Lab } from ${JSON.stringify(labMod)};
import { createFault } from ${JSON.stringify(chaos)};
const lab = await Lab.attach(${JSON.stringify(lab.name)});
if (!lab) throw new Error('no lab');
const ctx = { lab };
await createFault({ id: 'crash-lat', toxic: { proxy: 'redis', type: 'latency', attributes: { latency: 100 } } }).apply(ctx);
await createFault({ id: 'crash-loss', udp: { action: 'loss', percent: 20 } }).apply(ctx);
await createFault({ id: 'crash-pause', process: { action: 'pause', target: 'minio' } }).apply(ctx);
process.stdout.write('APPLIED\\n');
setInterval(() => undefined, 1000);
`);
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!out.includes('APPLIED') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain('APPLIED');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    lab.refreshState();
    expect(readJournal(lab).map((e) => e.id).sort()).toEqual(['crash-lat', 'crash-loss', 'crash-pause']);
    expect(statSync(journalFile(lab.name)).mode & 0o777).toBe(0o600);
    expect((await listToxics(lab, 'redis')).map((t) => t.name)).toEqual(['sch-crash-lat']);
    expect((await listChains(ns())).filter((c) => c.startsWith(CHAIN_PREFIX)).length).toBe(2);
    const minio = lab.state.processes.find((p) => p.name === 'minio')!;
    expect(procState(minio.pid)).toBe('T');

    const report = await cleanupFaults(lab);
    expect(report.errors).toEqual([]);
    expect(report.resumed).toContain('minio');
    for (const proxy of DEPENDENCY_NAMES) expect(await listToxics(lab, proxy)).toEqual([]);
    expect((await listChains(ns())).filter((c) => c.startsWith(CHAIN_PREFIX))).toEqual([]);
    expect(lab.state.processes.filter((p) => procState(p.pid) === 'T').map((p) => p.name)).toEqual([]);
    expect(readJournal(lab)).toEqual([]);
    const { host, port } = lab.endpoint('minio');
    expect(await probeRtt('minio', host, port)).toBeLessThan(500);
  });

  it('cleanupFaults restarts a lab service whose process is dead', async () => {
    lab.refreshState();
    const rec = lab.state.processes.find((p) => p.name === 'coturn')!;
    process.kill(-rec.pid, 'SIGKILL');
    for (let i = 0; i < 50 && isAlive(rec); i++) await new Promise((r) => setTimeout(r, 50));
    const report = await cleanupFaults(lab);
    expect(report.restarted).toEqual(['coturn']);
    expect((await stunBurst(coturnUdp().host, coturnUdp().port, { count: 10 })).answered).toBeGreaterThanOrEqual(9);
  });
});
