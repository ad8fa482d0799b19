import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { run, runOk } from '../../src/lab/exec.js';
import { loadExperiment } from '../../src/experiment/load.js';

/**
 * Every command that sends load or faults (`sch scenario run`, `sch run`, `sch replay`) and runScenario refuse a target outside loopback and the lab's network before
 * anything is sent. Every command here runs inside a network namespace of its own whose only device is
 * `lo`, with the default route on `lo`: a packet for the outside is counted on `lo` and dies there, so
 * nothing can leave this machine even if the guard were broken, and the count shows whether anything was sent.
 */
const NS = `sch-safety-${process.pid}`;
const REMOTE = 'http://203.0.113.5:8080'; // TEST-NET-3: documentation space.
const tmp = mkdtempSync(join(tmpdir(), 'sch-safety-'));

beforeAll(async () => {
  await run('ip', ['netns', 'del', NS]);
  await runOk('ip', ['netns', 'add', NS]);
  await runOk('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  await runOk('ip', ['-n', NS, 'route', 'add', 'default', 'dev', 'lo']);
});

afterAll(async () => {
  await run('ip', ['netns', 'del', NS]);
});

/** Packets sent on the namespace's only device. */
async function sentPackets(): Promise<number> {
  const links = JSON.parse(await runOk('ip', ['-n', NS, '-j', '-s', 'link', 'show', 'lo'])) as { stats64: { tx: { packets: number } } }[];
  return links[0]!.stats64.tx.packets;
}

/** Run node with tsx inside the namespace; returns its exit code and output, and how many packets it sent. */
async function inNamespace(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string; sent: number }> {
  const before = await sentPackets();
  const r = await run('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', ...args], { cwd: HARNESS_ROOT, timeoutMs, env: { ...process.env, NO_COLOR: '1' } });
  return { ...r, sent: (await sentPackets()) - before };
}

const CLI = join(HARNESS_ROOT, 'src', 'cli', 'main.ts');

