/**
 * The SFU a capacity benchmark measures. Embedded: the reference target's auth, video and gateway services in a
 * lab (one the benchmark starts — Redis, PostgreSQL and coturn only — or one already up), one mediasoup worker
 * whose transports share one UDP port (SFU_WEBRTC_SERVER), pinned to a core of its own; its CPU read from /proc.
 * External: a deployment that serves the SFU extension, reached at its gateway and video service; its worker's
 * CPU cannot be read from here (the worker-CPU budget is then not judged, and the report says so).
 */
import { Lab } from '../lab/lab.js';
import { startTarget, type RunningTarget } from '../lab/target.js';
import { CallApi } from '../media/call-api.js';
import { recordCamera, startCameraPage } from '../media/camera-recorder.js';
import type { PageServer } from '../media/page-server.js';
import { loadRecording, saveRecording, type Recording } from '../media/rtp-recording.js';
import { pinWorker, type Pinning } from './cpu-pinning.js';
import { readWorker, workerCpuSeconds, type WorkerReading } from './sfu-worker-cpu.js';
import type { ReferenceProfile } from '../util/profiles.js';

export interface BenchTargetOptions {
  /** Embedded: the lab's name and base port (a lab of that name already up is used as it is). */
  lab?: { name: string; basePort: number; keep: boolean };
  profile?: ReferenceProfile;
  env?: Record<string, string>;
  /** External: the deployment's gateway and video service, and an Origin it allows. */
  external?: { baseUrl: string; videoUrl: string; origin: string };
  pin: boolean;
  log: (line: string) => void;
}

export interface BenchTarget {
  kind: 'embedded' | 'external';
  api: CallApi;
  origin: string;
  baseUrl: string;
  recording: Recording;
  /** The SFU worker's counters so far (null: not readable). */
  readWorker: () => WorkerReading | null;
  pinning: Pinning | null;
  lab: Lab | null;
  target: RunningTarget | null;
  close(): Promise<void>;
}

const NO_RECORDING = 'no camera recording in .cache/sfu-bench/: run `sch bench sfu` once on the embedded lab, which records it';

export async function openBenchTarget(o: BenchTargetOptions): Promise<BenchTarget> {
  if (o.external) {
    const recording = loadRecording();
    if (!recording) throw new Error(NO_RECORDING);
    const api = new CallApi(o.external.baseUrl, o.external.videoUrl, o.external.origin);
    return { kind: 'external', api, origin: o.external.origin, baseUrl: o.external.baseUrl, recording, readWorker: () => null, pinning: null, lab: null, target: null, close: async () => undefined };
  }
  if (!o.lab) throw new Error('an embedded benchmark needs a lab');
  const attached = await Lab.attach(o.lab.name);
  if (attached) o.log(`lab ${o.lab.name}: already up, used as it is`);
  const lab = attached ?? await Lab.up({ name: o.lab.name, basePort: o.lab.basePort, only: ['redis', 'postgres', 'coturn'], onProgress: (l) => o.log(`[lab] ${l}`) });
  let page: PageServer | null = null;
  let target: RunningTarget | null = null;
  let pinning: Pinning | null = null;
  const close = async () => {
    await pinning?.restore();
    await target?.stop();
    await page?.close();
    if (!attached && !o.lab!.keep) await Lab.down(o.lab!.name);
  };
  try {
    page = await startCameraPage(lab);
    // A lab of its own: the SFU may use the lab's whole RTC range (the seeded slowdown's sinks take two ports a room).
    const rtc: Record<string, string> = attached ? {} : { RTC_MIN_PORT: String(lab.ports.rtc.min), RTC_MAX_PORT: String(lab.ports.rtc.max) };
    target = await startTarget(lab, {
      profile: o.profile ?? 'hardened', instance: 'bench', portBase: 90, services: ['auth', 'video', 'gateway'],
      env: { RATE_LIMIT_PER_MINUTE: '1000000', CORS_ALLOWED_ORIGINS: page.url, SFU_WORKERS: '1', SFU_WEBRTC_SERVER: 'on', ...rtc, ...o.env },
    });
    const videoPid = target.processes.find((p) => p.name.startsWith('target-video'))!.pid;
    let recording = loadRecording();
    if (!recording) {
      o.log('recording the fake camera (320x180@15, 8 s) through the SFU, once (cached in .cache/sfu-bench/)…');
      recording = await recordCamera({ lab, page, baseUrl: target.baseUrl, videoUrl: target.serviceUrls.video, seconds: 8, width: 320, height: 180, fps: 15, log: o.log });
      saveRecording(recording);
    }
    const workers = () => [...workerCpuSeconds(videoPid).keys()];
    if (o.pin) {
      pinning = await pinWorker(workers(), [...lab.state.processes.map((p) => p.pid), process.pid]);
      o.log(pinning ? `pinned: the SFU worker on core ${pinning.workerCore}, the lab, the target and this generator on ${pinning.otherCores}` : 'not pinned: a single core');
    }
    const t = target;
    return {
      kind: 'embedded', api: new CallApi(t.baseUrl, t.serviceUrls.video, page.url), origin: page.url, baseUrl: t.baseUrl, recording,
      readWorker: () => readWorker(videoPid, pinning?.workerCore ?? null),
      pinning, lab, target, close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
