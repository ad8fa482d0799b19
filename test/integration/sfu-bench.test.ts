import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Lab } from '../../src/lab/lab.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { CallApi, type CallUser } from '../../src/media/call-api.js';
import { recordCamera, startCameraPage } from '../../src/media/camera-recorder.js';
import { launchChromium } from '../../src/media/chromium.js';
import type { PageServer } from '../../src/media/page-server.js';
import { loadRecording, saveRecording, type Recording } from '../../src/media/rtp-recording.js';
import { SyntheticStepRunner } from '../../src/bench/synthetic-step-runner.js';
import { readWorker } from '../../src/bench/sfu-worker-cpu.js';
import { readBenchResult } from '../../src/bench/bench-result.js';
import type { SfuStep } from '../../src/bench/sfu-step.js';
import { sch } from '../sch.js';
import { testLab } from './helpers.js';

/**
 * The SFU capacity benchmark on the real SFU (the reference target's mediasoup worker), with synthetic participants
 * (werift's DTLS, ICE and SRTP; RTP headers read, never decrypted) replaying Chromium's fake camera recorded through
 * the same SFU (recorded here when the cache has none):
 * - side by side at two small steps, the seeded slowdown (SC_SWITCH_SFU_DUPLICATE_CONSUMERS: a hidden twin of every
 *   consumer on the same transport) costs the worker clearly more CPU per consumer, while every receiver still gets
 *   all of its own streams, without loss, and a copy under an SSRC it was never told of;
 * - `sch bench sfu` runs end to end (a capped search) and writes bench.json, junit.xml and a report whose curves
 *   Chromium draws.
 * The knee and bisection themselves are unit-tested on recorded steps (test/unit/sfu-bench.test.ts).
 */
let lab: Lab;
let page: PageServer;
let recording: Recording;
const t: Partial<Record<'plain' | 'seeded', RunningTarget>> = {};
const RUN_DIR = join(HARNESS_ROOT, 'reports', 'runs', `itest-bench-sfu-${new Date().toISOString().replace(/[:.]/g, '-')}`);

beforeAll(async () => {
  lab = await testLab();
  page = await startCameraPage(lab);
  const env = { RATE_LIMIT_PER_MINUTE: '1000000', CORS_ALLOWED_ORIGINS: page.url, SFU_WORKERS: '1', SFU_WEBRTC_SERVER: 'on' };
  const services = ['auth', 'video', 'gateway'] as const;
  [t.plain, t.seeded] = await Promise.all([
    startTarget(lab, { profile: 'hardened', portBase: 70, instance: 'sbp', services: [...services], env }),
    startTarget(lab, { profile: 'hardened', portBase: 80, instance: 'sbs', services: [...services], env: { ...env, SC_SWITCH_SFU_DUPLICATE_CONSUMERS: 'on' } }),
  ]);
  const cached = loadRecording();
  recording = cached ?? await recordCamera({ lab, page, baseUrl: t.plain.baseUrl, videoUrl: t.plain.serviceUrls.video, seconds: 6, width: 320, height: 180, fps: 15 });
  if (!cached) saveRecording(recording);
  mkdirSync(RUN_DIR, { recursive: true });
}, 120_000);

afterAll(async () => {
  for (const x of Object.values(t)) await x?.stop();
  await page?.close();
});

/** Conferences of 8 (56 consumers on 16 transports a room: the worker's work is mostly forwarding) at 1, then 3 rooms. */
async function twoSteps(target: RunningTarget): Promise<SfuStep[]> {
  const api = new CallApi(target.baseUrl, target.serviceUrls.video, page.url);
  const users: CallUser[] = [];
  for (let i = 0; i < 8; i++) users.push(await api.register(`sb${i}`));
  const videoPid = target.processes.find((p) => p.name.startsWith('target-video'))!.pid;
  const runner = new SyntheticStepRunner({
    api, origin: page.url, recording, shape: { kind: 'conference', participants: 8 }, users, warmupS: 1.5, windowS: 4,
    readWorker: () => readWorker(videoPid, null),
  });
  try {
    const steps = [await runner.measure(1), await runner.measure(3)];
    // Rooms closed take their senders out of the map every room of a search shares.
    expect(runner.senderCount).toBe(3 * 8);
    await runner.setRooms(1);
    expect(runner.senderCount).toBe(8);
    return steps;
  } finally {
    runner.close();
  }
}

