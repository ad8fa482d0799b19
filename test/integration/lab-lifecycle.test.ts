import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Lab } from '../../src/lab/lab.js';
import { readState, stateFile } from '../../src/lab/state.js';
import { isAlive, type ProcessRecord } from '../../src/lab/process.js';
import { netnsExists, netnsLayout } from '../../src/lab/netns.js';
import { stateDir, HARNESS_ROOT } from '../../src/lab/paths.js';
import { run, sleep } from '../../src/lab/exec.js';
import { edgeFiles } from '../../src/lab/edge.js';

/** A second, small lab (Toxiproxy + Redis, or + Cassandra) beside the shared one, torn down at the end. */
const NAME = 'ltest';
const BASE = 24000;
const sch = join(HARNESS_ROOT, 'bin', 'sch');

afterAll(async () => {
  await Lab.down(NAME);
});

async function assertNothingLeft(records: ProcessRecord[]): Promise<void> {
  for (const r of records) expect(isAlive(r), `${r.name} (pid ${r.pid}) still running`).toBe(false);
  expect(await netnsExists(netnsLayout(NAME).name)).toBe(false);
  expect((await run('ip', ['link', 'show', netnsLayout(NAME).hostVeth])).code).not.toBe(0);
  expect(existsSync(stateFile(stateDir(NAME)))).toBe(false);
  // The lab never adds rules to the host's ruleset; its table lived (and died) in the namespace.
  expect((await run('nft', ['list', 'tables'])).stdout).not.toMatch(/\bsch\b/);
}

/** The worker pids of the lab's nginx (children of its recorded master). */
async function nginxWorkers(records: ProcessRecord[]): Promise<number[]> {
  const master = records.find((r) => r.name === 'nginx');
  if (!master) return [];
  return (await run('pgrep', ['-P', String(master.pid)])).stdout.split('\n').filter(Boolean).map(Number);
}

async function waitForState(pred: (n: number, phase: string) => boolean, timeoutMs = 60_000): Promise<ProcessRecord[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = readState(stateDir(NAME));
    if (s && pred(s.processes.length, s.phase)) return s.processes;
    await sleep(100);
  }
  throw new Error('lab state never reached the expected point');
}

describe('lab lifecycle', () => {
  it('down leaves no process, namespace, veth, nft table, toxic or state file behind', async () => {
    const lab = await Lab.up({ name: NAME, basePort: BASE, only: ['redis', 'nginx'] });
    const records = [...lab.state.processes];
    expect(records.map((r) => r.name).sort()).toEqual(['nginx', 'redis', 'toxiproxy']);
    // nginx's workers are not in the state file: they must go with their master.
    const workers = await nginxWorkers(records);
    expect(workers.length).toBeGreaterThan(0);
    const tls = edgeFiles(lab.state.dir);
    expect(existsSync(tls.keyFile) && existsSync(tls.certFile)).toBe(true);
    const proxy = await lab.toxiproxy().get('redis');
    await proxy.addToxic({ name: 'left-behind', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 50 } });
    const nsName = lab.netns!.name;
    await run('ip', ['netns', 'exec', nsName, 'nft', 'add', 'chain', 'inet', 'sch', 'probe', '{ type filter hook input priority 0; }']);
    await Lab.down(NAME);
    // Toxiproxy (with its toxics) is among the stopped processes; the nft table went with the namespace.
    await assertNothingLeft(records);
    for (const pid of workers) expect(existsSync(`/proc/${pid}/status`) && !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8')), `nginx worker ${pid} still running`).toBe(false);
    // The lab's TLS key goes with it.
    expect(existsSync(tls.keyFile)).toBe(false);
  });

  it('after the harness is SIGKILLed mid-start, the next start cleans up what it left', async () => {
    const child = spawn(sch, ['lab', 'up', '--name', NAME, '--base-port', String(BASE), '--only', 'redis'], { stdio: 'ignore' });
    const records = await waitForState((n) => n >= 1);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await sleep(500);
    // The servers run detached: a killed harness leaves them behind...
    expect(records.some(isAlive)).toBe(true);
    const lines: string[] = [];
    const lab = await Lab.up({ name: NAME, basePort: BASE, only: ['redis'], onProgress: (l) => lines.push(l) });
    // ...and the next start stops them before starting anew.
    expect(lines.join('\n')).toMatch(/cleaned up a previous lab "ltest"/);
    for (const r of records) expect(isAlive(r)).toBe(false);
    const fresh = [...lab.state.processes];
    await Lab.down(NAME);
    await assertNothingLeft(fresh);
  });

  it('Ctrl-C during up stops what was started, says so, and exits non-zero', async () => {
    // Cassandra takes seconds to start: a window to interrupt in.
    const child = spawn(sch, ['lab', 'up', '--name', NAME, '--base-port', String(BASE), '--only', 'cassandra'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const records = await waitForState((n) => n >= 2);
    await sleep(1000);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/SIGINT: stopping what was started/);
    expect(stderr).toMatch(/interrupted/);
    await assertNothingLeft(records);
  });

  it('a taken port is named with its service (host-loopback lab)', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(BASE + 1, '127.0.0.1', r));
    try {
      await expect(Lab.up({ name: NAME, basePort: BASE, netns: 'never', only: ['redis'] })).rejects.toThrow(/port 24001 on 127.0.0.1 \(for redis\) is already taken/);
    } finally {
      blocker.close();
    }
    expect(existsSync(stateFile(stateDir(NAME)))).toBe(false);
  });

  it('a host-loopback lab works too (the non-root layout)', async () => {
    const lines: string[] = [];
    const lab = await Lab.up({ name: NAME, basePort: BASE, netns: 'never', only: ['redis', 'nginx'], onProgress: (l) => lines.push(l) });
    expect(lab.address).toBe('127.0.0.1');
    expect(lines.join('\n')).toMatch(/unavailable faults: turn-loss, turn-outage/);
    expect((await lab.status()).every((s) => s.healthy)).toBe(true);
    const records = [...lab.state.processes];
    const workers = await nginxWorkers(records);
    await Lab.down(NAME);
    for (const r of records) expect(isAlive(r)).toBe(false);
    // No namespace to sweep here: nginx's workers must have gone with their master's process group.
    for (const pid of workers) expect(existsSync(`/proc/${pid}/status`) && !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8')), `nginx worker ${pid} still running`).toBe(false);
  });
});
