// WHIP sessions (RFC 9725): a publisher POSTs its SDP offer to the WHIP endpoint `/{app}/whip/{id}`;
// the origin answers 201 with the session URL in `Location` (Ant Media's WhipEndpoint: the request
// URI + `/{uuid}`, the same uuid as the ETag), and the publisher then sends PATCH (trickle ICE,
// `application/trickle-ice-sdpfrag`) and DELETE (teardown) to that URL.
//
// The POST is authorized like any publish. The session URL must not need the credential again: a
// one-time token is spent by the POST. So on an allowed POST the gate appends a session grant to the
// Location it hands back (`…/whip/{id}/{uuid}?sg=<grant>`), and clients use that URL verbatim
// (RFC 9725 §4.3). The grant is the playback grant's format with role `publish` and the session
// resource id in place of the session id; it authorizes PATCH and DELETE on that one resource only,
// never a new publish (PlaybackSessions refuses publish-role grants everywhere else).
import { Reason } from '../errors.js';
import type { Config } from '../config/schema.js';
import type { Deny } from '../decision/types.js';
import { canonicalizeUrl } from '../request/canonical-path.js';
import { routeRequest } from '../request/stream-path.js';
import type { Grant, GrantCodec } from './grant.js';

type SessionConfig = Config['session'];

export interface WhipResource {
  app: string;
  streamId: string;
  /**
   * The last path segment of the session URL (Ant Media: the ETag uuid). In a grant, ANY_RESOURCE
   * when it was minted before the origin named the resource (`/verify`: the check precedes the POST).
   */
  resourceId: string;
}

/** A grant for every session URL of its stream: what `/verify` mints, since it never sees Location. */
export const ANY_RESOURCE = '*';

export interface WhipGrantAllow {
  allow: true;
  via: 'grant';
  factors: ['grant'];
  streamId: string;
}

const deny = (reason: Deny['reason']): Deny => ({ allow: false, status: 401, reason });

/** A session grant for `resource`, valid for `session.maxLifetimeSeconds` (a publish outlives its token). */
export function issueWhipGrant(codec: GrantCodec, config: SessionConfig, resource: WhipResource, clientIp: string, nowMs: number): string {
  const now = Math.floor(nowMs / 1000);
  const grant: Grant = {
    app: resource.app,
    streamId: resource.streamId,
    role: 'publish',
    sessionId: resource.resourceId,
    issuedAt: now,
    expiresAt: now + config.maxLifetimeSeconds,
    sessionStartedAt: now,
    // Not read for WHIP grants: revocation epochs and the store generation gate playback manifests only.
    epochs: { stream: 0, subscriber: 0 },
    generation: 'whip',
  };
  if (config.bindClientIp) grant.clientIp = clientIp;
  return codec.sign(grant);
}

/**
 * Authorizes a request on a WHIP session URL by its grant: pure CPU (one HMAC), no store call.
 * 401 `grant_invalid` for a grant of another app, stream, resource, role or (with
 * `session.bindClientIp`) client; `grant_expired` past its lifetime.
 */
export function authorizeWhipGrant(codec: GrantCodec, config: SessionConfig, value: string, resource: WhipResource, clientIp: string, nowMs: number): WhipGrantAllow | Deny {
  const v = codec.verify(value, Math.floor(nowMs / 1000));
  if (!v.ok) return deny(v.reason);
  const g = v.grant;
  const sameResource = g.sessionId === resource.resourceId || g.sessionId === ANY_RESOURCE;
  if (g.role !== 'publish' || g.app !== resource.app || g.streamId !== resource.streamId || !sameResource) return deny(Reason.grantInvalid);
  if (config.bindClientIp && g.clientIp !== clientIp) return deny(Reason.grantInvalid);
  return { allow: true, via: 'grant', factors: ['grant'], streamId: g.streamId };
}

/**
 * The session resource a WHIP POST's `Location` names, resolved against the request path: a relative
 * reference, or an absolute URL on the origin itself (Ant Media builds it from the request URI it
 * saw, i.e. the origin's own host). null for a foreign host, another app or stream, or anything that
 * is not `/{app}/whip/{id}/{resource}` after canonicalization.
 *
 * @returns `path` is what the client gets instead of an origin-absolute URL (same-origin relative
 *   reference, RFC 3986 §4.2), with the origin's query kept.
 */
export function whipResourceOf(location: string, requestPath: string, originUrl: string | undefined, expect: { app: string; streamIds: readonly string[] }, maxUriBytes: number): (WhipResource & { path: string; rawQuery: string }) | null {
  let url: URL;
  try {
    url = new URL(location, new URL(requestPath, 'http://gate.invalid'));
  } catch {
    return null;
  }
  const sameOrigin = url.origin === 'http://gate.invalid' || (originUrl !== undefined && url.origin === new URL(originUrl).origin);
  if (!sameOrigin) return null;
  const canonical = canonicalizeUrl(url.pathname + url.search, maxUriBytes);
  if (!canonical.ok) return null;
  const route = routeRequest(canonical.segments);
  if (route.area !== 'whip' || route.app !== expect.app || route.streamId === null || route.rest.length !== 1) return null;
  if (!expect.streamIds.includes(route.streamId) || route.rest[0] === ANY_RESOURCE) return null;
  return { app: route.app, streamId: route.streamId, resourceId: route.rest[0]!, path: canonical.path, rawQuery: canonical.rawQuery };
}

/** `path?query&param=grant`: the Location a publisher gets back. */
export function locationWithGrant(path: string, rawQuery: string, param: string, grant: string): string {
  const extra = `${param}=${grant}`;
  return `${path}?${rawQuery ? `${rawQuery}&${extra}` : extra}`;
}
