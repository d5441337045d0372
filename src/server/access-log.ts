// The public listener's per-request record: one JSON access log line (method, canonical path
// without its query, status, bytes, duration, door, decision reason, request id, trace id) and the
// RED metrics per door (streamgate_http_requests_total, _request_duration_seconds, _in_flight).
// Wraps the public router from outside; the doors only fill in the response note
// (observability/response-note.ts).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Runtime } from '../runtime.js';
import type { HttpDoor } from '../observability/metrics.js';
import { openNote, type ResponseNote } from '../observability/response-note.js';
import { canonicalizeUrl } from '../request/canonical-path.js';
import { clientIpOf, peerAddress } from '../request/context.js';

export const REQUEST_ID_HEADER = 'x-request-id';
/** Ids we accept from a trusted proxy: printable, no separators that could split a log line. */
const REQUEST_ID = /^[A-Za-z0-9._:/+=@-]{1,128}$/;
/** W3C Trace Context §3.2 traceparent: version-traceid-parentid-flags, lowercase hex. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(?:-|$)/;
/** nginx's convention for "the client closed the connection before the response was sent". */
export const CLIENT_CLOSED = 499;

/** The request's id: a trusted proxy's X-Request-Id when well-formed, else a new UUID. */
export function requestIdOf(rt: Pick<Runtime, 'isTrustedProxy'>, req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  if (typeof given === 'string' && REQUEST_ID.test(given) && rt.isTrustedProxy(peerAddress(req))) return given;
  return randomUUID();
}

/** The trace id of a valid W3C `traceparent` header (all-zero ids and version ff are invalid), else undefined. */
export function traceIdOf(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  return m[2];
}

function doorOf(url: string | undefined): 'proxy' | 'verify' {
  return url !== undefined && (url === '/verify' || url.startsWith('/verify?')) ? 'verify' : 'proxy';
}

interface Entry {
  door: HttpDoor;
  method: string;
  url: string;
  status: number;
  bytes: number;
  seconds: number;
  requestId: string;
  note: ResponseNote;
  completed: boolean;
}

function makeRecorder(rt: Runtime) {
  const { enabled, sampleRate } = rt.config.log.access;
  const m = rt.metrics;
  for (const door of ['proxy', 'verify', 'websocket'] as const) m.httpInFlight.labels(door).set(0);
  // Label children resolved once per door/status instead of hashing label values per request.
  const counters = new Map<string, { inc(): void }>();
  const histograms = new Map<HttpDoor, { observe(v: number): void }>();
  return (req: IncomingMessage, e: Entry): void => {
    const key = `${e.door} ${e.status}`;
    let counter = counters.get(key);
    if (!counter) counters.set(key, (counter = m.httpRequests.labels(e.door, String(e.status))));
    counter.inc();
    let histogram = histograms.get(e.door);
    if (!histogram) histograms.set(e.door, (histogram = m.httpSeconds.labels(e.door)));
    histogram.observe(e.seconds);
    if (!enabled || (e.status < 400 && sampleRate < 1 && Math.random() >= sampleRate) || !rt.log.isLevelEnabled('info')) return;
    const canonical = canonicalizeUrl(e.url, rt.config.limits.maxUriBytes);
    const line: Record<string, unknown> = {
      door: e.door,
      method: e.method,
      // Never the query or the raw URL: that is where tokens travel.
      path: canonical.ok ? canonical.path : null,
      status: e.status,
      bytes: e.bytes,
      durationMs: Math.round(e.seconds * 1e6) / 1000,
      reason: e.note.reason,
      via: e.note.via,
      app: e.note.app,
      stream: e.note.stream,
      ip: clientIpOf(rt.isTrustedProxy, req),
      requestId: e.requestId,
      traceId: traceIdOf(req.headers.traceparent),
    };
    if (!e.completed) line.completed = false;
    rt.log.info(line, 'request');
  };
}

/**
 * Wraps the public HTTP handler. Every request gets a request id (a trusted proxy's, else a new
 * one) that the origin receives in X-Request-Id and the client in the response; when the response
 * finishes or the connection closes, the metrics are counted and the access line written. `bytes`
 * is what went onto the connection for this response, headers included (nginx's $bytes_sent).
 */
export function withAccessLog(rt: Runtime, handler: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  const record = makeRecorder(rt);
  const inFlight = { proxy: rt.metrics.httpInFlight.labels('proxy'), verify: rt.metrics.httpInFlight.labels('verify') };
  return (req, res) => {
    const startedAt = performance.now();
    const door = doorOf(req.url);
    const requestId = requestIdOf(rt, req);
    req.headers[REQUEST_ID_HEADER] = requestId; // forwarded to the origin with the other headers
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const note = openNote(res);
    const socket = req.socket;
    const bytesBefore = socket.bytesWritten;
    inFlight[door].inc();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      inFlight[door].dec();
      const completed = res.writableFinished;
      record(req, {
        door,
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        status: res.headersSent ? res.statusCode : CLIENT_CLOSED,
        bytes: Math.max(0, socket.bytesWritten - bytesBefore),
        seconds: (performance.now() - startedAt) / 1000,
        requestId,
        note,
        completed,
      });
    };
    res.once('finish', finish);
    res.once('close', finish);
    handler(req, res);
  };
}

/**
 * Wraps the 'upgrade' listener for the WebSocket door: the handshake answer (101, or the refusal
 * the gate or origin gave) is read from the first bytes written to the socket, so the door itself
 * stays unaware. Upgrade requests that are not WebSocket ones are left to the HTTP wrapper.
 */
export function withUpgradeLog(rt: Runtime, handler: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const record = makeRecorder(rt);
  const inFlight = rt.metrics.httpInFlight.labels('websocket');
  return (req, socket, head) => {
    if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return handler(req, socket, head);
    const startedAt = performance.now();
    const requestId = requestIdOf(rt, req);
    req.headers[REQUEST_ID_HEADER] = requestId;
    inFlight.inc();
    const write = socket.write;
    const end = socket.end;
    let done = false;
    const finish = (status: number, head: string) => {
      if (done) return;
      done = true;
      // Back to the prototype's methods: relayed frames pay nothing for the access log.
      if (socket.write !== write) delete (socket as { write?: unknown }).write;
      if (socket.end !== end) delete (socket as { end?: unknown }).end;
      inFlight.dec();
      const reason = status >= 400 ? /"reason":"([a-z_]+)"/.exec(head)?.[1] : undefined;
      record(req, { door: 'websocket', method: req.method ?? 'GET', url: req.url ?? '/', status, bytes: Buffer.byteLength(head), seconds: (performance.now() - startedAt) / 1000, requestId, note: { reason }, completed: status !== CLIENT_CLOSED });
    };
    const sniff = (chunk: unknown) => {
      if (done) return;
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('latin1') : '';
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      finish(status ? Number(status[1]) : CLIENT_CLOSED, text);
    };
    socket.write = function (this: Duplex, chunk: unknown, ...rest: unknown[]) {
      sniff(chunk);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Duplex['write'];
    socket.end = function (this: Duplex, chunk?: unknown, ...rest: unknown[]) {
      if (chunk !== undefined && typeof chunk !== 'function') sniff(chunk);
      return (end as (...a: unknown[]) => Duplex).call(this, chunk, ...rest);
    } as Duplex['end'];
    socket.once('close', () => finish(CLIENT_CLOSED, ''));
    handler(req, socket, head);
  };
}
