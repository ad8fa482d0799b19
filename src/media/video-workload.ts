/**
 * The `video` workload: browser participants in one SecureConnect call, run by the experiment runner
 * beside (or instead of) k6 workloads. Each participant is a page of one headless Chromium (fake camera and
 * microphone, run inside the lab's network namespace when there is one) with its REST session and
 * signaling socket in Node: `mesh` (mesh-participant.ts: one RTCPeerConnection per pair, offer/answer
 * relayed by the server) or `sfu` (sfu-participant.ts: mediasoup-client speaking the reference target's SFU
 * extension on the same socket; the call initiated with `topology: "sfu"`). The call: the first participant initiates it with the
 * others as callees, each joins in turn (`staggerS`); once every participant sees every other (or 20 s
 * passed), `extraAfterS` later the extra participants try to join — a 5th of a 4-person mesh. Late joiners
 * (`lateJoin`, mesh) join at a set time from the first join, during a fault say: their own TURN credentials, the
 * join, the socket, then what comes first within the budget (late-join.ts); probe `video_join_late`.
 *
 * Output, in workloads/<id>/ as a k6 workload's: samples.csv (gzipped at the end; k6's CSV format, metric-kinds.json beside it: what each participant
 * sees, per second and per remote track — video-stats.ts — plus each join's attempt and outcome as the
 * probes write them, probes `video_join` / `video_join_extra`; and at the end, per stage, each remote video track's average fps
 * and share of time frozen — StreamSummary), and k6.log (the workload's log, with
 * SC_PROBE_SETUP lines when the call could not be set up through the API). Media samples carry `stage`:
 * `joining`, `full` (the call is up), `extra` (from the extra participants' first attempt); a late joiner's own are
 * `late`. Whether media flows between the others, per poll, is sc_video_receiving (media-flow.ts).
 *
 * Bounded: the load lasts durationS from the first join; every request, page call and socket open has its
 * own timeout; the browser, pages, sockets and page server are closed on success, failure and abort.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sample } from '../results/model.js';
import type { OutcomeClass } from '../../scenarios/lib/outcomes.ts';
import { redact, registerSecret } from '../util/redact.js';
import { launchChromium, type ChromiumSession } from './chromium.js';
import { bundleForBrowser } from './page-bundle.js';
import { startPageServer, type PageServer } from './page-server.js';
import { CallApi, classifyJoin, type ApiAnswer, type CallUser } from './call-api.js';
import { MeshParticipant } from './mesh-participant.js';
import { SfuJoinError, SfuParticipant } from './sfu-participant.js';
import type { MeshPageConfig } from './mesh-protocol.js';
import { SampleWriter } from './sample-writer.js';
import { StreamSummary, VIDEO_METRICS, VideoStatsConverter } from './video-stats.js';
import { VIDEO_PROBES, participantLabels, probesOf, type VideoOptions } from './video-spec.js';
import { MediaFlow } from './media-flow.js';
import { classifyLateJoin, type LateJoinTrace } from './late-join.js';
import { processTreeCpuSeconds } from './process-cpu.js';
import { WORKLOAD_FILES } from '../experiment/history.js';
import { captureFrame } from './frame-capture.js';
import { FRAME_FILES, FrameStore } from './frame-store.js';
import type { Page } from 'puppeteer-core';

export interface VideoWorkloadOptions {
  id: string;
  video: VideoOptions;
  /** Length of the load, from the first join. */
  durationS: number;
  /** The gateway (register, conversations, initiate, end). */
  baseUrl: string;
  /** video-service itself (join, TURN credentials, the signaling socket). */
  videoUrl: string;
  /** The allowed Origin the sockets and requests present (default http://localhost:3000, as the k6 scenarios). */
  origin?: string;
  /** workloads/<id>/ of the run. */
  outDir: string;
  /** Runs Chromium inside the lab's namespace (`ip netns exec NS`); empty on loopback. */
  chromiumPrefix: readonly string[];
  /** Where Chromium reaches the page server: the host end of the lab's veth, or 127.0.0.1. */
  pageHost: string;
  /** Tags on every sample (the runner's `workload`). */
  tags: Record<string, string>;
  /**
   * When to take a picture of what each participant receives (epoch ms; the runner gives the planned phases'
   * middles once the run's clock has started): frame-store.ts, for the report's filmstrip. None when absent.
   */
  captureAt?: () => readonly number[];
  /** When the run's clock ends (epoch ms; 0 until it started): the call goes on to it, if later than durationS from its first join. */
  endsAt?: () => number;
  signal: AbortSignal;
}

