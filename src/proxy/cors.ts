// CORS for app paths (reference §11, improvements §13.11). The gate owns CORS: it answers preflights
// itself, puts the same headers on every response of an app (its own denies included, so a player
// can read a 401 reason instead of an opaque CORS error) and drops whatever Access-Control-* headers
// the origin sent — Ant Media's filter reflects any Origin with credentials when the request carries
// Authorization, and a `*` from the origin would undo a configured allowlist.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { CorsConfig } from '../config/schema.js';
import { sendReason } from './respond.js';
import { Reason } from '../decision/reasons.js';

/** CORS preflight refusals (declared with their statuses in decision/reasons.ts). */
export const CorsReason = {
  originNotAllowed: Reason.corsOriginNotAllowed,
  methodNotAllowed: Reason.corsMethodNotAllowed,
  headerNotAllowed: Reason.corsHeaderNotAllowed,
} as const;

/** An app's CORS policy in the shape a request needs; built once per app when the gate starts. */
export interface CompiledCors {
  config: CorsConfig;
  wildcard: boolean;
  origins: Set<string>;
  methods: Set<string>;
  headers: Set<string>;
  allowMethods: string;
  allowHeaders: string;
  expose: string;
}

/** Compiles an app's `cors` section (origins lower-cased, methods upper-cased, header values joined). */
export function compileCors(cors: CorsConfig): CompiledCors {
  return {
    config: cors,
    wildcard: cors.allowedOrigins.includes('*'),
    // Browsers serialize origins in lowercase; compare the same way.
    origins: new Set(cors.allowedOrigins.map((o) => o.toLowerCase())),
    methods: new Set(cors.allowedMethods.map((m) => m.toUpperCase())),
    headers: new Set(cors.allowedHeaders.map((h) => h.toLowerCase())),
    allowMethods: cors.allowedMethods.join(', '),
    allowHeaders: cors.allowedHeaders.join(', '),
    expose: cors.exposedHeaders.join(', '),
  };
}

function originOf(req: IncomingMessage): string | undefined {
  const o = req.headers.origin;
  return typeof o === 'string' && o !== '' ? o : undefined;
}

/** The allow-origin value for this request, or null when its origin is not allowed. */
function allowOrigin(c: CompiledCors, origin: string | undefined): Record<string, string> | null {
  // Wildcard: identical for every requester (also without Origin), so caches need no Vary. Never
  // combined with credentials (config validation refuses it; this is the second lock).
  if (c.wildcard) return { 'access-control-allow-origin': '*' };
  if (origin === undefined || !c.origins.has(origin.toLowerCase())) return null;
  const h: Record<string, string> = { 'access-control-allow-origin': origin, vary: 'Origin' };
  if (c.config.allowCredentials) h['access-control-allow-credentials'] = 'true';
  return h;
}

/** CORS headers for an actual (non-preflight) response, or null: no headers, the request proceeds. */
export function corsHeaders(c: CompiledCors, req: IncomingMessage): Record<string, string> | null {
  const h = allowOrigin(c, originOf(req));
  if (h && c.expose) h['access-control-expose-headers'] = c.expose;
  return h;
}

/**
 * Answers a CORS preflight (OPTIONS with Access-Control-Request-Method): 204 with the allowed
 * methods/headers/max-age, or 403 JSON naming what was refused. false: not a preflight.
 */
export function answerPreflight(c: CompiledCors, req: IncomingMessage, res: ServerResponse): boolean {
  const requested = req.headers['access-control-request-method'];
  if (req.method !== 'OPTIONS' || typeof requested !== 'string' || requested === '') return false;
  const allow = allowOrigin(c, originOf(req));
  if (!allow) {
    sendReason(res, 'proxy', CorsReason.originNotAllowed);
    return true;
  }
  if (!c.methods.has(requested.trim().toUpperCase())) {
    sendReason(res, 'proxy', CorsReason.methodNotAllowed);
    return true;
  }
  const asked = req.headers['access-control-request-headers'];
  if (typeof asked === 'string') {
    for (const name of asked.split(',')) {
      const n = name.trim().toLowerCase();
      if (n !== '' && !c.headers.has(n)) {
        sendReason(res, 'proxy', CorsReason.headerNotAllowed);
        return true;
      }
    }
  }
  res.writeHead(204, {
    ...allow,
    'access-control-allow-methods': c.allowMethods,
    'access-control-allow-headers': c.allowHeaders,
    'access-control-max-age': String(c.config.maxAgeSeconds),
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    'content-length': '0',
  });
  res.end();
  return true;
}

