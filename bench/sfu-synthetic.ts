/**
 * Benchmark (not a test): what synthetic SFU participants cost and see. Starts its own lab (`--lab`, default
 * `hsfu`, at `--base-port`, only Redis, PostgreSQL and coturn: what auth and video need) unless one of that name is up, a
 * hardened reference target with one mediasoup worker (and, with --seeded, a second one with the seeded slowdown
 * SC_SWITCH_SFU_DUPLICATE_CONSUMERS=on), records the fake camera once if the cache has no recording, then for each
 * receiver count holds a webinar-shaped call (--senders synthetic senders replaying the recording, N synthetic receivers)
 * and prints: consumers, the generator's CPU per consumer, the SFU worker's CPU per consumer, loss, jitter,
 * forwarding delay. Stops its targets, and the lab it started (unless --keep).
 *
 *   flock /tmp/sch-heavy.lock npx tsx bench/sfu-synthetic.ts [--lab hsfu --base-port 32000] [--senders 1] [--receivers 4,16] [--seconds 6] [--seeded] [--record] [--keep]
 */
import { Lab } from '../src/lab/lab.js';
import { startTarget, type RunningTarget } from '../src/lab/target.js';
import { CallApi, type CallUser } from '../src/media/call-api.js';
import { recordCamera, startCameraPage } from '../src/media/camera-recorder.js';
import { loadRecording, saveRecording, RECORDING_FILE } from '../src/media/rtp-recording.js';
import { runSyntheticCall } from '../src/bench/synthetic-call.js';
import { workerCpuSeconds } from '../src/bench/sfu-worker-cpu.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const LAB = arg('lab', 'hsfu');
const RECEIVERS = arg('receivers', '4,16').split(',').map(Number);
const SECONDS = Number(arg('seconds', '6'));
const SENDERS = Number(arg('senders', '1'));
const log = (l: string) => process.stderr.write(`${l}\n`);

const attached = await Lab.attach(LAB);
const lab = attached ?? await Lab.up({ name: LAB, basePort: Number(arg('base-port', '32000')), only: ['redis', 'postgres', 'coturn'], onProgress: (l) => log(`[lab] ${l}`) });
const page = await startCameraPage(lab);
const env = { RATE_LIMIT_PER_MINUTE: '1000000', CORS_ALLOWED_ORIGINS: page.url, SFU_WORKERS: '1', SFU_WEBRTC_SERVER: 'on' };
const targets: { name: string; t: RunningTarget }[] = [];
try {
  targets.push({ name: 'unseeded', t: await startTarget(lab, { profile: 'hardened', portBase: 60, instance: 'sfb', services: ['auth', 'video', 'gateway'], env }) });
  if (process.argv.includes('--seeded')) {
    targets.push({ name: 'seeded', t: await startTarget(lab, { profile: 'hardened', portBase: 70, instance: 'sfs', services: ['auth', 'video', 'gateway'], env: { ...env, SC_SWITCH_SFU_DUPLICATE_CONSUMERS: 'on' } }) });
  }
  const first = targets[0]!.t;
  let recording = process.argv.includes('--record') ? null : loadRecording();
  if (!recording) {
    log('recording the fake camera (320x180@15) through the SFU…');
    recording = await recordCamera({ lab, page, baseUrl: first.baseUrl, videoUrl: first.serviceUrls.video, seconds: 8, width: 320, height: 180, fps: 15, log });
    saveRecording(recording);
  }
  const bytes = recording.packets.reduce((n, p) => n + Buffer.from(p.payload, 'base64').length, 0);
  const span = recording.packets.at(-1)!.atMs / 1000;
  log(`recording ${RECORDING_FILE}: ${recording.packets.length} packets, ${span.toFixed(1)} s, ${((bytes * 8) / span / 1000).toFixed(0)} kbit/s, keyframes ${recording.packets.filter((p) => p.keyframe).length} (${recording.source})`);
  for (const { name, t } of targets) {
    const api = new CallApi(t.baseUrl, t.serviceUrls.video, page.url);
    const videoPid = t.processes.find((p) => p.name.startsWith('target-video'))!.pid;
    const users: CallUser[] = [];
    for (let i = 0; i < Math.max(...RECEIVERS) + SENDERS; i++) users.push(await api.register(`b${i}`));
    for (const n of RECEIVERS) {
      const r = await runSyntheticCall({
        api, origin: page.url, recording, users, warmupS: 2, seconds: SECONDS, log,
        participants: [...Array.from({ length: SENDERS }, () => ({ send: true, receive: false })), ...Array.from({ length: n }, () => ({ send: false, receive: true }))],
        workerCpuSeconds: () => [...workerCpuSeconds(videoPid).values()].reduce((a, b) => a + b, 0),
      });
      const per = (x: number | null) => (x === null || r.consumers === 0 ? 'n/a' : `${((x / r.consumers) * 100).toFixed(2)} %`);
      process.stdout.write(`${name} senders=${SENDERS} receivers=${n} consumers=${r.consumers} silent=${r.silentConsumers} packets=${r.packets} loss=${r.loss === null ? 'n/a' : (r.loss * 100).toFixed(2)}% `
        + `jitter p95=${r.jitterP95Ms?.toFixed(1)} ms delay p50/p95=${r.delayP50Ms?.toFixed(1)}/${r.delayP95Ms?.toFixed(1)} ms (${r.delaySamples}) `
        + `generator=${(r.generatorCpu * 100).toFixed(1)} % (${per(r.generatorCpu)}/consumer) worker=${r.workerCpu === null ? 'n/a' : `${(r.workerCpu * 100).toFixed(1)} %`} (${per(r.workerCpu)}/consumer) `
        + `unannounced=${r.unannouncedPackets} (${(r.unannouncedRatio * 100).toFixed(0)} %) keyframe requests=${r.keyframeRequests} errors=${r.errors.length ? r.errors.join(' | ') : 0}\n`);
    }
  }
} finally {
  for (const { t } of targets) await t.stop();
  await page.close();
  if (!attached && !process.argv.includes('--keep')) await Lab.down(LAB);
}
