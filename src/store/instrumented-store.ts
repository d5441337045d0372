// Wraps any Store so every call is counted (streamgate_store_calls_total{method}). This is how the
// "zero store calls per grant-authorized segment" property is measured rather than asserted.
import type { Store } from './store.js';
import type { Metrics } from '../observability/metrics.js';

export function instrumentStore(store: Store, metrics: Pick<Metrics, 'storeCalls' | 'storeErrors'>): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'constructor') return value;
      const method = String(prop);
      const counter = metrics.storeCalls.labels(method);
      const errors = metrics.storeErrors.labels(method);
      return (...args: unknown[]) => {
        counter.inc();
        const out = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (out instanceof Promise) out.catch(() => errors.inc());
        return out;
      };
    },
  });
}
