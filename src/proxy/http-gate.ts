// Front door 1: the reverse proxy. Small passes in order — canonicalize, route, decide, forward —
// each one able to end the request with a precise status and JSON reason.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Reason } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { canonicalizeUrl } from '../request/canonical-path.js';
import { routeRequest } from '../request/stream-path.js';
import { readCredentials, stripCredentials } from '../request/credentials.js';
import { buildContext, clientIpOf, forwardedFor, roleForMethod } from '../request/context.js';
import { decide } from '../decision/decide.js';
import { recordDecision } from '../decision/record.js';
import type { FileKind, RequestContext, Role } from '../decision/types.js';
import type { AppRuntime } from '../decision/policy.js';
import { forward, upstreamHeaders, type ForwardRequest } from './forward.js';
import { serveRewrittenManifest } from './manifest-response.js';
import { protocolOf, type IssuedGrant } from '../session/playback-sessions.js';
import { sendDeny } from './respond.js';
import { handleVerify } from '../verify/verify-endpoint.js';
import { answerPreflight, bindCors } from './cors.js';
import { handleRest } from '../api/router.js';

/** Paths the gate answers itself on the public listener. */
const VERIFY_PATH = '/verify';

export function createHttpGate(rt: Runtime): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(rt, req, res).catch((err: unknown) => {
      rt.log.error({ err }, 'request failed');
      if (!res.headersSent) sendDeny(res, 503, Reason.storeUnavailable);
      else res.destroy();
    });
  };
}

async function handle(rt: Runtime, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const canonical = canonicalizeUrl(req.url ?? '/', rt.config.limits.maxUriBytes);
  if (!canonical.ok) return sendDeny(res, 400, canonical.reason);
  if (canonical.path === VERIFY_PATH) return handleVerify(rt, req, res, canonical.rawQuery);

  const route = routeRequest(canonical.segments);
  const method = req.method ?? 'GET';
  if (route.area === 'root') {
    // The origin's dashboard and root API: only for panel clients (default: nobody).
    if (!rt.isPanelClient(clientIpOf(rt, req))) return sendDeny(res, 403, Reason.routeDenied);
    return pass(rt, req, res, canonical.path, canonical.rawQuery, { strip: false });
  }
  const app = rt.apps.get(route.app);
  if (!app) {
    if (rt.isPanelClient(clientIpOf(rt, req))) return pass(rt, req, res, canonical.path, canonical.rawQuery, { strip: false });
    return sendDeny(res, 404, Reason.appNotFound);
  }
  // The gate owns CORS on app paths: it answers preflights, and every response written below
  // (forwarded, rewritten or its own deny) carries the app's CORS headers and no one else's.
  if (answerPreflight(app.config.cors, req, res)) return;
  bindCors(res, app.config.cors, req);

  switch (route.area) {
    case 'websocket':
      // Only the configured signalling path is special; `/{app}/play.html` and friends are static.
      if (route.name === app.config.websocketPath) return sendDeny(res, 403, Reason.routeDenied);
      return pass(rt, req, res, canonical.path, canonical.rawQuery, { strip: false });
    case 'static':
      // Files of an app outside /streams/ (play.html, assets) pass unchecked, as in Ant Media.
      return pass(rt, req, res, canonical.path, canonical.rawQuery, { strip: false });
    case 'rest':
      // REST filter first; then the management API answers, or the origin's REST API gets it.
      if ((await handleRest(rt, app, req, res, canonical, route.rest, 'public')) === 'forward') {
        return pass(rt, req, res, canonical.path, canonical.rawQuery, { strip: false });
      }
      return;
    case 'streams': {
      if (method === 'OPTIONS') return pass(rt, req, res, canonical.path, canonical.rawQuery, { strip: false });
      if (method !== 'GET' && method !== 'HEAD') return sendDeny(res, 405, Reason.methodNotAllowed, { allow: 'GET, HEAD, OPTIONS' });
      if (route.kind === null) {
        // A file that belongs to no stream cannot be authorized: pass only when play is open.
        if (app.play.open) return pass(rt, req, res, canonical.path, canonical.rawQuery, { strip: false });
        return sendDeny(res, 400, Reason.streamUnrecognized);
      }
      return gated(rt, app, req, res, canonical, 'play', route.kind, route.streamIds);
    }
    case 'whip':
    case 'ingest': {
      const role: Role | null = roleForMethod(method);
      if (role === null) return sendDeny(res, 405, Reason.methodNotAllowed);
      const streamIds = route.area === 'whip' ? (route.streamId === null ? [] : [route.streamId]) : route.streamIds;
      if (!streamIds.length) return sendDeny(res, 400, Reason.streamUnrecognized);
      return gated(rt, app, req, res, canonical, 'publish', 'ingest', streamIds);
    }
  }
}

