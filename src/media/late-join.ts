/**
 * The outcome of a late join (video-spec.ts `lateJoin`): what the joining participant saw first — a refusal
 * over REST (turn-credentials, join), the server's `turn_unavailable` frame, media from the call, or its ICE
 * failing — and whether it came within the budget. Pure: the workload gathers the times, this judges them.
 */
import { classifyFailure, namesParticipantLimit, type OutcomeClass } from '../../scenarios/lib/outcomes.ts';
import type { ApiAnswer } from './call-api.js';

export interface LateJoinTrace {
  startMs: number;
  /** A REST answer that was not a success (TURN credentials or the join itself). */
  refused?: { answer: ApiAnswer; atMs: number };
  /** The server's `turn_unavailable` frame on the joiner's socket. */
  turnUnavailableAtMs?: number;
  /** The first video frame the joiner decoded from anyone in the call. */
  mediaAtMs?: number;
  /** The joiner's ICE failed (every connection of its own). */
  iceFailedAtMs?: number;
}

export type LateJoinHow = 'refused' | 'turn-unavailable' | 'media' | 'ice-failed' | 'none';

export interface LateJoinOutcome {
  cls: OutcomeClass;
  /** What came first (none: nothing within the watch). */
  how: LateJoinHow;
  /** From the start to what came first (null: nothing came). */
  afterMs: number | null;
}

/**
 * served: media within the budget; fast-clear-error: a 503 with a clear body or a `turn_unavailable` frame within
 * it; an ICE failure within it is a network error, after it a slow error, as any error after the budget; media
 * only after the budget, or nothing at all, is a hang: the participant waited with nothing to tell it why.
 */
export function classifyLateJoin(t: LateJoinTrace, budgetMs: number): LateJoinOutcome {
  const seen: { how: Exclude<LateJoinHow, 'none'>; at: number }[] = [];
  if (t.refused) seen.push({ how: 'refused', at: t.refused.atMs });
  if (t.turnUnavailableAtMs !== undefined) seen.push({ how: 'turn-unavailable', at: t.turnUnavailableAtMs });
  if (t.mediaAtMs !== undefined) seen.push({ how: 'media', at: t.mediaAtMs });
  if (t.iceFailedAtMs !== undefined) seen.push({ how: 'ice-failed', at: t.iceFailedAtMs });
  seen.sort((a, b) => a.at - b.at);
  const first = seen[0];
  if (!first) return { cls: 'hang', how: 'none', afterMs: null };
  const afterMs = Math.max(0, first.at - t.startMs);
  const inBudget = afterMs <= budgetMs;
  switch (first.how) {
    case 'refused': {
      const a = t.refused!.answer;
      if (a.status === 0) return { cls: /timeout|aborted/i.test(a.error ?? '') ? 'hang' : 'network-error', how: 'refused', afterMs };
      const cls = classifyFailure({ status: a.status, durationMs: afterMs, headers: a.headers ?? {}, json: a.json }, budgetMs);
      return { cls: cls === 'client-error' && namesParticipantLimit(a.json) ? 'refused-full' : cls, how: 'refused', afterMs };
    }
    case 'turn-unavailable':
      return { cls: inBudget ? 'fast-clear-error' : 'slow-error', how: 'turn-unavailable', afterMs };
    case 'media':
      return { cls: inBudget ? 'served' : 'hang', how: 'media', afterMs };
    case 'ice-failed':
      return { cls: inBudget ? 'network-error' : 'slow-error', how: 'ice-failed', afterMs };
  }
}
