// One key function for jose's jwtVerify, shared by the stream JWT check and the REST API filter.
// HS* → the configured secrets (each imported once; several during a rotation, all tried by
// verifyJwt); asymmetric → a JWKS fetched with undici, cached,
// optionally shared through the store so a fleet of replicas does not stampede the issuer.
// Improves on Ant Media (reference §4.3): any URL, a cache, timeouts, non-RSA keys, no per-call fetch.
import { createLocalJWKSet, errors, jwtVerify } from 'jose';
import type { CompactJWSHeaderParameters, CryptoKey, FlattenedJWSInput, JWTVerifyGetKey, JWTVerifyOptions, JWTVerifyResult, KeyObject } from 'jose';
import { request } from 'undici';
import type { Store } from '../store/store.js';

export interface KeyResolverOptions {
  /** HMAC secrets for HS256/384/512: every one verifies (rotation); the config's `secret` list. */
  secret?: readonly string[] | undefined;
  jwksUrl?: string | undefined;
  jwksCacheSeconds: number;
  jwksTimeoutMs: number;
  jwksCooldownSeconds: number;
  jwksShared: boolean;
  /** Clock in ms (tests); defaults to Date.now. */
  clock?: (() => number) | undefined;
}

export interface KeyResolverStats {
  /** Successful JWKS downloads from the issuer. */
  jwksFetches: number;
  /** Failed downloads (network, timeout, status, malformed set). */
  jwksFetchFailures: number;
  /** Key sets taken from the shared store instead of the issuer. */
  sharedReads: number;
  /** Calls of the key function (i.e. signature verifications attempted). */
  keyLookups: number;
}

export type KeyResolver = JWTVerifyGetKey & {
  readonly stats: () => KeyResolverStats;
  /** Loads the key set now (e.g. at startup); never rejects. */
  readonly preload: () => Promise<void>;
};

type Key = CryptoKey | KeyObject | Uint8Array;

// A Map, not an object literal: `alg in {}` would also match 'constructor', 'toString'…
const HMAC_HASH = new Map([
  ['HS256', 'SHA-256'],
  ['HS384', 'SHA-384'],
  ['HS512', 'SHA-512'],
]);
/** A JWKS is a few KB; refuse anything absurd rather than buffering it. */
const MAX_JWKS_BYTES = 512 * 1024;

function noKey(message: string): errors.JWKSNoMatchingKey {
  return new errors.JWKSNoMatchingKey(message);
}

