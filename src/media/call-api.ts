/**
 * The REST side of a call participant, as SecureConnect's clients call it: registration (its tokens: login
 * may be broken on a deployment, registration is what a call needs), a group conversation, initiate through
 * the gateway, join on video-service itself (the gateway does not route it, contract N11), TURN credentials.
 * Every request is bounded in time; each answer is classified in the probes' outcome classes.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { classifyFailure, namesParticipantLimit, type OutcomeClass } from '../../scenarios/lib/outcomes.ts';

export interface ApiAnswer {
  status: number;
  json: unknown;
  durationMs: number;
  /** Network error or timeout (status 0). */
  error?: string;
  /** The answer's Retry-After, when it has one (a shed request says when to come back). */
  headers?: Record<string, string>;
}

export interface CallUser {
  userId: string;
  token: string;
}

const REQUEST_TIMEOUT_MS = 15_000;
/** The fast-error budget the probes use: an error later than this is slow. */
const FAST_ERROR_MS = 2_000;

const Envelope = <T extends z.ZodType>(data: T) => z.object({ data }).loose();
const RegisterAnswer = Envelope(z.object({ user: z.object({ user_id: z.string() }).loose(), access_token: z.string() }).loose());
const ConversationAnswer = Envelope(z.object({ conversation_id: z.string() }).loose());
const InitiateAnswer = Envelope(z.object({ CallID: z.string() }).loose());
const TurnAnswer = Envelope(z.object({ username: z.string(), password: z.string(), uris: z.array(z.string()).min(1) }).loose());

/** The outcome class of a join / initiate answer: served, a refusal that names the limit, or the probes' classes. */
export function classifyJoin(a: ApiAnswer): OutcomeClass {
  if (a.status >= 200 && a.status < 300) return 'served';
  if (a.status === 0) return /timeout|aborted/i.test(a.error ?? '') ? 'hang' : 'network-error';
  const cls = classifyFailure({ status: a.status, durationMs: a.durationMs, headers: {}, json: a.json }, FAST_ERROR_MS);
  return cls === 'client-error' && namesParticipantLimit(a.json) ? 'refused-full' : cls;
}

export class CallApi {
  constructor(private readonly baseUrl: string, private readonly videoUrl: string, private readonly origin: string, private readonly signal?: AbortSignal) {}

  async request(url: string, method: string, body: unknown, token?: string): Promise<ApiAnswer> {
    const t0 = performance.now();
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    try {
      const r = await fetch(url, {
        method,
        headers: { origin: this.origin, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: this.signal ? AbortSignal.any([timeout, this.signal]) : timeout,
      });
      const text = await r.text();
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      const retryAfter = r.headers.get('retry-after');
      return { status: r.status, json, durationMs: performance.now() - t0, ...(retryAfter !== null ? { headers: { 'retry-after': retryAfter } } : {}) };
    } catch (e) {
      return { status: 0, json: null, durationMs: performance.now() - t0, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
    }
  }

  private static parsed<T extends z.ZodType>(what: string, a: ApiAnswer, ok: number, schema: T): z.output<T> {
    if (a.status !== ok) throw new Error(`${what}: ${a.status === 0 ? a.error : `HTTP ${a.status} ${JSON.stringify(a.json)?.slice(0, 200)}`}`);
    const r = schema.safeParse(a.json);
    if (!r.success) throw new Error(`${what}: unexpected answer ${JSON.stringify(a.json)?.slice(0, 200)}`);
    return r.data;
  }

  async register(label: string): Promise<CallUser> {
    const n = `${label}${randomUUID().slice(0, 8)}`;
    const a = await this.request(`${this.baseUrl}/v1/auth/register`, 'POST', { email: `video-${n}@load.test`, username: `video_${n}`.slice(0, 30), password: `pw-${n}-long`, display_name: `Video ${label}` });
    const d = CallApi.parsed(`register ${label}`, a, 201, RegisterAnswer).data;
    return { userId: d.user.user_id, token: d.access_token };
  }

  async conversation(owner: CallUser, members: CallUser[]): Promise<string> {
    const a = await this.request(`${this.baseUrl}/v1/conversations`, 'POST', { title: 'video call', type: 'group', participant_ids: members.map((m) => m.userId) }, owner.token);
    return CallApi.parsed('create conversation', a, 201, ConversationAnswer).data.conversation_id;
  }

  /** `topology: "sfu"` is the reference target's extension (the real backend ignores unknown fields): sent only for an SFU call. */
  initiate(caller: CallUser, conversationId: string, callees: CallUser[], topology: 'mesh' | 'sfu' = 'mesh'): Promise<ApiAnswer> {
    return this.request(`${this.baseUrl}/v1/calls/initiate`, 'POST', { call_type: 'video', conversation_id: conversationId, callee_ids: callees.map((c) => c.userId), ...(topology === 'sfu' ? { topology } : {}) }, caller.token);
  }

  static callIdOf(a: ApiAnswer): string {
    return CallApi.parsed('initiate', a, 201, InitiateAnswer).data.CallID;
  }

  join(user: CallUser, callId: string): Promise<ApiAnswer> {
    return this.request(`${this.videoUrl}/v1/calls/${callId}/join`, 'POST', {}, user.token);
  }

  end(user: CallUser, callId: string): Promise<ApiAnswer> {
    return this.request(`${this.baseUrl}/v1/calls/${callId}/end`, 'POST', {}, user.token);
  }

  async turnCredentials(user: CallUser): Promise<{ urls: string[]; username: string; credential: string }> {
    return CallApi.turnOf(await this.turnAnswer(user));
  }

  turnAnswer(user: CallUser): Promise<ApiAnswer> {
    return this.request(`${this.videoUrl}/v1/calls/turn-credentials`, 'GET', undefined, user.token);
  }

  static turnOf(a: ApiAnswer): { urls: string[]; username: string; credential: string } {
    const d = CallApi.parsed('turn credentials', a, 200, TurnAnswer).data;
    return { urls: d.uris, username: d.username, credential: d.password };
  }

  signalingUrl(callId: string): string {
    return `${this.videoUrl.replace(/^http/, 'ws')}/v1/calls/ws/signaling?call_id=${encodeURIComponent(callId)}`;
  }
}
