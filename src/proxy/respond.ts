// Small response helpers shared by every front door: JSON bodies with stable reasons, never cached.
import type { ServerResponse } from 'node:http';
import { errorWord, statusAt, type Door, type ReasonCode } from '../decision/reasons.js';
import { noteResponse } from '../observability/response-note.js';

/**
 * Answers finished while the event loop works through one batch of ready sockets are written
 * together, in the check phase right after that batch (setImmediate), instead of one by one between
 * the others' computations. Each write to a loopback or veth peer (a sidecar's nginx or ingress, a
 * load generator) wakes the reader; spread out, every write pays a cross-CPU wake-up of a reader
 * that went idle meanwhile (an IPI — measured as a third of the gate's CPU per playlist under load
 * in a VM); back to back, one wake-up serves the batch. A lone request waits for nothing: its
 * batch is itself. The status line and headers are fixed at once (`res.headersSent` is true), so
 * nothing can answer the request twice.
 */
const pendingEnds: Array<{ res: ServerResponse; body: string | Buffer | undefined }> = [];

function flushEnds(): void {
  for (let i = 0; i < pendingEnds.length; i++) {
    const { res, body } = pendingEnds[i]!;
    if (!res.destroyed) res.end(body);
  }
  pendingEnds.length = 0;
}

/** `res.writeHead(status, headers)` now, `res.end(body)` with the rest of this event-loop turn's answers. */
export function answer(res: ServerResponse, status: number, headers: Record<string, string | string[] | number>, body: string | Buffer | undefined): void {
  res.writeHead(status, headers);
  if (pendingEnds.length === 0) setImmediate(flushEnds);
  pendingEnds.push({ res, body });
}

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
  answer(res, status, headers, res.req?.method === 'HEAD' ? undefined : text);
}

/** Reasons that mean "no credential was presented" for the factor asked (RFC 6750 §3: no error code). */
const ABSENT: ReadonlySet<string> = new Set(['token_missing', 'subscriber_missing']);

/**
 * The `WWW-Authenticate` challenge every 401 carries (RFC 9110 §11.6.1: a 401 MUST send one; Android's
 * HttpURLConnection turns a 401 without it into an IOException). Bearer scheme in the style of
 * RFC 6750 §3: `Bearer realm="<app>"` alone when the request brought no credential (§3: "SHOULD NOT
 * include an error code"), else `Bearer realm="<app>", error="invalid_token", error_description="<reason>"`
 * with the stable reason code as the description. `realm` is an app name (`[A-Za-z0-9_-]+`) or
 * `streamgate`; both are quoted-string safe.
 */
export function bearerChallenge(realm: string, reason: ReasonCode): string {
  const r = /^[A-Za-z0-9_-]+$/.test(realm) ? realm : 'streamgate';
  if (ABSENT.has(reason)) return `Bearer realm="${r}"`;
  return `Bearer realm="${r}", error="invalid_token", error_description="${reason}"`;
}

/**
 * `{"error":"unauthorized","reason":"token_expired"}` with the matching status. A 401 also carries
 * `WWW-Authenticate` (see bearerChallenge) for `realm` (the app; `streamgate` when none is known);
 * a 503 carries `Retry-After`.
 */
export function sendDeny(res: ServerResponse, status: number, reason: ReasonCode, extraHeaders?: Record<string, string | string[]>, realm = 'streamgate'): void {
  const headers: Record<string, string | string[]> = { ...extraHeaders };
  if (status === 401 && headers['www-authenticate'] === undefined) headers['www-authenticate'] = bearerChallenge(realm, reason);
  if (status === 503) headers['retry-after'] = '2';
  sendJson(res, status, { error: errorWord(status), reason }, headers);
}

/** A deny as `door` answers it: the status comes from the reason table (`statusAt`). */
export function sendReason(res: ServerResponse, door: Door, reason: ReasonCode, extraHeaders?: Record<string, string | string[]>, realm?: string): void {
  sendDeny(res, statusAt(door, reason), reason, extraHeaders, realm);
}

/** `Retry-After` (RFC 9110 §10.2.3, seconds) for a deny that says when to come back (429 lockouts). */
export function retryAfter(d: { retryAfterSeconds?: number | undefined }): Record<string, string> | undefined {
  return d.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(d.retryAfterSeconds) };
}
