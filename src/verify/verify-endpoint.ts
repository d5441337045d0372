// Front door 2: `GET /verify` for nginx auth_request, Traefik ForwardAuth and Envoy ext_authz. It
// reads the original request from the proxy's headers, then asks the same target table and the same
// authorize step as the proxy door. Contract: 200 allows (Envoy accepts only 200, not any 2xx); 401
// for a missing or bad credential; 403 for a good credential that policy refuses or a request that
// cannot be authorized at all. Never 400/404/405 to mean deny: nginx turns those into 500 (the
// mapping is `statusAt('verify', …)` in decision/reasons.ts). 503 (store down) is "cannot decide":
// nginx answers 500, i.e. fails closed; 500 is the gate's own failure.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Reason, type ReasonCode } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { canonicalizeUrl } from '../request/canonical-path.js';
import { readCredentials } from '../request/credentials.js';
import { clientIpOf, peerAddress } from '../request/context.js';
import type { Role } from '../decision/types.js';
import { resolveTarget } from '../authorize/target.js';
import { authorize } from '../authorize/authorize.js';
import { retryAfter, sendJson, sendReason } from '../proxy/respond.js';
import { noteDecision } from '../observability/response-note.js';

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
  // a proxy can copy the reason header (auth_request_set), not the body
  const deny = (reason: ReasonCode, headers?: Record<string, string>) => sendReason(res, 'verify', reason, { 'x-streamgate-reason': reason, ...headers });
  if (req.method !== 'GET' && req.method !== 'HEAD') return deny(Reason.methodNotAllowed);
  // Forwarded facts are believed only from configured proxies; anyone else learns nothing.
  if (!rt.isTrustedProxy(peerAddress(req))) return deny(Reason.routeDenied);

  const h = req.headers;
  const uri = agreed([first(h['x-original-uri']), first(h['x-forwarded-uri']), first(h['x-original-url'])].map((v) => (v ? requestTarget(v) : v)));
  const forwardedMethod = agreed([first(h['x-original-method']), first(h['x-forwarded-method'])].map((v) => v?.toUpperCase()));
  if (uri === null || forwardedMethod === null) return deny(Reason.routeDenied);
  if (!uri) return deny(Reason.pathInvalid);
  const method = forwardedMethod ?? 'GET';
  const canonical = canonicalizeUrl(uri, rt.config.limits.maxUriBytes);
  if (!canonical.ok) return deny(canonical.reason);
  // The same table as the proxy: a PUT of a playlist is a 405 there, so it is a deny here.
  const target = resolveTarget(rt.apps, { door: 'verify', method, segments: canonical.segments, role: verifyRole(rawQuery) });
  switch (target.type) {
    case 'refuse':
      return deny(target.reason);
    case 'rest':
    case 'signalling':
      return deny(Reason.routeDenied);
    case 'pass':
      return allow(res, target.app?.name ?? '', '', 'play');
    case 'gated':
      break;
  }
  const { decision, ctx, grant } = await authorize(rt, 'verify', target, {
    credentials: readCredentials(canonical.rawQuery, rt.config.session.param),
    clientIp: clientIpOf(rt.isTrustedProxy, req),
    consume: method !== 'HEAD',
    // nginx passes the client's Cookie header on the subrequest: the grant cookie opens segments.
    cookieHeader: req.headers.cookie,
    path: canonical.path,
  });
  noteDecision(res, decision, ctx);
  if (!decision.allow) return deny(decision.reason, retryAfter(decision));
  const headers: Record<string, string> = {};
  // Nothing can be rewritten here (nginx serves the body): the grant travels as a cookie
  // (nginx: auth_request_set $c $upstream_http_set_cookie; add_header Set-Cookie $c;) and in a header.
  if (grant) {
    if (grant.setCookie) headers['set-cookie'] = grant.setCookie;
    headers['x-streamgate-grant'] = grant.value;
  }
  return allow(res, target.app.name, decision.streamId ?? target.streamIds[0] ?? '', target.role, decision.subscriberId, headers);
}

function allow(res: ServerResponse, app: string, streamId: string, role: Role, subscriberId?: string, extra: Record<string, string> = {}): void {
  const headers: Record<string, string> = { 'x-streamgate-app': app, 'x-streamgate-role': role, ...extra };
  if (streamId) headers['x-streamgate-stream'] = streamId;
  if (subscriberId) headers['x-streamgate-subscriber'] = subscriberId;
  sendJson(res, 200, { result: 'allow' }, headers);
}
