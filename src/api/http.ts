// Shared plumbing of the management API: Ant Media's `Result` shape, bounded JSON bodies, page
// parameters, and the request context handed to every endpoint.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Runtime } from '../runtime.js';
import type { AppRuntime } from '../decision/policy.js';
import { sendJson } from '../proxy/respond.js';
import { Reason } from '../decision/reasons.js';

/** Ant Media `rest/model/Result.java`: every field always present, like Jackson writes it. */
export interface AntResult {
  success: boolean;
  message: string | null;
  dataId: string | null;
  errorId: number;
}

export function result(success: boolean, message: string | null = null, dataId: string | null = null): AntResult {
  return { success, message, dataId, errorId: 0 };
}

export function sendResult(res: ServerResponse, status: number, r: AntResult): void {
  sendJson(res, status, r);
}

/** Stable reason codes of the API's own non-`Result` answers. */
/** The management API's reasons (declared with their statuses in decision/reasons.ts). */
export const ApiReason = {
  /** A management path on the public listener of an app without rest.servePublic. */
  notPublic: Reason.apiNotPublic,
  routeUnknown: Reason.routeUnknown,
  methodNotAllowed: Reason.methodNotAllowed,
} as const;

export interface ApiRequest {
  rt: Runtime;
  app: AppRuntime;
  req: IncomingMessage;
  res: ServerResponse;
  /** Path parameters by name (`id`, `sid`, `offset`…), already percent-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  listener: 'public' | 'admin';
  /** Canonical path and raw query, for forwarding (`POST /create` with forwardCreate). */
  path: string;
  rawQuery: string;
}

export type Handler = (c: ApiRequest) => Promise<void>;

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Segments below `/{app}/rest/v2/broadcasts`; `:name` captures one segment. */
  pattern: readonly string[];
  handler: Handler;
  /** Path shape is ours whatever the method (a wrong method is 405, not forwarded). */
  exclusive: boolean;
}

/** Ant Media's page cap (MAX_ITEM_IN_ONE_LIST), applied to every list endpoint. */
export const MAX_PAGE_SIZE = 250;
const MAX_BODY_BYTES = 64 * 1024;

/** `{offset}/{size}` path parameters: non-negative integers; size capped at 250. */
export function parsePage(offset: string | undefined, size: string | undefined): { offset: number; size: number } | null {
  if (offset === undefined || size === undefined || !/^\d{1,9}$/.test(offset) || !/^\d{1,9}$/.test(size)) return null;
  return { offset: Number(offset), size: Math.min(Number(size), MAX_PAGE_SIZE) };
}

export const PAGE_MESSAGE = 'offset and size must be non-negative integers';

export type BodyResult = { ok: true; value: unknown } | { ok: false; status: 400 | 413 | 415; message: string };

/**
 * Reads a JSON request body (≤ 64 KiB). `application/json` is required, as Jersey's @Consumes
 * does: a cross-site form or text/plain POST (no preflight) can never reach an endpoint.
 */
export async function readJsonBody(req: IncomingMessage, optional = false): Promise<BodyResult> {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  const declared = Number(req.headers['content-length'] ?? 0);
  const hasBody = req.headers['transfer-encoding'] !== undefined || declared > 0;
  if (!hasBody) return optional ? { ok: true, value: null } : { ok: false, status: 400, message: 'Request body is missing' };
  if (type !== 'application/json') {
    req.resume();
    return { ok: false, status: 415, message: 'Content-Type must be application/json' };
  }
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    return { ok: false, status: 413, message: `Request body is larger than ${MAX_BODY_BYTES} bytes` };
  }
  // Listeners, not for-await: leaving a for-await loop early destroys the request, and with it
  // the socket the 413 has to go out on.
  const body = await new Promise<Buffer | null>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off('data', onData);
        req.resume(); // discard the rest
        resolve(null);
      } else chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
  if (body === null) return { ok: false, status: 413, message: `Request body is larger than ${MAX_BODY_BYTES} bytes` };
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) as unknown };
  } catch {
    return { ok: false, status: 400, message: 'Request body is not valid JSON' };
  }
}

/** A plain JSON object (not null, not an array), or null. */
export function asObject(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

export function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
