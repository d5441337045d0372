// Answers a GET/HEAD with an in-memory body the way a static file server does (nginx/Tomcat):
// validators, conditional requests and single byte ranges. Enough HTTP semantics for players and
// for exercising a proxy's pass-through of Range/304/416, nothing more (no multipart ranges).
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface SendOptions {
  contentType: string;
  /** Strong validator, quoted. */
  etag?: string;
  lastModified?: Date;
  cacheControl?: string;
  /** Byte ranges are honoured only where a real origin would (files, not generated playlists). */
  ranges?: boolean;
}

type Range = { start: number; end: number } | 'unsatisfiable' | undefined;

/** Single `bytes=` range; multi-range or malformed headers are ignored (RFC 9110 allows serving 200). */
export function parseRange(header: string | undefined, size: number): Range {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined; // syntactically invalid → ignore
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

const httpDate = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000).toUTCString();

function notModified(req: IncomingMessage, opts: SendOptions): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) {
    if (!opts.etag) return false;
    const tags = inm.split(',').map((t) => t.trim().replace(/^W\//, ''));
    return tags.includes('*') || tags.includes(opts.etag);
  }
  const ims = req.headers['if-modified-since'];
  if (ims && opts.lastModified) {
    const since = Date.parse(ims);
    return !Number.isNaN(since) && Math.floor(opts.lastModified.getTime() / 1000) * 1000 <= since;
  }
  return false;
}

/** If-Range: a stale validator means "send the whole thing" instead of a range of new bytes. */
function rangeStillValid(req: IncomingMessage, opts: SendOptions): boolean {
  const raw = req.headers['if-range'];
  if (raw === undefined) return true;
  const ifRange = Array.isArray(raw) ? (raw[0] ?? '') : raw;
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) return ifRange === opts.etag;
  const d = Date.parse(ifRange);
  return !Number.isNaN(d) && !!opts.lastModified && Math.floor(opts.lastModified.getTime() / 1000) * 1000 === d;
}

export function sendBytes(req: IncomingMessage, res: ServerResponse, body: Buffer, opts: SendOptions): void {
  res.setHeader('Content-Type', opts.contentType);
  if (opts.etag) res.setHeader('ETag', opts.etag);
  if (opts.lastModified) res.setHeader('Last-Modified', httpDate(opts.lastModified));
  if (opts.cacheControl) res.setHeader('Cache-Control', opts.cacheControl);
  if (opts.ranges) res.setHeader('Accept-Ranges', 'bytes');
  const head = req.method === 'HEAD';

  if (notModified(req, opts)) {
    res.removeHeader('Content-Type');
    res.writeHead(304).end();
    return;
  }
  const range = opts.ranges && rangeStillValid(req, opts) ? parseRange(req.headers.range, body.length) : undefined;
  if (range === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${body.length}`);
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    const msg = 'Range Not Satisfiable\n';
    res.setHeader('Content-Length', Buffer.byteLength(msg));
    res.writeHead(416).end(head ? undefined : msg);
    return;
  }
  if (range) {
    const part = body.subarray(range.start, range.end + 1);
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${body.length}`);
    res.setHeader('Content-Length', part.length);
    res.writeHead(206).end(head ? undefined : part);
    return;
  }
  res.setHeader('Content-Length', body.length);
  res.writeHead(200).end(head ? undefined : body);
}
