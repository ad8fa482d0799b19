/**
 * End-to-end media probe: Chromium (fake camera) -> mediasoup -> Chromium. Proves that the worker
 * binary, DTLS/SRTP, ICE and decoding all work on this host or inside a network namespace.
 *
 *   node --import tsx src/media/sfu-probe.ts [--listen-ip 127.0.0.1] [--announced-ip IP]
 *     [--rtc-min-port 40000 --rtc-max-port 40099] [--chromium-prefix "ip netns exec NS"]
 *     [--page-host 127.0.0.1] [--timeout-ms 30000] [--sample-ms 2000] [--verbose]
 *
 * Prints one JSON line (SfuProbeResult) on stdout; exit 0 when video frames were decoded.
 * The worker binary comes from MEDIASOUP_WORKER_BIN (see scripts/setup.d/50-mediasoup.sh).
 */
import { realpathSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Page } from 'puppeteer-core';
import { launchChromium } from './chromium.js';
import { loadMediasoup } from './mediasoup-loader.js';
import { bundleForBrowser } from './page-bundle.js';
import { startPageServer } from './page-server.js';
import type { PageStats, SelectedCandidatePair, SfuProbePageApi } from './sfu-protocol.js';
import { PROBE_MEDIA_CODECS, SfuRoom } from './sfu-room.js';

export interface SfuProbeOptions {
  /** Address mediasoup listens on; default 127.0.0.1. */
  listenIp?: string;
  /** Address mediasoup announces in its ICE candidates; default listenIp. */
  announcedIp?: string;
  /** UDP port range for mediasoup's transports (both or neither). */
  rtcMinPort?: number;
  rtcMaxPort?: number;
  /** Runs Chromium through this prefix, e.g. "ip netns exec NS". */
  chromiumPrefix?: string | readonly string[];
  /** Address the page server listens on; default 127.0.0.1. */
  pageHost?: string;
  /** Bound on the whole probe, ms; default 30000. */
  timeoutMs?: number;
  /** After the first decoded frame, measure fps over this window, ms; default 2000. */
  sampleMs?: number;
  /** mediasoup-worker binary; default env MEDIASOUP_WORKER_BIN. */
  workerBin?: string;
  /** Aborts the probe (cleanup still runs). */
  signal?: AbortSignal;
  /** Progress and browser console errors; default: discarded. */
  log?: (line: string) => void;
}

export interface SfuProbeResult {
  ok: boolean;
  /** Frames decoded by the consuming page (all inbound video streams except mediasoup's probator). */
  framesDecoded: number;
  /** Decoded frames per second over the sample window (null if not measured). */
  fps: number | null;
  packetsLost: number;
  selectedCandidatePair: SelectedCandidatePair | null;
  /** Best mediasoup producer score (0-10), null if none reported. */
  producerScore: number | null;
  durationMs: number;
  mediasoupVersion: string | null;
  error?: string;
}

const PAGE_HTML = '<!doctype html><meta charset="utf-8"><title>sfu probe</title><body><script src="/sfu-page.js"></script></body>';
const PAGE_ENTRY = fileURLToPath(new URL('./browser/sfu-page.ts', import.meta.url));
const POLL_MS = 250;

// Inside page.evaluate callbacks (serialized, run in the page), `window` is the page's.
type PageWindow = { sfuProbe: SfuProbePageApi };

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Rejects as soon as `signal` aborts, so a hung browser call cannot outlive the timeout. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return abortable(new Promise((r) => setTimeout(r, ms)), signal);
}

/** Inbound video that counts: mediasoup-client's `probator` stream never decodes frames. */
function countedVideo(stats: PageStats): { framesDecoded: number; packetsLost: number } {
  const streams = stats.inboundVideo.filter((s) => s.mid !== 'probator');
  return {
    framesDecoded: streams.reduce((n, s) => n + s.framesDecoded, 0),
    packetsLost: streams.reduce((n, s) => n + s.packetsLost, 0),
  };
}

