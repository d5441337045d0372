// Small response helpers shared by every front door: JSON bodies with stable reasons, never cached.
import type { ServerResponse } from 'node:http';
import { errorWord, statusAt, type Door, type ReasonCode } from '../decision/reasons.js';
import { noteResponse } from '../observability/response-note.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders?: Record<string, string | string[]>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const reason = (body as { reason?: unknown } | null)?.reason;
  if (typeof reason === 'string') noteResponse(res, { reason }); // for the access log
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

/** `{"error":"unauthorized","reason":"token_expired"}` with the given status (503 adds `Retry-After`). */
export function sendDeny(res: ServerResponse, status: number, reason: ReasonCode, extraHeaders?: Record<string, string | string[]>): void {
  const headers: Record<string, string | string[]> = { ...extraHeaders };
  if (status === 503) headers['retry-after'] = '2';
  sendJson(res, status, { error: errorWord(status), reason }, headers);
}

/** A deny as `door` answers it: the status comes from the reason table (`statusAt`). */
export function sendReason(res: ServerResponse, door: Door, reason: ReasonCode, extraHeaders?: Record<string, string | string[]>): void {
  sendDeny(res, statusAt(door, reason), reason, extraHeaders);
}

/** `Retry-After` (RFC 9110 §10.2.3, seconds) for a deny that says when to come back (429 lockouts). */
export function retryAfter(d: { retryAfterSeconds?: number | undefined }): Record<string, string> | undefined {
  return d.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(d.retryAfterSeconds) };
}
