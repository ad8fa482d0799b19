import { describe, expect, it } from 'vitest';
import { ResultPipeline } from '../../src/results/pipeline.js';
import type { MetricKind, Sample } from '../../src/results/model.js';
import { derivePhases } from '../../src/experiment/phases.js';
import { checkExperiment } from '../../src/experiment/spec.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { HypothesisSchema, evaluateKind, selectorsOf, type Hypothesis } from '../../src/verdicts/kinds/index.js';
import type { EvaluationInput } from '../../src/verdicts/common.js';
import type { MetricsDialect } from '../../src/experiment/server-quantities.js';

/**
 * returns-to-baseline (NO-CONNECTION-LEAK) and server-agrees (METRICS-CONSISTENT) on synthetic runs read through the
 * real result pipeline: 5 s observed before the load, 60 s of load (10 sockets, one reconnecting every second from
 * t = 5 s, 5 messages/s from t = 3 s to 58 s), 10 s after it; the target scraped once a second.
 */
const T0 = 1_700_000_000_000;
const at = (s: number) => T0 + s * 1000;
const BEFORE_S = 5;
const LOAD_S = 60;
const AFTER_S = 10;

interface Target {
  /** Sockets a closed one stays counted (a hub that never unregisters). */
  leak?: boolean;
  /** Share of the stored messages counted. */
  countShare?: number;
  /** The counters never move (as-built: the gauge stays 0, the labelled counter never appears). */
  still?: boolean;
  /** The target serves no /metrics after this second (readings end). */
  readingsUntilS?: number;
  /** Harness messages per second (default 5). */
  rate?: number;
  dialect?: MetricsDialect;
  /** When the 10 sockets open (s from the load's start; default 0.5). */
  openAtS?: number;
}

/** Harness events: socket opens / closes, acked messages; what the target's /metrics says each second. */
function run(t: Target = {}, withPhases = true) {
  const samples: Sample[] = [];
  const k6 = (metric: string, s: number) => samples.push({ metric, time: at(s), value: 1, tags: { workload: 'chat' } });
  // 10 sockets open at 0.5 s; from 5 s, one closes and a new one opens each second (at k + 0.5); all close at 60.5 s.
  for (let i = 0; i < 10; i++) k6('sc_sockets_opened', t.openAtS ?? 0.5);
  for (let s = 5; s < LOAD_S; s++) { k6('sc_sockets_closed', s + 0.5); k6('sc_sockets_opened', s + 0.5); }
  for (let i = 0; i < 10; i++) k6('sc_sockets_closed', LOAD_S + 0.5);
  const rate = t.rate ?? 5;
  let sent = 0;
  for (let s = 3; s < 58; s++) for (let m = 0; m < rate; m++, sent++) k6('sc_messages_acked', s + m / rate);
  // The target, scraped at whole seconds.
  const m = t.dialect === 'secureconnect' ? { ws: 'chat_websocket_connections', stored: 'chat_message_persisted_total' } : { ws: 'chat_ws_connections', stored: 'chat_messages_persisted_total' };
  for (let s = -BEFORE_S; s < LOAD_S + AFTER_S; s++) {
    if (t.readingsUntilS !== undefined && s > t.readingsUntilS) break;
    // What the hub holds: every socket opened so far, less those closed (unless it never lets them go).
    const upTo = (metric: string) => samples.filter((x) => x.metric === metric && x.time <= at(s)).length;
    const sockets = upTo('sc_sockets_opened') - (t.leak ? 0 : upTo('sc_sockets_closed'));
    const stored = Math.max(0, Math.min(55, s - 3)) * rate;
    const server = (metric: string, value: number, tags: Record<string, string> = {}) => samples.push({ metric: 'sc_server', time: at(s), value, tags: { service: 'chat', metric, ...tags } });
    server(m.ws, t.still ? 0 : sockets);
    if (!t.still && stored > 0) server(m.stored, Math.floor(stored * (t.countShare ?? 1)), { via: 'rest' });
    samples.push({ metric: 'sc_metrics_up', time: at(s), value: 1, tags: { service: 'chat' } });
    samples.push({ metric: 'sc_metrics_up', time: at(s), value: 1, tags: { service: 'gateway' } });
  }
  const phases = derivePhases(T0, at(LOAD_S + AFTER_S), [], 10, withPhases ? { observedFromMs: at(-BEFORE_S), loadEndMs: at(LOAD_S + 1) } : {});
  return { samples, phases, sent };
}

const KINDS: Record<string, MetricKind> = { sc_server: 'trend', sc_metrics_up: 'rate', sc_messages_acked: 'counter', sc_sockets_opened: 'counter', sc_sockets_closed: 'counter', http_reqs: 'counter' };

