// Everything a front door needs at request time, built once from a validated config.
import type { Pool } from 'undici';
import type { Config } from './config/schema.js';
import type { Store, TrackedPlayback } from './store/store.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import { compileApps, type AppRuntime } from './decision/policy.js';
import { compileCidrs } from './request/client-ip.js';
import { createOriginPool } from './proxy/forward.js';
import { instrumentStore } from './store/instrumented-store.js';
import { PlaybackSessions, SESSION_GRACE_MS } from './session/playback-sessions.js';
import { PlaybackEnds } from './session/playback-ends.js';
import { RevocationCache } from './session/revocation-cache.js';
import { recordConnectionEvent } from './api/connection-events.js';
import type { StreamRegistry } from './checks/registered-stream.js';
import { createRegistries } from './checks/origin-registry.js';
import { createAttemptLimiter, type AttemptLimiter } from './checks/attempt-limiter.js';
import { ManifestCache } from './manifest/origin-cache.js';
import { compileCors, type CompiledCors } from './proxy/cors.js';
import { compileRestFilter, type CompiledRestFilter } from './api/rest-filter.js';
import { createDependencyHealth, urlForLogs, type DependencyHealth } from './observability/dependency-health.js';

export interface Runtime {
  config: Config;
  apps: Map<string, AppRuntime>;
  store: Store;
  /** null when no origin is configured (check-config, tests of /verify alone). */
  pool: Pool | null;
  /** Origin manifests shared by all viewers (null when no origin is configured). */
  manifests: ManifestCache | null;
  log: Logger;
  metrics: Metrics;
  /** Store, origin and JWKS up/down: one log line per transition, and the *_up gauges. */
  health: DependencyHealth;
  /** Peers whose X-Forwarded-* are believed on the proxy and WebSocket doors (`trustedProxies`). */
  isTrustedProxy: (ip: string) => boolean;
  /** Callers of `/verify` (`verify.allowedCallers`); their forwarded headers count there only. */
  isVerifyCaller: (ip: string) => boolean;
  isPanelClient: (ip: string) => boolean;
  sessions: PlaybackSessions;
  /** Revocation epochs in memory, kept current by push (started here, closed with the gate). */
  revocations: RevocationCache;
  /** Writes `disconnected` events for HTTP playback sessions whose refreshes stopped. */
  playbackEnds: PlaybackEnds;
  /** Per app, when `publish.registry: origin`: where "registered stream" is asked (else the store). */
  registries: Map<string, StreamRegistry>;
  /** Attempt counting and lockout (limits.attempts); null when off. */
  attempts: AttemptLimiter | null;
  /** Per app, compiled at start: CORS policy and REST filter (JWT key resolver, CIDRs). */
  cors: Map<string, CompiledCors>;
  restFilters: Map<string, CompiledRestFilter>;
}

export function createRuntime(config: Config, deps: { store: Store; log: Logger; metrics: Metrics }): Runtime {
  const health = createDependencyHealth(deps.log, deps.metrics);
  if (deps.store.watchAvailability) deps.store.watchAvailability(health.listener('store', deps.store.target ?? deps.store.kind));
  else health.report('store', deps.store.target ?? deps.store.kind, true);
  const store = instrumentStore(deps.store, deps.metrics);
  // Background sync talks to the raw store: streamgate_store_calls_total counts request-path calls.
  const revocations = new RevocationCache(deps.store, {
    resyncMs: config.session.resyncSeconds * 1000,
    log: deps.log,
    onDataLoss: () => deps.metrics.storeDataLoss.inc(),
  });
  revocations.start();
  // Every new playback session is a `connected` event for the management API's statistics, and a
  // session whose refreshes stop (grant expiry + grace) a `disconnected` one, written by one replica.
  const playbackEvent = (eventType: 'connected' | 'disconnected') => ({ playback: p }: TrackedPlayback, timestamp: number) =>
    void recordConnectionEvent({ store, log: deps.log }, p.app, { streamId: p.streamId, subscriberId: p.subscriberId, type: p.type, eventType, eventProtocol: p.eventProtocol, timestamp });
  const playbackEnds = new PlaybackEnds(
    store,
    playbackEvent('disconnected'),
    { graceMs: SESSION_GRACE_MS, flushIntervalMs: 1000, sweepIntervalMs: 5000 },
    (err, what) => deps.log.debug({ err, what }, 'playback end tracking deferred: store unavailable'),
    // `connected` once per session fleet-wide: the flush that registers a session the store was not
    // tracking reports it, with the time this replica first saw it.
    playbackEvent('connected'),
  );
  const sessions = new PlaybackSessions(config.session, store, revocations, (app, grant, protocol) => playbackEnds.seen(app, grant, protocol));
  const pool = config.origin.url ? createOriginPool({ ...config.origin, url: config.origin.url }) : null;
  if (pool && config.origin.url) {
    // undici reports every new origin connection and every failed attempt (refused, DNS, connect
    // timeout): enough to log an unreachable origin once and its recovery once.
    const origin = health.listener('origin', urlForLogs(config.origin.url));
    pool.on('connect', () => origin(true));
    pool.on('connectionError', (_o, _t, err) => origin(false, err.message || (err as { code?: string }).code));
  }
  const attempts = createAttemptLimiter(deps.store, config.limits.attempts, deps.metrics.registry);
  if (sessions.ephemeralKey) deps.log.warn('session.secrets is empty: playback grants are signed with a random key and verify on this replica only');
  const jwks = (url: string) => health.listener('jwks', urlForLogs(url));
  const apps = compileApps(config, store, attempts, jwks);
  return {
    sessions,
    revocations,
    playbackEnds,
    config,
    apps,
    attempts,
    cors: new Map([...apps.values()].map((a) => [a.name, compileCors(a.config.cors)])),
    restFilters: new Map([...apps.values()].map((a) => [a.name, compileRestFilter(a.config.rest, store, jwks)])),
    store,
    pool,
    manifests: pool
      ? new ManifestCache(pool, {
          enabled: config.manifest.cache,
          defaultTtlMs: config.manifest.cacheTtlMs,
          maxBytes: config.manifest.cacheMaxBytes,
          maxManifestBytes: config.limits.maxManifestBytes,
          onOriginResponse: (status) => deps.metrics.origin.labels(status ? `${Math.floor(status / 100)}xx` : 'error').inc(),
        })
      : null,
    registries: createRegistries(config, pool),
    log: deps.log,
    metrics: deps.metrics,
    health,
    isTrustedProxy: compileCidrs(config.trustedProxies),
    isVerifyCaller: compileCidrs(config.verify.allowedCallers),
    isPanelClient: compileCidrs(config.panel.allowedCIDRs),
  };
}