async function gated(
  rt: Runtime,
  app: AppRuntime,
  req: IncomingMessage,
  res: ServerResponse,
  canonical: { path: string; rawQuery: string },
  role: Role,
  kind: FileKind,
  streamIds: readonly string[],
): Promise<void> {
  const startedAt = performance.now();
  const credentials = readCredentials(canonical.rawQuery, rt.config.session.param);
  credentials.grant = rt.sessions.presentedGrant(credentials, kind, req.headers.cookie, streamIds);
  const ctx = buildContext({ app: app.name, streamIds, role, kind, clientIp: clientIpOf(rt, req), credentials, method: req.method ?? 'GET' });
  const decision = await decide(ctx, app[role], { store: rt.store, sessions: rt.sessions, registry: rt.registries.get(app.name) });
  // Manifests and whole files open (or renew) a playback session: its refusal (viewer limit, store
  // down, revoked) is the request's decision, logged and counted as a denial.
  const issued = decision.allow && rt.sessions.opensSession(ctx, req.method ?? 'GET', app.play.open) ? await rt.sessions.issue(ctx, decision, app.name, protocolOf(canonical.path, ctx.kind)) : null;
  const final = issued && !issued.allow ? issued : decision;
  recordDecision(rt, 'proxy', ctx, final, startedAt);
  if (!final.allow) return sendDeny(res, final.status, final.reason);
  return allowed(rt, req, res, canonical, ctx, issued?.allow ? issued : null);
}

/** Segments just pass; manifests come back rewritten with the grant, whole files with its cookie. */
async function allowed(rt: Runtime, req: IncomingMessage, res: ServerResponse, canonical: { path: string; rawQuery: string }, ctx: RequestContext, issued: IssuedGrant | null): Promise<void> {
  if (!issued) return pass(rt, req, res, canonical.path, canonical.rawQuery, { strip: rt.config.origin.stripCredentials });
  const extraHeaders: Record<string, string | string[]> = {};
  if (issued.cookie) extraHeaders['set-cookie'] = issued.cookie;
  if (ctx.kind === 'file') return pass(rt, req, res, canonical.path, canonical.rawQuery, { strip: rt.config.origin.stripCredentials, extraHeaders });
  if (!rt.pool) return sendDeny(res, 502, Reason.originUnavailable);
  const fwd = forwardedFor(rt, req);
  const status = await serveRewrittenManifest(rt.pool, upstreamRequest(rt, req, canonical.path, canonical.rawQuery, true, fwd), req, res, {
    param: rt.config.session.param,
    grant: issued.value,
    clientOrigin: `${fwd.proto}://${fwd.host ?? 'localhost'}`,
    path: canonical.path,
    maxBytes: rt.config.limits.maxManifestBytes,
    extraHeaders,
  });
  countOrigin(rt, status);
}

/** streamgate_origin_responses_total by status class (0 = the origin never answered). */
function countOrigin(rt: Runtime, status: number): void {
  rt.metrics.origin.labels(status ? `${Math.floor(status / 100)}xx` : 'error').inc();
}

function upstreamRequest(rt: Runtime, req: IncomingMessage, path: string, rawQuery: string, strip: boolean, fwd = forwardedFor(rt, req)): ForwardRequest {
  const query = strip ? stripCredentials(rawQuery, rt.config.session.param) : rawQuery;
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD' && (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined);
  return {
    method,
    path: query ? `${path}?${query}` : path,
    // The grant cookie is streamgate's own: the origin never sees it.
    headers: upstreamHeaders(req.headers, fwd, rt.sessions.withoutGrantCookie),
    body: hasBody ? req : null,
  };
}

function pass(rt: Runtime, req: IncomingMessage, res: ServerResponse, path: string, rawQuery: string, opts: { strip: boolean; extraHeaders?: Record<string, string | string[]> }): void {
  if (!rt.pool) return sendDeny(res, 502, Reason.originUnavailable);
  forward(rt.pool, upstreamRequest(rt, req, path, rawQuery, opts.strip), res, {
    responseHeaders: opts.extraHeaders,
    onDone: (status) => countOrigin(rt, status),
  });
}