function judge(input: Record<string, unknown>, t: Target = {}, withPhases = true) {
  const h: Hypothesis = HypothesisSchema.parse({ id: 'h', description: 'd', claims: ['X'], ...input });
  const r = run(t, withPhases);
  const p = new ResultPipeline({ phases: r.phases, selectors: selectorsOf(h), runStartMs: T0, runEndMs: at(LOAD_S + AFTER_S), metricKinds: KINDS });
  for (const s of r.samples) p.add(s);
  const i: EvaluationInput = { phases: r.phases, source: p, calibration: [], fanout: {}, removedAtMs: {}, runEndMs: at(LOAD_S + AFTER_S), dialect: t.dialect ?? 'reference' };
  return { ...evaluateKind(h, i), sent: r.sent };
}

const SOCKETS = { kind: 'returns-to-baseline', quantity: 'sockets-held', service: 'chat', tolerance: { absolute: 0, relative: 0 } };
const MESSAGES = { quantity: 'messages-stored', service: 'chat', harness: { metric: 'sc_messages_acked' } };
const HELD = { quantity: 'sockets-held', service: 'chat', harness: { metric: 'sc_sockets_opened' }, harnessClosed: { metric: 'sc_sockets_closed' } };
const LIMITED = { quantity: 'requests-rate-limited', service: 'gateway', harness: { metric: 'http_reqs', tags: { status: '429' } } };
const agrees = (...compare: object[]) => ({ kind: 'server-agrees', compare });

describe('the target observed around the load (afterLoadS)', () => {
  it('derivePhases adds before-load and after-load around the load, baseline and run unchanged', () => {
    const ph = derivePhases(at(0), at(70), [], 10, { observedFromMs: at(-5), loadEndMs: at(61) });
    expect(ph.map((p) => [p.id, (p.startMs - T0) / 1000, (p.endMs - T0) / 1000])).toEqual([['baseline', 0, 70], ['before-load', -5, 0], ['after-load', 61, 70]]);
    expect(derivePhases(at(0), at(70), [], 10).map((p) => p.id)).toEqual(['baseline']);
  });

  it('an experiment: returns-to-baseline needs afterLoadS; the shipped soak-leaks validates', async () => {
    const e = await loadExperiment('soak-leaks');
    expect(e.afterLoadS).toBeGreaterThan(0);
    const { afterLoadS: _a, ...input } = e;
    const c = checkExperiment({ ...input, hypotheses: input.hypotheses.filter((h) => h.kind === 'returns-to-baseline').slice(0, 1) });
    expect(c.errors.join('\n')).toMatch(/hypotheses\[0\]: returns-to-baseline .* set afterLoadS/);
  });
});

describe('returns-to-baseline (NO-CONNECTION-LEAK)', () => {
  it('PASS: the chat socket gauge comes back to 0 after the load; FAIL: a hub that never unregisters keeps every reconnected socket', () => {
    const ok = judge(SOCKETS);
    expect(ok.verdict, ok.evidence).toBe('PASS');
    expect(ok.evidence).toMatch(/chat_ws_connections.*0 before the load \(its lowest reading there\), 10 at most under it, 0 at the end .*back to its baseline/);
    const leak = judge(SOCKETS, { leak: true });
    expect(leak.verdict, leak.evidence).toBe('FAIL');
    expect(leak.observed).toBe(65);
    expect(leak.evidence).toMatch(/65 above its baseline after the load, never released/);
  });

  it('the real services\' names on a SecureConnect deployment (dialect secureconnect): chat_websocket_connections', () => {
    const r = judge(SOCKETS, { dialect: 'secureconnect', leak: true });
    expect(r.verdict, r.evidence).toBe('FAIL');
    expect(r.evidence).toMatch(/chat_websocket_connections/);
  });

  it('a tolerance: within it PASS, a level a few above FAIL', () => {
    expect(judge({ ...SOCKETS, tolerance: { absolute: 70, relative: 0 } }, { leak: true }).verdict).toBe('PASS');
  });

  it('INCONCLUSIVE: the target lacks the metric, no phases around the load, a gauge the load never moved, no reading at the end', () => {
    const lacks = judge({ kind: 'returns-to-baseline', quantity: 'db-connections', service: 'auth' });
    expect(lacks).toMatchObject({ verdict: 'INCONCLUSIVE' });
    expect(lacks.evidence).toMatch(/the target lacks the metric: reference targets name no series for db-connections on auth/);
    const noPhases = judge(SOCKETS, {}, false);
    expect(noPhases.verdict).toBe('INCONCLUSIVE');
    expect(noPhases.evidence).toMatch(/no before-load phase in this run: .*afterLoadS/);
    // as-built: the real hub never sets its gauge — 0 throughout says nothing of a leak.
    const still = judge(SOCKETS, { still: true });
    expect(still.verdict).toBe('INCONCLUSIVE');
    expect(still.evidence).toMatch(/the load never raised it by 1, so its return says nothing/);
    const silent = judge(SOCKETS, { readingsUntilS: 62 });
    expect(silent.verdict).toBe('INCONCLUSIVE');
    expect(silent.evidence).toMatch(/no reading in the last 3 s of the after-load window/);
  });

  it('a level by quantity + service or by select, not both', () => {
    expect(() => HypothesisSchema.parse({ id: 'h', description: 'd', claims: ['X'], kind: 'returns-to-baseline', quantity: 'sockets-held' })).toThrow(/quantity \+ service or by select/);
    expect(() => HypothesisSchema.parse({ id: 'h', description: 'd', claims: ['X'], kind: 'returns-to-baseline', quantity: 'sockets-held', service: 'chat', select: { metric: 'sc_process_fds' } })).toThrow(/quantity \+ service or by select/);
    expect(HypothesisSchema.parse({ id: 'h', description: 'd', claims: ['X'], kind: 'returns-to-baseline', select: { metric: 'sc_process_fds', tags: { service: 'chat' } } })).toMatchObject({ tailS: 3, minRise: 1 });
  });
});

