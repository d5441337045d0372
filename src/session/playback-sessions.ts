// Playback sessions: a credential opens a playback once; a grant carries it to every later request
// on any replica. Segment requests are pure CPU (one HMAC). Manifest refreshes cost one cheap store
// read (revocation epochs) and one session touch (viewer limits); that is where revocation, blocking
// and session lifetime take effect — never per segment.
import { randomBytes } from 'node:crypto';
import { Reason, StoreUnavailableError } from '../errors.js';
import type { Config } from '../config/schema.js';
import type { Store } from '../store/store.js';
import type { Allow, Credentials, Decision, Deny, FileKind, RequestContext } from '../decision/types.js';
import { createGrantCodec, newSessionId, type Grant, type GrantCodec } from './grant.js';

export type SessionConfig = Config['session'];

export interface GrantAllow extends Allow {
  via: 'grant';
  grant: Grant;
}

export interface IssuedGrant {
  allow: true;
  value: string;
  grant: Grant;
  /** Set-Cookie value when the cookie is enabled. */
  cookie: string | null;
}

/** How a playback reached us, for connection events (Ant Media's `eventProtocol`). */
export type PlaybackProtocol = 'hls' | 'dash' | 'http';
/** Ant Media's eventProtocol for a playback that starts with this file. */
export const protocolOf = (path: string, kind: FileKind): PlaybackProtocol => (path.endsWith('.mpd') ? 'dash' : kind === 'file' ? 'http' : 'hls');

export type SessionStartListener = (app: string, grant: Grant, protocol: PlaybackProtocol) => void;

const deny = (status: 401 | 403 | 503, reason: Deny['reason']): Deny => ({ allow: false, status, reason });
/** A session of a subscriber is tracked this long past its grant, so a slow refresh is not a new viewer. */
export const SESSION_GRACE_MS = 10_000;

export class PlaybackSessions {
  readonly codec: GrantCodec;
  /** True when no secret was configured: grants then verify on this replica only. */
  readonly ephemeralKey: boolean;

  constructor(
    readonly config: SessionConfig,
    private readonly store: Store,
    /** Called once per new session (not on renewals); must not throw or block. */
    private readonly onStart?: SessionStartListener,
    /** Called on every start and renewal with the new grant (its expiry); must not throw or block. */
    private readonly onLive?: SessionStartListener,
  ) {
    this.ephemeralKey = config.secrets.length === 0;
    this.codec = createGrantCodec(this.ephemeralKey ? [randomBytes(32).toString('base64url')] : config.secrets);
  }

  /** Authorizes a request by its grant. Pure CPU for segments and files; manifests also check revocation. */
  async authorize(ctx: RequestContext, value: string): Promise<GrantAllow | Deny> {
    const nowSec = Math.floor(ctx.now / 1000);
    const v = this.codec.verify(value, nowSec);
    if (!v.ok) return deny(401, v.reason);
    const g = v.grant;
    if (g.app !== ctx.app) return deny(401, Reason.grantInvalid);
    if (g.role !== ctx.role) return deny(401, Reason.tokenWrongRole);
    if (!ctx.streamIds.includes(g.streamId)) return deny(401, Reason.tokenWrongStream);
    if (this.config.bindClientIp && g.clientIp !== ctx.clientIp) return deny(401, Reason.grantInvalid);
    if (nowSec >= g.sessionStartedAt + this.config.maxLifetimeSeconds) return deny(401, Reason.grantExpired);
    if (ctx.kind === 'manifest') {
      try {
        const epochs = await this.store.getEpochs(ctx.app, g.streamId, g.subscriberId);
        if (epochs.stream !== g.epochs.stream || epochs.subscriber !== g.epochs.subscriber) return deny(403, Reason.sessionRevoked);
        if (g.subscriberId) {
          // A live session refreshing is never refused by the viewer limit (only new sessions are).
          await this.store.touchSession(ctx.app, g.streamId, g.subscriberId, g.sessionId, this.config.ttlSeconds * 1000 + SESSION_GRACE_MS, Number.MAX_SAFE_INTEGER, ctx.now);
        }
      } catch (err) {
        if (err instanceof StoreUnavailableError) return deny(503, Reason.storeUnavailable);
        throw err;
      }
    }
    return {
      allow: true,
      via: 'grant',
      factors: ['grant'],
      subscriberId: g.subscriberId,
      streamId: g.streamId,
      expiresAt: g.credentialExpiresAt !== undefined ? g.credentialExpiresAt * 1000 : undefined,
      grant: g,
    };
  }