async function openProbePage(page: Page, url: string, signal: AbortSignal, log: (l: string) => void, name: string): Promise<void> {
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') log(`[${name}] console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => log(`[${name}] page error: ${errorText(e)}`));
  await abortable(page.goto(url, { waitUntil: 'load' }), signal);
  await abortable(page.waitForFunction(() => 'sfuProbe' in window), signal);
}

export async function runSfuProbe(opts: SfuProbeOptions = {}): Promise<SfuProbeResult> {
  const started = performance.now();
  const log = opts.log ?? ((): void => undefined);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const listenIp = opts.listenIp ?? '127.0.0.1';
  const pageHost = opts.pageHost ?? '127.0.0.1';

  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
  const onOuterAbort = (): void => ctl.abort(opts.signal?.reason ?? new Error('aborted'));
  if (opts.signal?.aborted) onOuterAbort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = ctl.signal;

  const cleanups: Array<() => Promise<void> | void> = [];
  const result: SfuProbeResult = {
    ok: false,
    framesDecoded: 0,
    fps: null,
    packetsLost: 0,
    selectedCandidatePair: null,
    producerScore: null,
    durationMs: 0,
    mediasoupVersion: null,
  };

  try {
    if ((opts.rtcMinPort === undefined) !== (opts.rtcMaxPort === undefined)) {
      throw new Error('give both rtcMinPort and rtcMaxPort, or neither');
    }
    if (isIP(listenIp) === 0) throw new Error(`listenIp must be an IP address: ${listenIp}`);

    const mediasoup = await loadMediasoup(opts.workerBin);
    result.mediasoupVersion = mediasoup.version;
    const worker = await abortable(mediasoup.createWorker({ logLevel: 'warn', disableLiburing: true }), signal);
    cleanups.push(() => worker.close());
    worker.on('died', (err: Error) => ctl.abort(new Error(`mediasoup worker died: ${err.message}`)));
    log(`worker pid ${worker.pid} (mediasoup ${mediasoup.version}, ${mediasoup.workerBin})`);

    const router = await abortable(worker.createRouter({ mediaCodecs: PROBE_MEDIA_CODECS }), signal);
    const room = new SfuRoom(router, {
      listenIp,
      ...(opts.announcedIp ? { announcedAddress: opts.announcedIp } : {}),
      ...(opts.rtcMinPort !== undefined && opts.rtcMaxPort !== undefined
        ? { portRange: { min: opts.rtcMinPort, max: opts.rtcMaxPort } }
        : {}),
    });

    const bundle = await abortable(bundleForBrowser(PAGE_ENTRY), signal);
    const server = await abortable(
      startPageServer({
        host: pageHost,
        assets: {
          '/': { contentType: 'text/html; charset=utf-8', body: PAGE_HTML },
          '/sfu-page.js': { contentType: 'text/javascript; charset=utf-8', body: bundle },
          // Chromium asks for it; a 404 would show up as a console error.
          '/favicon.ico': { contentType: 'image/x-icon', body: '' },
        },
        rpc: room.handle,
      }),
      signal,
    );
    cleanups.push(() => server.close());
    log(`page server ${server.url}`);

    // getUserMedia needs a secure context; plain http is one only on loopback.
    const extraArgs = isLoopback(pageHost) ? [] : [`--unsafely-treat-insecure-origin-as-secure=${server.url}`];
    const chromium = await abortable(
      launchChromium({ ...(opts.chromiumPrefix ? { netnsPrefix: opts.chromiumPrefix } : {}), extraArgs }),
      signal,
    );
    cleanups.push(() => chromium.close());
    log(`chromium ${await chromium.browser.version()}`);

    const sender = await abortable(chromium.browser.newPage(), signal);
    const receiver = await abortable(chromium.browser.newPage(), signal);
    await openProbePage(sender, `${server.url}/`, signal, log, 'sender');
    await openProbePage(receiver, `${server.url}/`, signal, log, 'receiver');

    const producerId = await abortable(sender.evaluate(() => (window as unknown as PageWindow).sfuProbe.produceCamera()), signal);
    log(`producer ${producerId}`);
    const consumerId = await abortable(
      receiver.evaluate((id: string) => (window as unknown as PageWindow).sfuProbe.consume(id), producerId),
      signal,
    );
    log(`consumer ${consumerId}`);

    const readStats = async (): Promise<PageStats> => {
      const s = await abortable(receiver.evaluate(() => (window as unknown as PageWindow).sfuProbe.stats()), signal);
      const v = countedVideo(s);
      result.framesDecoded = v.framesDecoded;
      result.packetsLost = v.packetsLost;
      result.selectedCandidatePair = s.selectedCandidatePair ?? result.selectedCandidatePair;
      return s;
    };

    for (;;) {
      await readStats();
      if (result.framesDecoded > 0) break;
      await sleep(POLL_MS, signal);
    }
    log(`first frames decoded after ${Math.round(performance.now() - started)} ms`);

    // Measure fps over a window, leaving room before the deadline for cleanup.
    const remaining = timeoutMs - (performance.now() - started) - 1_000;
    const sampleMs = Math.min(opts.sampleMs ?? 2_000, Math.max(0, remaining));
    if (sampleMs >= 500) {
      const f0 = result.framesDecoded;
      const t0 = performance.now();
      await sleep(sampleMs, signal);
      await readStats();
      result.fps = Math.round(((result.framesDecoded - f0) * 1000 * 10) / (performance.now() - t0)) / 10;
    }

    const producer = room.producers.get(producerId);
    const scores = producer ? producer.score.map((s) => s.score) : [];
    result.producerScore = scores.length > 0 ? Math.max(...scores) : null;
    result.ok = result.framesDecoded > 0;
  } catch (err) {
    result.error = errorText(signal.aborted ? signal.reason : err);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log(`cleanup: ${errorText(err)}`);
      }
    }
    result.durationMs = Math.round(performance.now() - started);
  }
  return result;
}

function intOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${v}"`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'listen-ip': { type: 'string' },
      'announced-ip': { type: 'string' },
      'rtc-min-port': { type: 'string' },
      'rtc-max-port': { type: 'string' },
      'chromium-prefix': { type: 'string' },
      'page-host': { type: 'string' },
      'timeout-ms': { type: 'string' },
      'sample-ms': { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  });

  const ctl = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    // First signal: abort and let the probe close browser, worker and server. Second: give up.
    if (++signals > 1) process.exit(130);
    ctl.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const opts: SfuProbeOptions = {
    signal: ctl.signal,
    log: values.verbose ? (l) => process.stderr.write(`[sfu-probe] ${l}\n`) : undefined,
  };
  if (values['listen-ip']) opts.listenIp = values['listen-ip'];
  if (values['announced-ip']) opts.announcedIp = values['announced-ip'];
  if (values['chromium-prefix']) opts.chromiumPrefix = values['chromium-prefix'];
  if (values['page-host']) opts.pageHost = values['page-host'];
  opts.rtcMinPort = intOption('rtc-min-port', values['rtc-min-port']);
  opts.rtcMaxPort = intOption('rtc-max-port', values['rtc-max-port']);
  opts.timeoutMs = intOption('timeout-ms', values['timeout-ms']);
  opts.sampleMs = intOption('sample-ms', values['sample-ms']);

  const result = await runSfuProbe(opts);
  if (!result.ok && !values.verbose) process.stderr.write(`[sfu-probe] failed: ${result.error ?? 'no frames decoded'}\n`);
  // Exit explicitly: nothing should linger, and the caller waits for the process to end.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(result.ok ? 0 : 1));
}

const invokedAs = process.argv[1];
if (invokedAs && import.meta.url === pathToFileURL(realpathSync(invokedAs)).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`[sfu-probe] ${errorText(err)}\n`);
    process.stdout.write(`${JSON.stringify({ ok: false, error: errorText(err) })}\n`, () => process.exit(1));
  });
}
