// Authorized manifests come back rewritten: every URI carries the playback grant, so players that
// resolve relative URIs (and drop the query) still present a credential on every segment. The
// origin's manifest comes from the shared cache (origin-cache.ts): one origin fetch serves every
// viewer, and a viewer's answer is the parsed template joined with its grant.
// Memory is bounded: a manifest is buffered up to limits.maxManifestBytes; past it → 502.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ManifestTooLargeError, Reason } from '../errors.js';
import type { ReasonCode } from '../errors.js';
import { originFailure, type ForwardRequest } from '../proxy/forward.js';
import { answer, sendDeny } from '../proxy/respond.js';
import type { CacheResult, ManifestCache } from './origin-cache.js';
import { renderTemplateBytes, type ViewerGrants } from './template.js';

/** Credential parameters never copied into rewritten URIs: the grant replaces them. */
export const CREDENTIAL_PARAMS = ['token', 'subscriberId', 'subscriberCode'];

export interface ManifestRewrite {
  /** Query parameter carrying the grant (config `session.param`). */
  param: string;
  /** This viewer's grants, from whoever authorized the request (URL-safe; encoded if not). */
  grants: ViewerGrants;
  /** scheme://host[:port] as the client sees the gate (same-origin absolute URIs are rewritten). */
  clientOrigin: string;
  path: string;
  /** Headers added to this viewer's answer (Set-Cookie, …); they override the origin's. */
  extraHeaders: Record<string, string | string[]>;
  /** Told how the origin manifest was obtained (metrics). */
  onCache?: (result: CacheResult) => void;
}

/**
 * Answers `req` with the origin's manifest for `upstream`, rewritten for `rw.grants`; anything that is
 * not a 200 manifest passes unchanged. Returns the status sent (499 when the client left first).
 * Errors: origin failures → 502/504 `origin_unavailable`/`origin_timeout`; too large → 502
 * `manifest_too_large`.
 */
export async function serveRewrittenManifest(cache: ManifestCache, upstream: ForwardRequest, req: IncomingMessage, res: ServerResponse, rw: ManifestRewrite): Promise<number> {
  let got;
  try {
    // Everything the template depends on is in the key: the client-facing origin (same-origin
    // absolute URIs) and the exact request sent upstream (path + non-credential query).
    got = await cache.get(`${rw.clientOrigin} ${upstream.path}`, upstream, { param: rw.param, removeParams: CREDENTIAL_PARAMS, clientOrigin: rw.clientOrigin });
  } catch (err) {
    if (res.destroyed) return 499; // the client went away: nobody to answer
    const f: { status: 502 | 504; reason: ReasonCode } = err instanceof ManifestTooLargeError ? { status: 502, reason: Reason.manifestTooLarge } : originFailure(err as Error);
    sendDeny(res, f.status, f.reason, rw.extraHeaders);
    return f.status;
  }
  rw.onCache?.(got.result);
  if (res.destroyed) return 499;
  const m = got.manifest;
  const head = req.method === 'HEAD';
  if (m.template === null || m.templateHeaders === null) {
    const out: Record<string, string | string[]> = { ...m.headers, ...rw.extraHeaders };
    out['content-length'] = String(m.body.length);
    answer(res, m.status, out, head ? undefined : m.body);
    return m.status;
  }
  // The body is per-viewer: the entry's headers already drop validators and shared caching.
  const out: Record<string, string | string[]> = { ...m.templateHeaders, ...rw.extraHeaders };
  const body = renderTemplateBytes(m.template, rw.grants);
  out['content-length'] = String(body.length);
  answer(res, m.status, out, head ? undefined : body);
  return m.status;
}