async function downloadJwks(url: string, timeoutMs: number): Promise<string> {
  const res = await request(url, {
    method: 'GET',
    headers: { accept: 'application/jwk-set+json, application/json' },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.statusCode !== 200) {
    await res.body.dump().catch(() => undefined);
    throw new Error(`JWKS endpoint answered ${res.statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_JWKS_BYTES) {
      res.body.destroy();
      throw new Error('JWKS document too large');
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a JWKS document once into a jose local key set; throws on anything malformed. */
function parseJwks(text: string): JWTVerifyGetKey {
  const json: unknown = JSON.parse(text);
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { keys?: unknown }).keys)) {
    throw new errors.JWKSInvalid('JSON Web Key Set malformed');
  }
  return createLocalJWKSet(json as Parameters<typeof createLocalJWKSet>[0]) as JWTVerifyGetKey;
}

/**
 * jose's jwtVerify with a key function that may name several candidate keys (a secret rotation, or a
 * JWKS with several keys for the token's `alg` and no `kid`): each is tried in turn and the first
 * that verifies wins. Errors: jose's (JWTExpired, JWSSignatureVerificationFailed, …); with several
 * candidates, the last candidate's failure.
 */
export async function verifyJwt(token: string, getKey: JWTVerifyGetKey, options: JWTVerifyOptions): Promise<JWTVerifyResult> {
  try {
    return await jwtVerify(token, getKey, options);
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
    let last: unknown = err;
    for await (const key of err as unknown as AsyncIterable<Key>) {
      try {
        return await jwtVerify(token, key, options);
      } catch (inner) {
        // A bad signature means "not this key"; anything else (expiry, claims) is the same for all.
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
        last = inner;
      }
    }
    throw last;
  }
}

/**
 * `onFetch(ok, detail)` hears every download attempt from the issuer (not shared-store reads), so
 * a JWKS outage and its end can be logged once per transition by the caller.
 */
export function createKeyResolver(opts: KeyResolverOptions, store: Store, onFetch?: (ok: boolean, detail?: string) => void): KeyResolver {
  const now = opts.clock ?? Date.now;
  const stats: KeyResolverStats = { jwksFetches: 0, jwksFetchFailures: 0, sharedReads: 0, keyLookups: 0 };

  // --- HMAC: each secret is encoded once and imported once per HS algorithm ------------------
  const secretBytes = (opts.secret ?? []).filter((s) => s !== '').map((s) => new TextEncoder().encode(s));
  const hmacKeys = new Map<string, Promise<CryptoKey[]>>();
  function hmacKeysFor(alg: string): Promise<CryptoKey[]> {
    let keys = hmacKeys.get(alg);
    if (!keys) {
      const algorithm = { name: 'HMAC', hash: HMAC_HASH.get(alg) as string };
      keys = Promise.all(secretBytes.map((bytes) => crypto.subtle.importKey('raw', bytes as Uint8Array<ArrayBuffer>, algorithm, false, ['verify'])));
      hmacKeys.set(alg, keys);
    }
    return keys;
  }

  // --- JWKS ---------------------------------------------------------------------------------
  const url = opts.jwksUrl;
  const sharedKey = url ? `jwks:${url}` : '';
  const cacheMs = opts.jwksCacheSeconds * 1000;
  const cooldownMs = opts.jwksCooldownSeconds * 1000;
  let current: { set: JWTVerifyGetKey; text: string; loadedAt: number } | null = null;
  let inflight: { p: Promise<void>; forced: boolean } | null = null;
  let lastFailureAt = Number.NEGATIVE_INFINITY;
  let lastForcedAt = Number.NEGATIVE_INFINITY;

  function install(text: string): void {
    const set = parseJwks(text);
    current = { set, text, loadedAt: now() };
  }

  async function readShared(): Promise<string | null> {
    if (!opts.jwksShared) return null;
    try {
      return await store.getShared(sharedKey);
    } catch {
      return null; // store down: the issuer is still there
    }
  }

  /**
   * Loads a key set: first the fleet's shared copy (when it differs from what we hold — after an
   * unknown kid another replica may already have refetched), then the issuer. Never rejects:
   * on failure the previous set stays in use.
   */
  async function load(force: boolean): Promise<void> {
    const shared = await readShared();
    if (shared !== null && (!force || shared !== current?.text)) {
      try {
        install(shared);
        stats.sharedReads++;
        return;
      } catch {
        // a malformed shared copy: fall through to the issuer, which overwrites it
      }
    }
    try {
      const text = await downloadJwks(url as string, opts.jwksTimeoutMs);
      install(text);
      stats.jwksFetches++;
      onFetch?.(true);
      if (opts.jwksShared) await store.setShared(sharedKey, text, cacheMs).catch(() => undefined);
    } catch (err) {
      // Issuer down, slow or serving garbage: keep the cached set; back off before retrying.
      stats.jwksFetchFailures++;
      onFetch?.(false, err instanceof Error ? err.message || err.name : String(err));
      lastFailureAt = now();
    }
  }

  /** One load at a time; a forced load asked for during a plain one runs right after it. */
  function refresh(force: boolean): Promise<void> {
    if (inflight && (inflight.forced || !force)) return inflight.p;
    const before = inflight?.p ?? Promise.resolve();
    const entry: { p: Promise<void>; forced: boolean } = { forced: force, p: Promise.resolve() };
    entry.p = before
      .then(() => load(force))
      .finally(() => {
        if (inflight === entry) inflight = null;
      });
    inflight = entry;
    return entry.p;
  }

  async function keySet(): Promise<JWTVerifyGetKey | null> {
    const t = now();
    if (current && t - current.loadedAt < cacheMs) return current.set;
    const backingOff = t - lastFailureAt < cooldownMs;
    if (current) {
      // Stale: keep verifying with it and refresh in the background.
      if (!backingOff) void refresh(false);
      return current.set;
    }
    if (!backingOff) await refresh(false);
    return current ? (current as { set: JWTVerifyGetKey }).set : null;
  }

  async function jwksKey(header: CompactJWSHeaderParameters, token: FlattenedJWSInput): Promise<Key> {
    const set = await keySet();
    if (!set) throw noKey('no JSON Web Key Set is available');
    try {
      return (await set(header, token)) as Key;
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
    }
    // Unknown kid: the issuer may have rotated. Refetch, but at most once per cooldown so that
    // tokens with made-up kids cannot turn us into a flood against the issuer.
    const t = now();
    if (t - lastForcedAt < cooldownMs) throw noKey('no applicable key found in the JSON Web Key Set');
    lastForcedAt = t;
    const before = current?.text;
    await refresh(true);
    if (!current || current.text === before) throw noKey('no applicable key found in the JSON Web Key Set');
    return (await (current as { set: JWTVerifyGetKey }).set(header, token)) as Key;
  }

  const resolver = async (header: CompactJWSHeaderParameters, token: FlattenedJWSInput): Promise<Key> => {
    stats.keyLookups++;
    const alg = header.alg ?? '';
    if (HMAC_HASH.has(alg)) {
      // Only ever the configured secrets: a JWKS public key is never used as an HMAC key (HS/RS confusion).
      if (secretBytes.length === 0) throw noKey(`no secret configured for ${alg}`);
      const keys = await hmacKeysFor(alg);
      if (keys.length === 1) return keys[0]!;
      // Several secrets (a rotation): jose's protocol for "try each of these", see verifyJwt.
      const several = new errors.JWKSMultipleMatchingKeys();
      several[Symbol.asyncIterator] = async function* () {
        yield* keys;
      };
      throw several;
    }
    if (!url) throw noKey('no JWKS URL configured for asymmetric algorithms');
    return jwksKey(header, token);
  };

  return Object.assign(resolver as JWTVerifyGetKey, {
    stats: (): KeyResolverStats => ({ ...stats }),
    preload: async (): Promise<void> => {
      if (url) await refresh(false);
    },
  });
}