// --- binding to a response -----------------------------------------------------------------
// Runs on every response of an app (segments included): no splitting, no lowercasing of names
// that cannot match, one object built.

type HeaderArg = OutgoingHttpHeaders | (string | string[])[] | undefined;

/** `access-control-*` in any case, without allocating for the names that cannot be one. */
function isCorsName(name: string): boolean {
  const c = name.charCodeAt(0) | 0x20;
  return c === 0x61 && name.length > 15 && name.slice(0, 15).toLowerCase() === 'access-control-';
}

function isVary(name: string): boolean {
  return name.length === 4 && (name.charCodeAt(0) | 0x20) === 0x76 && name.toLowerCase() === 'vary';
}

const VARY_ORIGIN = /(^|,)\s*(origin|\*)\s*(,|$)/i;

/** Appends `Origin` to a Vary value unless it is already there (or `*`). */
function varyWithOrigin(existing: string | undefined): string {
  if (!existing) return 'Origin';
  return VARY_ORIGIN.test(existing) ? existing : `${existing}, Origin`;
}

function joinValue(v: unknown): string {
  return Array.isArray(v) ? v.join(', ') : String(v);
}

/** Copies one header into `out` unless it is Access-Control-*; returns the Vary seen so far. */
function putHeader(out: OutgoingHttpHeaders, name: string, value: OutgoingHttpHeaders[string], vary: string | undefined): string | undefined {
  if (value === undefined || isCorsName(name)) return vary;
  if (!isVary(name)) {
    out[name] = value;
    return vary;
  }
  return vary ? `${vary}, ${joinValue(value)}` : joinValue(value);
}

/** Header object without Access-Control-*, with `ours` set and (allowlist mode) Vary: Origin. */
function rewrite(headers: HeaderArg, ours: Record<string, string> | null, addVaryOrigin: boolean, res: ServerResponse): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  let vary: string | undefined;
  if (Array.isArray(headers)) {
    // writeHead accepts [[name, value], …] and the flat raw form [name, value, name, value, …].
    if (headers.length > 0 && Array.isArray(headers[0])) for (const pair of headers as string[][]) vary = putHeader(out, String(pair[0]), pair[1], vary);
    else for (let i = 0; i + 1 < headers.length; i += 2) vary = putHeader(out, String(headers[i]), headers[i + 1] as string, vary);
  } else if (headers) {
    for (const name in headers) vary = putHeader(out, name, headers[name], vary);
  }
  // Headers set earlier with setHeader are merged by Node after this: clean those too.
  const names = res.getHeaderNames();
  if (names.length > 0) {
    for (const name of names) if (isCorsName(name)) res.removeHeader(name);
    const set = res.getHeader('vary');
    if (set !== undefined) {
      vary = vary ? `${vary}, ${joinValue(set)}` : joinValue(set);
      res.removeHeader('vary');
    }
  }
  if (ours) for (const name in ours) out[name] = ours[name];
  if (addVaryOrigin) vary = varyWithOrigin(vary);
  if (vary) out.vary = vary;
  return out;
}

// Per-response state on a symbol and one shared wrapper: no closure, no WeakMap entry per response.
const STATE = Symbol('streamgate.cors');
interface CorsState {
  original: (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  ours: Record<string, string> | null;
  addVaryOrigin: boolean;
}
type BoundResponse = ServerResponse & { [STATE]?: CorsState };

function corsWriteHead(this: BoundResponse, status: number, a?: unknown, b?: unknown): ServerResponse {
  const st = this[STATE]!;
  const message = typeof a === 'string' ? a : undefined;
  const headers = (typeof a === 'string' || a === undefined ? b : a) as HeaderArg;
  const out = rewrite(headers, st.ours, st.addVaryOrigin, this);
  return message === undefined ? st.original.call(this, status, out) : st.original.call(this, status, message, out);
}

/**
 * From now on every response written on `res` (writeHead, or an implicit one from end()) carries
 * this app's CORS headers and none from anywhere else. Call once per request, after the preflight.
 */
export function bindCors(res: ServerResponse, c: CompiledCors, req: IncomingMessage): void {
  const r = res as BoundResponse;
  if (r[STATE]) return;
  const ours = corsHeaders(c, req);
  if (ours) delete ours.vary; // Vary is merged in rewrite(), with the response's own
  // With an allowlist the answer depends on Origin even when it is "no headers": tell caches.
  r[STATE] = { original: res.writeHead as CorsState['original'], ours, addVaryOrigin: !c.wildcard };
  res.writeHead = corsWriteHead as ServerResponse['writeHead'];
}
