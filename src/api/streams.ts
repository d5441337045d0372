// Stream registry endpoints: `POST /create`, `GET /{id}`, `DELETE /{id}` answer from the registered
// stream list that `publish.acceptUndefinedStreams: false` consults. With rest.forwardCreate the
// origin creates the broadcast too (it then picks the id when none is given) and its answer is
// returned; the stream is registered here only when the origin succeeded.
import { randomBytes } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { RegisteredStream } from '../store/store.js';
import { isStreamId } from '../request/stream-path.js';
import { forwardedFor } from '../request/context.js';
import { upstreamHeaders, downstreamHeaders } from '../proxy/forward.js';
import { sendJson, sendReason } from '../proxy/respond.js';
import { Reason } from '../errors.js';
import { asObject, readJsonBody, result, sendResult, type ApiRequest, type ApiRoute } from './http.js';

export const StreamMessage = {
  inUse: 'Stream id is already being used. Please change stream id or keep it empty',
  invalid: 'Stream id is not valid.',
} as const;

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A fresh stream id: 20 alphanumerics from the CSPRNG (~119 bits). Alphanumeric only, so that a
 * generated id never looks like another stream's rendition or recording (`x_240p`, `x_2`).
 */
export function newStreamId(): string {
  const bytes = randomBytes(32);
  let out = '';
  for (const b of bytes) {
    if (b >= 248) continue; // 248 = 4 × 62: keeps the alphabet uniform
    out += ALPHANUMERIC[b % 62];
    if (out.length === 20) return out;
  }
  return out + newStreamId().slice(0, 20 - out.length);
}

/** Broadcast-ish JSON: the fields of Ant Media's Broadcast that the registry knows. */
function broadcastJson(s: RegisteredStream): Record<string, unknown> {
  return { streamId: s.streamId, name: s.name ?? null, date: s.registeredAt, registeredAt: s.registeredAt };
}

async function createStream(c: ApiRequest): Promise<void> {
  const body = await readJsonBody(c.req, true);
  if (!body.ok) return sendResult(c.res, body.status, result(false, body.message));
  const b = asObject(body.value) ?? {};
  let streamId = typeof b.streamId === 'string' ? b.streamId.trim() : '';
  const name = typeof b.name === 'string' ? b.name : null;
  if (streamId !== '') {
    if (!isStreamId(streamId) || streamId.length > 256) return sendResult(c.res, 400, result(false, StreamMessage.invalid));
    if (await c.rt.store.getStream(c.app.name, streamId)) return sendResult(c.res, 400, result(false, StreamMessage.inUse));
  }

  if (c.app.config.rest.forwardCreate) {
    if (!c.rt.pool) return sendReason(c.res, 'proxy', Reason.originUnavailable);
    const upstream = await forwardBuffered(c, JSON.stringify(b));
    if (!upstream) return sendReason(c.res, 'proxy', Reason.originUnavailable);
    const created = upstream.status >= 200 && upstream.status < 300 ? asObject(safeJson(upstream.body)) : null;
    const originId = created && typeof created.streamId === 'string' ? created.streamId : '';
    if (created && isStreamId(originId)) {
      await c.rt.store.registerStream(c.app.name, { streamId: originId, name: typeof created.name === 'string' ? created.name : name, registeredAt: Date.now() });
    }
    // The origin's answer as it gave it (its Broadcast has far more than we know).
    const headers = downstreamHeaders(upstream.headers) as Record<string, string | string[]>;
    delete headers['content-length'];
    c.res.writeHead(upstream.status, headers);
    c.res.end(upstream.body);
    return;
  }

  if (streamId === '') streamId = newStreamId();
  const stream: RegisteredStream = { streamId, name, registeredAt: Date.now() };
  await c.rt.store.registerStream(c.app.name, stream);
  sendJson(c.res, 200, broadcastJson(stream));
}

function safeJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return null;
  }
}

/** Sends the create call to the origin with the body we already read; null when it cannot answer. */
async function forwardBuffered(c: ApiRequest, body: string): Promise<{ status: number; headers: Dispatcher.ResponseData['headers']; body: Buffer } | null> {
  const headers = upstreamHeaders(c.req.headers, forwardedFor(c.rt.isTrustedProxy, c.req));
  delete headers['content-length'];
  delete headers['transfer-encoding'];
  headers['content-type'] = 'application/json';
  try {
    const r = await c.rt.pool!.request({ method: 'POST', path: c.rawQuery ? `${c.path}?${c.rawQuery}` : c.path, headers, body });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of r.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > 1024 * 1024) {
        r.body.destroy();
        return null;
      }
      chunks.push(chunk);
    }
    return { status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks) };
  } catch (err) {
    c.rt.log.warn({ err, app: c.app.name }, 'forwarding POST /create to the origin failed');
    return null;
  }
}

async function getStream(c: ApiRequest): Promise<void> {
  const s = await c.rt.store.getStream(c.app.name, c.params.id!);
  // The original answers a bare 404; a JSON reason costs nothing and helps.
  if (!s) return sendJson(c.res, 404, { error: 'not_found', reason: Reason.streamNotRegistered });
  sendJson(c.res, 200, broadcastJson(s));
}

async function deleteStream(c: ApiRequest): Promise<void> {
  sendResult(c.res, 200, result(await c.rt.store.unregisterStream(c.app.name, c.params.id!)));
}

export const streamRoutes: ApiRoute[] = [
  { method: 'POST', pattern: ['create'], handler: createStream, exclusive: true },
  // Not exclusive: `PUT /{id}` (update broadcast) is the origin's.
  { method: 'GET', pattern: [':id'], handler: getStream, exclusive: false },
  { method: 'DELETE', pattern: [':id'], handler: deleteStream, exclusive: false },
];
