// The upstream leg: undici Pool + a raw dispatch handler. perf-baseline.md lesson 2: a dispatch
// handler avoids stream.pipeline's per-request AbortController/DOMException cost and nearly
// doubles small-body throughput; lesson 1: a client that goes away must abort the upstream request
// or the pool's sockets leak.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { ManifestTooLargeError, Reason, type ReasonCode } from '../errors.js';
import { sendJson } from './respond.js';
import { capacityOf, ReadAheadHandler, readRequestBody, registerCapacity, type CapacityOptions } from './origin-capacity.js';
import type { ForwardedFor } from '../request/context.js';

/** RFC 9110 §7.6.1 hop-by-hop headers, never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

export interface OriginOptions extends Partial<CapacityOptions> {
  url: string;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  connections: number;
}

/**
 * The keep-alive pool to the origin. With the read-ahead options (origin.responseBufferBytes …)
 * forward() keeps slow clients from holding its connections (origin-capacity.ts).
 */
export function createOriginPool(o: OriginOptions): Pool {
  const pool = new Pool(o.url, {
    connections: o.connections,
    pipelining: 1,
    connect: { timeout: o.connectTimeoutMs },
    headersTimeout: o.headersTimeoutMs,
    bodyTimeout: o.bodyTimeoutMs,
    keepAliveTimeout: 30_000,
  });
  if (o.responseBufferBytes !== undefined) {
    registerCapacity(pool, {
      responseBufferBytes: o.responseBufferBytes,
      bufferBudgetBytes: o.bufferBudgetBytes ?? 256 * 1024 * 1024,
      slowClientGraceMs: o.slowClientGraceMs ?? 1000,
      requestBufferBytes: o.requestBufferBytes ?? 1024 * 1024,
      requestBodyIdleTimeoutMs: o.requestBodyIdleTimeoutMs ?? 10_000,
    });
  }
  return pool;
}

/** Names listed in a `Connection` header are hop-by-hop too. */
function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (!value) return null;
  const text = Array.isArray(value) ? value.join(',') : value;
  const set = new Set<string>();
  for (const t of text.split(',')) {
    const name = t.trim().toLowerCase();
    if (name) set.add(name);
  }
  return set;
}

export type { ForwardedFor };

/** Client request headers → origin request headers (hop-by-hop removed, X-Forwarded-* set). */
export function upstreamHeaders(src: IncomingHttpHeaders, fwd: ForwardedFor, dropCookie?: (v: string) => string | undefined): Record<string, string | string[]> {
  const extra = connectionTokens(src.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in src) {
    if (HOP_BY_HOP.has(name) || (extra && extra.has(name))) continue;
    // Forwarding facts are ours to state: the client's copies (and RFC 7239 Forwarded, which we do not
    // produce) never reach an origin that may believe them (Ant Media trusts X-Real-IP from anyone).
    if (name === 'host' || name === 'x-forwarded-for' || name === 'x-forwarded-proto' || name === 'x-forwarded-host' || name === 'x-real-ip' || name === 'forwarded') continue;
    const v = src[name];
    if (v === undefined) continue;
    if (name === 'cookie' && dropCookie) {
      const kept = dropCookie(Array.isArray(v) ? v.join('; ') : v);
      if (kept) out.cookie = kept;
      continue;
    }
    out[name] = v;
  }
  out['x-forwarded-for'] = fwd.forwardedFor;
  out['x-forwarded-proto'] = fwd.proto;
  if (fwd.host) out['x-forwarded-host'] = fwd.host;
  if (fwd.realIp) out['x-real-ip'] = fwd.realIp;
  return out;
}