export interface VideoWorkloadResult {
  /** null: it ran to its end (or was stopped); else why the workload itself could not run (no browser…). */
  failure: string | null;
  samples: number;
  /** The browser's CPU per participant over the load, in % of one core (null when not measured). */
  cpuPercentPerParticipant: number | null;
}


const DEFAULT_ORIGIN = 'http://localhost:3000';
/** The call counts as up at the latest this long after the last join. */
const UP_TIMEOUT_MS = 20_000;
const POLL_MS = 1_000;
/** The participant page of each topology. */
export const PAGES = {
  mesh: { html: '<!doctype html><meta charset="utf-8"><title>mesh participant</title><body><script src="/page.js"></script></body>', entry: fileURLToPath(new URL('./browser/mesh-page.ts', import.meta.url)) },
  sfu: { html: '<!doctype html><meta charset="utf-8"><title>sfu participant</title><body><script src="/page.js"></script></body>', entry: fileURLToPath(new URL('./browser/sfu-call-page.ts', import.meta.url)) },
} as const;

type Participant = MeshParticipant | SfuParticipant;
export const CHROMIUM_ARGS = ['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'];

type Stage = 'joining' | 'full' | 'extra' | 'late';
/** How often a late joiner's watch looks at what it got. */
const LATE_WATCH_MS = 200;

