// Front door 2: `/verify` for nginx auth_request, Traefik ForwardAuth and Envoy / Istio ext_authz.
// Contract (edge-auth-anchors.md §A): 200 allows (Envoy accepts only 200, not any 2xx); 401 for a
// missing or bad credential; 403 for a good credential that policy refuses or a request that
// cannot be authorized at all. Never 400/404 to mean deny: nginx turns those into 500.
// 503 (store down) is not a deny but "cannot decide": nginx answers 500, i.e. fails closed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Reason, type ReasonCode } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { canonicalizeUrl } from '../request/canonical-path.js';
import { routeRequest } from '../request/stream-path.js';
import { readCredentials } from '../request/credentials.js';
import { buildContext, peerAddress, roleForMethod, verifyClientIpOf } from '../request/context.js';
import { decide } from '../decision/decide.js';
import { recordDecision } from '../decision/record.js';
import type { Role } from '../decision/types.js';
import { sendDeny, sendJson } from '../proxy/respond.js';
import { authorizeWhip, whipCredentials } from '../proxy/whip.js';
import { ANY_RESOURCE, issueWhipGrant } from '../session/whip-session.js';
import { protocolOf } from '../session/playback-sessions.js';
import { isVerifyTarget, originalRequest } from './original-request.js';

export { isVerifyTarget };

/**
 * `/verify` in every dialect (see original-request.ts). Callers outside `verify.allowedCallers` get 403
 * `route_denied` before anything is read. Denies carry `X-Streamgate-Reason` (nginx drops the body of
 * an auth subrequest; `auth_request_set` can pick the header up) and, on 401, `WWW-Authenticate`.
 */
