// Front door 2: `GET /verify` for nginx auth_request, Traefik ForwardAuth and Envoy ext_authz.
// Contract (edge-auth-anchors.md §A): 200 allows (Envoy accepts only 200, not any 2xx); 401 for a
// missing or bad credential; 403 for a good credential that policy refuses or a request that
// cannot be authorized at all. Never 400/404 to mean deny: nginx turns those into 500.
// 503 (store down) is not a deny but "cannot decide": nginx answers 500, i.e. fails closed.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Reason, type ReasonCode } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { canonicalizeUrl } from '../request/canonical-path.js';
import { routeRequest } from '../request/stream-path.js';
import { readCredentials } from '../request/credentials.js';
import { buildContext, clientIpOf, peerAddress, roleForMethod } from '../request/context.js';
import { decide } from '../decision/decide.js';
import { recordDecision } from '../decision/record.js';
import type { Role } from '../decision/types.js';
import { sendDeny, sendJson } from '../proxy/respond.js';
import { protocolOf } from '../session/playback-sessions.js';

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** ingress-nginx sends a full URL in X-Original-URL: keep only the request-target. */
function requestTarget(raw: string): string {
  if (raw.startsWith('http://') || raw.startsWith('https://')) {
    const slash = raw.indexOf('/', raw.indexOf('//') + 2);
    return slash === -1 ? '/' : raw.slice(slash);
  }
  return raw;
}

/**
 * One value from whichever header dialect the proxy speaks — or null when several dialects are
 * present and disagree. A proxy sets its own header but may pass the client's others through
 * (Traefik ForwardAuth copies client headers): a client-supplied X-Original-URI next to Traefik's
 * X-Forwarded-Uri must not choose what gets authorized.
 */
function agreed(values: (string | undefined)[]): string | null | undefined {
  const present = values.filter((v): v is string => v !== undefined && v !== '');
  if (present.length === 0) return undefined;
  return present.every((v) => v === present[0]) ? present[0]! : null;
}

function verifyRole(rawQuery: string): Role | null | undefined {
  if (!rawQuery) return undefined;
  const role = new URLSearchParams(rawQuery).get('role');
  if (role === null) return undefined;
  return role === 'play' || role === 'publish' ? role : null;
}

export async function handleVerify(rt: Runtime, req: IncomingMessage, res: ServerResponse, rawQuery: string): Promise<void> {
  const deny = (status: 401 | 403 | 503, reason: ReasonCode) => sendDeny(res, status, reason);
  if (req.method !== 'GET' && req.method !== 'HEAD') return deny(403, Reason.methodNotAllowed);
  // Forwarded facts are believed only from configured proxies; anyone else learns nothing.
  if (!rt.isTrustedProxy(peerAddress(req))) return deny(403, Reason.routeDenied);

  const h = req.headers;
  const uri = agreed([first(h['x-original-uri']), first(h['x-forwarded-uri']), first(h['x-original-url'])].map((v) => (v ? requestTarget(v) : v)));
  const forwardedMethod = agreed([first(h['x-original-method']), first(h['x-forwarded-method'])].map((v) => v?.toUpperCase()));
  if (uri === null || forwardedMethod === null) return deny(403, Reason.routeDenied);
  if (!uri) return deny(403, Reason.pathInvalid);
  const method = forwardedMethod ?? 'GET';
  // CORS preflights carry no credentials; the proxy in front answers or forwards them.
  if (method === 'OPTIONS') return allow(res, '', '', 'play');
  const canonical = canonicalizeUrl(uri, rt.config.limits.maxUriBytes);
  if (!canonical.ok) return deny(403, canonical.reason);
  const route = routeRequest(canonical.segments);
  if (route.area === 'root') return deny(403, Reason.routeDenied);
  const app = rt.apps.get(route.app);
  if (!app) return deny(403, Reason.appNotFound);

  const asked = verifyRole(rawQuery);
  if (asked === null) return deny(403, Reason.routeDenied);
  let streamIds: readonly string[];
  let kind: 'manifest' | 'segment' | 'file' | 'ingest';
  switch (route.area) {
    case 'websocket':
      if (route.name === app.config.websocketPath) return deny(403, Reason.routeDenied);
      return allow(res, route.app, '', 'play');
    case 'static':
      return allow(res, route.app, '', 'play');
    case 'streams':
      if (route.kind === null) {
        if (app.play.open) return allow(res, route.app, '', 'play');
        return deny(403, Reason.streamUnrecognized);
      }
      streamIds = route.streamIds;
      kind = route.kind === 'manifest' || route.kind === 'segment' || route.kind === 'file' ? route.kind : 'segment';
      break;
    case 'whip':
      streamIds = route.streamId === null ? [] : [route.streamId];
      kind = 'ingest';
      break;
    case 'ingest':
      streamIds = route.streamIds;
      kind = 'ingest';
      break;
    default:
      return deny(403, Reason.routeDenied);
  }
  const role: Role | null = asked ?? roleForMethod(method);
  if (role === null) return deny(403, Reason.methodNotAllowed);
  if (!streamIds.length) return deny(403, Reason.streamUnrecognized);

  const startedAt = performance.now();
  const credentials = readCredentials(canonical.rawQuery, rt.config.session.param);
  // nginx passes the client's Cookie header on the subrequest: the grant cookie opens segments.
  credentials.grant = rt.sessions.presentedGrant(credentials, kind, req.headers.cookie, streamIds);
  const ctx = buildContext({ app: app.name, streamIds, role, kind, clientIp: clientIpOf(rt, req), credentials, method });
  const decision = await decide(ctx, app[role], { store: rt.store, sessions: rt.sessions, registry: rt.registries.get(app.name) });
  const headers: Record<string, string> = {};
  // Nothing can be rewritten here (nginx serves the body): the grant travels as a cookie
  // (nginx: auth_request_set $c $upstream_http_set_cookie; add_header Set-Cookie $c;) and in a header.
  // A refused session (viewer limit, store down, revoked) is the request's decision.
  const issued = decision.allow && rt.sessions.opensSession(ctx, method, app.play.open) ? await rt.sessions.issue(ctx, decision, app.name, protocolOf(canonical.path, kind)) : null;
  const final = issued && !issued.allow ? issued : decision;
  recordDecision(rt, 'verify', ctx, final, startedAt);
  if (!final.allow) return deny(final.status, final.reason);
  if (issued?.allow) {
    if (issued.cookie) headers['set-cookie'] = issued.cookie;
    headers['x-streamgate-grant'] = issued.value;
  }
  return allow(res, app.name, final.streamId ?? ctx.streamId, role, final.subscriberId, headers);
}

function allow(res: ServerResponse, app: string, streamId: string, role: Role, subscriberId?: string, extra: Record<string, string> = {}): void {
  const headers: Record<string, string> = { 'x-streamgate-app': app, 'x-streamgate-role': role, ...extra };
  if (streamId) headers['x-streamgate-stream'] = streamId;
  if (subscriberId) headers['x-streamgate-subscriber'] = subscriberId;
  sendJson(res, 200, { result: 'allow' }, headers);
}
