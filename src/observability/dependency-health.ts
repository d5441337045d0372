// Dependency state for incidents: the store, the origin and each JWKS URL are up or down. Every
// transition is one log line naming the dependency (error when it goes down, warn when it comes
// back) and a gauge (streamgate_store_up, streamgate_origin_up, streamgate_jwks_up{url}); repeated
// reports of the same state are free and silent, so callers report on every event they see.
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export type Dependency = 'store' | 'origin' | 'jwks';

/** Called by a dependency's owner on every success or failure it observes. */
export type AvailabilityListener = (up: boolean, detail?: string) => void;

export interface DependencyHealth {
  /**
   * Reports the state of `dependency` (at `target`: a URL or host:port without credentials).
   * `detail` is the failure's message (never a secret: callers pass error messages, not requests).
   */
  report(dependency: Dependency, target: string, up: boolean, detail?: string): void;
  /** A listener bound to one dependency and target, for leaves that know nothing else. */
  listener(dependency: Dependency, target: string): AvailabilityListener;
}

export function createDependencyHealth(log: Logger, metrics: Pick<Metrics, 'storeUp' | 'originUp' | 'jwksUp'>): DependencyHealth {
  const state = new Map<string, { up: boolean; since: number }>();

  function gauge(dependency: Dependency, target: string, up: boolean): void {
    const v = up ? 1 : 0;
    if (dependency === 'store') metrics.storeUp.set(v);
    else if (dependency === 'origin') metrics.originUp.set(v);
    else metrics.jwksUp.labels(target).set(v);
  }

  function report(dependency: Dependency, target: string, up: boolean, detail?: string): void {
    const key = `${dependency}\u0000${target}`;
    const before = state.get(key);
    if (before?.up === up) return;
    const now = Date.now();
    state.set(key, { up, since: now });
    gauge(dependency, target, up);
    const fields: Record<string, unknown> = { dependency, target, state: up ? 'up' : 'down' };
    if (detail) fields.detail = detail;
    if (before) fields.previousStateMs = now - before.since;
    if (!up) log.error(fields, `${dependency} down`);
    else if (before) log.warn(fields, `${dependency} recovered`);
    else log.info(fields, `${dependency} up`);
  }

  return { report, listener: (dependency, target) => (up, detail) => report(dependency, target, up, detail) };
}

/** A URL as it may appear in logs and labels: scheme, host and path, no credentials or query. */
export function urlForLogs(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '[unparsable url]';
  }
}
