// Authorized manifests come back rewritten: every URI carries the playback grant, so players that
// resolve relative URIs (and drop the query) still present a credential on every segment.
// Memory is bounded: a manifest is buffered up to limits.maxManifestBytes; past it → 502.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { Pool } from 'undici';
import { ManifestTooLargeError, Reason } from '../errors.js';
import type { ReasonCode } from '../errors.js';
import { detectManifestKind, mayBeManifest, rewriteManifest } from '../session/manifest.js';
import { downstreamHeaders, fetchBuffered, originFailure, type ForwardRequest } from './forward.js';
import { sendDeny } from './respond.js';

/** Credential parameters never copied into rewritten URIs: the grant replaces them. */
export const CREDENTIAL_PARAMS = ['token', 'subscriberId', 'subscriberCode'];

export interface ManifestRewrite {
  param: string;
  grant: string;
  /** scheme://host[:port] as the client sees the gate (same-origin absolute URIs are rewritten). */
  clientOrigin: string;
  path: string;
  maxBytes: number;
  extraHeaders: Record<string, string | string[]>;
}

function decode(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer | null {
  const opts = { maxOutputLength: maxBytes };
  switch ((encoding ?? 'identity').trim().toLowerCase()) {
    case 'identity':
    case '':
      return body;
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(body, opts);
    case 'deflate':
      return inflateSync(body, opts);
    case 'br':
      return brotliDecompressSync(body, opts);
    default:
      return null;
  }
}

export async function serveRewrittenManifest(pool: Pool, upstream: ForwardRequest, req: IncomingMessage, res: ServerResponse, rw: ManifestRewrite): Promise<number> {
  // Ask for an uncompressed body; decompress anyway when an origin ignores the request.
  const headers = { ...upstream.headers, 'accept-encoding': 'identity' };
  let fetched;
  try {
    fetched = await fetchBuffered(pool, { ...upstream, headers }, rw.maxBytes, res);
  } catch (err) {
    if (res.destroyed) return 499; // the client went away: nobody to answer
    const f: { status: 502 | 504; reason: ReasonCode } = err instanceof ManifestTooLargeError ? { status: 502, reason: Reason.manifestTooLarge } : originFailure(err as Error);
    sendDeny(res, f.status, f.reason, rw.extraHeaders);
    return f.status;
  }
  const out = downstreamHeaders(fetched.headers);
  Object.assign(out, rw.extraHeaders);
  const contentType = typeof fetched.headers['content-type'] === 'string' ? fetched.headers['content-type'] : undefined;
  let body = fetched.body;
  if (fetched.status === 200 && mayBeManifest(contentType)) {
    let decoded: Buffer | null = null;
    try {
      decoded = decode(body, fetched.headers['content-encoding'] as string | undefined, rw.maxBytes);
    } catch {
      decoded = null;
    }
    const text = decoded?.toString('utf8');
    const kind = text !== undefined ? detectManifestKind(contentType, text) : null;
    if (text !== undefined && kind) {
      body = Buffer.from(rewriteManifest(kind, text, { param: rw.param, grant: rw.grant, removeParams: CREDENTIAL_PARAMS, manifestUrl: { origin: rw.clientOrigin, path: rw.path } }), 'utf8');
      // The body is now per-viewer: no shared caching, no validators of the origin's bytes.
      for (const h of ['content-encoding', 'etag', 'last-modified', 'content-md5', 'accept-ranges']) delete out[h];
      out['cache-control'] = 'private, no-store';
    }
  }
  out['content-length'] = String(body.length);
  res.writeHead(fetched.status, out);
  res.end(req.method === 'HEAD' ? undefined : body);
  return fetched.status;
}
