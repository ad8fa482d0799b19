/**
 * What a check needs from a service's /metrics, by what it means, and which series carries it on each kind of
 * target: the reference target's own names (its prom-client registries, fixtures/secureconnect/target) and the real
 * services' (SecureConnect's pkg/metrics: prometheus.go declares 003's list for every service, chat_metrics.go the
 * chat service's own). A quantity a target lacks is null: a check of it there is INCONCLUSIVE, never a guess.
 * Declared is not updated: whether a real counter moves with what the harness did is METRICS-CONSISTENT's to judge.
 */
import type { SeriesSelector } from '../results/model.js';
import { SERVER_METRIC } from './prometheus-text.js';

export const QUANTITIES = ['resident-memory', 'open-files', 'http-requests', 'sockets-held', 'messages-stored', 'requests-rate-limited', 'db-connections'] as const;
export type Quantity = (typeof QUANTITIES)[number];
export type MetricsDialect = 'reference' | 'secureconnect';

/** Per dialect, per quantity: the metric family, on which services (`*`: all), with which labels. */
const NAMES: Record<MetricsDialect, Record<Quantity, { metric: string; services: readonly string[] | '*'; tags?: Record<string, string> } | null>> = {
  reference: {
    // prom-client's default metrics, on every service.
    'resident-memory': { metric: 'process_resident_memory_bytes', services: '*' },
    'open-files': { metric: 'process_open_fds', services: '*' },
    'http-requests': { metric: 'http_requests_total', services: '*' },
    'sockets-held': { metric: 'chat_ws_connections', services: ['chat'] },
    'messages-stored': { metric: 'chat_messages_persisted_total', services: ['chat'] },
    // The reference gateway counts no refusal.
    'requests-rate-limited': null,
    // Its pg pools expose no gauge: the real services declare db_connections_active but never set it (pkg/metrics'
    // SetDBConnections has no caller), so there is nothing real to mirror.
    'db-connections': null,
  },
  secureconnect: {
    // client_golang's default registry (promhttp.Handler) carries the process collector.
    'resident-memory': { metric: 'process_resident_memory_bytes', services: '*' },
    'open-files': { metric: 'process_open_fds', services: '*' },
    'http-requests': { metric: 'http_requests_total', services: '*' },
    // 003's `websocket_connections` is declared too; the chat hub's own gauge is this one.
    'sockets-held': { metric: 'chat_websocket_connections', services: ['chat'] },
    'messages-stored': { metric: 'chat_message_persisted_total', services: ['chat'] },
    'requests-rate-limited': { metric: 'rate_limit_blocked_total', services: ['gateway'] },
    'db-connections': { metric: 'db_connections_active', services: '*' },
  },
};

/** The series carrying `q` on `service` of a target speaking `dialect`, or null when that target lacks it. */
export function seriesFor(q: Quantity, dialect: MetricsDialect, service: string): SeriesSelector | null {
  const n = NAMES[dialect][q];
  if (!n || (n.services !== '*' && !n.services.includes(service))) return null;
  return { metric: SERVER_METRIC, tags: { service, metric: n.metric, ...(n.tags ?? {}) } };
}

export const METRICS_DIALECTS: readonly MetricsDialect[] = ['reference', 'secureconnect'];

/** Which names a target's /metrics speaks: the embedded reference target its own, a deployment SecureConnect's. */
export const dialectOf = (targetKind: 'embedded' | 'external'): MetricsDialect => (targetKind === 'embedded' ? 'reference' : 'secureconnect');

/** Every dialect's series for `q` on `service` (what the pipeline must keep: a hypothesis is read before the target is known). */
export function seriesOfAnyDialect(q: Quantity, service: string): SeriesSelector[] {
  return METRICS_DIALECTS.flatMap((d) => seriesFor(q, d, service) ?? []);
}
