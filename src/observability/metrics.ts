// Prometheus metrics on the admin listener. Label sets are small and bounded (apps come from the
// config; reasons are the stable Reason codes; doors are a fixed list), so cardinality stays fixed.
// Process metrics are prom-client's standard, unprefixed names (process_*, nodejs_*) so stock
// Node.js dashboards work; everything streamgate-specific is streamgate_*.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { buildInfo } from './build-info.js';

/** The public listener's doors, as they appear in the `door` label. */
export type HttpDoor = 'proxy' | 'verify' | 'websocket';

export interface Metrics {
  registry: Registry;
  decisions: Counter<'app' | 'role' | 'outcome' | 'reason' | 'via' | 'door'>;
  decisionSeconds: Histogram<'door'>;
  storeCalls: Counter<'method'>;
  storeErrors: Counter<'method'>;
  /** Detected store data losses (the generation marker changed). */
  storeDataLoss: Counter;
  origin: Counter<'status'>;
  manifestCache: Counter<'result'>;
  /** RED per door on the public listener: requests by status code, duration, in flight. */
  httpRequests: Counter<'door' | 'code'>;
  httpSeconds: Histogram<'door'>;
  httpInFlight: Gauge<'door'>;
  /** 1 while the store answers, 0 while it is unreachable. */
  storeUp: Gauge;
  /** 1 unless the last connection attempt to the origin failed. */
  originUp: Gauge;
  /** Per JWKS URL: 1 after a successful download, 0 after a failed one. */
  jwksUp: Gauge<'url'>;
}

/**
 * prom-client's default gauges that end in `_total` (sums of the per-type gauges next to them):
 * Prometheus naming reserves `_total` for counters and `promtool check metrics` rejects them.
 * `sum(nodejs_active_handles)` gives the same number.
 */
const NON_COUNTER_TOTALS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export function createMetrics(withDefaults = true): Metrics {
  const registry = new Registry();
  if (withDefaults) {
    collectDefaultMetrics({ register: registry });
    for (const name of NON_COUNTER_TOTALS) registry.removeSingleMetric(name);
  }
  const info = buildInfo();
  new Gauge({ name: 'streamgate_build_info', help: 'Always 1; the labels say which streamgate version runs on which Node.js', labelNames: ['version', 'node'], registers: [registry] })
    .labels(info.version, info.node)
    .set(1);
  const originUp = new Gauge({ name: 'streamgate_origin_up', help: '1 unless the last connection attempt to the origin failed (refused, unreachable, timed out)', registers: [registry] });
  originUp.set(1);
  return {
    registry,
    decisions: new Counter({
      name: 'streamgate_decisions_total',
      help: 'Authorization decisions by app, role, outcome (allow/deny), reason and credential kind',
      labelNames: ['app', 'role', 'outcome', 'reason', 'via', 'door'],
      registers: [registry],
    }),
    decisionSeconds: new Histogram({
      name: 'streamgate_decision_seconds',
      help: 'Time to decide (checks and store calls, not forwarding)',
      labelNames: ['door'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.25, 1],
      registers: [registry],
    }),
    storeCalls: new Counter({ name: 'streamgate_store_calls_total', help: 'Store operations by method', labelNames: ['method'], registers: [registry] }),
    storeErrors: new Counter({ name: 'streamgate_store_errors_total', help: 'Store operations that failed', labelNames: ['method'], registers: [registry] }),
    storeDataLoss: new Counter({ name: 'streamgate_store_data_loss_total', help: 'Store data losses detected (generation marker changed)', registers: [registry] }),
    origin: new Counter({ name: 'streamgate_origin_responses_total', help: 'Origin responses by status class', labelNames: ['status'], registers: [registry] }),
    manifestCache: new Counter({
      name: 'streamgate_manifest_cache_total',
      help: 'Manifest requests by how the origin manifest was obtained: hit (shared cache), coalesced (joined a fetch in flight), miss (fetched), bypass (not shareable)',
      labelNames: ['result'],
      registers: [registry],
    }),
    httpRequests: new Counter({ name: 'streamgate_http_requests_total', help: 'Requests answered on the public listener, by door and HTTP status code', labelNames: ['door', 'code'], registers: [registry] }),
    httpSeconds: new Histogram({
      name: 'streamgate_http_request_duration_seconds',
      help: 'Time from request to the last response byte on the public listener (WebSocket: to the handshake answer), by door',
      labelNames: ['door'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    httpInFlight: new Gauge({ name: 'streamgate_http_requests_in_flight', help: 'Requests being answered on the public listener, by door', labelNames: ['door'], registers: [registry] }),
    storeUp: new Gauge({ name: 'streamgate_store_up', help: '1 while the store (memory or Redis) answers, 0 while it is unreachable', registers: [registry] }),
    originUp,
    jwksUp: new Gauge({ name: 'streamgate_jwks_up', help: 'Per JWKS URL: 1 after a successful key set download, 0 after a failed one', labelNames: ['url'], registers: [registry] }),
  };
}