describe('a target outside loopback and the lab is refused before any traffic', () => {
  for (const flag of ['--target-url', '--base-url']) {
    it(`sch scenario run ${flag} <remote>: exit 2 with the reason naming the flag, no run directory, not one packet`, async () => {
      const out = join(tmp, `cli-remote${flag}`);
      const r = await inNamespace([CLI, 'scenario', 'run', 'registration', flag, REMOTE, '--out-dir', out]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`error: ${flag} ${REMOTE} is outside loopback and the lab's network: load and faults would leave this machine. Pass --allow-remote if that is intended.`);
      expect(existsSync(out)).toBe(false);
      expect(r.sent).toBe(0);
    }, 60_000);
  }

  // The video service, as a flag or as the scenario's variable: refused before the /health probe of the loopback
  // target (which would be a packet on lo).
  const videoCases: [string, string, string[]][] = [
    ['sch scenario run --video-url <remote>', '--video-url', ['--target-url', 'http://127.0.0.1:9', '--video-url', REMOTE]],
    ['SC_VIDEO_URL outside', 'SC_VIDEO_URL', ['--base-url', 'http://127.0.0.1:9', '--env', `SC_VIDEO_URL=${REMOTE}`]],
  ];
  for (const [title, named, args] of videoCases) {
    it(`${title}: refused before the /health probe of a loopback target`, async () => {
      const out = join(tmp, `cli-video-${named}`);
      const r = await inNamespace([CLI, 'scenario', 'run', 'call-signaling', ...args, '--out-dir', out]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`error: ${named} ${REMOTE} is outside loopback and the lab's network`);
      expect(existsSync(out)).toBe(false);
      expect(r.sent).toBe(0);
    }, 60_000);
  }

  // sch bench sfu against a deployment: its gateway or its video service outside.
  const benchCases: [string, string[]][] = [
    ['--target-url', ['--target-url', REMOTE, '--video-url', 'http://127.0.0.1:9']],
    ['--video-url', ['--target-url', 'http://127.0.0.1:9', '--video-url', REMOTE]],
  ];
  for (const [flag, args] of benchCases) {
    it(`sch bench sfu ${flag} <remote>: exit 2 naming ${flag}, no run directory, not one packet`, async () => {
      const out = join(tmp, `bench${flag}`);
      const r = await inNamespace([CLI, 'bench', 'sfu', ...args, '--out', out]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`error: ${flag} ${REMOTE} is outside loopback and the lab's network: load and faults would leave this machine. Pass --allow-remote if that is intended.`);
      expect(existsSync(out)).toBe(false);
      expect(r.sent).toBe(0);
    }, 60_000);
  }

  // sch run: the target, its video service or its Toxiproxy outside: refused before the run directory, the lab or the first packet.
  const runCases: [string, string[]][] = [
    ['--target-url', ['--target-url', REMOTE]],
    ['--video-url', ['--target-url', 'http://127.0.0.1:9', '--video-url', REMOTE]],
    ['--toxiproxy-url', ['--target-url', 'http://127.0.0.1:9', '--toxiproxy-url', REMOTE]],
  ];
  for (const [flag, args] of runCases) {
    it(`sch run <experiment> ${flag} <remote>: exit 2 naming ${flag}, no run directory, not one packet`, async () => {
      const out = join(tmp, `run${flag}`);
      const r = await inNamespace([CLI, 'run', 'cassandra-slow', ...args, '--lab', 'no-such-lab', '--no-screenshot', '--out-dir', out]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`error: ${flag} ${REMOTE} is outside loopback and the lab's network: load and faults would leave this machine. Pass --allow-remote if that is intended.`);
      expect(existsSync(out)).toBe(false);
      expect(r.sent).toBe(0);
    }, 60_000);
  }

  it('sch replay of a run that was allowed a remote target: refused again without --allow-remote (the permission does not carry over)', async () => {
    const e = await loadExperiment('cassandra-slow');
    const recorded = join(tmp, 'recorded-run');
    mkdirSync(recorded, { recursive: true });
    writeFileSync(join(recorded, 'manifest.json'), JSON.stringify({
      runId: 'recorded-run', createdAt: new Date().toISOString(), seed: 1,
      experiment: { ...e, target: { kind: 'external', baseUrl: REMOTE } },
      options: { labName: 'no-such-lab', allowRemote: true }, versions: {}, timeline: [],
    }));
    const out = join(tmp, 'replay-out');
    const r = await inNamespace([CLI, 'replay', recorded, '--no-screenshot', '--out-dir', out]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`error: target.baseUrl ${REMOTE} is outside loopback and the lab's network`);
    expect(existsSync(out)).toBe(false);
    expect(r.sent).toBe(0);
  }, 60_000);

  it('runScenario itself refuses (library callers), unless allowRemote', async () => {
    const script = join(tmp, 'lib.ts');
    writeFileSync(script, `import { runScenario } from ${JSON.stringify(join(HARNESS_ROOT, 'src', 'k6', 'run.ts'))};
runScenario({ name: 'registration', baseUrl: ${JSON.stringify(REMOTE)}, profile: 'smoke', outDir: ${JSON.stringify(join(tmp, 'lib'))} })
  .then(() => { console.log('RAN'); process.exit(0); }, (e) => { console.log(e.name + ': ' + e.message); process.exit(3); });
`);
    const r = await inNamespace([script]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/^TargetRefused: target http:\/\/203\.0\.113\.5:8080 is outside loopback/);
    expect(existsSync(join(tmp, 'lib'))).toBe(false);
    expect(r.sent).toBe(0);
  }, 60_000);

  it('control: with --allow-remote the /health probe is attempted (the packets are counted on lo and die there): the counter sees traffic', async () => {
    const out = join(tmp, 'cli-allowed');
    const r = await inNamespace([CLI, 'scenario', 'run', 'registration', '--base-url', REMOTE, '--allow-remote', '--out-dir', out], 60_000);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/error: target http:\/\/203\.0\.113\.5:8080 is not reachable/);
    expect(r.sent).toBeGreaterThan(0);
  }, 60_000);
});
