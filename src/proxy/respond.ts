// Small response helpers shared by every front door: JSON bodies with stable reasons, never cached.
import type { ServerResponse } from 'node:http';
import type { ReasonCode } from '../errors.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders?: Record<string, string | string[]>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  const headers: Record<string, string | string[] | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  };
  if (extraHeaders) Object.assign(headers, extraHeaders);
  res.writeHead(status, headers);
  res.end(res.req?.method === 'HEAD' ? undefined : text);
}

const ERROR_WORD: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  429: 'too_many_requests',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout',
};

/** `{"error":"unauthorized","reason":"token_expired"}` with the matching status. */
export function sendDeny(res: ServerResponse, status: number, reason: ReasonCode, extraHeaders?: Record<string, string | string[]>): void {
  const headers: Record<string, string | string[]> = { ...extraHeaders };
  if (status === 503) headers['retry-after'] = '2';
  sendJson(res, status, { error: ERROR_WORD[status] ?? 'error', reason }, headers);
}

/** `Retry-After` (RFC 9110 §10.2.3, seconds) for a deny that says when to come back (429 lockouts). */
export function retryAfter(d: { retryAfterSeconds?: number | undefined }): Record<string, string> | undefined {
  return d.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(d.retryAfterSeconds) };
}
