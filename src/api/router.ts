// Entry points of `/{app}/rest/…`: the REST filter first, then the management API (answered here,
// never forwarded) or — on the public listener only — the origin's own REST API. Everything is
// decided on canonical path segments (request/canonical-path.ts), so no spelling of a URL reaches
// the origin without passing the filter.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Runtime } from '../runtime.js';
import type { AppRuntime } from '../decision/policy.js';
import type { AdminRoute } from '../admin/admin-server.js';
import { StoreUnavailableError, Reason } from '../errors.js';
import { canonicalizeUrl } from '../request/canonical-path.js';
import { isStreamId, routeRequest } from '../request/stream-path.js';
import { sendReason } from '../proxy/respond.js';
import { checkRest } from './rest-filter.js';
import { ApiReason, result, sendResult, type ApiRoute } from './http.js';
import { legacyTokenRoutes, tokenRoutes } from './tokens.js';
import { subscriberRoutes } from './subscribers.js';
import { StreamMessage, streamRoutes } from './streams.js';
import { eventRoutes } from './events.js';

/** Literal routes before `/{id}`, so `POST /create` is never read as a stream id. */
const ROUTES: readonly ApiRoute[] = [...tokenRoutes, ...subscriberRoutes, ...eventRoutes, ...streamRoutes];

type Match =
  | { kind: 'route'; route: ApiRoute; params: Record<string, string> }
  | { kind: 'method'; allow: string }
  | { kind: 'unknown' };

function matchPattern(pattern: readonly string[], segments: readonly string[]): Record<string, string> | null {
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segments[i]!;
    if (p.startsWith(':')) {
      if (s === '') return null;
      params[p.slice(1)] = s;
    } else if (p !== s) return null;
  }
  return params;
}

/**
 * `rest` = segments after `/{app}/rest`: `v2/broadcasts/…` (the API) or `broadcast/…` (the 1.x token
 * path). Anything else is not ours ('unknown').
 */
export function matchManagement(method: string, rest: readonly string[]): Match {
  if (rest[0] === 'v2' && rest[1] === 'broadcasts') return matchRoutes(ROUTES, method, rest.slice(2));
  if (rest[0] === 'broadcast') return matchRoutes(legacyTokenRoutes, method, rest.slice(1));
  return { kind: 'unknown' };
}

function matchRoutes(routes: readonly ApiRoute[], method: string, below: readonly string[]): Match {
  const onPath: ApiRoute[] = [];
  for (const route of routes) {
    const params = matchPattern(route.pattern, below);
    if (!params) continue;
    // No implicit HEAD for GET: a HEAD on `/token` must not mint a token.
    if (route.method === method) return { kind: 'route', route, params };
    onPath.push(route);
  }
  if (onPath.some((r) => r.exclusive)) return { kind: 'method', allow: [...new Set(onPath.map((r) => r.method))].join(', ') };
  return { kind: 'unknown' };
}

export type RestOutcome = 'handled' | 'forward';

/**
 * Handles `/{app}/rest/<rest…>`. 'forward': the filter passed and the path is not ours — the caller
 * (public listener) sends it to the origin. The admin listener never forwards: it answers 404.
 */
export async function handleRest(
  rt: Runtime,
  app: AppRuntime,
  req: IncomingMessage,
  res: ServerResponse,
  canonical: { path: string; rawQuery: string },
  rest: readonly string[],
  listener: 'public' | 'admin',
): Promise<RestOutcome> {
  const verdict = await checkRest(rt, app, req);
  if (!verdict.ok) {
    sendReason(res, 'proxy', verdict.reason);
    return 'handled';
  }
  const method = req.method ?? 'GET';
  const m = matchManagement(method, rest);
  if (m.kind === 'unknown') {
    if (listener === 'public') return 'forward';
    sendReason(res, 'proxy', ApiReason.routeUnknown);
    return 'handled';
  }
  // Ours: answered here or nowhere — never by the origin, whose token store is not the gate's.
  if (listener === 'public' && !app.config.rest.servePublic) {
    sendReason(res, 'proxy', ApiReason.notPublic);
    return 'handled';
  }
  if (m.kind === 'method') {
    sendReason(res, 'proxy', ApiReason.methodNotAllowed, { allow: m.allow });
    return 'handled';
  }
  const { params } = m;
  if (params.id !== undefined && !isStreamId(params.id)) {
    sendResult(res, 400, result(false, StreamMessage.invalid));
    return 'handled';
  }
  try {
    await m.route.handler({ rt, app, req, res, params, query: new URLSearchParams(canonical.rawQuery), listener, path: canonical.path, rawQuery: canonical.rawQuery });
  } catch (err) {
    // Fail closed and say why; any other error is the caller's 500/503.
    if (!(err instanceof StoreUnavailableError)) throw err;
    if (!res.headersSent) sendReason(res, 'proxy', Reason.storeUnavailable);
    else res.destroy();
  }
  return 'handled';
}

/** The management API on the admin listener (`createAdminHandler(rt, state, [managementRoute(rt)])`). */
export function managementRoute(rt: Runtime): AdminRoute {
  return async (req, res) => {
    const canonical = canonicalizeUrl(req.url ?? '/', rt.config.limits.maxUriBytes);
    if (!canonical.ok) return false;
    const route = routeRequest(canonical.segments);
    if (route.area !== 'rest') return false;
    const app = rt.apps.get(route.app);
    if (!app) {
      sendReason(res, 'proxy', Reason.appNotFound);
      return true;
    }
    await handleRest(rt, app, req, res, canonical, route.rest, 'admin');
    return true;
  };
}