describe('server-agrees (METRICS-CONSISTENT)', () => {
  it('PASS: stored messages and sockets held agree with the harness; the 429 counter the reference lacks is listed, not counted', () => {
    const r = judge(agrees(MESSAGES, HELD, LIMITED));
    expect(r.verdict, r.evidence).toBe('PASS');
    expect(r.evidence).toMatch(/messages-stored: chat's chat_messages_persisted_total grew by 275 \(from no series before the load .*\), the harness counted 275 .*: agree/);
    expect(r.evidence).toMatch(/sockets-held: chat's chat_ws_connections \+0 against the harness's own count .*it held 10\): agree/);
    expect(r.evidence).toMatch(/requests-rate-limited: not evaluable — the target lacks the metric .*not counted/);
  });

  it('sockets the harness opened just before the load\'s clock started still count as held', () => {
    const r = judge(agrees(HELD), { openAtS: -0.4 });
    expect(r.verdict, r.evidence).toBe('PASS');
    expect(r.evidence).toMatch(/it held 10\): agree/);
  });

  it('FAIL: a counter that counts half the messages; a gauge that keeps closed sockets', () => {
    const half = judge(agrees(MESSAGES, HELD), { countShare: 0.5 });
    expect(half.verdict, half.evidence).toBe('FAIL');
    expect(half.observed).toBeCloseTo(-138, 0);
    expect(half.evidence).toMatch(/under-counts by 138 \(50 %; allowed 13.75\)/);
    const leak = judge(agrees(MESSAGES, HELD), { leak: true });
    expect(leak.verdict, leak.evidence).toBe('FAIL');
    expect(leak.evidence).toMatch(/sockets-held: .*disagree/);
    expect(leak.evidence).toMatch(/messages-stored: .*agree/);
  });

  it('as-built (the real counters never move): the gauge at 0 FAILs, the counter that is never served is INCONCLUSIVE', () => {
    const r = judge(agrees(MESSAGES, HELD), { still: true });
    expect(r.verdict, r.evidence).toBe('FAIL');
    expect(r.evidence).toMatch(/chat served \/metrics \d+ times, never with a chat_messages_persisted_total series/);
    const alone = judge(agrees(MESSAGES), { still: true });
    expect(alone.verdict).toBe('INCONCLUSIVE');
  });

  it('INCONCLUSIVE: nothing the target can compare, too little done by the harness, too few readings of a level', () => {
    const none = judge(agrees(LIMITED));
    expect(none.verdict).toBe('INCONCLUSIVE');
    expect(none.evidence).toMatch(/^nothing to compare on this target/);
    const little = judge({ ...agrees(MESSAGES), minCount: 1000 });
    expect(little.verdict).toBe('INCONCLUSIVE');
    expect(little.evidence).toMatch(/the harness counted 275 .*fewer than 1000/);
    const few = judge({ ...agrees(HELD), minReadings: 100 });
    expect(few.verdict).toBe('INCONCLUSIVE');
    expect(few.evidence).toMatch(/60 readings of chat's chat_ws_connections while the harness held sockets \(need 100\)/);
  });

  it('a level names what the harness closed; a counter does not', () => {
    expect(() => HypothesisSchema.parse({ id: 'h', description: 'd', claims: ['X'], ...agrees({ ...HELD, harnessClosed: undefined }) })).toThrow(/a level \(sockets-held\) needs harness/);
    expect(() => HypothesisSchema.parse({ id: 'h', description: 'd', claims: ['X'], ...agrees({ ...MESSAGES, harnessClosed: { metric: 'x' } }) })).toThrow(/a counter takes harness alone/);
  });
});