export async function handleVerify(rt: Runtime, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let realm = 'streamgate';
  const deny = (status: 401 | 403 | 503, reason: ReasonCode) => sendDeny(res, status, reason, { 'x-streamgate-reason': reason }, realm);
  // Forwarded facts are believed only from configured callers; anyone else learns nothing.
  if (!rt.isVerifyCaller(peerAddress(req))) return deny(403, Reason.routeDenied);

  const original = originalRequest(req.url ?? '/verify', req.method ?? 'GET', req.headers);
  if (!original.ok) {
    if (original.why === 'method') return deny(403, Reason.methodNotAllowed);
    return deny(403, original.why === 'missing' ? Reason.pathInvalid : Reason.routeDenied);
  }
  const method = original.method;
  // CORS preflights carry no credentials; the proxy in front answers or forwards them.
  if (method === 'OPTIONS') return allow(res, '', '', 'play');
  const canonical = canonicalizeUrl(original.uri, rt.config.limits.maxUriBytes);
  if (!canonical.ok) return deny(403, canonical.reason);
  const route = routeRequest(canonical.segments);
  if (route.area === 'root') return deny(403, Reason.routeDenied);
  const app = rt.apps.get(route.app);
  if (!app) return deny(403, Reason.appNotFound);
  realm = app.name;

  const asked = original.role;
  let streamIds: readonly string[];
  let kind: 'manifest' | 'segment' | 'file' | 'ingest';
  switch (route.area) {
    case 'websocket':
      if (route.name === app.config.websocketPath) return deny(403, Reason.routeDenied);
      return allow(res, route.app, '', 'play');
    case 'static':
      return allow(res, route.app, '', 'play');
    case 'streams':
      // Media files are read-only, whatever the caller's dialect says (the proxy answers 405): a PUT
      // to a playlist must never pass as a "publish" of an open role.
      if ((method !== 'GET' && method !== 'HEAD') || asked === 'publish') return deny(403, Reason.methodNotAllowed);
      if (route.kind === null) {
        if (app.play.open) return allow(res, route.app, '', 'play');
        return deny(403, Reason.streamUnrecognized);
      }
      streamIds = route.streamIds;
      kind = route.kind === 'manifest' || route.kind === 'segment' || route.kind === 'file' ? route.kind : 'segment';
      break;
    case 'whip': {
      if (route.streamId === null) return deny(403, Reason.streamUnrecognized);
      if (asked === 'play' || roleForMethod(method) === null) return deny(403, Reason.methodNotAllowed);
      const startedAt = performance.now();
      const credentials = whipCredentials(canonical.rawQuery, rt.config.session.param, req.headers);
      const { ctx, decision } = await authorizeWhip(rt, app, { streamIds: [route.streamId], resourceId: route.rest[0] ?? null }, credentials, verifyClientIpOf(rt, req), method);
      recordDecision(rt, 'verify', ctx, decision, startedAt);
      if (!decision.allow) return deny(decision.status, decision.reason);
      return allow(res, app.name, decision.streamId ?? ctx.streamId, 'publish', 'subscriberId' in decision ? decision.subscriberId : undefined, whipGrantHeader(rt, ctx, route.rest[0] ?? null, method));
    }
    case 'ingest':
      if (asked === 'play' || roleForMethod(method) === null) return deny(403, Reason.methodNotAllowed);
      streamIds = route.streamIds;
      kind = 'ingest';
      break;
    default:
      return deny(403, Reason.routeDenied);
  }
  const role: Role = kind === 'ingest' ? 'publish' : 'play';
  if (!streamIds.length) return deny(403, Reason.streamUnrecognized);

  const startedAt = performance.now();
  const credentials = readCredentials(canonical.rawQuery, rt.config.session.param);
  // nginx passes the client's Cookie header on the subrequest: the grant cookie opens segments.
  credentials.grant = rt.sessions.presentedGrant(credentials, kind, req.headers.cookie);
  const ctx = buildContext({ app: app.name, streamIds, role, kind, clientIp: verifyClientIpOf(rt, req), credentials, method });
  const decision = await decide(ctx, app[role], { store: rt.store, sessions: rt.sessions, registry: rt.registries.get(app.name) });
  recordDecision(rt, 'verify', ctx, decision, startedAt);
  if (!decision.allow) return deny(decision.status, decision.reason);
  const headers: Record<string, string> = {};
  // Nothing can be rewritten here (nginx serves the body): the grant travels as a cookie
  // (nginx: auth_request_set $c $upstream_http_set_cookie; add_header Set-Cookie $c;) and in a header.
  if (rt.sessions.opensSession(ctx, method, app.play.open)) {
    const issued = await rt.sessions.issue(ctx, decision, app.name, protocolOf(canonical.path, kind));
    if (!issued.allow) return deny(issued.status, issued.reason);
    if (issued.cookie) headers['set-cookie'] = issued.cookie;
    headers['x-streamgate-grant'] = issued.value;
  }
  return allow(res, app.name, decision.streamId ?? ctx.streamId, role, decision.subscriberId, headers);
}

/**
 * An allowed WHIP POST: a session grant for every session URL of the stream, as `X-Streamgate-Grant`
 * (the origin's Location never passes through here; nginx appends the grant to it with
 * `proxy_redirect`, see deploy/nginx/auth-request.conf).
 */
function whipGrantHeader(rt: Runtime, ctx: { app: string; streamId: string; clientIp: string; now: number }, resourceId: string | null, method: string): Record<string, string> {
  if (resourceId !== null || method !== 'POST') return {};
  return { 'x-streamgate-grant': issueWhipGrant(rt.sessions.codec, rt.config.session, { app: ctx.app, streamId: ctx.streamId, resourceId: ANY_RESOURCE }, ctx.clientIp, ctx.now) };
}

function allow(res: ServerResponse, app: string, streamId: string, role: Role, subscriberId?: string, extra: Record<string, string> = {}): void {
  const headers: Record<string, string> = { 'x-streamgate-app': app, 'x-streamgate-role': role, ...extra };
  if (streamId) headers['x-streamgate-stream'] = streamId;
  if (subscriberId) headers['x-streamgate-subscriber'] = subscriberId;
  sendJson(res, 200, { result: 'allow' }, headers);
}
