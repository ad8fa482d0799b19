/**
 * The SFU extension spoken from Node alone, for synthetic participants: the call's signaling socket (bearer header,
 * allowed Origin, as SecureConnect's clients open it), `sfu-*` requests answered by the `sfu-response` echoing
 * their id, and the `sfu-new-producer` / `sfu-producer-closed` notifications. Every request and every answer is
 * checked against the contract's validators, as the browser participants' driver (sfu-participant.ts) does; a
 * request unanswered after SFU_REQUEST_TIMEOUT_MS fails.
 */
import WebSocket from 'ws';
import {
  SFU_REQUEST_TIMEOUT_MS, validateSfuRequest, validateSfuServerFrame, type SfuMethodName, type SfuMethods,
} from '../../fixtures/secureconnect/contract/ws-messages.js';

const OPEN_TIMEOUT_MS = 10_000;

export interface SfuProducerNotice {
  type: 'sfu-new-producer' | 'sfu-producer-closed';
  producerId: string;
  peerId: string;
  kind?: 'audio' | 'video';
}

export class SfuSignaling {
  private ws: WebSocket | null = null;
  private nextId = 1;
  private closed = false;
  private readonly inFlight = new Map<string, { resolve: (d: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  /** Protocol breaks seen (frames the contract refuses): a synthetic participant reports them, never hides them. */
  readonly problems: string[] = [];

  constructor(readonly label: string, private readonly onNotice: (n: SfuProducerNotice) => void) {}

  async open(url: string, token: string, origin: string): Promise<void> {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}`, origin }, handshakeTimeout: OPEN_TIMEOUT_MS });
    this.ws = ws;
    ws.on('message', (data) => {
      let f: unknown;
      try {
        f = JSON.parse(String(data));
      } catch {
        return;
      }
      this.onFrame(f);
    });
    ws.on('close', (code) => this.failAll(`signaling socket closed (${code})`));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`signaling upgrade refused: HTTP ${res.statusCode}`)));
      ws.once('error', (e) => reject(e));
    });
  }

  /** One request; resolves with the answer's `data`, rejects with the server's error or a timeout. */
  request<M extends SfuMethodName>(type: M, data: SfuMethods[M]['request']): Promise<SfuMethods[M]['response']> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error(`${type}: the signaling socket is not open`));
    const frame = { type, request_id: `${this.label}-${this.nextId++}`, data };
    const valid = validateSfuRequest(frame);
    if (!valid.ok) return Promise.reject(new Error(`${type}: request not as the contract has it: ${valid.errors.join('; ')}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.inFlight.delete(frame.request_id);
        reject(new Error(`${type}: no sfu-response within ${SFU_REQUEST_TIMEOUT_MS} ms`));
      }, SFU_REQUEST_TIMEOUT_MS);
      this.inFlight.set(frame.request_id, { resolve: resolve as (d: unknown) => void, reject, timer });
      ws.send(JSON.stringify(frame));
    });
  }

  private onFrame(raw: unknown): void {
    if (typeof raw !== 'object' || raw === null || typeof (raw as { type?: unknown }).type !== 'string' || !(raw as { type: string }).type.startsWith('sfu-')) return; // mesh frames
    const v = validateSfuServerFrame(raw);
    if (!v.ok) {
      const problem = `frame not as the contract has it: ${v.errors.join('; ')}`;
      if (this.problems.length < 20) this.problems.push(problem);
      const id = (raw as { request_id?: unknown }).request_id;
      if (typeof id === 'string') this.settle(id, new Error(problem));
      return;
    }
    const f = v.value;
    if (f.type === 'sfu-response') {
      if (f.request_id) this.settle(f.request_id, f.ok ? f.data : new Error(`${f.method ?? 'sfu'}: ${f.error.code}: ${f.error.message}`));
      return;
    }
    this.onNotice(f.type === 'sfu-new-producer'
      ? { type: f.type, producerId: f.data.producerId, peerId: f.data.peerId, kind: f.data.kind }
      : { type: f.type, producerId: f.data.producerId, peerId: f.data.peerId });
  }

  private settle(id: string, result: unknown): void {
    const w = this.inFlight.get(id);
    if (!w) return;
    clearTimeout(w.timer);
    this.inFlight.delete(id);
    if (result instanceof Error) w.reject(result);
    else w.resolve(result);
  }

  private failAll(why: string): void {
    for (const id of [...this.inFlight.keys()]) this.settle(id, new Error(why));
  }

  /** Close the socket (the server then closes this peer's transports). Idempotent; never throws. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll('closed');
    this.ws?.close();
    this.ws?.terminate();
  }
}
