// Front door 1: the reverse proxy. The router has canonicalized the request and resolved its target
// (authorize/target.ts); this door only translates: a refusal becomes a status + JSON reason, a pass
// is forwarded, a gated target is authorized (authorize/authorize.ts) and then forwarded, with the
// playlist rewritten to carry the playback grant.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Reason } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { stripCredentials, readCredentials } from '../request/credentials.js';
import { clientIpOf, forwardedFor } from '../request/context.js';
import type { GatedTarget, Target } from '../authorize/target.js';
import { authorize } from '../authorize/authorize.js';
import { authorizeWhip, whipCredentials, whipLocationRewriter } from './whip.js';
import { forward, upstreamHeaders, type ForwardRequest } from './forward.js';
import { serveRewrittenManifest } from '../manifest/manifest-response.js';
import { retryAfter, sendReason } from './respond.js';
import { noteDecision } from '../observability/response-note.js';

/** The canonical request-target: re-encoded path and the raw query. */
export interface CanonicalTarget {
  path: string;
  rawQuery: string;
}

/** Answers a resolved proxy target (anything but `rest`, which the router hands to the API). */
export async function proxyTarget(rt: Runtime, req: IncomingMessage, res: ServerResponse, canonical: CanonicalTarget, target: Target): Promise<void> {
  switch (target.type) {
    case 'refuse':
      return sendReason(res, 'proxy', target.reason, target.allow ? { allow: target.allow } : undefined);
    case 'signalling':
      // Reached only by the WebSocket gate; resolveTarget never gives it to the proxy.
      return sendReason(res, 'proxy', Reason.routeDenied);
    case 'pass':
    case 'rest':
      return forwardUnchecked(rt, req, res, canonical);
    case 'gated':
      break;
  }
  if (target.whipResource !== undefined) return whip(rt, req, res, canonical, target);
  const method = req.method ?? 'GET';
  const { decision, ctx, grant } = await authorize(rt, 'proxy', target, {
    credentials: readCredentials(canonical.rawQuery, rt.config.session.param),
    clientIp: clientIpOf(rt.isTrustedProxy, req),
    // HEAD checks but never consumes (a player probing a URL must not burn its one-time token).
    consume: method !== 'HEAD',
    cookieHeader: req.headers.cookie,
    path: canonical.path,
  });
  noteDecision(res, decision, ctx);
  if (!decision.allow) return sendReason(res, 'proxy', decision.reason, retryAfter(decision), target.app.name);
  // An authorized media request: its credentials leave the query as origin.stripCredentials says
  // (the same rule for the rewritten manifest below), the grant always.
  if (!grant) return pass(rt, req, res, canonical, { strip: true });
  const extraHeaders: Record<string, string | string[]> = {};
  if (grant.setCookie) extraHeaders['set-cookie'] = grant.setCookie;
  if (ctx.kind === 'file') return pass(rt, req, res, canonical, { strip: true, extraHeaders });
  if (!rt.manifests) return sendReason(res, 'proxy', Reason.originUnavailable);
  const fwd = forwardedFor(rt.isTrustedProxy, req);
  await serveRewrittenManifest(rt.manifests, upstreamRequest(rt, req, canonical, true, fwd), req, res, {
    param: rt.config.session.param,
    grants: { media: grant.value, session: grant.sessionValue },
    clientOrigin: `${fwd.proto}://${fwd.host ?? 'localhost'}`,
    path: canonical.path,
    extraHeaders,
    onCache: (result) => rt.metrics.manifestCache.labels(result).inc(),
  });
}

/** WHIP endpoint and session URLs (see whip.ts): Bearer tokens, and a grant in the POST's Location. */
async function whip(rt: Runtime, req: IncomingMessage, res: ServerResponse, canonical: CanonicalTarget, target: GatedTarget): Promise<void> {
  const method = req.method ?? 'GET';
  const credentials = whipCredentials(canonical.rawQuery, rt.config.session.param, req.headers);
  const { ctx, decision } = await authorizeWhip(rt, 'proxy', target, credentials, clientIpOf(rt.isTrustedProxy, req), method);
  noteDecision(res, decision, ctx);
  if (!decision.allow) return sendReason(res, 'proxy', decision.reason, undefined, target.app.name);
  const rewriteHeaders = target.whipResource === null && method === 'POST' ? whipLocationRewriter(rt, ctx, canonical.path) : undefined;
  // A WHIP Bearer token is a credential like ?token=: it leaves with it (origin.stripCredentials).
  pass(rt, req, res, canonical, { strip: true, dropAuthorization: rt.config.origin.stripCredentials, rewriteHeaders });
}

/** Forwards a request that needs no decision (static files, panel paths, the origin's REST API). */
export function forwardUnchecked(rt: Runtime, req: IncomingMessage, res: ServerResponse, canonical: CanonicalTarget): void {
  pass(rt, req, res, canonical, { strip: false });
}

/** streamgate_origin_responses_total by status class (0 = the origin never answered). */
function countOrigin(rt: Runtime, status: number): void {
  rt.metrics.origin.labels(status ? `${Math.floor(status / 100)}xx` : 'error').inc();
}

/**
 * `strip`: an authorized media request (manifest, segment, file, ingest): Ant Media's credential
 * parameters leave the query unless `origin.stripCredentials` is false; the grant always leaves.
 * Unchecked paths (static, REST, panel) go as sent.
 */
function upstreamRequest(rt: Runtime, req: IncomingMessage, canonical: CanonicalTarget, strip: boolean, fwd = forwardedFor(rt.isTrustedProxy, req), dropAuthorization = false): ForwardRequest {
  const query = strip ? stripCredentials(canonical.rawQuery, rt.config.session.param, !rt.config.origin.stripCredentials) : canonical.rawQuery;
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD' && (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined);
  // The grant cookie is streamgate's own: the origin never sees it.
  const headers = upstreamHeaders(req.headers, fwd, rt.sessions.withoutGrantCookie);
  if (dropAuthorization) delete headers.authorization;
  return { method, path: query ? `${canonical.path}?${query}` : canonical.path, headers, body: hasBody ? req : null };
}

interface PassOptions {
  strip: boolean;
  extraHeaders?: Record<string, string | string[]>;
  /** Remove `Authorization` (a WHIP Bearer token) before the origin sees the request. */
  dropAuthorization?: boolean;
  /** Edit the origin's response headers (a WHIP Location) before the client sees them. */
  rewriteHeaders?: ((status: number, headers: Record<string, string | string[]>) => void) | undefined;
}

function pass(rt: Runtime, req: IncomingMessage, res: ServerResponse, canonical: CanonicalTarget, opts: PassOptions): void {
  if (!rt.pool) return sendReason(res, 'proxy', Reason.originUnavailable);
  forward(rt.pool, upstreamRequest(rt, req, canonical, opts.strip, undefined, opts.dropAuthorization), res, {
    responseHeaders: opts.extraHeaders,
    rewriteHeaders: opts.rewriteHeaders,
    onDone: (status) => countOrigin(rt, status),
  });
}
