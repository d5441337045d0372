// Front door 2: `/verify` for nginx auth_request, Traefik ForwardAuth and Envoy / Istio ext_authz. It
// reads the original request from the caller's dialect (original-request.ts), then asks the same
// target table and the same authorize step as the proxy door. Contract: 200 allows (Envoy accepts
// only 200, not any 2xx); 401 for a missing or bad credential, with WWW-Authenticate; 403 for a good
// credential that policy refuses or a request that cannot be authorized at all. Never 400/404/405
// to mean deny: nginx turns those into 500 (the mapping is `statusAt('verify', …)` in
// decision/reasons.ts). 503 (store down) is "cannot decide": nginx answers 500, i.e. fails closed;
// 500 is the gate's own failure. Every deny carries X-Streamgate-Reason (nginx drops the body of an
// auth subrequest; `auth_request_set` can pick the header up).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Reason, type ReasonCode } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { canonicalizeUrl } from '../request/canonical-path.js';
import { readCredentials } from '../request/credentials.js';
import { peerAddress, verifyClientIpOf } from '../request/context.js';
import type { Role } from '../decision/types.js';
import { resolveTarget } from '../authorize/target.js';
import { authorize } from '../authorize/authorize.js';
import { retryAfter, sendJson, sendReason } from '../proxy/respond.js';
import { authorizeWhip, whipCredentials } from '../proxy/whip.js';
import { ANY_RESOURCE, issueWhipGrant } from '../session/whip-session.js';
import { isVerifyTarget, originalRequest } from './original-request.js';
import { noteDecision } from '../observability/response-note.js';

export { isVerifyTarget };

export async function handleVerify(rt: Runtime, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let realm: string | undefined;
  // A proxy can copy the reason header (auth_request_set), not the body.
  const deny = (reason: ReasonCode, headers?: Record<string, string>) => sendReason(res, 'verify', reason, { 'x-streamgate-reason': reason, ...headers }, realm);
  // Forwarded facts are believed only from configured callers; anyone else learns nothing.
  if (!rt.isVerifyCaller(peerAddress(req))) return deny(Reason.routeDenied);

  const original = originalRequest(req.url ?? '/verify', req.method ?? 'GET', req.headers);
  if (!original.ok) {
    if (original.why === 'method') return deny(Reason.methodNotAllowed);
    return deny(original.why === 'missing' ? Reason.pathInvalid : Reason.routeDenied);
  }
  const method = original.method;
  const canonical = canonicalizeUrl(original.uri, rt.config.limits.maxUriBytes);
  if (!canonical.ok) return deny(canonical.reason);
  // The same table as the proxy: a PUT of a playlist is a 405 there, so it is a deny here.
  const target = resolveTarget(rt.apps, { door: 'verify', method, segments: canonical.segments, role: original.role });
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
  realm = target.app.name;
  const clientIp = verifyClientIpOf(rt.isVerifyCaller, rt.isTrustedProxy, req);
  if (target.whipResource !== undefined) {
    const credentials = whipCredentials(canonical.rawQuery, rt.config.session.param, req.headers);
    const { ctx, decision } = await authorizeWhip(rt, 'verify', target, credentials, clientIp, method);
    noteDecision(res, decision, ctx);
    if (!decision.allow) return deny(decision.reason, retryAfter(decision));
    const streamId = decision.streamId ?? target.streamIds[0] ?? '';
    return allow(res, target.app.name, streamId, 'publish', 'subscriberId' in decision ? decision.subscriberId : undefined, whipGrantHeader(rt, { ...ctx, streamId }, target.whipResource ?? null, method));
  }
  const { decision, ctx, grant } = await authorize(rt, 'verify', target, {
    credentials: readCredentials(canonical.rawQuery, rt.config.session.param),
    clientIp,
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

/**
 * An allowed WHIP POST: a session grant for every session URL of the stream, as `X-Streamgate-Grant`
 * (the check precedes the origin's answer and its Location never passes through here; nginx appends
 * the grant to it with `proxy_redirect`, see deploy/nginx/auth-request.conf).
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
