// The one authorize step every door runs for a gated target: read the presented grant, build the
// request context, decide(), open or renew the playback session, then record the outcome — after
// the session step, so a 503 from the session store is counted as the denial it is. A door turns
// the result into its transport (HTTP status + JSON, /verify headers, a WebSocket error frame).
import { Reason, StoreUnavailableError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { StreamRegistry } from '../checks/registered-stream.js';
import { decide } from '../decision/decide.js';
import { recordDecision } from '../decision/record.js';
import { REASONS } from '../decision/reasons.js';
import type { Credentials, Decision, Deny, Door, RequestContext } from '../decision/types.js';
import { protocolOf, type PlaybackSessions } from '../session/playback-sessions.js';
import type { GatedTarget } from './target.js';

/** What authorize needs from the runtime (a `Runtime` satisfies it). */
export interface AuthorizeDeps {
  store: Store;
  sessions: PlaybackSessions;
  /** Per app, where "registered stream" is asked (publish, `registry: origin`). */
  registries: ReadonlyMap<string, StreamRegistry>;
  log: Logger;
  metrics: Metrics;
}

/** What the client presented, in transport-neutral terms. */
export interface Presented {
  credentials: Credentials;
  /** After trusted-proxy resolution (request/client-ip.ts). */
  clientIp: string;
  /** false for HEAD and probes: a one-time token is checked but never consumed. */
  consume: boolean;
  /** HTTP doors: the Cookie header (the grant cookie opens segments). */
  cookieHeader?: string | undefined;
  /** HTTP doors: the canonical path (`.mpd` → a DASH playback for connection events). */
  path?: string | undefined;
}

export interface Authorized {
  /** The final decision: a deny from the session step replaces decide()'s allow. */
  decision: Decision;
  ctx: RequestContext;
  /**
   * A playback grant was opened or renewed: its value (`sg` / `X-Streamgate-Grant`), its cookie, and
   * the session grant for URIs a player re-requests unchanged (IssuedGrant.sessionValue).
   */
  grant?: { value: string; setCookie: string | null; sessionValue: () => string } | undefined;
}

const denial = (reason: Deny['reason']): Deny => ({ allow: false, status: REASONS[reason].status, reason });

/** Refusals of a URL credential after which the stream's grant cookie, when current, decides instead. */
const SPENT_IN_URL: ReadonlySet<string> = new Set([Reason.grantExpired, Reason.tokenUsed, Reason.subscriberCodeReplayed]);

/**
 * Authorizes a gated target: decide(), then the playback-session step for a consuming play request
 * of a manifest or whole file. Never throws: a store failure is a 503 `store_unavailable` deny, any
 * other exception a 500 `internal_error` deny logged at `error` with its stack. Every outcome is
 * recorded once (log line + `streamgate_decisions_total`).
 */
export async function authorize(deps: AuthorizeDeps, door: Door, target: GatedTarget, presented: Presented): Promise<Authorized> {
  const startedAt = performance.now();
  const { app, role, kind, streamIds } = target;
  const credentials: Credentials = { ...presented.credentials };
  credentials.grant = deps.sessions.presentedGrant(credentials, kind, presented.cookieHeader, streamIds);
  const ctx: RequestContext = {
    app: app.name,
    streamId: streamIds[0] ?? '',
    streamIds,
    role,
    kind,
    clientIp: presented.clientIp,
    credentials,
    consume: presented.consume,
    now: Date.now(),
  };
  let decision: Decision;
  let grant: Authorized['grant'];
  try {
    const checks = { store: deps.store, sessions: deps.sessions, registry: deps.registries.get(app.name) };
    decision = await decide(ctx, app[role], checks);
    // A credential in the URL wins over the cookie, but a spent or expired one does not end a
    // playback whose cookie is current: a player on cookies alone re-requests the master's variant
    // URLs (media grants) unchanged, and a player re-sending `{id}.m3u8?token=` from a new address
    // (Wi-Fi to cellular) is not the client that spent the token.
    if (!decision.allow && SPENT_IN_URL.has(decision.reason) && kind !== 'ingest') {
      const jar = deps.sessions.cookieGrant(presented.cookieHeader, streamIds);
      if (jar !== undefined && jar !== credentials.grant) {
        const refused = decision;
        credentials.grant = jar;
        decision = await decide(ctx, app[role], checks);
        // A cookie that does not carry the request either leaves the URL credential's own answer.
        if (!decision.allow) {
          decision = refused;
          credentials.grant = presented.credentials.grant;
        }
      }
    }
    if (decision.allow && deps.sessions.opensSession(ctx, presented.consume ? 'GET' : 'HEAD', app.play.open)) {
      const issued = await deps.sessions.issue(ctx, decision, app.name, protocolOf(presented.path ?? '', kind));
      if (issued.allow) grant = { value: issued.value, setCookie: issued.cookie, sessionValue: issued.sessionValue };
      else decision = issued;
    }
  } catch (err) {
    if (err instanceof StoreUnavailableError) decision = denial(Reason.storeUnavailable);
    else {
      deps.log.error({ err, door, app: app.name, stream: ctx.streamId, role }, 'authorization failed');
      decision = denial(Reason.internalError);
    }
  }
  // The table is the one source of statuses, whatever a check wrote.
  if (!decision.allow) decision = { ...decision, status: REASONS[decision.reason].status };
  recordDecision(deps, door, ctx, decision, startedAt);
  return { decision, ctx, grant };
}
