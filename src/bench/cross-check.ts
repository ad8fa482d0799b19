/**
 * Are synthetic participants a fair stand-in for browsers? One conference room (browsers always send, so the
 * cross-check's room is a conference) is held first with Chromium participants (mediasoup-client, the fake
 * camera at the recording's size and rate), then with synthetic ones replaying the recording, on the same SFU;
 * each gives the SFU-side load (consumers, the SFU's video egress in payload kbit/s as received) and receiver
 * loss over the same window. They agree when consumers and egress are within 10 % and loss within 1 percentage
 * point of each other.
 */
import type { Lab } from '../lab/lab.js';
import type { RunningTarget } from '../lab/target.js';
import type { CallApi } from '../media/call-api.js';
import { launchChromium } from '../media/chromium.js';
import type { PageSnapshot } from '../media/mesh-protocol.js';
import { bundleForBrowser } from '../media/page-bundle.js';
import { startPageServer } from '../media/page-server.js';
import type { Recording } from '../media/rtp-recording.js';
import { SfuParticipant } from '../media/sfu-participant.js';
import { CHROMIUM_ARGS, PAGES } from '../media/video-workload.js';
import type { RoomShape } from './room-shape.js';
import { SyntheticStepRunner } from './synthetic-step-runner.js';

export interface CrossCheckSide {
  participants: number;
  consumers: number;
  bitrateOutKbps: number | null;
  loss: number | null;
}

export interface CrossCheckResult {
  browser: CrossCheckSide;
  synthetic: CrossCheckSide;
  agree: boolean;
  note: string;
}

export interface CrossCheckOptions {
  lab: Lab;
  target: RunningTarget;
  api: CallApi;
  origin: string;
  recording: Recording;
  shape: RoomShape;
  windowS: number;
  log: (line: string) => void;
  signal: AbortSignal;
}

const SETTLE_S = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Camera size and rate as the recording says ("… 320x180@15 …"). */
function cameraOf(r: Recording): { width: number; height: number; fps: number } {
  const m = /(\d+)x(\d+)@(\d+)/.exec(r.source);
  return m ? { width: Number(m[1]), height: Number(m[2]), fps: Number(m[3]) } : { width: 320, height: 180, fps: 15 };
}

/** Video inbound counters summed over one page's snapshot. */
function inbound(s: PageSnapshot | null): { bytes: number; received: number; lost: number; streams: number } {
  const v = (s?.peers ?? []).flatMap((p) => p.inbound).filter((i) => i.kind === 'video');
  return { bytes: v.reduce((n, i) => n + i.bytesReceived, 0), received: v.reduce((n, i) => n + i.packetsReceived, 0), lost: v.reduce((n, i) => n + Math.max(0, i.packetsLost), 0), streams: v.length };
}

async function browserSide(o: CrossCheckOptions, participants: number): Promise<CrossCheckSide> {
  const bundle = await bundleForBrowser(PAGES.sfu.entry);
  const host = o.lab.netns?.hostAddress ?? '127.0.0.1';
  const server = await startPageServer({ host, assets: { '/': { contentType: 'text/html; charset=utf-8', body: PAGES.sfu.html }, '/page.js': { contentType: 'text/javascript; charset=utf-8', body: bundle }, '/favicon.ico': { contentType: 'image/x-icon', body: '' } } });
  const loopback = host.startsWith('127.');
  const chromium = await launchChromium({ netnsPrefix: o.lab.execPrefix, extraArgs: [...CHROMIUM_ARGS, ...(loopback ? [] : [`--unsafely-treat-insecure-origin-as-secure=${server.url}`])] });
  const people: SfuParticipant[] = [];
  try {
    const callId = crypto.randomUUID();
    for (let i = 0; i < participants; i++) {
      const user = await o.api.register(`xb${i}`);
      const p = new SfuParticipant(`xb${i}`, user, await chromium.browser.newPage(), o.log);
      people.push(p);
      await p.open(`${server.url}/`, { selfId: user.userId, iceServers: [], icePolicy: 'all', camera: cameraOf(o.recording), audio: false });
      await p.connect(o.api.signalingUrl(callId), o.origin);
    }
    await sleep(SETTLE_S * 1000);
    const a = await Promise.all(people.map((p) => p.snapshot()));
    const t0 = performance.now();
    await sleep(o.windowS * 1000);
    const b = await Promise.all(people.map((p) => p.snapshot()));
    const wallS = (performance.now() - t0) / 1000;
    const before = a.map(inbound);
    const after = b.map(inbound);
    const d = (k: 'bytes' | 'received' | 'lost') => after.reduce((n, x, i) => n + x[k] - before[i]![k], 0);
    const expected = d('received') + d('lost');
    return { participants, consumers: after.reduce((n, x) => n + x.streams, 0), bitrateOutKbps: (d('bytes') * 8) / 1000 / wallS, loss: expected > 0 ? d('lost') / expected : null };
  } finally {
    for (const p of people) await p.close();
    await chromium.close();
    await server.close();
  }
}

async function syntheticSide(o: CrossCheckOptions, participants: number): Promise<CrossCheckSide> {
  const users = [];
  for (let i = 0; i < participants; i++) users.push(await o.api.register(`xs${i}`));
  const runner = new SyntheticStepRunner({ api: o.api, origin: o.origin, recording: o.recording, shape: { kind: 'conference', participants }, users, warmupS: SETTLE_S, windowS: o.windowS, readWorker: () => null, log: o.log });
  try {
    const s = await runner.measure(1);
    return { participants, consumers: s.consumers, bitrateOutKbps: s.payloadOutKbps ?? null, loss: s.loss };
  } finally {
    runner.close();
  }
}

/** Within 10 % of the larger of the two. */
const near = (a: number | null, b: number | null): boolean => a !== null && b !== null && Math.abs(a - b) <= 0.1 * Math.max(a, b);

export function compareSides(browser: CrossCheckSide, synthetic: CrossCheckSide): { agree: boolean; note: string } {
  const consumers = near(browser.consumers, synthetic.consumers);
  const egress = near(browser.bitrateOutKbps, synthetic.bitrateOutKbps);
  const loss = browser.loss !== null && synthetic.loss !== null && Math.abs(browser.loss - synthetic.loss) <= 0.01;
  const kb = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(0)} kbit/s`);
  const pc = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)} %`);
  const note = `browsers: ${browser.consumers} consumers, SFU egress ${kb(browser.bitrateOutKbps)}, loss ${pc(browser.loss)}; synthetic: ${synthetic.consumers} consumers, ${kb(synthetic.bitrateOutKbps)}, loss ${pc(synthetic.loss)} — `
    + [consumers ? 'consumers within 10 %' : 'consumers differ by more than 10 %', egress ? 'egress within 10 %' : 'egress differs by more than 10 %', loss ? 'loss within 1 point' : 'loss differs by more than 1 point'].join(', ');
  return { agree: consumers && egress && loss, note };
}

export async function runCrossCheck(o: CrossCheckOptions): Promise<CrossCheckResult> {
  const participants = o.shape.kind === 'conference' ? Math.min(o.shape.participants, 4) : 3;
  const browser = await browserSide(o, participants);
  if (o.signal.aborted) throw new Error('interrupted');
  const synthetic = await syntheticSide(o, participants);
  return { browser, synthetic, ...compareSides(browser, synthetic) };
}
