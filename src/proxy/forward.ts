// The upstream leg: undici Pool + a raw dispatch handler. perf-baseline.md lesson 2: a dispatch
// handler avoids stream.pipeline's per-request AbortController/DOMException cost and nearly
// doubles small-body throughput; lesson 1: a client that goes away must abort the upstream request
// or the pool's sockets leak.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { ManifestTooLargeError, Reason, type ReasonCode } from '../errors.js';
import { sendJson } from './respond.js';
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

export interface OriginOptions {
  url: string;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  connections: number;
}

export function createOriginPool(o: OriginOptions): Pool {
  return new Pool(o.url, {
    connections: o.connections,
    pipelining: 1,
    connect: { timeout: o.connectTimeoutMs },
    headersTimeout: o.headersTimeoutMs,
    bodyTimeout: o.bodyTimeoutMs,
    keepAliveTimeout: 30_000,
  });
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
    if (name === 'host' || name === 'x-forwarded-for' || name === 'x-forwarded-proto' || name === 'x-forwarded-host') continue;
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
  /** The client request when it carries a body (streamed, never buffered). */
  body: IncomingMessage | null;
}

export interface ForwardHooks {
  /** Extra response headers (e.g. Set-Cookie, CORS) merged over the origin's. */
  responseHeaders?: Record<string, string | string[]> | undefined;
  /** Called once with the outcome, for logs and metrics. */
  onDone?: (status: number, error?: Error) => void;
}

/** Streams an origin response to the client with backpressure both ways. */
class StreamingHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private status = 0;
  private done = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly hooks: ForwardHooks,
  ) {
    // A client that goes away must release the upstream socket (perf-baseline lesson 1).
    res.once('close', this.onClientClose);
  }

  private readonly onClientClose = () => {
    if (!this.res.writableFinished && this.controller && !this.controller.aborted) {
      this.controller.abort(new Error('client closed the connection'));
    }
  };

  private readonly onDrain = () => this.controller?.resume();

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.res.destroyed) controller.abort(new Error('client closed the connection'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.controller = controller;
    if (statusCode < 200) return; // 1xx informational: undici continues to the final response
    this.status = statusCode;
    const out = downstreamHeaders(headers);
    if (this.hooks.responseHeaders) Object.assign(out, this.hooks.responseHeaders);
    this.res.writeHead(statusCode, statusMessage || undefined, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', this.onDrain);
    }
  }

  onResponseEnd(): void {
    this.res.end();
    this.finish(this.status);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (!this.res.headersSent) {
      const f = originFailure(err);
      sendJson(this.res, f.status, { error: 'bad_gateway', reason: f.reason }, this.hooks.responseHeaders);
      this.finish(f.status, err);
    } else {
      // Mid-body failure: the only honest signal left is an aborted response.
      this.res.destroy(err);
      this.finish(this.status, err);
    }
  }

  private finish(status: number, err?: Error): void {
    if (this.done) return;
    this.done = true;
    this.res.off('close', this.onClientClose);
    this.hooks.onDone?.(status, err);
  }
}

export function forward(pool: Dispatcher, req: ForwardRequest, res: ServerResponse, hooks: ForwardHooks = {}): void {
  pool.dispatch(
    {
      method: req.method as Dispatcher.HttpMethod,
      path: req.path,
      headers: req.headers,
      body: req.body,
    },
    new StreamingHandler(res, hooks),
  );
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