describe('the SFU capacity benchmark', () => {
  it('synthetic participants carry real media through the SFU; the seeded slowdown costs its worker clearly more CPU per consumer', async () => {
    expect(recording.packets.length).toBeGreaterThan(30);
    // Both at once, so that whatever else the machine does in a window weighs on both workers alike.
    const [plain, seeded] = await Promise.all([twoSteps(t.plain!), twoSteps(t.seeded!)]);
    for (const [name, steps] of [['plain', plain], ['seeded', seeded]] as const) {
      for (const s of steps) {
        const at = `${name} at ${s.consumers} consumers`;
        process.stderr.write(`[sfu-bench] ${at}: worker ${(s.workerCpu! * 100).toFixed(1)} % (${((s.workerCpu! / s.consumers) * 100).toFixed(3)} %/consumer), generator ${(s.generatorCpu! * 100).toFixed(1)} %, loss ${s.loss}, delay p95 ${s.delayP95Ms?.toFixed(1)} ms, out ${s.bitrateOutKbps?.toFixed(0)} kbit/s\n`);
        expect(s.errors, at).toEqual([]);
        expect(s.consumers, at).toBe(s.level * 56);
        expect(s.silentConsumers, at).toBe(0);
        // 4 s of a 15 fps stream per consumer, none lost.
        expect(s.packets / s.consumers, at).toBeGreaterThan(50);
        expect(s.loss!, at).toBeLessThan(0.01);
        expect(s.delayP95Ms!, at).toBeLessThan(50);
        // Each receiver gets its own streams; the seeded SFU sends each one twice, the twin under an SSRC never announced.
        if (name === 'plain') expect(s.unannouncedPackets, at).toBe(0);
        else expect(s.unannouncedPackets! / s.packets, at).toBeGreaterThan(0.8);
        // What each participant sends reaches the 7 others (twice on the seeded SFU): egress ≈ 7 (14) × ingress.
        expect(s.bitrateOutKbps! / s.bitrateInKbps!, at).toBeGreaterThan((name === 'plain' ? 7 : 14) * 0.9);
        expect(s.workerCpu, at).not.toBeNull();
      }
    }
    // The twin forwards and encrypts every packet again but gets no RTCP of its own (the client drops its SSRC), so it
    // costs about half a consumer: measured 1.40–1.52× per consumer at each step and per added consumer between them
    // (the slope, without the worker's idle work and each room's fixed cost), both targets measured in the same
    // windows. Measured one after the other, the machine's drift alone moved the ratio by ±0.3.
    const slope = (xs: SfuStep[]) => (xs[1]!.workerCpu! - xs[0]!.workerCpu!) / (xs[1]!.consumers - xs[0]!.consumers);
    expect(slope(seeded) / slope(plain), 'worker CPU per added consumer, seeded over plain').toBeGreaterThanOrEqual(1.3);
    const per = (s: SfuStep) => s.workerCpu! / s.consumers;
    for (const i of [0, 1]) expect(per(seeded[i]!) / per(plain[i]!), `per consumer at ${plain[i]!.consumers} consumers`).toBeGreaterThanOrEqual(1.25);
  }, 180_000);

  it('sch bench sfu: a capped search ends with its verdict in bench.json, junit.xml and a report whose curves Chromium draws', async () => {
    const out = join(RUN_DIR, 'capped');
    const r = await sch(['bench', 'sfu', '--lab', lab.name, '--no-pin', '--max-rooms', '2', '--warmup', '1', '--window', '2', '--out', out], { timeoutMs: 150_000 });
    // Two rooms are far from this SFU's knee: a lower bound, INCONCLUSIVE (exit 1), never a capacity.
    expect(r.err).toMatch(/INCONCLUSIVE: capacity ≥ 24 consumers/);
    expect(r.code).toBe(1);
    const b = readBenchResult(out);
    expect(b.verdict).toBe('INCONCLUSIVE');
    expect(b.result.status).toBe('no-knee');
    expect(b.calibration.steps.map((s) => s.level)).toEqual([1, 2]);
    expect(b.result.steps.map((s) => [s.step.level, s.judgement.kind])).toEqual([[1, 'good'], [2, 'good']]);
    expect(b.pinning).toBeNull();
    const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
    expect(junit).toMatch(/<skipped message="INCONCLUSIVE: capacity ≥ 24 consumers/);

    const session = await launchChromium();
    try {
      const p = await session.browser.newPage();
      await p.setViewport({ width: 1400, height: 900 });
      const errors: string[] = [];
      p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await p.goto(pathToFileURL(join(out, 'report.html')).href, { waitUntil: 'load' });
      const curves = await p.$$eval('svg.curve', (svgs) => svgs.map((s) => {
        const box = s.getBoundingClientRect();
        const pts = Array.from(s.querySelectorAll('circle.pt')).map((c) => c.getBoundingClientRect());
        const lower = s.querySelector('[data-knee="last-good"]')?.getBoundingClientRect();
        return { id: s.getAttribute('data-curve'), width: box.width, height: box.height, points: pts.length, inside: pts.every((b) => b.x >= box.x && b.right <= box.right && b.y >= box.y && b.bottom <= box.bottom && b.width > 0), boundAt: lower ? lower.x - box.x : null, lastPointAt: pts.length ? Math.max(...pts.map((b) => b.x + b.width / 2)) - box.x : null };
      }));
      expect(curves.map((c) => c.id)).toEqual(['worker-cpu', 'loss', 'delay-p95', 'generator-cpu']);
      for (const c of curves) {
        expect(c.width, c.id!).toBeGreaterThan(300);
        expect(c.points, c.id!).toBe(2);
        expect(c.inside, c.id!).toBe(true);
        // The lower bound is drawn at the last good step's consumers.
        expect(Math.abs(c.boundAt! - c.lastPointAt!), c.id!).toBeLessThan(3);
      }
      expect(await p.$eval('[data-verdict]', (e) => e.textContent)).toBe('INCONCLUSIVE');
      expect(errors).toEqual([]);
    } finally {
      await session.close();
    }
  }, 200_000);

  it('sch bench sfu: a flag of the other shape is refused naming it (exit 2)', async () => {
    const r = await sch(['bench', 'sfu', '--shape', 'conference', '--viewers', '5'], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--presenters and --viewers are for --shape webinar/);
  });
});
