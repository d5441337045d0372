// One origin fetch per manifest for all viewers. Concurrent misses share one request (coalescing);
// the answer is kept while the origin says it is fresh (RFC 9111 §4.2: s-maxage, max-age, minus Age),
// or for a short default when it says nothing (live playlists). A 200 manifest is parsed once into a
// template (template.ts), so each viewer's answer is a join with its grant, not a parse.
//
// What is never shared (RFC 9111 §3, §3.5, §4.1): answers with `Cache-Control: no-store` or
// `private`, answers that set cookies, answers that Vary on anything but Accept-Encoding or Origin
// (the gate asks for identity and owns CORS), and requests that carry `Authorization`. Non-200
// answers are shared only with the requests already waiting for them. LL-HLS blocking reloads
// (`_HLS_msn`, `_HLS_part`, `_HLS_skip`) coalesce per exact query but never get the default TTL:
// only an explicit origin max-age keeps them, so none is answered from a stale entry.
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { IncomingHttpHeaders } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { Dispatcher } from 'undici';
import { downstreamHeaders, fetchBuffered, type ForwardRequest } from '../proxy/forward.js';
import { compileManifest, detectManifestKind, mayBeManifest } from './manifest.js';
import type { ManifestTemplate } from './template.js';
import type { UriContext } from './uri.js';

export interface ManifestCacheOptions {
  /** false: every request fetches on its own (no coalescing, no cache). */
  enabled: boolean;
  /** Freshness when the origin gives none (ms); 0 keeps nothing beyond coalescing. */
  defaultTtlMs: number;
  /** Bound of the kept bodies and templates, bytes. */
  maxBytes: number;
  /** A manifest larger than this is refused (the fetch rejects with a ManifestTooLargeError). */
  maxManifestBytes: number;
  /** Called once per real origin response (not for hits or coalesced requests), for metrics. */
  onOriginResponse?: (status: number) => void;
}

/** An origin answer as every viewer's response is built from it. Shared: never mutate. */
export interface OriginManifest {
  status: number;
  /** The origin's response headers minus hop-by-hop ones. */
  headers: Readonly<Record<string, string | string[]>>;
  /** The body as the origin sent it (used when `template` is null). */
  body: Buffer;
  /** Set for a 200 HLS/DASH manifest: render it with the viewer's grant. */
  template: ManifestTemplate | null;
  /** With a template: the headers every viewer's rewritten answer starts from (see `rewrittenHeaders`). */
  templateHeaders: Readonly<Record<string, string | string[]>> | null;
  /** May be handed to another viewer (coalesced or cached). */
  shareable: boolean;
  /** `performance.now()` past which the entry is stale. */
  expiresAt: number;
}

export type CacheResult = 'hit' | 'coalesced' | 'miss' | 'bypass';

/** Query parameters of LL-HLS blocking playlist reloads (draft-pantos-hls-rfc8216bis-18 §6.2.5.2). */
const BLOCKING_RELOAD = /[?&]_HLS_(?:msn|part|skip)=/;
/** Vary values that do not make the answer per-viewer: the gate sends identity, and owns CORS. */
const HARMLESS_VARY = new Set(['accept-encoding', 'origin']);
/** Request headers never sent on a manifest fetch: the gate needs the whole, current, identity body. */
const DROPPED_REQUEST_HEADERS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'];

export class ManifestCache {
  private readonly entries: LRUCache<string, OriginManifest>;
  private readonly inflight = new Map<string, Promise<OriginManifest>>();

  constructor(
    private readonly pool: Dispatcher,
    private readonly opts: ManifestCacheOptions,
  ) {
    this.entries = new LRUCache<string, OriginManifest>({
      maxSize: opts.maxBytes,
      sizeCalculation: (m) => Math.max(1, m.body.length + (m.template?.staticBytes ?? 0) + 512),
    });
  }

  /**
   * The origin's answer for `upstream` (always fetched as GET, so GET and HEAD share it), parsed for
   * `ctx` when it is a manifest. `key` must name everything the answer and its template depend on:
   * the client-facing origin and the path + query sent upstream. Rejects like `fetchBuffered`.
   */
  async get(key: string, upstream: ForwardRequest, ctx: UriContext): Promise<{ manifest: OriginManifest; result: CacheResult }> {
    if (!this.opts.enabled || upstream.headers.authorization !== undefined) {
      return { manifest: await this.fetch(manifestRequest(upstream), ctx, false), result: 'bypass' };
    }
    const cached = this.entries.get(key);
    if (cached !== undefined) {
      if (cached.expiresAt > performance.now()) return { manifest: cached, result: 'hit' };
      this.entries.delete(key);
    }
    const request = manifestRequest(upstream);
    const pending = this.inflight.get(key);
    if (pending !== undefined) {
      const shared = await pending;
      // The origin said this answer is one viewer's own: fetch ours instead of taking theirs.
      if (shared.shareable) return { manifest: shared, result: 'coalesced' };
      return { manifest: await this.fetch(request, ctx, false), result: 'bypass' };
    }
    const blocking = BLOCKING_RELOAD.test(upstream.path);
    const fetching = this.fetch(request, ctx, blocking);
    this.inflight.set(key, fetching);
    try {
      const manifest = await fetching;
      if (manifest.shareable && manifest.expiresAt > performance.now()) this.entries.set(key, manifest);
      return { manifest, result: 'miss' };
    } finally {
      this.inflight.delete(key);
    }
  }

