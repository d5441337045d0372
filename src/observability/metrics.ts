// Prometheus metrics on the admin listener. Label sets are small and bounded (apps come from the
// config; reasons are the stable Reason codes), so cardinality stays fixed.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
}

export function createMetrics(withDefaults = true): Metrics {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'streamgate_' });
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
  };
}
