import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../src/lab/lab.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { CallApi, type CallUser } from '../../src/media/call-api.js';
import { recordCamera, startCameraPage } from '../../src/media/camera-recorder.js';
import type { PageServer } from '../../src/media/page-server.js';
import { loadRecording, saveRecording, type Recording } from '../../src/media/rtp-recording.js';
import { runSyntheticCall, type SyntheticCallResult } from '../../src/bench/synthetic-call.js';
import { workerCpuSeconds } from '../../src/bench/sfu-worker-cpu.js';
import { testLab } from './helpers.js';

/**
 * Synthetic SFU participants (werift's DTLS, ICE and SRTP by hand, RTP headers read, never decrypted) join the
 * reference target's SFU as browsers do, replaying Chromium's fake camera recorded through the same SFU (recorded
 * here when the cache has none), and measure loss, jitter and forwarding delay from the headers. Side by side, the
 * seeded slowdown (SC_SWITCH_SFU_DUPLICATE_CONSUMERS) is seen on the wire: every receiver gets each stream twice,
 * the second copy under an SSRC no consumer of its own announced.
 */
let lab: Lab;
let page: PageServer;
let recording: Recording;
const t: Partial<Record<'plain' | 'seeded', RunningTarget>> = {};

beforeAll(async () => {
  lab = await testLab();
  page = await startCameraPage(lab);
  const env = { RATE_LIMIT_PER_MINUTE: '1000000', CORS_ALLOWED_ORIGINS: page.url, SFU_WORKERS: '1' };
  const services = ['auth', 'video', 'gateway'] as const;
  [t.plain, t.seeded] = await Promise.all([
    startTarget(lab, { profile: 'hardened', portBase: 80, instance: 'synp', services: [...services], env }),
    startTarget(lab, { profile: 'hardened', portBase: 90, instance: 'syns', services: [...services], env: { ...env, SC_SWITCH_SFU_DUPLICATE_CONSUMERS: 'on' } }),
  ]);
  const cached = loadRecording();
  recording = cached ?? await recordCamera({ lab, page, baseUrl: t.plain.baseUrl, videoUrl: t.plain.serviceUrls.video, seconds: 6, width: 320, height: 180, fps: 15 });
  if (!cached) saveRecording(recording);
});

afterAll(async () => {
  for (const x of Object.values(t)) await x?.stop();
  await page?.close();
});

const RECEIVERS = 6;

async function call(target: RunningTarget): Promise<SyntheticCallResult> {
  const api = new CallApi(target.baseUrl, target.serviceUrls.video, page.url);
  const users: CallUser[] = [];
  for (let i = 0; i <= RECEIVERS; i++) users.push(await api.register(`y${i}`));
  const videoPid = target.processes.find((p) => p.name.startsWith('target-video'))!.pid;
  return runSyntheticCall({
    api, origin: page.url, recording, users, warmupS: 1.5, seconds: 5,
    participants: [{ send: true, receive: false }, ...Array.from({ length: RECEIVERS }, () => ({ send: false, receive: true }))],
    workerCpuSeconds: () => [...workerCpuSeconds(videoPid).values()].reduce((a, b) => a + b, 0),
  });
}

describe('synthetic SFU participants', () => {
  it('join as browsers do, receive the replayed camera with its loss, jitter and delay measured; the seeded target forwards every stream twice', async () => {
    expect(recording.packets.length).toBeGreaterThan(30);
    const plain = await call(t.plain!);
    const seeded = await call(t.seeded!);
    for (const [name, r] of [['plain', plain], ['seeded', seeded]] as const) {
      process.stderr.write(`[sfu-synthetic] ${name}: ${JSON.stringify({ ...r, generatorCpu: +r.generatorCpu.toFixed(3), workerCpu: r.workerCpu && +r.workerCpu.toFixed(3) })}\n`);
      expect(r.errors, name).toEqual([]);
      expect(r.consumers, name).toBe(RECEIVERS);
      expect(r.silentConsumers, name).toBe(0);
      // 5 s of a 15 fps stream per consumer.
      expect(r.packets / r.consumers, name).toBeGreaterThan(60);
      expect(r.loss!, name).toBeLessThan(0.01);
      expect(r.jitterP95Ms!, name).toBeLessThan(30);
      expect(r.delaySamples / r.consumers, name).toBeGreaterThan(50);
      expect(r.delayP95Ms!, name).toBeLessThan(50);
      expect(r.delayP50Ms!, name).toBeGreaterThanOrEqual(0);
      // Each consumer's resume asks the sender for a keyframe (RTCP PLI / FIR, read through SRTCP).
      expect(r.keyframeRequests, name).toBeGreaterThan(0);
    }
    // Nothing but the consumers' own streams on the plain target; a hidden twin of each on the seeded one.
    expect(plain.unannouncedRatio).toBeLessThan(0.05);
    expect(seeded.unannouncedRatio).toBeGreaterThan(0.8);
    expect(seeded.unannouncedRatio).toBeLessThan(1.2);
  });
});
