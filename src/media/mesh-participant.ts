/**
 * One participant of a mesh call: a page in Chromium doing WebRTC (browser/mesh-page.ts), and its client
 * side in Node — the REST session and the signaling socket, opened with the bearer header and an allowed
 * Origin as SecureConnect's clients do (the real backend takes no token in the URL). Frames are relayed
 * between socket and page in order. Everything it opens is closed by close(), whatever happened.
 */
import WebSocket from 'ws';
import { z } from 'zod';
import type { Page } from 'puppeteer-core';
import type { CallUser } from './call-api.js';
import { EVALUATE_TIMEOUT_MS, bounded, readSnapshot } from './participant-page.js';
import { SEND_SIGNAL_BINDING, type MeshPageApi, type MeshPageConfig, type PageSnapshot, type SignalFrame } from './mesh-protocol.js';

type PageWindow = { scMesh: MeshPageApi };

/** The relayed mesh frames (contract N05), and the server's word on TURN; anything else on the socket is not the page's business. */
const MESH_TYPES = new Set(['join', 'leave', 'offer', 'answer', 'ice_candidate', 'turn_available']);
/** What a server that watches TURN says about it on the signaling socket. */
const TURN_NOTICES = { turn_unavailable: 'unavailable', turn_available: 'available' } as const;
const FrameSchema = z.object({
  type: z.string(),
  sender_id: z.string().optional(),
  target_id: z.string().optional(),
  sdp: z.string().optional(),
  candidate: z.object({ candidate: z.string().optional(), sdpMid: z.string().nullable().optional(), sdpMLineIndex: z.number().nullable().optional() }).loose().optional(),
}).loose();

const OPEN_TIMEOUT_MS = 10_000;


export class MeshParticipant {
  private ws: WebSocket | null = null;
  private relay: Promise<void> = Promise.resolve();
  private closed = false;
  /** When this participant began to join (its REST call), epoch ms. */
  joinStartMs = 0;
  /** The signaling socket opened, epoch ms (0: not connected). */
  connectedAtMs = 0;
  /** What the server said about TURN on the socket, in order. */
  readonly turnNotices: { state: 'unavailable' | 'available'; atMs: number }[] = [];

  constructor(readonly label: string, readonly user: CallUser, private readonly page: Page, private readonly log: (line: string) => void) {}

  /** Load the page and start the fake camera / microphone. */
  async open(pageUrl: string, config: MeshPageConfig): Promise<void> {
    this.page.on('pageerror', (e) => this.log(`[${this.label}] page error: ${e instanceof Error ? e.message : String(e)}`));
    this.page.on('console', (m) => {
      if (m.type() === 'error') this.log(`[${this.label}] console.error: ${m.text()}`);
    });
    await this.page.exposeFunction(SEND_SIGNAL_BINDING, (frame: string) => {
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(frame);
    });
    await this.page.goto(pageUrl, { waitUntil: 'load', timeout: 20_000 });
    await this.page.waitForFunction(() => 'scMesh' in window, { timeout: 10_000 });
    await bounded(this.page.evaluate((c) => (window as unknown as PageWindow).scMesh.start(c), config), 15_000, `${this.label}: camera start`);
  }

  /** The ICE servers of the page's connections from now on. */
  async setIceServers(servers: MeshPageConfig['iceServers']): Promise<void> {
    await bounded(this.page.evaluate((x) => (window as unknown as PageWindow).scMesh.setIceServers(x), servers), EVALUATE_TIMEOUT_MS, `${this.label}: ice servers`);
  }

  /** Open the signaling socket of the call; frames it brings go to the page, in order. */
  connect(url: string, origin: string): Promise<void> {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.user.token}`, origin }, handshakeTimeout: OPEN_TIMEOUT_MS });
    this.ws = ws;
    ws.on('message', (data) => {
      let raw: unknown;
      try {
        raw = JSON.parse(String(data));
      } catch {
        return;
      }
      const f = FrameSchema.safeParse(raw);
      if (!f.success) return;
      const notice = Object.hasOwn(TURN_NOTICES, f.data.type) ? TURN_NOTICES[f.data.type as keyof typeof TURN_NOTICES] : null;
      if (notice && this.turnNotices.length < 100) this.turnNotices.push({ state: notice, atMs: Date.now() });
      if (!MESH_TYPES.has(f.data.type)) return;
      const frame: SignalFrame = f.data;
      this.relay = this.relay.then(() => this.toPage(frame)).catch((e: unknown) => this.log(`[${this.label}] relay ${frame.type}: ${e instanceof Error ? e.message : String(e)}`));
    });
    ws.on('close', (code) => {
      if (!this.closed) this.log(`[${this.label}] signaling socket closed (${code})`);
    });
    return new Promise<void>((resolve, reject) => {
      ws.once('open', () => {
        this.connectedAtMs = Date.now();
        resolve();
      });
      ws.once('unexpected-response', (_req, res) => reject(new Error(`signaling upgrade refused: HTTP ${res.statusCode}`)));
      ws.once('error', (e) => reject(e));
    });
  }

  private async toPage(frame: SignalFrame): Promise<void> {
    if (this.closed) return;
    await bounded(this.page.evaluate((f) => (window as unknown as PageWindow).scMesh.onSignal(f), frame), EVALUATE_TIMEOUT_MS, `${this.label}: ${frame.type}`);
  }

  /** The page's counters now; null when the page does not answer in time. */
  async snapshot(): Promise<PageSnapshot | null> {
    if (this.closed) return null;
    return readSnapshot(this.page, 'scMesh', this.label, this.log);
  }

  /** Close the socket and the page's connections. Idempotent; never throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ws?.close();
    this.ws?.terminate();
    await bounded(this.page.evaluate(() => (window as unknown as PageWindow).scMesh?.close()), 3_000, 'close').catch(() => undefined);
    await this.page.close().catch(() => undefined);
  }
}
