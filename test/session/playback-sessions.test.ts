// PlaybackSessions over the memory store and a live RevocationCache: grant renewal only past half
// its life, sessions continued from a re-presented credential's seed, revocation pushed into memory,
// and one grant cookie per stream.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfig } from '../../src/config/load.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RevocationCache } from '../../src/session/revocation-cache.js';
import { decodeSeed, encodeSeed, PlaybackSessions, SESSION_GRACE_MS, type GrantAllow } from '../../src/session/playback-sessions.js';
import { PlaybackEnds } from '../../src/session/playback-ends.js';
import { createLogger } from '../../src/observability/logger.js';
import type { Allow } from '../../src/decision/types.js';
import { testContext } from '../helpers/context.js';

const SECRET = 'session-secret-shared-by-all-replicas-0123456789';

describe('playback sessions', () => {
  const store = new MemoryStore();
  const cache = new RevocationCache(store, { resyncMs: 30_000, log: createLogger('silent') });
  const config = parseConfig(JSON.stringify({ session: { secrets: [SECRET], ttlSeconds: 60 } }), {}).session;
  const sessions = new PlaybackSessions(config, store, cache);
  const hashAllow: Allow = { allow: true, via: 'hash', factors: ['hash'], streamId: 'stream1' };

  before(async () => {
    cache.start();
    while (!cache.ready) await sleep(5);
  });
  after(async () => {
    cache.close();
    await store.close();
  });

  const mint = async (now: number) => {
    const issued = await sessions.issue(testContext({ now }), hashAllow, 'LiveApp');
    assert.ok(issued.allow);
    return issued;
  };
  const renew = async (value: string, now: number) => {
    const ctx = testContext({ now, credentials: { grant: value } });
    const d = (await sessions.authorize(ctx, value)) as GrantAllow;
    assert.ok(d.allow, JSON.stringify(d));
    const issued = await sessions.issue(ctx, d, 'LiveApp');
    assert.ok(issued.allow);
    return issued;
  };

  it('a refresh returns the same grant while it is younger than half its ttl, then a new one of the same session', async () => {
    const t0 = Date.now();
    const first = await mint(t0);
    assert.ok(first.cookie);
    const young = await renew(first.value, t0 + 29_000);
    assert.equal(young.value, first.value);
    assert.equal(young.cookie, null, 'an unchanged grant needs no Set-Cookie');
    const old = await renew(first.value, t0 + 31_000);
    assert.notEqual(old.value, first.value);
    assert.equal(old.grant.sessionId, first.grant.sessionId);
    assert.equal(old.grant.expiresAt, Math.floor((t0 + 31_000) / 1000) + 60);
  });

  it('the session grant (variant URIs) lasts the session and opens manifests only; refreshing with it gets the media grant minted once per half ttl', async () => {
    const t0 = Date.now();
    const first = await mint(t0);
    const session = first.sessionValue();
    assert.equal(first.sessionValue(), session, 'signed once');
    const late = t0 + 45 * 60_000; // long past the 60 s ttl, well within maxLifetimeSeconds (6 h)
    const manifest = testContext({ now: late, kind: 'manifest', credentials: { grant: session } });
    const d = (await sessions.authorize(manifest, session)) as GrantAllow;
    assert.ok(d.allow, JSON.stringify(d));
    assert.equal(d.grant.sessionId, first.grant.sessionId);
    const segment = await sessions.authorize(testContext({ now: t0 + 1000, kind: 'segment', credentials: { grant: session } }), session);
    assert.deepEqual(segment, { allow: false, status: 401, reason: 'grant_invalid' }, 'never a segment credential');
    // A refresh presenting it gets a media grant of the same session (never the session grant itself) …
    const a = await sessions.issue(manifest, d, 'LiveApp');
    assert.ok(a.allow);
    assert.notEqual(a.value, session);
    assert.equal(a.grant.scope, undefined);
    assert.equal(a.grant.sessionId, first.grant.sessionId);
    assert.equal(a.grant.expiresAt, Math.floor(late / 1000) + 60);
    assert.ok((await sessions.authorize(testContext({ now: late, kind: 'segment', credentials: { grant: a.value } }), a.value)).allow);
    // … and the same one on the next refreshes while it is young (one HMAC per session per ttl/2).
    const again = await sessions.issue(testContext({ now: late + 20_000, kind: 'manifest', credentials: { grant: session } }), d, 'LiveApp');
    assert.ok(again.allow);
    assert.equal(again.value, a.value);
    const later = await sessions.issue(testContext({ now: late + 31_000, kind: 'manifest', credentials: { grant: session } }), d, 'LiveApp');
    assert.ok(later.allow);
    assert.notEqual(later.value, a.value);
    // The session grant ends with the session.
    const capped = await sessions.authorize(testContext({ now: first.grant.sessionStartedAt * 1000 + 6 * 3600_000, kind: 'manifest', credentials: { grant: session } }), session);
    assert.equal(capped.allow, false);
  });

  it('a media grant is never turned into a longer one: a manifest it authorizes carries it in the session slots too', async () => {
    const t0 = Date.now();
    const first = await mint(t0);
    const ctx = testContext({ now: t0 + 1000, credentials: { grant: first.value } });
    const d = (await sessions.authorize(ctx, first.value)) as GrantAllow;
    assert.ok(d.allow);
    const issued = await sessions.issue(ctx, d, 'LiveApp');
    assert.ok(issued.allow);
    assert.equal(issued.sessionValue(), issued.value, 'a leaked segment URL opens a master for its own minute, no longer');
  });

  it('a registered subscriber’s session grant is bound to the address it was issued to', async () => {
    await store.putSubscriber('LiveApp', { subscriberId: 'carol', streamId: 'stream1', type: 'play', concurrentConnectionsLimit: 1, blockedUntilUnitTimeStampMs: 0 });
    const allow: Allow = { allow: true, via: 'totp', factors: ['totp'], streamId: 'stream1', subscriberId: 'carol' };
    const t0 = Date.now();
    const opened = await sessions.issue(testContext({ now: t0, clientIp: '198.51.100.20' }), allow, 'LiveApp');
    assert.ok(opened.allow, JSON.stringify(opened));
    const session = opened.sessionValue();
    const from = (clientIp: string) => sessions.authorize(testContext({ now: t0 + 120_000, clientIp, credentials: { grant: session } }), session);
    assert.ok((await from('198.51.100.20')).allow, 'the viewer who opened it keeps refreshing');
    assert.deepEqual(await from('203.0.113.50'), { allow: false, status: 401, reason: 'grant_invalid' }, 'a shared variant URL is not a second viewer on one slot');
    // An anonymous (hash-token) session's is not bound: it could be shared through its token anyway.
    const anon = (await mint(t0)).sessionValue();
    assert.ok((await sessions.authorize(testContext({ now: t0 + 1000, clientIp: '203.0.113.50', credentials: { grant: anon } }), anon)).allow);
  });

  it('a re-sent token at the session cap gets a new session, never a grant that is already expired', async () => {
    const capped = new PlaybackSessions({ ...config, ttlSeconds: 10, maxLifetimeSeconds: 12 }, store, cache);
    const t0 = Math.floor(Date.now() / 1000) * 1000;
    const resend = (now: number) => capped.issue(testContext({ now, credentials: { token: 'hash-token-c' } }), hashAllow, 'LiveApp');
    const opened = await resend(t0);
    assert.ok(opened.allow);
    // A variant refresh at +10 s re-mints within the same session: capped at its 12 s lifetime.
    const session = opened.sessionValue();
    const refreshCtx = testContext({ now: t0 + 10_000, credentials: { grant: session } });
    const viaSession = (await capped.authorize(refreshCtx, session)) as GrantAllow;
    assert.ok(viaSession.allow);
    const refreshed = await capped.issue(refreshCtx, viaSession, 'LiveApp');
    assert.ok(refreshed.allow);
    assert.equal(refreshed.grant.expiresAt, t0 / 1000 + 12);
    // The player re-sends its token at the cap: a grant that is already expired would end it.
    const late = await resend(t0 + 12_000);
    assert.ok(late.allow, JSON.stringify(late));
    assert.ok(late.grant.expiresAt > t0 / 1000 + 12, `expired on arrival: ${JSON.stringify(late.grant)}`);
    assert.equal(late.grant.sessionStartedAt, t0 / 1000 + 12, 'the re-sent credential restarts the lifetime');
  });

  it('a player re-sending the URL with its reusable token keeps one session: one connected event fleet-wide, one viewer-limit slot', async () => {
    // Two replicas on one store, each with its own end tracking; `connected` comes from the flush that
    // registers a session the store was not tracking.
    const starts: string[] = [];
    const replica = () => {
      const ends = new PlaybackEnds(store, () => undefined, { graceMs: SESSION_GRACE_MS, flushIntervalMs: 3_600_000, sweepIntervalMs: 3_600_000 }, undefined, (e) => starts.push(e.playback.sessionId));
      return { ends, sessions: new PlaybackSessions(config, store, cache, (app, g, p) => ends.seen(app, g, p)) };
    };
    const [a, b] = [replica(), replica()];
    await store.putSubscriber('LiveApp', { subscriberId: 'alice', streamId: 'stream1', type: 'play', concurrentConnectionsLimit: 1, blockedUntilUnitTimeStampMs: 0 });
    const jwtAllow: Allow = { allow: true, via: 'jwt', factors: ['jwt'], streamId: 'stream1', subscriberId: 'alice' };
    const present = (r: ReturnType<typeof replica>, clientIp: string, now = Date.now()) =>
      r.sessions.issue(testContext({ clientIp, now, credentials: { token: 'jwt-of-alice' } }), jwtAllow, 'LiveApp');
    const ids = [];
    for (let i = 0; i < 6; i++) {
      // Refreshes alternate between the replicas (a round-robin Service), each flushing in between.
      const r = i % 2 ? b : a;
      const issued = await present(r, '198.51.100.7');
      assert.ok(issued.allow, `refresh ${i}: ${JSON.stringify(issued)}`);
      ids.push(issued.grant.sessionId);
      await r.ends.flush();
    }
    assert.equal(new Set(ids).size, 1, 'every refresh, on either replica, continues the session the first one opened');
    assert.deepEqual(starts, [ids[0]], 'one connected event for the playback');
    // Refreshes for minutes keep it one playback; once it ended (claimed by a sweep) a return is a new one.
    const t0 = Date.now();
    for (let i = 1; i <= 8; i++) {
      assert.ok((await present(a, '198.51.100.7', t0 + i * 20_000)).allow);
      await a.ends.flush();
    }
    assert.equal(starts.length, 1, 'no second connected event while the refreshes continue');
    const last = t0 + 8 * 20_000;
    assert.ok((await b.ends.sweep(last + 60_000 + SESSION_GRACE_MS + 1_000)) >= 1, 'the playback ended');
    await present(b, '198.51.100.7', last + 80_000);
    await b.ends.flush();
    assert.deepEqual(starts, [ids[0], ids[0]], 'a return after the session ended is announced again');
    // Another client with the same credential is another viewer: alice's one slot is taken.
    const other = await present(a, '203.0.113.9', last + 80_000);
    assert.equal(other.allow, false);
    assert.equal((other as { reason: string }).reason, 'viewer_limit');
    // A different credential from the same client is a different playback too.
    const fresh = await a.sessions.issue(testContext({ clientIp: '198.51.100.7', credentials: { token: 'hash-token' } }), hashAllow, 'LiveApp');
    assert.ok(fresh.allow);
    assert.notEqual(fresh.grant.sessionId, ids[0]);
  });

  it('a revocation is in memory as soon as the store publishes it', async () => {
    const first = await mint(Date.now());
    await store.revokeTokens('LiveApp', 'stream1');
    const d = await sessions.authorize(testContext({ credentials: { grant: first.value } }), first.value);
    assert.deepEqual(d, { allow: false, status: 403, reason: 'session_revoked' });
  });

  it('a resumed credential continues the session of its seed, keeps its start, and fails if revoked since', async () => {
    const now = Date.now();
    const [seeds] = [await sessions.seedsFor(testContext({ now: now - 5000 }), undefined)];
    const seed = seeds!.stream1!;
    const s = decodeSeed(seed)!;
    assert.equal(encodeSeed(s), seed);
    const resumed = await sessions.issue(testContext({ now }), { ...hashAllow, via: 'oneTimeToken', seed, resumed: true }, 'LiveApp');
    assert.ok(resumed.allow);
    assert.equal(resumed.grant.sessionId, s.sessionId);
    assert.equal(resumed.grant.sessionStartedAt, Math.floor((now - 5000) / 1000));
    await store.revokeTokens('LiveApp', 'stream1');
    const after = await sessions.issue(testContext({ now }), { ...hashAllow, via: 'oneTimeToken', seed, resumed: true }, 'LiveApp');
    assert.deepEqual(after, { allow: false, status: 403, reason: 'session_revoked' });
    // …unless the credential is valid on its own (a TOTP code in its window): then a new session starts.
    const restarted = await sessions.issue(testContext({ now }), { ...hashAllow, via: 'totp', seed, resumed: true, mayRestart: true }, 'LiveApp');
    assert.ok(restarted.allow);
    assert.notEqual(restarted.grant.sessionId, s.sessionId);
  });

  it('seeds that were not written by us are ignored', () => {
    for (const bad of ['', 'a.b', 'x.1.0.0', 'x.1.0.0.g.h', 'x!.1.0.0.g', 'x.ZZ.0.0.g', 'x.1.-1.0.g']) assert.equal(decodeSeed(bad), null, bad);
  });

  it('one cookie per stream; the origin never sees any of them', () => {
    const a = sessions.cookieName('stream1');
    const b = sessions.cookieName('stream10');
    assert.match(a, /^sg_grant_[A-Za-z0-9_-]{11}$/);
    assert.notEqual(a, b);
    const header = `x=1; ${a}=v2.A; ${b}=v2.B; y=2`;
    assert.equal(sessions.cookieGrant(header, ['stream10']), 'v2.B');
    assert.equal(sessions.cookieGrant(header, ['stream1_240p', 'stream1']), 'v2.A');
    assert.equal(sessions.cookieGrant(header, ['stream2']), undefined);
    assert.equal(sessions.withoutGrantCookie(header), 'x=1; y=2');
    assert.equal(sessions.withoutGrantCookie(`${a}=v2.A`), undefined);
    // A URL credential wins over any cookie: a new token starts (or re-presents) its own playback.
    assert.equal(sessions.presentedGrant({ token: 't' }, 'manifest', header, ['stream1']), undefined);
  });

  it('cookie.perStream: false keeps one cookie per app (proxies that copy cookies by exact name)', () => {
    const single = new PlaybackSessions(parseConfig(JSON.stringify({ session: { secrets: [SECRET], cookie: { perStream: false } } }), {}).session, store, cache);
    assert.equal(single.cookieName('stream1'), 'sg_grant');
    assert.equal(single.cookieName('stream10'), 'sg_grant');
    assert.equal(single.cookieGrant('a=1; sg_grant=v2.X', ['stream10']), 'v2.X');
    assert.equal(single.withoutGrantCookie('a=1; sg_grant=v2.X; sg_grantee=keep'), 'a=1; sg_grantee=keep');
  });
});