/** Origin response headers → client response headers. */
export function downstreamHeaders(src: IncomingHttpHeaders): Record<string, string | string[]> {
  const extra = connectionTokens(src.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in src) {
    if (HOP_BY_HOP.has(name) || (extra && extra.has(name))) continue;
    const v = src[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** Maps an undici failure to the status and reason the client sees. */
export function originFailure(err: Error & { code?: string }): { status: 502 | 504; reason: ReasonCode } {
  switch (err.code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return { status: 504, reason: Reason.originTimeout };
    default:
      return { status: 502, reason: Reason.originUnavailable };
  }
}

export interface ForwardRequest {
  method: string;
  /** Canonical path + (stripped) query, as sent to the origin. */
  path: string;
  headers: Record<string, string | string[]>;
  /** The client request when it carries a body (read ahead up to origin.requestBufferBytes, then streamed). */
  body: IncomingMessage | null;
}

export interface ForwardHooks {
  /** Extra response headers (e.g. Set-Cookie, CORS) merged over the origin's. */
  responseHeaders?: Record<string, string | string[]> | undefined;
  /** Edits the origin's response headers in place before they are sent (e.g. a WHIP Location). */
  rewriteHeaders?: ((status: number, headers: Record<string, string | string[]>) => void) | undefined;
  /** Called once with the outcome, for logs and metrics. */
  onDone?: (status: number, error?: Error) => void;
}

/**
 * Forwards a request and streams the origin's answer to the client (origin-capacity.ts: request
 * bodies read before a connection is taken, responses read ahead of slow clients, held connections
 * preempted for waiting requests). A client that goes away aborts the upstream request, which
 * releases the pool's socket (perf-baseline lesson 1).
 */
export function forward(pool: Dispatcher, req: ForwardRequest, res: ServerResponse, hooks: ForwardHooks = {}): void {
  const capacity = capacityOf(pool);
  let status = 0;
  let done = false;
  const finish = (s: number, err?: Error) => {
    if (done) return;
    done = true;
    hooks.onDone?.(s, err);
  };
  const handler = new ReadAheadHandler(
    res,
    {
      head(statusCode, headers, statusMessage) {
        status = statusCode;
        const out = downstreamHeaders(headers);
        hooks.rewriteHeaders?.(statusCode, out);
        if (hooks.responseHeaders) Object.assign(out, hooks.responseHeaders);
        res.writeHead(statusCode, statusMessage || undefined, out);
      },
      failed(err, headersSent) {
        if (!headersSent) {
          const f = originFailure(err);
          sendJson(res, f.status, { error: 'bad_gateway', reason: f.reason }, hooks.responseHeaders);
          finish(f.status, err);
        } else {
          // Mid-body failure: the only honest signal left is an aborted response.
          res.destroy(err);
          finish(status, err);
        }
      },
      done: (truncated) => finish(status, truncated ? new Error('origin connection preempted') : undefined),
    },
    capacity,
  );
  const dispatch = (body: Dispatcher.DispatchOptions['body']) => {
    if (res.destroyed) return;
    pool.dispatch({ method: req.method as Dispatcher.HttpMethod, path: req.path, headers: req.headers, body }, handler);
    capacity?.relieve();
  };
  if (!req.body || !capacity) return dispatch(req.body);
  // The body first, then a connection: a client trickling its body holds only its own socket.
  readRequestBody(req.body, capacity.opts.requestBufferBytes, capacity.opts.requestBodyIdleTimeoutMs).then(dispatch, (err: Error & { code?: string }) => {
    if (err.code === 'SG_ERR_BODY_TIMEOUT') {
      res.shouldKeepAlive = false;
      sendJson(res, 408, { error: 'request_timeout', reason: Reason.bodyTimeout }, hooks.responseHeaders);
      finish(408, err);
    } else {
      res.destroy();
      finish(0, err);
    }
  });
}

export interface BufferedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Collects a response into memory up to a cap, with no Readable in between (cheaper per request). */
class BufferingHandler implements Dispatcher.DispatchHandler {
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private chunks: Buffer[] = [];
  private size = 0;
  private controller: Dispatcher.DispatchController | null = null;
  constructor(
    private readonly maxBytes: number,
    private readonly resolve: (r: BufferedResponse) => void,
    private readonly reject: (e: Error) => void,
    /** The client response: when it closes first, the upstream request is aborted. */
    private readonly client?: ServerResponse,
  ) {
    client?.once('close', this.onClientClose);
  }

  private readonly onClientClose = () => {
    if (this.controller && !this.controller.aborted) this.controller.abort(new Error('client closed the connection'));
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.client?.destroyed) controller.abort(new Error('client closed the connection'));
  }

  private settle(): void {
    this.client?.off('close', this.onClientClose);
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return;
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      controller.abort(new ManifestTooLargeError(this.maxBytes));
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.settle();
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.resolve({ status: this.status, headers: this.headers, body });
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.settle();
    this.reject(err);
  }
}

/**
 * Fetches a response into memory, up to `maxBytes` (manifests that will be rewritten). Rejects with
 * ManifestTooLargeError past the cap; origin failures reject with undici errors.
 */
export function fetchBuffered(pool: Dispatcher, req: ForwardRequest, maxBytes: number, client?: ServerResponse): Promise<BufferedResponse> {
  return new Promise((resolve, reject) => {
    pool.dispatch(
      { method: req.method as Dispatcher.HttpMethod, path: req.path, headers: req.headers, body: req.body },
      new BufferingHandler(maxBytes, resolve, reject, client),
    );
  });
}
