/**
 * One participant of an SFU call: a page in Chromium running mediasoup-client (browser/sfu-call-page.ts), and
 * its client side in Node — the REST session and the signaling socket (bearer header, allowed Origin, as
 * SecureConnect's clients open it), on which it speaks the reference target's SFU extension exactly as the
 * contract has it (fixtures/secureconnect/contract/ws-messages.ts): every request it sends and every frame the
 * server answers is checked against the contract's validators; a request unanswered after
 * SFU_REQUEST_TIMEOUT_MS fails (a backend without the extension relays `sfu-*` frames and never answers).
 * Everything it opens is closed by close(), whatever happened.
 */
import WebSocket from 'ws';
import type { Page } from 'puppeteer-core';
import type { CallUser } from './call-api.js';
import { EVALUATE_TIMEOUT_MS, bounded, readSnapshot } from './participant-page.js';
import type { PageSnapshot } from './mesh-protocol.js';
import { SFU_REQUEST_BINDING, type SfuNotificationIn, type SfuPageApi, type SfuPageConfig, type SfuRequestAnswer } from './sfu-call-protocol.js';
import { SFU_REQUEST_TIMEOUT_MS, validateSfuRequest, validateSfuServerFrame } from '../../fixtures/secureconnect/contract/ws-messages.js';

type PageWindow = { scSfu: SfuPageApi };

const OPEN_TIMEOUT_MS = 10_000;
/** Joining the room: a handful of requests, each bounded by SFU_REQUEST_TIMEOUT_MS. */
const JOIN_TIMEOUT_MS = 30_000;


/** Why an SFU join failed: no answer in time (hang), or an answer that refused or broke the protocol. */
export class SfuJoinError extends Error {
  constructor(message: string, readonly timedOut: boolean) { super(message); }
}

export class SfuParticipant {
  private ws: WebSocket | null = null;
  private relay: Promise<void> = Promise.resolve();
  private closed = false;
  private nextId = 1;
  private readonly inFlight = new Map<string, { resolve: (a: SfuRequestAnswer) => void; timer: NodeJS.Timeout }>();
  /** A request of the join that timed out (the class of a failed join). */
  private timedOut = false;
  joinStartMs = 0;
  /** In the room: socket open, transports created, producers made (epoch ms; 0: not yet). */
  connectedAtMs = 0;

  constructor(readonly label: string, readonly user: CallUser, private readonly page: Page, private readonly log: (line: string) => void) {}

  async open(pageUrl: string, config: SfuPageConfig): Promise<void> {
    this.page.on('pageerror', (e) => this.log(`[${this.label}] page error: ${e instanceof Error ? e.message : String(e)}`));
    this.page.on('console', (m) => {
      if (m.type() === 'error') this.log(`[${this.label}] console.error: ${m.text()}`);
    });
    await this.page.exposeFunction(SFU_REQUEST_BINDING, async (type: string, data: string) => JSON.stringify(await this.request(type, JSON.parse(data) as unknown)));
    await this.page.goto(pageUrl, { waitUntil: 'load', timeout: 20_000 });
    await this.page.waitForFunction(() => 'scSfu' in window, { timeout: 10_000 });
    await bounded(this.page.evaluate((c) => (window as unknown as PageWindow).scSfu.start(c), config), 15_000, `${this.label}: camera start`);
  }

