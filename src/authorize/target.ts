// Target resolution: the one table that turns a canonical request (method, path segments, door)
// into what is to be authorized — app, role, file kind, candidate stream ids — or into "pass
// unchecked", "the REST API", "the signalling socket" or a refusal. The proxy, /verify and the
// WebSocket gate all ask here, so the same request gets the same answer at every door.
//
// The method table (RFC 9110 §9):
//   /{app}/streams/…            GET, HEAD → play; OPTIONS → pass (CORS preflight); other → 405
//   /{app}/whip/…, chunked/…,
//   hls-upload/…                GET, HEAD, POST, PUT, PATCH, DELETE → publish; OPTIONS → pass; other → 405
//   /{app}/{websocketPath}      only the WebSocket door (upgrade); over plain HTTP → 403
//   /{app}/rest/…               the REST filter + management API (proxy only; /verify → 403)
//   other /{app}/… files        pass unchecked (play.html, assets), as in Ant Media
//   /, /{file}, unknown app     panel clients only (proxy); 403 / 404 otherwise
// Reserved folder names (`streams`, `rest`, `whip`, …) match in any letter case: on a
// case-insensitive origin `/{app}/Streams/x.m3u8` is the stream's playlist, so it is authorized as one.
import type { AppRuntime } from '../decision/policy.js';
import type { FileKind, Role } from '../decision/types.js';
import { Reason, type ReasonCode } from '../decision/reasons.js';
import { routeRequest } from '../request/stream-path.js';

export type HttpDoor = 'proxy' | 'verify' | 'websocket';

export interface TargetRequest {
  door: HttpDoor;
  /** Upper-case request method (for /verify: the original request's). */
  method: string;
  /** Canonical, decoded path segments (request/canonical-path.ts). */
  segments: readonly string[];
  /**
   * /verify `?role=`: the operator's statement of which role a location serves. undefined when
   * absent; null when present but not `play`/`publish`. A gated target of another role is refused.
   */
  role?: Role | null | undefined;
  /** Whether the client may reach the origin's root paths (proxy only; default: nobody). */
  isPanelClient?: (() => boolean) | undefined;
}

/** What a request is, once resolved. Only `gated` needs a decision. */
export type Target =
  | {
      type: 'refuse';
      reason: ReasonCode;
      /** `Allow` header for 405 (RFC 9110 §15.5.6). */
      allow?: string;
      /** The app when the path names one (its CORS headers go on the deny). */
      app?: AppRuntime;
    }
  /** Forwarded unchecked: static app files, preflights, unrecognized files of an open role, panel paths. */
  | { type: 'pass'; app: AppRuntime | null; why: 'static' | 'preflight' | 'open' | 'panel' }
  | { type: 'rest'; app: AppRuntime; rest: readonly string[] }
  | { type: 'signalling'; app: AppRuntime }
  | GatedTarget;

/**
 * A stream request to authorize. Non-HTTP doors (RTMP, SRT, WebSocket commands) build one
 * themselves with `gatedTarget()`.
 */
export interface GatedTarget {
  type: 'gated';
  app: AppRuntime;
  role: Role;
  kind: FileKind;
  /** Candidate stream ids, primary first (request/stream-path.ts); never empty. */
  streamIds: readonly string[];
  /**
   * WHIP paths only (RFC 9725): the session resource id of `/{app}/whip/{id}/{resource}`, or null for
   * the WHIP endpoint itself (see proxy/whip.ts).
   */
  whipResource?: string | null;
}

export const STREAM_METHODS = 'GET, HEAD, OPTIONS';
export const INGEST_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
const INGEST_METHOD_SET = new Set(INGEST_METHODS.split(', '));

function refuse(reason: ReasonCode, app?: AppRuntime, allow?: string): Target {
  const t: Target = { type: 'refuse', reason };
  if (app) t.app = app;
  if (allow) t.allow = allow;
  return t;
}

/** The target of a stream a door names itself (a WebSocket `play`, an RTMP `publish`). */
export function gatedTarget(app: AppRuntime, role: Role, kind: FileKind, streamIds: readonly string[]): GatedTarget {
  return { type: 'gated', app, role, kind, streamIds };
}

/** Resolves a canonical request; see the file header for the table. Pure: no I/O. */
export function resolveTarget(apps: ReadonlyMap<string, AppRuntime>, r: TargetRequest): Target {
  // Each app reads stream files with its own grammar (segment suffix formats).
  const route = routeRequest(r.segments as string[], (name) => apps.get(name)?.grammar);
  if (route.area === 'root') return r.door === 'proxy' && r.isPanelClient?.() ? { type: 'pass', app: null, why: 'panel' } : refuse(Reason.routeDenied);
  const app = apps.get(route.app);
  if (!app) return r.door === 'proxy' && r.isPanelClient?.() ? { type: 'pass', app: null, why: 'panel' } : refuse(Reason.appNotFound);
  if (r.role === null) return refuse(Reason.routeDenied, app);

  const isSocket = route.area === 'websocket' && route.name.toLowerCase() === app.config.websocketPath.toLowerCase();
  if (r.door === 'websocket') return isSocket && route.name === app.config.websocketPath ? { type: 'signalling', app } : refuse(Reason.routeDenied, app);
  if (isSocket) return refuse(Reason.routeDenied, app);

  let target: Target;
  switch (route.area) {
    case 'websocket':
    case 'static':
      return { type: 'pass', app, why: 'static' };
    case 'rest':
      return r.door === 'proxy' ? { type: 'rest', app, rest: route.rest } : refuse(Reason.routeDenied, app);
    case 'streams':
      if (r.method === 'OPTIONS') return { type: 'pass', app, why: 'preflight' };
      if (r.method !== 'GET' && r.method !== 'HEAD') return refuse(Reason.methodNotAllowed, app, STREAM_METHODS);
      if (route.kind === null) {
        // A file that belongs to no stream cannot be authorized: it passes only when play is open.
        return app.play.open ? { type: 'pass', app, why: 'open' } : refuse(Reason.streamUnrecognized, app);
      }
      target = gatedTarget(app, 'play', route.kind, route.streamIds);
      break;
    case 'whip':
    case 'ingest': {
      if (r.method === 'OPTIONS') return { type: 'pass', app, why: 'preflight' };
      if (!INGEST_METHOD_SET.has(r.method)) return refuse(Reason.methodNotAllowed, app, INGEST_METHODS);
      const streamIds = route.area === 'whip' ? (route.streamId === null ? [] : [route.streamId]) : route.streamIds;
      if (!streamIds.length) return refuse(Reason.streamUnrecognized, app);
      target = gatedTarget(app, 'publish', 'ingest', streamIds);
      if (route.area === 'whip') target.whipResource = route.rest[0] ?? null;
      break;
    }
  }
  if (r.role !== undefined && r.role !== target.role) return refuse(Reason.routeDenied, app);
  return target;
}
