/**
 * Records what synthetic senders replay: Chromium's fake camera (browser/camera-page.ts, one mediasoup-client
 * producer) sent through the target's SFU to a synthetic recorder, which decrypts what it receives (the only
 * synthetic participant that does) from the first keyframe on, for a few seconds. The recording is real VP8 as a
 * browser encodes it, packetized as a browser packetizes it.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { RtpPacket } from 'werift';
import type { Lab } from '../lab/lab.js';
import { HARNESS_ROOT } from '../lab/paths.js';
import { CallApi } from './call-api.js';
import { launchChromium } from './chromium.js';
import { bundleForBrowser } from './page-bundle.js';
import { startPageServer, type PageServer } from './page-server.js';
import { isVp8KeyframeStart, type RecordedPacket, type Recording } from './rtp-recording.js';
import { SyntheticParticipant } from './synthetic-participant.js';
import type { CameraPageConfig } from './browser/camera-page.js';

export interface RecordCameraOptions {
  lab: Lab;
  /** The camera page (startCameraPage); its URL is the origin the target must allow (CORS_ALLOWED_ORIGINS). */
  page: PageServer;
  /** The target's gateway and video-service URLs. */
  baseUrl: string;
  videoUrl: string;
  seconds: number;
  width: number;
  height: number;
  fps: number;
  log?: (line: string) => void;
}

const START_TIMEOUT_MS = 30_000;

/** The camera page, served on the host end of the lab's veth (where Chromium inside the namespace reaches it). */
export async function startCameraPage(lab: Lab): Promise<PageServer> {
  const host = lab.netns?.hostAddress ?? '127.0.0.1';
  const bundle = await bundleForBrowser(join(HARNESS_ROOT, 'src', 'media', 'browser', 'camera-page.ts'));
  return startPageServer({ host, assets: { '/': { contentType: 'text/html', body: '<!doctype html><script src="/client.js"></script>' }, '/client.js': { contentType: 'text/javascript', body: bundle } } });
}

/** Record `seconds` of the camera page's video through the SFU; everything it started is closed (not the page server). */
export async function recordCamera(o: RecordCameraOptions): Promise<Recording> {
  const page = o.page;
  const origin = page.url;
  const api = new CallApi(o.baseUrl, o.videoUrl, origin);
  const callId = randomUUID();
  const got: { atMs: number; packet: RtpPacket }[] = [];
  let recorder: SyntheticParticipant | null = null;
  const chromium = await launchChromium({ netnsPrefix: o.lab.execPrefix, extraArgs: o.lab.netns ? [`--unsafely-treat-insecure-origin-as-secure=${page.url}`] : [] });
  try {
    const [camera, listener] = [await api.register('cam'), await api.register('rec')];
    recorder = new SyntheticParticipant({
      label: 'recorder', userId: listener.userId, token: listener.token, signalingUrl: api.signalingUrl(callId), origin, receive: true, senders: new Map(),
      record: (plain, atMs) => {
        const packet = RtpPacket.deSerialize(plain);
        if (packet.payload.length > 0) got.push({ atMs, packet });
      },
      ...(o.log ? { log: o.log } : {}),
    });
    await recorder.join();
    const tab = await chromium.browser.newPage();
    tab.on('pageerror', (e) => o.log?.(`[camera] page error: ${e instanceof Error ? e.message : String(e)}`));
    await tab.goto(page.url, { waitUntil: 'load', timeout: 20_000 });
    const config: CameraPageConfig = { wsUrl: `${api.signalingUrl(callId)}&token=${encodeURIComponent(camera.token)}`, width: o.width, height: o.height, fps: o.fps };
    await Promise.race([
      tab.evaluate((c) => (window as unknown as { scCamera: { start(c: CameraPageConfig): Promise<void> } }).scCamera.start(c), config),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`the camera page did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS)),
    ]);
    // From the first keyframe on, `seconds` of video (bounded: twice that, plus the start, at most).
    const deadline = Date.now() + START_TIMEOUT_MS + o.seconds * 2000;
    let first = -1;
    while (Date.now() < deadline) {
      first = got.findIndex((g) => isVp8KeyframeStart(g.packet.payload));
      if (first >= 0 && got[got.length - 1]!.atMs - got[first]!.atMs >= o.seconds * 1000) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (first < 0) throw new Error(`no VP8 keyframe arrived from the camera (${got.length} packets)`);
    const kept = got.slice(first);
    const t0 = kept[0]!;
    const packets: RecordedPacket[] = kept.map((g) => ({
      atMs: Math.max(0, g.atMs - t0.atMs),
      ts: (g.packet.header.timestamp - t0.packet.header.timestamp) >>> 0,
      marker: g.packet.header.marker,
      keyframe: isVp8KeyframeStart(g.packet.payload),
      payload: g.packet.payload.toString('base64'),
    }));
    return { version: 1, mimeType: 'video/VP8', clockRate: 90000, source: `Chromium fake camera ${o.width}x${o.height}@${o.fps} through mediasoup, ${o.seconds} s`, packets };
  } finally {
    recorder?.close();
    await chromium.close();
  }
}
