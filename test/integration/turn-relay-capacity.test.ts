import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { turnRestCredentials } from '../../src/lab/credentials.js';
import { turnHold, TurnError, type HeldAllocation } from '../../src/lab/turn-client.js';
import { cleanupFaults, createFault, readJournal } from '../../chaos/index.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { runExperiment } from '../../src/experiment/runner.js';
import { analyzeRun } from '../../src/experiment/analyze.js';
import { HISTORY_FILES, WORKLOAD_FILES, workloadDir } from '../../src/experiment/history.js';
import { readK6Samples } from '../../src/results/k6-reader.js';
import type { RunResult, Sample } from '../../src/results/model.js';
import { testLab } from './helpers.js';

/**
 * TURN-RELAY-CAPACITY against the lab's real coturn (its 100-port relay range) and real browsers: the
 * `turn-relay-exhaust` fault itself (apply → one more Allocate refused → rollback → Allocate works, nothing held),
 * then the claim on audited (FAIL: the newcomer is admitted and its connections never start) and hardened (PASS:
 * 503 TURN_RELAY_EXHAUSTED at once), and INCONCLUSIVE when the fault did not land.
 */
let lab: Lab;
const runsDir = join(HARNESS_ROOT, 'reports', 'runs', `itest-turn-relay-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  mkdirSync(runsDir, { recursive: true });
});

const explain = (r: RunResult) => `${r.error ?? ''}\n${r.hypotheses.map((h) => `${h.id}: ${h.verdict} — ${h.evidence}`).join('\n')}`;
const claim = (r: RunResult) => r.claims.find((c) => c.id === 'TURN-RELAY-CAPACITY')?.verdict;
const verdicts = (r: RunResult) => Object.fromEntries(r.hypotheses.map((h) => [h.id, h.verdict]));

async function samplesOf(runId: string): Promise<Sample[]> {
  const out: Sample[] = [];
  await readK6Samples(join(workloadDir(join(runsDir, runId), 'call'), WORKLOAD_FILES.samples), (s) => out.push({ ...s, tags: { ...s.tags } }));
  return out;
}

/** Allocates until coturn refuses one (bounded), then releases all: how many relays the lab's coturn has free. */
async function freeRelays(): Promise<{ count: number; refusal: string }> {
  const c = turnRestCredentials(lab.credentials.turnSecret, 'itest-count', 600);
  const held: HeldAllocation[] = [];
  let refusal = 'none';
  try {
    for (let i = 0; i < 120; i++) {
      try {
        held.push(await turnHold({ host: lab.address, port: lab.ports.service.coturn, username: c.username, password: c.password, lifetimeSeconds: 60 }));
      } catch (e) {
        refusal = e instanceof TurnError ? String(e.code) : String(e);
        break;
      }
    }
    return { count: held.length, refusal };
  } finally {
    await Promise.all(held.map((h) => h.release()));
  }
}

describe('turn-relay-exhaust: coturn\'s relay range used up by held allocations', () => {
  it('apply holds every relay (the next Allocate is refused 508), verify measures it, rollback releases them all', async () => {
    const log: string[] = [];
    const ctx = { lab, log: (l: string) => log.push(l) };
    const f = createFault({ id: 'itest-relay', fault: 'turn-relay-exhaust' });
    try {
      await f.apply(ctx);
      expect(readJournal(lab).map((e) => e.id)).toContain('itest-relay');
      const v = await f.verify(ctx);
      expect(v.ok, v.detail).toBe(true);
      expect(v.detail).toMatch(/^(\d+)\/\1 held relay allocations refreshed; one more Allocate refused: 508/);
      const held = Number(/^(\d+)\//.exec(v.detail)![1]);
      // The range is 100 ports; the shared lab's other tests may hold a few for a moment.
      expect(held).toBeGreaterThanOrEqual(90);
      expect(held).toBeLessThanOrEqual(lab.ports.turnRelay.max - lab.ports.turnRelay.min + 1);
      // Independently of the fault's own word: a client of ours is refused too.
      const c = turnRestCredentials(lab.credentials.turnSecret, 'itest-other', 600);
      const refused = await turnHold({ host: lab.address, port: lab.ports.service.coturn, username: c.username, password: c.password, lifetimeSeconds: 60 }).then((h) => h.release().then(() => 'allocated'), (e: unknown) => (e instanceof TurnError ? e.code : String(e)));
      expect(refused).toBe(508);
      const r = await f.rollback(ctx);
      expect(r.ok, r.detail).toBe(true);
      expect(r.detail).toBe(`${held}/${held} allocations released (Refresh lifetime 0 confirmed); an Allocate works again`);
      expect(readJournal(lab).map((e) => e.id)).not.toContain('itest-relay');
      // Nothing left held: once coturn's timer frees the released ports, the whole range is there again.
      await new Promise((res) => setTimeout(res, 1500));
      const free = await freeRelays();
      expect(free.count, log.join('\n')).toBeGreaterThanOrEqual(held);
      expect(free.refusal).toBe('508');
    } finally {
      await f.rollback(ctx);
    }
  });

  it('a client port whose last session (another user\'s, released) coturn still remembers: 437 there, and the Allocate moves to another port (RFC 8656 §7.3)', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createSocket('udp4');
      s.bind(0, () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    const at = { host: lab.address, port: lab.ports.service.coturn, lifetimeSeconds: 60, localPort: port };
    const a = turnRestCredentials(lab.credentials.turnSecret, 'itest-mismatch-a', 600);
    const b = turnRestCredentials(lab.credentials.turnSecret, 'itest-mismatch-b', 600);
    const first = await turnHold({ ...at, username: a.username, password: a.password });
    expect(first.clientAddresses).toBe(1);
    expect(await first.release()).toBe(true);
    // The same client port, another user: coturn answers 437 on it (the fault's apply met this in a suite run).
    const second = await turnHold({ ...at, username: b.username, password: b.password });
    try {
      expect(second.clientAddresses).toBe(2);
      expect(second.relayed.port).toBeGreaterThanOrEqual(lab.ports.turnRelay.min);
    } finally {
      await second.release();
    }
  });

  it('a holder killed mid-fault (its sockets gone, coturn keeping them 600 s): cleanup finds the relay full and restarts coturn', async () => {
    // A separate process applies the fault, then dies by SIGKILL: no rollback, only the journal remains.
    const script = join(runsDir, 'hold-and-die.ts');
    writeFileSync(script, [
      `import { Lab } from ${JSON.stringify(join(HARNESS_ROOT, 'src/lab/lab.ts'))};`,
      `import { createFault } from ${JSON.stringify(join(HARNESS_ROOT, 'chaos/index.ts'))};`,
      `const lab = await Lab.attach(${JSON.stringify(lab.name)});`,
      `await createFault({ id: 'itest-crash', fault: 'turn-relay-exhaust' }).apply({ lab: lab! });`,
      `process.stdout.write('HELD\\n');`,
      `setInterval(() => undefined, 1000);`,
    ].join('\n'));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: HARNESS_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const held = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 20_000);
      child.stdout.on('data', (d: Buffer) => d.toString().includes('HELD') && (clearTimeout(t), resolve(true)));
      child.on('exit', () => (clearTimeout(t), resolve(false)));
    });
    child.kill('SIGKILL');
    expect(held, err).toBe(true);
    expect(readJournal(lab).map((e) => e.id)).toContain('itest-crash');
    expect((await freeRelays()).count).toBe(0);
    const report = await cleanupFaults(lab);
    expect(report.errors).toEqual([]);
    expect(report.journal).toEqual([{ id: 'itest-crash', ok: true, detail: 'coturn refused an Allocate (508 Cannot create socket) with no fault holding relays: restarted it; an Allocate then worked' }]);
    expect(readJournal(lab)).toEqual([]);
    await new Promise((res) => setTimeout(res, 1500));
    expect((await freeRelays()).count).toBeGreaterThanOrEqual(90);
  });
});

describe('turn-relay-capacity: a mesh call on relay, TURN full, a third joins', () => {
  let auditedRun: RunResult | null = null;

  it('audited: the newcomer is admitted (200) and its connections never start; the call keeps its media: FAIL', async () => {
    const r = await runExperiment({ experiment: await loadExperiment('turn-relay-capacity'), labName: lab.name, runsDir, profile: 'audited' });
    auditedRun = r;
    expect(r.error, explain(r)).toBeUndefined();
    expect(claim(r), explain(r)).toBe('FAIL');
    expect(verdicts(r), explain(r)).toEqual({ 'two-join': 'PASS', 'on-relay-before': 'PASS', 'media-flows-before': 'PASS', 'newcomer-refused-clearly': 'FAIL', 'call-keeps-media': 'PASS' });
    expect(r.hypotheses.find((h) => h.id === 'newcomer-refused-clearly')!.evidence).toMatch(/served 1/);
    const s = await samplesOf(r.runId);
    // The admitted newcomer's ICE has nothing to work with: none of its connections ever connects, it decodes nothing.
    const p3 = s.filter((x) => x.tags.participant === 'p3');
    expect(p3.filter((x) => x.metric === 'sc_peer_connections').length).toBeGreaterThan(0);
    expect(p3.filter((x) => x.metric === 'sc_peer_connections' && x.tags.state === 'connected')).toEqual([]);
    expect(p3.filter((x) => x.metric === 'sc_video_fps' && x.value > 0)).toEqual([]);
  });

  it('hardened: the newcomer gets 503 TURN_RELAY_EXHAUSTED within 2 s and the call keeps its media: PASS', async () => {
    const r = await runExperiment({ experiment: await loadExperiment('turn-relay-capacity'), labName: lab.name, runsDir, profile: 'hardened' });
    expect(r.error, explain(r)).toBeUndefined();
    expect(claim(r), explain(r)).toBe('PASS');
    const s = await samplesOf(r.runId);
    expect(s.filter((x) => x.metric === 'sc_call_join_status' && x.tags.participant === 'p3').map((x) => x.value)).toEqual([503]);
    expect(s.filter((x) => x.metric === 'sc_outcome' && x.tags.probe === 'video_join_extra').map((x) => x.tags.class)).toEqual(['fast-clear-error']);
    const log = readFileSync(join(workloadDir(join(runsDir, r.runId), 'call'), WORKLOAD_FILES.log), 'utf8');
    expect(log).toMatch(/\[p3\] video_join_extra: HTTP 503 in \d+ ms → fast-clear-error .*TURN_RELAY_EXHAUSTED.*508/);
  });

  it('INCONCLUSIVE when the fault did not land (verify found a relay still free): the same evidence proves nothing', async () => {
    expect(auditedRun, 'needs the audited run above').not.toBeNull();
    const copy = join(runsDir, `${auditedRun!.runId}-not-landed`);
    cpSync(join(runsDir, auditedRun!.runId), copy, { recursive: true });
    const file = join(copy, HISTORY_FILES.manifest);
    const m = JSON.parse(readFileSync(file, 'utf8')) as { timeline: { verified: boolean; verifyDetail: string }[] };
    m.timeline = m.timeline.map((t) => ({ ...t, verified: false, verifyDetail: '98/98 held relay allocations refreshed; one more Allocate got relay port 23250' }));
    writeFileSync(file, JSON.stringify(m));
    const r = await analyzeRun(copy);
    expect(claim(r), explain(r)).toBe('INCONCLUSIVE');
    expect(verdicts(r)['newcomer-refused-clearly']).toBe('INCONCLUSIVE');
    expect(verdicts(r)['call-keeps-media']).toBe('INCONCLUSIVE');
  });
});