  /**
   * Mints the grant for an allowed manifest or whole-file request: renews the session a grant
   * authorized, or starts a new one (reading revocation epochs and applying the viewer limit).
   */
  async issue(ctx: RequestContext, decision: Allow, app: string, protocol: PlaybackProtocol = 'hls'): Promise<IssuedGrant | Deny> {
    const nowSec = Math.floor(ctx.now / 1000);
    const previous = decision.via === 'grant' ? (decision as GrantAllow).grant : undefined;
    const streamId = previous?.streamId ?? decision.streamId ?? ctx.streamId;
    const subscriberId = previous?.subscriberId ?? decision.subscriberId;
    let grant: Grant;
    if (previous) {
      grant = { ...previous, issuedAt: nowSec, clientIp: this.config.bindClientIp ? ctx.clientIp : undefined };
    } else {
      try {
        const sessionId = newSessionId();
        const [epochs, subscriber] = await Promise.all([
          this.store.getEpochs(app, streamId, subscriberId),
          subscriberId ? this.store.getSubscriber(app, streamId, subscriberId) : Promise.resolve(null),
        ]);
        // Ant Media's concurrentConnectionsLimit applies to registered subscribers.
        if (subscriber && subscriberId) {
          const ok = await this.store.touchSession(app, streamId, subscriberId, sessionId, this.config.ttlSeconds * 1000 + SESSION_GRACE_MS, subscriber.concurrentConnectionsLimit, ctx.now);
          if (!ok) return deny(403, Reason.viewerLimit);
        }
        grant = {
          app,
          streamId,
          role: ctx.role,
          subscriberId,
          sessionId,
          issuedAt: nowSec,
          expiresAt: 0,
          sessionStartedAt: nowSec,
          credentialExpiresAt: decision.expiresAt !== undefined ? Math.floor(decision.expiresAt / 1000) : undefined,
          clientIp: this.config.bindClientIp ? ctx.clientIp : undefined,
          epochs,
        };
      } catch (err) {
        if (err instanceof StoreUnavailableError) return deny(503, Reason.storeUnavailable);
        throw err;
      }
    }
    let expiresAt = Math.min(nowSec + this.config.ttlSeconds, grant.sessionStartedAt + this.config.maxLifetimeSeconds);
    if (this.config.boundToCredential && grant.credentialExpiresAt !== undefined) expiresAt = Math.min(expiresAt, grant.credentialExpiresAt);
    if (expiresAt <= nowSec) return deny(401, previous ? Reason.grantExpired : Reason.tokenExpired);
    grant = { ...grant, expiresAt };
    const value = this.codec.sign(grant);
    if (!previous) this.onStart?.(app, grant, protocol);
    this.onLive?.(app, grant, protocol);
    return { allow: true, value, grant, cookie: this.cookieFor(app, value, expiresAt - nowSec) };
  }

  private cookieFor(app: string, value: string, maxAge: number): string | null {
    const c = this.config.cookie;
    if (!c.enabled) return null;
    // Scoped to the app's media: the grant never travels to the REST API or other apps.
    let cookie = `${c.name}=${value}; Path=/${app}/streams/; Max-Age=${maxAge}; HttpOnly; SameSite=${c.sameSite}`;
    if (c.secure || c.sameSite === 'None') cookie += '; Secure';
    return cookie;
  }

  /**
   * The grant a request presents: its `sg` parameter, or else the grant cookie — but the cookie only
   * when the URL brings no credential of its own (a new token in the URL starts a new playback).
   */
  presentedGrant(credentials: Credentials, kind: FileKind, cookieHeader: string | undefined): string | undefined {
    if (credentials.grant || credentials.token || credentials.subscriberCode || kind === 'ingest') return credentials.grant;
    return this.cookieGrant(cookieHeader);
  }

  /** Whether an allowed request opens (or renews) a playback session: GET of a manifest or whole file. */
  opensSession(ctx: RequestContext, method: string, roleOpen: boolean): boolean {
    return this.config.enabled && ctx.role === 'play' && (ctx.kind === 'manifest' || ctx.kind === 'file') && method === 'GET' && !roleOpen;
  }

  /** The grant cookie's value in a Cookie header, if any. */
  cookieGrant(cookieHeader: string | undefined): string | undefined {
    if (!cookieHeader || !this.config.cookie.enabled) return undefined;
    const name = `${this.config.cookie.name}=`;
    let i = cookieHeader.indexOf(name);
    while (i !== -1) {
      if (i === 0 || cookieHeader[i - 1] === ' ' || cookieHeader[i - 1] === ';') {
        const end = cookieHeader.indexOf(';', i);
        return cookieHeader.slice(i + name.length, end === -1 ? undefined : end).trim() || undefined;
      }
      i = cookieHeader.indexOf(name, i + 1);
    }
    return undefined;
  }

  /** The Cookie header for the origin: our grant cookie is ours alone. */
  readonly withoutGrantCookie = (cookieHeader: string): string | undefined => {
    const name = `${this.config.cookie.name}=`;
    if (!cookieHeader.includes(name)) return cookieHeader;
    const kept = cookieHeader
      .split(';')
      .map((p) => p.trim())
      .filter((p) => p && !p.startsWith(name));
    return kept.length ? kept.join('; ') : undefined;
  };
}

export type { Decision };