  /** One request of the extension: `{type, request_id, data}`, answered by the `sfu-response` echoing its id. */
  private request(type: string, data: unknown): Promise<SfuRequestAnswer> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.resolve({ ok: false, error: 'the signaling socket is not open' });
    const frame = { type, request_id: `${this.label}-${this.nextId++}`, data };
    const valid = validateSfuRequest(frame);
    if (!valid.ok) return Promise.resolve({ ok: false, error: `request not as the contract has it: ${valid.errors.join('; ')}` });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.inFlight.delete(frame.request_id);
        this.timedOut = true;
        resolve({ ok: false, error: `no sfu-response within ${SFU_REQUEST_TIMEOUT_MS} ms`, timedOut: true });
      }, SFU_REQUEST_TIMEOUT_MS);
      this.inFlight.set(frame.request_id, { resolve, timer });
      ws.send(JSON.stringify(frame));
    });
  }

  private onFrame(raw: unknown): void {
    if (typeof raw !== 'object' || raw === null || typeof (raw as { type?: unknown }).type !== 'string' || !(raw as { type: string }).type.startsWith('sfu-')) return; // mesh frames (join, leave…): not this page's business
    const v = validateSfuServerFrame(raw);
    if (!v.ok) {
      this.log(`[${this.label}] frame not as the contract has it: ${v.errors.join('; ')}`);
      const id = (raw as { request_id?: unknown }).request_id;
      const w = typeof id === 'string' ? this.inFlight.get(id) : undefined;
      if (w && typeof id === 'string') {
        clearTimeout(w.timer);
        this.inFlight.delete(id);
        w.resolve({ ok: false, error: `answer not as the contract has it: ${v.errors.join('; ')}` });
      }
      return;
    }
    const f = v.value;
    if (f.type === 'sfu-response') {
      const w = f.request_id ? this.inFlight.get(f.request_id) : undefined;
      if (!w || !f.request_id) return;
      clearTimeout(w.timer);
      this.inFlight.delete(f.request_id);
      w.resolve(f.ok ? { ok: true, data: f.data as Record<string, unknown> } : { ok: false, error: `${f.error.code}: ${f.error.message}` });
      return;
    }
    const n: SfuNotificationIn = f.type === 'sfu-new-producer'
      ? { type: f.type, data: { producerId: f.data.producerId, peerId: f.data.peerId, kind: f.data.kind } }
      : { type: f.type, data: { producerId: f.data.producerId, peerId: f.data.peerId } };
    this.relay = this.relay.then(() => this.closed ? undefined : bounded(this.page.evaluate((x) => (window as unknown as PageWindow).scSfu.onNotification(x), n), EVALUATE_TIMEOUT_MS, `${this.label}: ${n.type}`))
      .catch((e: unknown) => this.log(`[${this.label}] ${n.type}: ${e instanceof Error ? e.message : String(e)}`));
  }

  /** Open the call's signaling socket, then join the SFU room from the page (transports, producers, consumers). */
  async connect(url: string, origin: string): Promise<void> {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.user.token}`, origin }, handshakeTimeout: OPEN_TIMEOUT_MS });
    this.ws = ws;
    ws.on('message', (data) => {
      try {
        this.onFrame(JSON.parse(String(data)));
      } catch {
        /* not JSON: dropped */
      }
    });
    ws.on('close', (code) => {
      for (const [id, w] of this.inFlight) {
        clearTimeout(w.timer);
        w.resolve({ ok: false, error: `signaling socket closed (${code})` });
        this.inFlight.delete(id);
      }
      if (!this.closed) this.log(`[${this.label}] signaling socket closed (${code})`);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`signaling upgrade refused: HTTP ${res.statusCode}`)));
      ws.once('error', (e) => reject(e));
    });
    try {
      await bounded(this.page.evaluate(() => (window as unknown as PageWindow).scSfu.join()), JOIN_TIMEOUT_MS, `${this.label}: SFU join`);
    } catch (e) {
      const m = e instanceof Error ? e.message : String(e);
      throw new SfuJoinError(`SFU join: ${m}`, this.timedOut || /timed out|no sfu-response/.test(m));
    }
    this.connectedAtMs = Date.now();
  }

  async snapshot(): Promise<PageSnapshot | null> {
    if (this.closed) return null;
    return readSnapshot(this.page, 'scSfu', this.label, this.log);
  }

  /** Leave the room, close the socket and the page. Idempotent; never throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.inFlight.values()) clearTimeout(w.timer);
    this.inFlight.clear();
    await bounded(this.page.evaluate(() => (window as unknown as PageWindow).scSfu?.close()), 3_000, 'close').catch(() => undefined);
    this.ws?.close();
    this.ws?.terminate();
    await this.page.close().catch(() => undefined);
  }
}
