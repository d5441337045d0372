// "Accept undefined streams" answered by the origin (`publish.registry: origin`): a stream exists
// when the origin's REST API knows its broadcast (`GET /{app}/rest/v2/broadcasts/{id}`: 200 yes,
// 404 no). Answers are cached `registryCacheSeconds` (both ways: a burst of publish attempts for an
// unknown id costs one origin call) and concurrent lookups of one id share a request. Anything else
// (5xx, timeout, refused connection) is "cannot decide": StoreUnavailableError, i.e. fail closed.
// The origin's REST filter must let the gate's address through (Ant Media `remoteAllowedCIDR`).
import type { Dispatcher } from 'undici';
import type { Config } from '../config/schema.js';
import { StoreUnavailableError } from '../errors.js';
import type { StreamRegistry } from './registered-stream.js';

export interface OriginRegistryOptions {
  /** The origin's connection pool (the runtime's undici Pool). */
  dispatcher: Dispatcher;
  cacheSeconds: number;
  timeoutMs: number;
  /** Bound of the answer cache (default 10,000 ids). */
  maxEntries?: number;
}

export interface OriginRegistry extends StreamRegistry {
  /** Requests actually sent to the origin (tests, metrics). */
  readonly lookups: number;
}

export function createOriginRegistry(o: OriginRegistryOptions): OriginRegistry {
  const ttlMs = o.cacheSeconds * 1000;
  const maxEntries = o.maxEntries ?? 10_000;
  const cache = new Map<string, { exists: boolean; until: number }>();
  const inflight = new Map<string, Promise<boolean>>();
  let lookups = 0;

  async function ask(app: string, streamId: string): Promise<boolean> {
    lookups++;
    let res: Dispatcher.ResponseData;
    try {
      res = await o.dispatcher.request({
        method: 'GET',
        path: `/${encodeURIComponent(app)}/rest/v2/broadcasts/${encodeURIComponent(streamId)}`,
        headers: { accept: 'application/json' },
        // undici's own timeouts tick at ~1 s; the signal makes short timeouts exact.
        signal: AbortSignal.timeout(o.timeoutMs),
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
      });
    } catch (cause) {
      throw new StoreUnavailableError('the origin stream registry is unreachable', { cause });
    }
    await res.body.dump().catch(() => undefined);
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw new StoreUnavailableError(`the origin stream registry answered ${res.statusCode}`);
  }

  async function exists(app: string, streamId: string): Promise<boolean> {
    // `.` and `..` are legal Ant Media ids but would walk the origin's REST path: never registered.
    if (/^\.+$/.test(streamId)) return false;
    const key = `${app}\0${streamId}`;
    const hit = cache.get(key);
    if (hit && hit.until > Date.now()) return hit.exists;
    const pending = inflight.get(key);
    if (pending) return pending;
    const p = ask(app, streamId)
      .then((found) => {
        if (ttlMs > 0) {
          cache.delete(key);
          cache.set(key, { exists: found, until: Date.now() + ttlMs });
          if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
        }
        return found;
      })
      .finally(() => inflight.delete(key));
    inflight.set(key, p);
    return p;
  }

  return {
    exists,
    get lookups() {
      return lookups;
    },
  };
}

/** A registry that cannot answer: `registry: origin` without an origin fails closed, never open. */
const NO_ORIGIN: StreamRegistry = {
  exists: () => Promise.reject(new StoreUnavailableError('publish.registry is "origin" but no origin.url is configured')),
};

/** One registry per app that asks the origin; apps using the store have none (decide() reads the store). */
export function createRegistries(config: Config, dispatcher: Dispatcher | null): Map<string, StreamRegistry> {
  const registries = new Map<string, StreamRegistry>();
  for (const [name, app] of Object.entries(config.apps)) {
    if (app.publish.registry !== 'origin') continue;
    registries.set(
      name,
      dispatcher
        ? createOriginRegistry({ dispatcher, cacheSeconds: app.publish.registryCacheSeconds, timeoutMs: config.origin.headersTimeoutMs })
        : NO_ORIGIN,
    );
  }
  return registries;
}