  /** Entries kept now (tests, metrics). */
  get size(): number {
    return this.entries.size;
  }

  private async fetch(request: ForwardRequest, ctx: UriContext, blocking: boolean): Promise<OriginManifest> {
    let fetched;
    try {
      fetched = await fetchBuffered(this.pool, request, this.opts.maxManifestBytes);
    } catch (err) {
      this.opts.onOriginResponse?.(0);
      throw err;
    }
    this.opts.onOriginResponse?.(fetched.status);
    const { shareable, ttlMs } = freshness(fetched.status, fetched.headers, blocking ? 0 : this.opts.defaultTtlMs);
    const headers = downstreamHeaders(fetched.headers);
    const template = fetched.status === 200 ? templateOf(fetched.headers, fetched.body, ctx, this.opts.maxManifestBytes) : null;
    return {
      status: fetched.status,
      headers,
      body: fetched.body,
      template,
      templateHeaders: template ? rewrittenHeaders(headers) : null,
      shareable,
      expiresAt: performance.now() + ttlMs,
    };
  }
}

/** Origin headers that describe the origin's bytes, not a per-viewer rewrite of them. */
const REWRITE_DROPS = new Set(['content-encoding', 'content-length', 'etag', 'last-modified', 'content-md5', 'accept-ranges', 'age', 'expires', 'cache-control']);

/** The origin's headers for a per-viewer body: no validators, no shared caching. */
function rewrittenHeaders(origin: Record<string, string | string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in origin) if (!REWRITE_DROPS.has(name)) out[name] = origin[name]!;
  out['cache-control'] = 'private, no-store';
  return out;
}

function manifestRequest(upstream: ForwardRequest): ForwardRequest {
  const headers: Record<string, string | string[]> = { ...upstream.headers, 'accept-encoding': 'identity' };
  for (const h of DROPPED_REQUEST_HEADERS) delete headers[h];
  return { method: 'GET', path: upstream.path, headers, body: null };
}

/** Parsed once: the template of a manifest body, or null when the body is not one (passes unchanged). */
function templateOf(headers: IncomingHttpHeaders, body: Buffer, ctx: UriContext, maxBytes: number): ManifestTemplate | null {
  const contentType = typeof headers['content-type'] === 'string' ? headers['content-type'] : undefined;
  if (!mayBeManifest(contentType)) return null;
  let text: string;
  try {
    const decoded = decode(body, headers['content-encoding'], maxBytes);
    if (decoded === null) return null;
    text = decoded.toString('utf8');
  } catch {
    return null; // undecodable: pass the origin's bytes on
  }
  const kind = detectManifestKind(contentType, text);
  return kind === null ? null : compileManifest(kind, text, ctx);
}

/** Origins that compress although asked for identity are decompressed (bounded by `maxBytes`). */
function decode(body: Buffer, encoding: string | string[] | undefined, maxBytes: number): Buffer | null {
  const opts = { maxOutputLength: maxBytes };
  const value = Array.isArray(encoding) ? encoding.join(',') : (encoding ?? 'identity');
  switch (value.trim().toLowerCase()) {
    case 'identity':
    case '':
      return body;
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(body, opts);
    case 'deflate':
      return inflateSync(body, opts);
    case 'br':
      return brotliDecompressSync(body, opts);
    default:
      return null;
  }
}

/**
 * Whether an answer may be given to other viewers, and for how long (ms) it stays fresh.
 * RFC 9111 §5.2.2 directives; §4.2.1 (s-maxage over max-age for a shared cache); §4.2.3 (Age).
 */
export function freshness(status: number, headers: IncomingHttpHeaders, defaultTtlMs: number): { shareable: boolean; ttlMs: number } {
  const cc = cacheControl(headers['cache-control']);
  if (cc.has('no-store') || cc.has('private') || headers['set-cookie'] !== undefined || variesPerViewer(headers.vary)) return { shareable: false, ttlMs: 0 };
  if (status !== 200 || cc.has('no-cache')) return { shareable: true, ttlMs: 0 };
  const seconds = cc.get('s-maxage') ?? cc.get('max-age');
  if (seconds === undefined || seconds === null) return { shareable: true, ttlMs: defaultTtlMs };
  const maxAge = Number(seconds);
  if (!Number.isFinite(maxAge) || maxAge < 0) return { shareable: true, ttlMs: 0 };
  const age = Number(headers.age ?? 0);
  return { shareable: true, ttlMs: Math.max(0, (maxAge - (Number.isFinite(age) ? age : 0)) * 1000) };
}

/** Directive name (lower-cased) → argument (null when it has none). */
function cacheControl(value: string | string[] | undefined): Map<string, string | null> {
  const out = new Map<string, string | null>();
  if (value === undefined) return out;
  for (const part of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === '') continue;
    const arg = eq === -1 ? null : part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (!out.has(name)) out.set(name, arg);
  }
  return out;
}

function variesPerViewer(vary: string | undefined): boolean {
  if (vary === undefined) return false;
  for (const part of vary.split(',')) {
    const name = part.trim().toLowerCase();
    if (name !== '' && !HARMLESS_VARY.has(name)) return true; // includes `*`, Cookie, Authorization
  }
  return false;
}

/** True for an LL-HLS blocking reload (such a request is never answered from the default TTL). */
export function isBlockingReload(pathAndQuery: string): boolean {
  return BLOCKING_RELOAD.test(pathAndQuery);
}
