// WHIP (RFC 9725) as publishers send it, for the proxy and /verify doors: the token may come as
// `Authorization: Bearer` (OBS, GStreamer, Ant Media's WhipEndpoint) as well as `?token=`, and the
// session URL the origin returned (PATCH trickle ICE, DELETE teardown) is authorized without
// spending the POST's credential again (see session/whip-session.ts).
//
//   POST   /{app}/whip/{id}             publish, like any ingest: the token is consumed here
//   PATCH  /{app}/whip/{id}/{resource}  the session grant from Location (`?sg=`), else a credential
//   DELETE /{app}/whip/{id}/{resource}  checked WITHOUT consuming (a one-time token is never spent)
import type { IncomingHttpHeaders } from 'node:http';
import type { Runtime } from '../runtime.js';
import type { Credentials, Door, RequestContext } from '../decision/types.js';
import { recordDecision } from '../decision/record.js';
import { authorize, type Authorized } from '../authorize/authorize.js';
import type { GatedTarget } from '../authorize/target.js';
import { bearerToken, readCredentials, stripCredentials } from '../request/credentials.js';
import { authorizeWhipGrant, issueWhipGrant, locationWithGrant, whipResourceOf } from '../session/whip-session.js';

/** `?token=` first (Ant Media's query dialect), else `Authorization: Bearer`. */
export function whipCredentials(rawQuery: string, grantParam: string, headers: IncomingHttpHeaders): Credentials {
  const credentials = readCredentials(rawQuery, grantParam);
  credentials.token ??= bearerToken(headers.authorization);
  return credentials;
}

/**
 * One decision for a WHIP target (`target.whipResource` set by resolveTarget). On the endpoint a grant
 * is ignored (a session grant never opens a new publish); on a session URL the grant decides alone
 * (one HMAC, no store), and without one the credential is checked with `consume: false`.
 */
export async function authorizeWhip(rt: Runtime, door: Door, target: GatedTarget, credentials: Credentials, clientIp: string, method: string): Promise<Pick<Authorized, 'ctx' | 'decision'>> {
  const resourceId = target.whipResource ?? null;
  const withoutGrant = { ...credentials, grant: undefined };
  if (resourceId === null) return authorize(rt, door, target, { credentials: withoutGrant, clientIp, consume: method !== 'HEAD' });
  if (!credentials.grant || target.app.publish.open) return authorize(rt, door, target, { credentials: withoutGrant, clientIp, consume: false });
  const startedAt = performance.now();
  const ctx: RequestContext = {
    app: target.app.name,
    streamId: target.streamIds[0]!,
    streamIds: target.streamIds,
    role: 'publish',
    kind: 'ingest',
    clientIp,
    credentials,
    consume: false,
    now: Date.now(),
  };
  const resource = { app: ctx.app, streamId: ctx.streamId, resourceId };
  const decision = authorizeWhipGrant(rt.sessions.codec, rt.config.session, credentials.grant, resource, clientIp, ctx.now);
  recordDecision(rt, door, ctx, decision, startedAt);
  return { ctx, decision };
}

/**
 * Response-header hook for an allowed WHIP POST: a 201's `Location` naming a session resource of this
 * stream gets the session grant appended, and an origin-absolute URL becomes a same-origin path (the
 * origin's host is not the client's way in). Other responses pass unchanged.
 */
export function whipLocationRewriter(rt: Runtime, ctx: RequestContext, requestPath: string): (status: number, headers: Record<string, string | string[]>) => void {
  return (status, headers) => {
    const location = headers.location;
    if (status !== 201 || typeof location !== 'string' || rt.config.session.param === '') return;
    const resource = whipResourceOf(location, requestPath, rt.config.origin.url, { app: ctx.app, streamIds: ctx.streamIds }, rt.config.limits.maxUriBytes);
    if (!resource) return;
    const grant = issueWhipGrant(rt.sessions.codec, rt.config.session, resource, ctx.clientIp, Date.now());
    headers.location = locationWithGrant(resource.path, stripCredentials(resource.rawQuery, rt.config.session.param), rt.config.session.param, grant);
  };
}
