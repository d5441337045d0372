// Playback sessions: a credential opens a playback once; a grant carries it to every later request
// on any replica. Segment requests are pure CPU (one HMAC). Manifest requests compare the grant's
// revocation epochs with the per-process RevocationCache (memory, kept current by push): no store
// round trip, and they keep working while the store is down. Only what truly needs the store
// touches it: a new session under a viewer limit, and the limit's refresh touch (not awaited).
import { createHash, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { parse as parseCookies } from 'cookie';
import { LRUCache } from 'lru-cache';
import { Reason, StoreUnavailableError } from '../errors.js';
import type { Config } from '../config/schema.js';
import type { Store } from '../store/store.js';
import type { Allow, Credentials, Decision, Deny, FileKind, RequestContext, Role } from '../decision/types.js';
import { createGrantCodec, newSessionId, type Grant, type GrantCodec } from './grant.js';
import type { RevocationCache, RevocationView } from './revocation-cache.js';

export type SessionConfig = Config['session'];

export interface GrantAllow extends Allow {
  via: 'grant';
  grant: Grant;
  /** The grant as presented (returned unchanged by issue() while it is young). */
  value: string;
}

export interface IssuedGrant {
  allow: true;
  /** The grant for media URIs and the cookie: lives `session.ttlSeconds`. */
  value: string;
  grant: Grant;
  /** Set-Cookie value when the cookie is enabled and the grant changed. */
  cookie: string | null;
  /**
   * The session grant (scope `manifest`) for URIs a player re-requests unchanged while it plays
   * (variant playlists, an MPD Location): valid until the session's end, for manifests only.
   * Signed on first call, then remembered.
   */
  sessionValue: () => string;
}

/** How a playback reached us, for connection events (Ant Media's `eventProtocol`). */
export type PlaybackProtocol = 'hls' | 'dash' | 'http';
/** Ant Media's eventProtocol for a playback that starts with this file. */
export const protocolOf = (path: string, kind: FileKind): PlaybackProtocol => (path.endsWith('.mpd') ? 'dash' : kind === 'file' ? 'http' : 'hls');

export type SessionLiveListener = (app: string, grant: Grant, protocol: PlaybackProtocol) => void;

/**
 * The session a single-use credential opens, recorded with its first use (one-time token
 * tombstone, TOTP claim) so that its client's re-presentation continues the same session.
 * Wire form: `sessionId.startedAt.epochStream.epochSubscriber.generation` (integers base36).
 */
export interface SessionSeed {
  sessionId: string;
  /** Unix seconds. */
  startedAt: number;
  epochs: { stream: number; subscriber: number };
  generation: string;
}

export function encodeSeed(s: SessionSeed): string {
  return [s.sessionId, s.startedAt.toString(36), s.epochs.stream.toString(36), s.epochs.subscriber.toString(36), s.generation].join('.');
}

export function decodeSeed(text: string | undefined): SessionSeed | null {
  if (!text) return null;
  const f = text.split('.');
  if (f.length !== 5 || !/^[A-Za-z0-9_-]+$/.test(f[0]!) || !/^[A-Za-z0-9_-]+$/.test(f[4]!)) return null;
  const [startedAt, stream, subscriber] = [f[1]!, f[2]!, f[3]!].map((n) => (/^[0-9a-z]{1,11}$/.test(n) ? parseInt(n, 36) : NaN));
  if (![startedAt, stream, subscriber].every((n) => Number.isSafeInteger(n))) return null;
  return { sessionId: f[0]!, startedAt: startedAt!, epochs: { stream: stream!, subscriber: subscriber! }, generation: f[4]! };
}

const deny = (status: 401 | 403 | 503, reason: Deny['reason']): Deny => ({ allow: false, status, reason });
/** A session of a subscriber is tracked this long past its grant, so a slow refresh is not a new viewer. */
export const SESSION_GRACE_MS = 10_000;

/** A minted grant and its value, remembered per session (PlaybackSessions.minted). */
interface Minted {
  value: string;
  grant: Grant;
}

/** Whether `a` and `b` are grants of one session under the same revocation state and credential. */
function sameSessionState(a: Grant, b: Grant): boolean {
  return (
    a.epochs.stream === b.epochs.stream && a.epochs.subscriber === b.epochs.subscriber && a.generation === b.generation &&
    a.credentialExpiresAt === b.credentialExpiresAt && a.subscriberId === b.subscriberId && a.clientIp === b.clientIp
  );
}

export class PlaybackSessions {
  readonly codec: GrantCodec;
  /** True when no secret was configured: grants then verify on this replica only. */
  readonly ephemeralKey: boolean;
  private readonly cookiePrefix: string;
  /** streamId → its grant cookie's name (a SHA-256 per stream, not per request). */
  private readonly cookieNames = new LRUCache<string, string>({ max: 4096 });
  /** Keys the session id a reusable credential re-presented by one client keeps (reusableSessionId). */
  private readonly reuseKey: KeyObject;
  /**
   * The last grant minted per session on this replica, so a player refreshing with a session grant
   * (or re-sending its token) gets the same media grant while that one has more than half its ttl
   * left: one HMAC per session per ttl/2, not one per refresh.
   */
  private readonly minted = new LRUCache<string, Minted>({ max: 16384 });
  /** reusableSessionId's answers: one HMAC per client and credential, not one per refresh. */
  private readonly reusedIds = new LRUCache<string, string>({ max: 16384 });
  /** Media grant value → the session grant minted alongside it. */
  private readonly sessionGrants = new LRUCache<string, string>({ max: 16384 });

  constructor(
    readonly config: SessionConfig,
    private readonly store: Store,
    private readonly revocations: RevocationCache,
    /**
     * Called on every start and re-mint with the new grant (its expiry); must not throw or block.
     * Starts are reported from there (PlaybackEnds): the store knows which sessions are new fleet-wide.
     */
    private readonly onLive?: SessionLiveListener,
  ) {
    this.ephemeralKey = config.secrets.length === 0;
    this.codec = createGrantCodec(this.ephemeralKey ? [randomBytes(32).toString('base64url')] : config.secrets);
    this.cookiePrefix = `${config.cookie.name}_`;
    const base = this.ephemeralKey ? randomBytes(32) : config.secrets[0]!;
    this.reuseKey = createSecretKey(createHmac('sha256', base).update('streamgate reusable-credential session v1').digest());
  }

  /**
   * The session id a reusable credential (hash token, JWT) opens for one client: HMAC-SHA256 over
   * app, stream, role, the credential and the client address, 96 bits base64url (newSessionId's
   * shape). A player that re-sends the URL it was given (a non-adaptive live playlist refreshed
   * with `?token=`, an MP4 `Range` request) keeps one session on every replica: one `connected`
   * event, one viewer-limit slot. Clients behind one address presenting one shared credential (a hash
   * token is the same for every viewer of a stream) count as one viewer — the same trade-off as
   * re-presented single-use credentials (README "Playback sessions").
   */
  reusableSessionId(ctx: RequestContext, app: string, streamId: string, token: string): string {
    const input = `${app}\u0000${streamId}\u0000${ctx.role}\u0000${ctx.clientIp}\u0000${token}`;
    let id = this.reusedIds.get(input);
    if (id === undefined) {
      id = createHmac('sha256', this.reuseKey).update(input).digest().toString('base64url', 0, 12);
      this.reusedIds.set(input, id);
    }
    return id;
  }

  /**
   * Revocation epochs and store generation for a stream (and subscriber, as seen by sessions of
   * `role`: its blocks of the other role do not end them): from the cache, or — only before the
   * cache's first sync — from the store. Rejects with StoreUnavailableError then.
   */
  async current(app: string, streamId: string, subscriberId?: string, role: Role = 'play'): Promise<RevocationView> {
    const cached = this.revocations.get(app, streamId, subscriberId, role);
    if (cached) return cached;
    const [epochs, generation] = await Promise.all([this.store.getEpochs(app, streamId, subscriberId, role), this.store.generation()]);
    return { epochs, generation };
  }

  /** Why a session minted under `g` no longer holds, or null. */
  private revoked(g: { epochs: { stream: number; subscriber: number }; generation: string }, now: RevocationView): Deny | null {
    if (g.generation !== now.generation) return deny(403, Reason.storeDataLost);
    if (now.epochs.stream !== g.epochs.stream || now.epochs.subscriber !== g.epochs.subscriber) return deny(403, Reason.sessionRevoked);
    return null;
  }

  /** Authorizes a request by its grant. Pure CPU for segments and files; manifests also check revocation (in memory). */
  async authorize(ctx: RequestContext, value: string): Promise<GrantAllow | Deny> {
    const nowSec = Math.floor(ctx.now / 1000);
    const v = this.codec.verify(value, nowSec);
    if (!v.ok) return deny(401, v.reason);
    const g = v.grant;
    // Publish-role grants are WHIP session grants (whip-session.ts): they open their session URL only.
    if (g.app !== ctx.app || g.role === 'publish') return deny(401, Reason.grantInvalid);
    // A session grant opens manifests only: a revoked viewer cannot go on fetching guessable
    // live segment names with it (a segment needs a media grant, renewed only by a playlist request).
    if (g.scope === 'manifest' && ctx.kind !== 'manifest') return deny(401, Reason.grantInvalid);
    // A grant carries an address when it is bound (a subscriber's, media and session grants alike; or
    // every grant with bindClientIp): a leaked segment URL of a subscriber opens nothing elsewhere —
    // refreshing a playlist with it would renew it, and hold the subscriber's viewer slot, for good.
    if (g.clientIp !== undefined && g.clientIp !== ctx.clientIp) return deny(401, Reason.grantInvalid);
    if (g.role !== ctx.role) return deny(401, Reason.tokenWrongRole);
    if (!ctx.streamIds.includes(g.streamId)) return deny(401, Reason.tokenWrongStream);
    if (this.config.bindClientIp && g.clientIp !== ctx.clientIp) return deny(401, Reason.grantInvalid);
    if (nowSec >= g.sessionStartedAt + this.config.maxLifetimeSeconds) return deny(401, Reason.grantExpired);
    if (ctx.kind === 'manifest') {
      let now: RevocationView;
      try {
        now = await this.current(ctx.app, g.streamId, g.subscriberId, g.role);
      } catch (err) {
        if (err instanceof StoreUnavailableError) return deny(503, Reason.storeUnavailable);
        throw err;
      }
      const r = this.revoked(g, now);
      if (r) return r;
      // A live session refreshing is never refused by the viewer limit (only new sessions are).
      if (g.subscriberId) this.keepAlive(ctx, g.streamId, g.subscriberId, g.sessionId);
    }
    return {
      allow: true,
      via: 'grant',
      factors: ['grant'],
      subscriberId: g.subscriberId,
      streamId: g.streamId,
      expiresAt: g.credentialExpiresAt !== undefined ? g.credentialExpiresAt * 1000 : undefined,
      grant: g,
      value,
    };
  }

  /**
   * Seeds for the session a single-use credential would open, one per stream the request may
   * name (streamId → encoded SessionSeed, one session id). Only for GET of a manifest or file;
   * otherwise undefined. Rejects with StoreUnavailableError only before the cache's first sync.
   */
  async seedsFor(ctx: RequestContext, subscriberId: string | undefined): Promise<Record<string, string> | undefined> {
    if (!this.config.enabled || !this.config.resumeSpentCredentials || ctx.role !== 'play' || (ctx.kind !== 'manifest' && ctx.kind !== 'file') || !ctx.consume) return undefined;
    const sessionId = newSessionId();
    const startedAt = Math.floor(ctx.now / 1000);
    const out: Record<string, string> = {};
    for (const streamId of ctx.streamIds) {
      const v = await this.current(ctx.app, streamId, subscriberId);
      out[streamId] = encodeSeed({ sessionId, startedAt, epochs: v.epochs, generation: v.generation });
    }
    return out;
  }

  /** Refreshes a viewer-limited session's liveness; not awaited: a store outage must not stop it. */
  private keepAlive(ctx: RequestContext, streamId: string, subscriberId: string, sessionId: string): void {
    this.store.touchSession(ctx.app, streamId, subscriberId, sessionId, this.config.ttlSeconds * 1000 + SESSION_GRACE_MS, Number.MAX_SAFE_INTEGER, ctx.now).catch(() => undefined);
  }

  /**
   * Mints the grant for an allowed manifest or whole-file request: renews the session a grant
   * authorized (the same value while it is younger than half its ttl), continues the session a
   * re-presented credential opened, or starts a new one (applying the viewer limit). A session
   * grant presented (a variant playlist's URL) gets the session's current media grant.
   */
  async issue(ctx: RequestContext, decision: Allow, app: string, protocol: PlaybackProtocol = 'hls'): Promise<IssuedGrant | Deny> {
    const nowSec = Math.floor(ctx.now / 1000);
    const previous = decision.via === 'grant' ? (decision as GrantAllow) : undefined;
    if (previous && previous.grant.scope === undefined && nowSec - previous.grant.issuedAt < this.config.ttlSeconds / 2) {
      // Young enough: the same bytes (saves an HMAC, lets identical playlists be shared). Its expiry,
      // and so the session's end-tracking deadline, was recorded when it was minted: onLive is not told.
      return this.issued({ value: previous.value, grant: previous.grant }, null, ctx, previous);
    }
    const streamId = previous?.grant.streamId ?? decision.streamId ?? ctx.streamId;
    const subscriberId = previous?.grant.subscriberId ?? decision.subscriberId;
    const seed = decodeSeed(decision.seed);
    let grant: Grant;
    try {
      if (previous) {
        const { scope: _scope, ...media } = previous.grant;
        grant = { ...media, issuedAt: nowSec, clientIp: this.bindsTo(ctx, media.subscriberId) };
      } else if (decision.resumed && seed && !(await this.restarts(decision, seed, app, streamId, subscriberId))) {
        // The client that spent a single-use credential presents it again: the same session.
        const r = this.revoked(seed, await this.current(app, streamId, subscriberId));
        if (r) return r;
        if (subscriberId) this.keepAlive(ctx, streamId, subscriberId, seed.sessionId);
        grant = this.newGrant(ctx, decision, app, streamId, subscriberId, seed);
      } else {
        const fresh = decision.resumed ? null : seed;
        const token = ctx.credentials.token;
        const reusable = (decision.via === 'hash' || decision.via === 'jwt') && token ? this.reusableSessionId(ctx, app, streamId, token) : undefined;
        const base = fresh ?? { sessionId: reusable ?? newSessionId(), startedAt: nowSec, ...(await this.current(app, streamId, subscriberId)) };
        // Ant Media's concurrentConnectionsLimit applies to registered subscribers.
        const subscriber = subscriberId ? await this.store.getSubscriber(app, streamId, subscriberId) : null;
        if (subscriber && subscriberId) {
          const ok = await this.store.touchSession(app, streamId, subscriberId, base.sessionId, this.config.ttlSeconds * 1000 + SESSION_GRACE_MS, subscriber.concurrentConnectionsLimit, ctx.now);
          if (!ok) return deny(403, Reason.viewerLimit);
        }
        grant = this.newGrant(ctx, decision, app, streamId, subscriberId, base);
      }
    } catch (err) {
      if (err instanceof StoreUnavailableError) return deny(503, Reason.storeUnavailable);
      throw err;
    }
    // This session's media grant from a request moments ago (a re-sent token, a session grant):
    // the same value again while nothing about the session changed.
    const key = `${app}\u0000${grant.streamId}\u0000${grant.role}\u0000${grant.sessionId}`;
    const recent = this.minted.get(key);
    // More than half a ttl left, the same bound as "younger than half its ttl" above (at exactly half,
    // a grant would be neither young nor renewed, and with a 2 s ttl never renewed before it expires);
    // a grant capped by the session's end is not handed out near it.
    if (recent && recent.grant.expiresAt - nowSec > this.config.ttlSeconds / 2 && sameSessionState(recent.grant, grant)) {
      return this.issued(recent, recent.value === previous?.value ? null : this.cookieFor(app, grant.streamId, recent.value, recent.grant.expiresAt - nowSec), ctx, previous);
    }
    let expiresAt = Math.min(nowSec + this.config.ttlSeconds, grant.sessionStartedAt + this.config.maxLifetimeSeconds);
    if (this.config.boundToCredential && grant.credentialExpiresAt !== undefined) expiresAt = Math.min(expiresAt, grant.credentialExpiresAt);
    if (expiresAt <= nowSec) return deny(401, previous || decision.resumed ? Reason.grantExpired : Reason.tokenExpired);
    grant = { ...grant, expiresAt };
    const value = this.codec.sign(grant);
    this.minted.set(key, { value, grant });
    this.onLive?.(app, grant, protocol);
    return this.issued({ value, grant }, this.cookieFor(app, grant.streamId, value, expiresAt - nowSec), ctx, previous);
  }

  /**
   * The answer for media grant `m`. Its session grant exists only when the request came with a
   * credential or a session grant: a media grant (a segment URL, the cookie) must not be turned into
   * a grant that outlives it — there the session slots carry the media grant itself.
   */
  private issued(m: Minted, cookie: string | null, ctx: RequestContext, previous: GrantAllow | undefined): IssuedGrant {
    const fromMediaGrant = previous !== undefined && previous.grant.scope === undefined;
    return { allow: true, value: m.value, grant: m.grant, cookie, sessionValue: fromMediaGrant ? () => m.value : () => this.sessionGrant(m, ctx.clientIp) };
  }

  /**
   * The session grant that goes with media grant `m`: the same session, scope `manifest`, valid
   * until the session ends (`maxLifetimeSeconds` after it started; with `boundToCredential`, the
   * credential's expiry), whatever `ttlSeconds` is. A registered subscriber's is bound to the client
   * address it was issued to (`clientIp`): handing the variant URL to others would otherwise
   * multiply one viewer-limit slot.
   */
  private sessionGrant(m: Minted, clientIp: string): string {
    const g = m.grant;
    const boundTo = g.subscriberId !== undefined ? clientIp : g.clientIp;
    const key = boundTo === undefined ? m.value : `${m.value} ${boundTo}`;
    let value = this.sessionGrants.get(key);
    if (value === undefined) {
      let expiresAt = g.sessionStartedAt + this.config.maxLifetimeSeconds;
      if (this.config.boundToCredential && g.credentialExpiresAt !== undefined) expiresAt = Math.min(expiresAt, g.credentialExpiresAt);
      value = this.codec.sign({ ...g, expiresAt: Math.max(expiresAt, g.expiresAt), clientIp: boundTo, scope: 'manifest' });
      this.sessionGrants.set(key, value);
    }
    return value;
  }

  /**
   * The address a new media grant is bound to: the client's for a subscriber's session (viewer
   * limits count subscribers, so its grants must not work from elsewhere) or with `bindClientIp`.
   */
  private bindsTo(ctx: RequestContext, subscriberId: string | undefined): string | undefined {
    return this.config.bindClientIp || subscriberId !== undefined ? ctx.clientIp : undefined;
  }

  /** A re-presented credential that is valid on its own starts over when its session was revoked. */
  private async restarts(decision: Allow, seed: SessionSeed, app: string, streamId: string, subscriberId: string | undefined): Promise<boolean> {
    return decision.mayRestart === true && this.revoked(seed, await this.current(app, streamId, subscriberId)) !== null;
  }

  private newGrant(ctx: RequestContext, decision: Allow, app: string, streamId: string, subscriberId: string | undefined, s: Omit<SessionSeed, 'startedAt'> & { startedAt: number }): Grant {
    return {
      app,
      streamId,
      role: ctx.role,
      subscriberId,
      sessionId: s.sessionId,
      issuedAt: Math.floor(ctx.now / 1000),
      expiresAt: 0,
      sessionStartedAt: s.startedAt,
      credentialExpiresAt: decision.expiresAt !== undefined ? Math.floor(decision.expiresAt / 1000) : undefined,
      clientIp: this.bindsTo(ctx, subscriberId),
      epochs: s.epochs,
      generation: s.generation,
    };
  }

  /**
   * The grant cookie's name for a stream: `<cookie.name>_<11 base64url chars of SHA-256(streamId)>`.
   * One cookie per stream, so a page playing several streams of an app on cookies alone keeps
   * one grant per stream (flat HLS file names share one folder, so Path cannot separate them).
   */
  cookieName(streamId: string): string {
    if (!this.config.cookie.perStream) return this.config.cookie.name;
    let name = this.cookieNames.get(streamId);
    if (name === undefined) {
      name = this.cookiePrefix + createHash('sha256').update(streamId, 'utf8').digest().toString('base64url', 0, 8);
      this.cookieNames.set(streamId, name);
    }
    return name;
  }

  private cookieFor(app: string, streamId: string, value: string, maxAge: number): string | null {
    const c = this.config.cookie;
    if (!c.enabled) return null;
    // Scoped to the app's media: the grant never travels to the REST API or other apps.
    let cookie = `${this.cookieName(streamId)}=${value}; Path=/${app}/streams/; Max-Age=${maxAge}; HttpOnly; SameSite=${c.sameSite}`;
    if (c.secure || c.sameSite === 'None') cookie += '; Secure';
    return cookie;
  }

  /**
   * The grant a request presents: its `sg` parameter, or else the grant cookie of one of the
   * streams the request may name — but the cookie only when the URL brings no credential of its
   * own (a new token in the URL starts, or re-presents, a playback).
   */
  presentedGrant(credentials: Credentials, kind: FileKind, cookieHeader: string | undefined, streamIds: readonly string[]): string | undefined {
    if (credentials.grant || credentials.token || credentials.subscriberCode || kind === 'ingest') return credentials.grant;
    return this.cookieGrant(cookieHeader, streamIds);
  }

  /** Whether an allowed request opens (or renews) a playback session: GET of a manifest or whole file. */
  opensSession(ctx: RequestContext, method: string, roleOpen: boolean): boolean {
    return this.config.enabled && ctx.role === 'play' && (ctx.kind === 'manifest' || ctx.kind === 'file') && method === 'GET' && !roleOpen;
  }

  /** The grant cookie's value in a Cookie header for the first of `streamIds` that has one. */
  cookieGrant(cookieHeader: string | undefined, streamIds: readonly string[]): string | undefined {
    if (!cookieHeader || !this.config.cookie.enabled || !cookieHeader.includes(this.config.cookie.name)) return undefined;
    const jar = parseCookies(cookieHeader);
    for (const id of streamIds) {
      const v = jar[this.cookieName(id)];
      if (v) return v;
    }
    return undefined;
  }

  /** The Cookie header for the origin: our grant cookies (`<cookie.name>` and `<cookie.name>_…`) are ours alone. */
  readonly withoutGrantCookie = (cookieHeader: string): string | undefined => {
    const name = this.config.cookie.name;
    if (!cookieHeader.includes(name)) return cookieHeader;
    const kept = cookieHeader
      .split(';')
      .map((p) => p.trim())
      .filter((p) => p && !p.startsWith(this.cookiePrefix) && !p.startsWith(`${name}=`));
    return kept.length ? kept.join('; ') : undefined;
  };
}

export type { Decision };