/** A page's ICE servers from TURN credentials: the UDP URLs when there are any (the relay under test is UDP). */
function iceServersOf(c: { urls: string[]; username: string; credential: string }): MeshPageConfig['iceServers'] {
  const udp = c.urls.filter((u) => u.includes('transport=udp'));
  return [{ urls: udp.length ? udp : c.urls, username: c.username, credential: c.credential }];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export async function runVideoWorkload(o: VideoWorkloadOptions): Promise<VideoWorkloadResult> {
  const v = o.video;
  const origin = o.origin ?? DEFAULT_ORIGIN;
  const logPath = join(o.outDir, WORKLOAD_FILES.log);
  writeFileSync(logPath, '');
  const log = (l: string) => appendFileSync(logPath, `${new Date().toISOString()} ${redact(l)}\n`);
  const writer = new SampleWriter(join(o.outDir, WORKLOAD_FILES.samplesLive), join(o.outDir, WORKLOAD_FILES.samples), join(o.outDir, WORKLOAD_FILES.metricKinds), VIDEO_METRICS);
  const write = (s: Sample[]) => {
    try {
      writer.write(s);
    } catch (e) {
      log(`samples: ${errorText(e)}`);
    }
  };
  const api = new CallApi(o.baseUrl, o.videoUrl, origin, o.signal);
  const lateCount = v.lateJoin?.count ?? 0;
  const total = v.participants + v.extra + lateCount;
  const labels = participantLabels(v);
  const result: VideoWorkloadResult = { failure: null, samples: 0, cpuPercentPerParticipant: null };
  const cleanups: (() => Promise<void>)[] = [];
  const people: Participant[] = [];
  const pages = new Map<Participant, Page>();
  let callId: string | null = null;
  let caller: CallUser | null = null;

  try {
    // ---- the call's accounts and conversation, through the API (a failure here: its probes could not set up)
    let users: CallUser[];
    let conversationId: string;
    let iceServers: MeshPageConfig['iceServers'] = [];
    try {
      users = await Promise.all(labels.map((l) => api.register(l)));
      conversationId = await api.conversation(users[0]!, users);
      if (v.turn === 'api') {
        iceServers = iceServersOf(await api.turnCredentials(users[0]!));
      } else if (v.turn !== 'none') {
        const credential = v.turn.credential ?? process.env[v.turn.credentialEnv ?? ''];
        if (!credential) throw new Error(`the static TURN credential: ${v.turn.credentialEnv} is not set`);
        registerSecret(credential);
        iceServers = [{ urls: v.turn.urls, username: v.turn.username, credential }];
      }
    } catch (e) {
      const reason = `the call could not be set up through the API: ${errorText(e)}`;
      for (const p of probesOf(v)) log(`SC_PROBE_SETUP ${JSON.stringify({ probe: p, ok: false, reason })}`);
      return result;
    }
    for (const p of probesOf(v)) log(`SC_PROBE_SETUP ${JSON.stringify({ probe: p, ok: true })}`);
    const labelOf = new Map(users.map((u, i) => [u.userId, labels[i]!]));
    // An SFU page reports its two transports as `sfu-send` / `sfu-recv` beside the remote participants.
    const trackOf = (id: string) => labelOf.get(id) ?? (id.startsWith('sfu-') ? id : 'unknown');

    // ---- the browser and the participants' pages
    const page = PAGES[v.topology];
    const bundle = await bundleForBrowser(page.entry);
    const server: PageServer = await startPageServer({
      host: o.pageHost,
      assets: {
        '/': { contentType: 'text/html; charset=utf-8', body: page.html },
        '/page.js': { contentType: 'text/javascript; charset=utf-8', body: bundle },
        '/favicon.ico': { contentType: 'image/x-icon', body: '' },
      },
    });
    cleanups.push(() => server.close());
    const loopback = /^(127\.|localhost$|::1$)/.test(o.pageHost);
    // getUserMedia needs a secure context; plain http is one only on loopback.
    const chromium: ChromiumSession = await launchChromium({
      ...(o.chromiumPrefix.length ? { netnsPrefix: o.chromiumPrefix } : {}),
      extraArgs: [...CHROMIUM_ARGS, ...(loopback ? [] : [`--unsafely-treat-insecure-origin-as-secure=${server.url}`])],
    });
    cleanups.push(() => chromium.close());
    log(`chromium ${await chromium.browser.version()}; page ${server.url}; ${v.topology} call of ${v.participants} participants + ${v.extra} extra${lateCount ? ` + ${lateCount} late at ${v.lateJoin!.atS} s` : ''}, ice ${v.icePolicy}, camera ${v.camera.width}x${v.camera.height}@${v.camera.fps}`);
    const firstLate = v.participants + v.extra;
    for (let i = 0; i < total; i++) {
      if (o.signal.aborted) return result;
      const tab = await chromium.browser.newPage();
      const p = v.topology === 'sfu' ? new SfuParticipant(labels[i]!, users[i]!, tab, log) : new MeshParticipant(labels[i]!, users[i]!, tab, log);
      people.push(p);
      pages.set(p, tab);
      // A late joiner asks for its own TURN credentials when it joins.
      await p.open(`${server.url}/`, { selfId: users[i]!.userId, iceServers: i >= firstLate && v.turn === 'api' ? [] : iceServers, icePolicy: v.icePolicy, camera: v.camera, audio: v.audio });
    }
    const late = new Set(people.slice(firstLate));
    const browserPid = chromium.browser.process()?.pid;

    // ---- the load: joins on schedule, one poll a second
    const startMs = Date.now();
    // At least durationS from the first join; to the run clock's end when the runner says (the call then lasts as
    // long as the load that started last, whose start started the clock).
    let endMs = startMs + o.durationS * 1000;
    const cpuStart = browserPid ? processTreeCpuSeconds(browserPid) : 0;
    let stage: Stage = 'joining';
    const converters = new Map<Participant, VideoStatsConverter>();
    const seen = new Map<Participant, Set<string>>();
    const summary = new StreamSummary();
    const flow = new MediaFlow();
    /** Per participant: its first decoded frame from anyone, its first ICE failure, the TURN notices already written. */
    const observed = new Map<Participant, { mediaAtMs?: number; iceFailedAtMs?: number; notices: number }>();
    const tags = (p: Participant) => ({ ...o.tags, topology: v.topology, participant: p.label });

    const attempt = async (p: Participant, probe: string, call: () => Promise<ApiAnswer>): Promise<boolean> => {
      p.joinStartMs = Date.now();
      write([{ metric: 'sc_attempt', time: p.joinStartMs, value: 1, tags: { ...tags(p), probe } }]);
      const a = await call();
      // Stopped mid-request: the run's end cut it off, the target said nothing (no outcome, as k6 would leave it).
      if (o.signal.aborted) return false;
      let cls: OutcomeClass = classifyJoin(a);
      let connected = false;
      if (cls === 'served' && probe === VIDEO_PROBES.initiateExtra) {
        // A call of everyone was started: end it, it is not the call under test.
        const id = /"CallID":"([^"]+)"/.exec(JSON.stringify(a.json))?.[1];
        if (id) await api.end(p.user, id);
      } else if (cls === 'served') {
        try {
          if (probe === VIDEO_PROBES.join && p === people[0]) {
            callId = CallApi.callIdOf(a);
            caller = p.user;
          }
          await p.connect(api.signalingUrl(callId!), origin);
          connected = true;
          const me = p;
          converters.set(p, new VideoStatsConverter(tags(p), trackOf, (id) => Math.max(me.joinStartMs, people.find((q) => q.user.userId === id)?.joinStartMs ?? 0)));
          seen.set(p, new Set());
          write([{ metric: 'sc_call_join_latency', time: p.joinStartMs, value: p.connectedAtMs - p.joinStartMs, tags: { ...tags(p), probe } }]);
        } catch (e) {
          // Joined over REST, but the socket refused (or the SFU never let it in): the join did not work.
          log(`[${p.label}] ${errorText(e)}`);
          cls = e instanceof SfuJoinError ? (e.timedOut ? 'hang' : 'server-error') : 'network-error';
        }
      }
      log(`[${p.label}] ${probe}: ${a.status === 0 ? a.error : `HTTP ${a.status}`} in ${Math.round(a.durationMs)} ms → ${cls}${a.status >= 400 ? ` ${JSON.stringify(a.json)?.slice(0, 200)}` : ''}`);
      write([
        { metric: 'sc_outcome', time: p.joinStartMs, value: 1, tags: { ...tags(p), probe, class: cls } },
        { metric: 'sc_call_join_status', time: p.joinStartMs, value: a.status, tags: { ...tags(p), probe } },
      ]);
      return connected;
    };

    // ---- pictures of what each participant receives, at the times the runner asks (one capture at a time, beside the polls)
    const frames = new FrameStore(o.outDir);
    const taken = new Set<number>();
    let capturing: Promise<void> = Promise.resolve();
    const captureDue = (inCall: readonly Participant[]) => {
      const due = (o.captureAt?.() ?? []).filter((t) => t <= Date.now() && !taken.has(t));
      if (due.length === 0 || inCall.length === 0) return;
      for (const t of due) taken.add(t);
      capturing = capturing.then(async () => {
        await Promise.all(inCall.map(async (p) => {
          const tab = pages.get(p);
          if (!tab || tab.isClosed()) return;
          try {
            const f = await captureFrame(tab);
            if (f) frames.add({ atMs: f.atMs, participant: p.label, width: f.width, height: f.height, tiles: f.tiles.map((x) => ({ track: trackOf(x.peer), frozen: x.frozen })) }, f.jpeg);
          } catch (e) {
            log(`[${p.label}] frame: ${errorText(e)}`);
          }
        }));
      });
    };

    let scheduleDone = false;
    const schedule = (async () => {
      const members = people.slice(0, v.participants);
      for (const [i, p] of members.entries()) {
        if (o.signal.aborted || Date.now() >= endMs) return;
        if (i > 0) await sleep(v.staggerS * 1000, o.signal);
        if (i === 0) await attempt(p, VIDEO_PROBES.join, () => api.initiate(p.user, conversationId, members.slice(1).map((m) => m.user), v.topology));
        else if (callId) await attempt(p, VIDEO_PROBES.join, () => api.join(p.user, callId!));
        // The initiate was refused: there is no call to join, so no other attempt to wait for.
        if (!callId) break;
      }
      // Up: every connected participant sees every other, or UP_TIMEOUT_MS after the last join. Every join is
      // answered by now: with nobody in the call, nobody will come to see (the load then ends at its next poll).
      const joinedAt = Date.now();
      while (converters.size > 0 && !o.signal.aborted && Date.now() < endMs && Date.now() - joinedAt < UP_TIMEOUT_MS) {
        const inCall = [...converters.keys()];
        if (inCall.length > 0 && inCall.every((p) => (seen.get(p)?.size ?? 0) >= inCall.length - 1)) break;
        await sleep(250, o.signal);
      }
      stage = 'full';
      log(`call up after ${Date.now() - startMs} ms (${converters.size} of ${v.participants} in the call)`);
      if (v.extra === 0 || !callId) return;
      await sleep(v.extraAfterS * 1000, o.signal);
      const first = people[v.participants];
      if (v.initiateOverLimit && first && !o.signal.aborted && Date.now() < endMs) {
        stage = 'extra';
        await attempt(first, VIDEO_PROBES.initiateExtra, () => api.initiate(first.user, conversationId, people.filter((q) => q !== first).map((q) => q.user), v.topology));
      }
      for (const [i, p] of people.slice(v.participants).entries()) {
        if (o.signal.aborted || Date.now() >= endMs) return;
        if (i > 0) await sleep(v.staggerS * 1000, o.signal);
        stage = 'extra';
        await attempt(p, VIDEO_PROBES.extra, () => api.join(p.user, callId!));
      }
    })().catch((e: unknown) => log(`schedule: ${errorText(e)}`)).finally(() => {
      scheduleDone = true;
    });

    const lateAttempt = async (p: Participant): Promise<void> => {
      if (!(p instanceof MeshParticipant) || !v.lateJoin) return;
      // No call to join (its initiate failed): no attempt either, the call's own probes say why.
      if (!callId) return log(`[${p.label}] late join: no call to join`);
      const probe = VIDEO_PROBES.late;
      const startAt = (p.joinStartMs = Date.now());
      write([{ metric: 'sc_attempt', time: startAt, value: 1, tags: { ...tags(p), stage: 'late', probe } }]);
      const trace: LateJoinTrace = { startMs: startAt };
      let status = 0;
      const refuse = (answer: ApiAnswer) => {
        trace.refused = { answer, atMs: Date.now() };
        status = answer.status;
      };
      if (v.turn === 'api') {
        const a = await api.turnAnswer(p.user);
        if (a.status !== 200) refuse(a);
        else {
          try {
            await p.setIceServers(iceServersOf(CallApi.turnOf(a)));
          } catch (e) {
            // Credentials it cannot use (an answer not as the API has it), or a page that does not answer.
            refuse({ ...a, error: errorText(e) });
          }
        }
      }
      if (!trace.refused) {
        const a = await api.join(p.user, callId);
        status = a.status;
        if (classifyJoin(a) !== 'served') refuse(a);
        else {
          try {
            await p.connect(api.signalingUrl(callId), origin);
            const me = p;
            converters.set(p, new VideoStatsConverter({ ...tags(p), stage: 'late' }, trackOf, (id) => Math.max(me.joinStartMs, people.find((q) => q.user.userId === id)?.joinStartMs ?? 0)));
            seen.set(p, new Set());
            write([{ metric: 'sc_call_join_latency', time: startAt, value: p.connectedAtMs - startAt, tags: { ...tags(p), stage: 'late', probe } }]);
          } catch (e) {
            refuse({ status: 0, json: null, durationMs: Date.now() - startAt, error: errorText(e) });
          }
        }
      }
      // Watch until something comes (bounded by the watch and the load's end).
      const until = Math.min(startAt + v.lateJoin.watchS * 1000, endMs);
      while (!trace.refused && !o.signal.aborted && Date.now() < until) {
        const notice = p.turnNotices.find((n) => n.state === 'unavailable' && n.atMs >= startAt);
        if (notice) trace.turnUnavailableAtMs = notice.atMs;
        const seenNow = observed.get(p);
        if (seenNow?.mediaAtMs !== undefined) trace.mediaAtMs = seenNow.mediaAtMs;
        if (seenNow?.iceFailedAtMs !== undefined) trace.iceFailedAtMs = seenNow.iceFailedAtMs;
        if (notice || seenNow?.mediaAtMs !== undefined || seenNow?.iceFailedAtMs !== undefined) break;
        await sleep(LATE_WATCH_MS, o.signal);
      }
      if (o.signal.aborted) return;
      const out = classifyLateJoin(trace, v.lateJoin.budgetS * 1000);
      log(`[${p.label}] ${probe}: ${out.how}${out.afterMs !== null ? ` after ${out.afterMs} ms` : ` within ${Math.round((Date.now() - startAt) / 1000)} s`} → ${out.cls}${trace.refused ? ` (HTTP ${trace.refused.answer.status}${trace.refused.answer.error ? ` ${trace.refused.answer.error}` : ''} ${JSON.stringify(trace.refused.answer.json)?.slice(0, 200)})` : ''}`);
      const t = { ...tags(p), stage: 'late', probe };
      write([
        { metric: 'sc_outcome', time: startAt, value: 1, tags: { ...t, class: out.cls } },
        { metric: 'sc_call_join_status', time: startAt, value: status, tags: t },
        ...(out.afterMs !== null ? [{ metric: 'sc_video_join_settled', time: startAt, value: out.afterMs, tags: { ...t, how: out.how } }] : []),
      ]);
    };
    const lateJoins = (async () => {
      if (!v.lateJoin) return;
      await sleep(startMs + v.lateJoin.atS * 1000 - Date.now(), o.signal);
      for (const [i, p] of [...late].entries()) {
        if (o.signal.aborted || Date.now() >= endMs) return;
        if (i > 0) await sleep(v.staggerS * 1000, o.signal);
        await lateAttempt(p);
      }
    })().catch((e: unknown) => log(`late join: ${errorText(e)}`));

    for (let tick = 1; !o.signal.aborted && Date.now() < (endMs = Math.max(endMs, o.endsAt?.() ?? 0)); tick++) {
      await sleep(startMs + tick * POLL_MS - Date.now(), o.signal);
      if (scheduleDone && converters.size === 0) {
        // Every join was tried and nobody is in the call (refused): nothing left to watch.
        log('nobody got into the call: the load ends here');
        break;
      }
      const inCall = [...converters.entries()];
      captureDue(inCall.map(([p]) => p));
      const snaps = await Promise.all(inCall.map(([p]) => p.snapshot()));
      const now: Stage = stage;
      const cohort = inCall.filter(([p]) => !late.has(p)).map(([p]) => p.label);
      inCall.forEach(([p, c], i) => {
        const s = snaps[i];
        if (!s) return;
        const st: Stage = late.has(p) ? 'late' : now;
        for (const peer of s.peers) if (peer.firstFrameAtMs !== null) seen.get(p)?.add(peer.peer);
        let ob = observed.get(p);
        if (!ob) observed.set(p, (ob = { notices: 0 }));
        for (const peer of s.peers) if (peer.firstFrameAtMs !== null) ob.mediaAtMs = Math.min(ob.mediaAtMs ?? Infinity, peer.firstFrameAtMs);
        for (const e of s.events) if (e.what === 'ice' && e.state === 'failed') ob.iceFailedAtMs ??= e.atMs;
        const out = c.convert(s, { stage: st });
        summary.add(p.label, s.atMs, out, { ...tags(p), stage: st });
        write(out);
        if (!late.has(p)) write(flow.poll(p.label, s.atMs, cohort.filter((l) => l !== p.label), out, { ...tags(p), stage: st }));
        if (p instanceof MeshParticipant) {
          const fresh = p.turnNotices.slice(ob.notices);
          ob.notices += fresh.length;
          write(fresh.map((n) => ({ metric: 'sc_video_turn_notice', time: n.atMs, value: 1, tags: { ...tags(p), stage: st, state: n.state } })));
        }
      });
    }
    await schedule;
    await lateJoins;
    await capturing;
    if (frames.count) log(`${frames.count} pictures of what the participants received (${FRAME_FILES.index}, ${FRAME_FILES.dir}/)`);
    write(summary.samples());
    if (browserPid) {
      const cpu = processTreeCpuSeconds(browserPid) - cpuStart;
      const wall = (Date.now() - startMs) / 1000;
      result.cpuPercentPerParticipant = Math.round((cpu / wall / Math.max(1, total)) * 1000) / 10;
      log(`browser CPU ${cpu.toFixed(1)} s over ${wall.toFixed(1)} s for ${total} pages: ${result.cpuPercentPerParticipant} % of a core per participant`);
    }
  } catch (e) {
    result.failure = `video workload: ${errorText(e)}`;
    log(result.failure);
  } finally {
    for (const p of people) await p.close();
    if (callId && caller) await api.end(caller, callId).catch(() => undefined);
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => log(`cleanup: ${errorText(e)}`));
    await writer.close().catch((e: unknown) => log(`samples: ${errorText(e)}`));
    result.samples = writer.count;
  }
  return result;
}
