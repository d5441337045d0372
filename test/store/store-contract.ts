// The one behavioural suite every Store implementation must pass (memory, Redis standalone,
// Cluster, Sentinel). It asserts only what callers can observe through the Store interface.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EpochValue, LivePlayback, OneTimeToken, Store, TrackedPlayback } from '../../src/store/store.js';
import { describeConnectionEvents, describeSubscribers, livePlayback as playback, uid } from './store-contract-data.js';

export interface ContractOptions {
  /** Another store instance over the same data (a second replica); defaults to the same instance. */
  makePeer?: () => Promise<Store> | Store;
}

const nowS = () => Date.now() / 1000;

function token(streamId: string, extra: Partial<OneTimeToken> = {}): OneTimeToken {
  return { tokenId: uid('tok'), streamId, type: 'play', expireDate: Math.floor(nowS()) + 3600, ...extra };
}


export function runStoreContract(name: string, makeStore: () => Promise<Store> | Store, options: ContractOptions = {}): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let peer: Store;
    before(async () => {
      store = await makeStore();
      peer = options.makePeer ? await options.makePeer() : store;
    });
    after(async () => {
      if (peer && peer !== store) await peer.close();
      await store?.close();
    });

    describe('one-time tokens', () => {
      it('consumes a matching token once, then answers used', async () => {
        const app = uid('app');
        const t = token('s1');
        await store.saveToken(app, t);
        const first = await store.consumeToken(app, { tokenId: t.tokenId, streamIds: ['s1'], type: 'play' }, Date.now(), true);
        assert.equal(first.outcome, 'ok');
        assert.deepEqual(first.token, t);
        const again = await store.consumeToken(app, { tokenId: t.tokenId, streamIds: ['s1'], type: 'play' }, Date.now(), true);
        assert.deepEqual(again, { outcome: 'used' });
        assert.deepEqual(await store.listTokens(app, 's1', 0, 10), []);
      });

      it('answers missing for an unknown token and for another app', async () => {
        const app = uid('app');
        const t = token('s1');
        await store.saveToken(app, t);
        assert.equal((await store.consumeToken(app, { tokenId: 'nope', streamIds: ['s1'], type: 'play' }, Date.now(), true)).outcome, 'missing');
        assert.equal((await store.consumeToken(uid('other'), { tokenId: t.tokenId, streamIds: ['s1'], type: 'play' }, Date.now(), true)).outcome, 'missing');
      });

      it('consume=false only checks', async () => {
        const app = uid('app');
        const t = token('s1');
        await store.saveToken(app, t);
        const probe = { tokenId: t.tokenId, streamIds: ['s1'], type: 'play' as const };
        assert.equal((await store.consumeToken(app, probe, Date.now(), false)).outcome, 'ok');
        assert.equal((await store.consumeToken(app, probe, Date.now(), false)).outcome, 'ok');
        assert.equal((await store.consumeToken(app, probe, Date.now(), true)).outcome, 'ok');
        assert.equal((await store.consumeToken(app, probe, Date.now(), false)).outcome, 'used');
      });

      it('a wrong role, stream or expiry never consumes', async () => {
        const app = uid('app');
        const t = token('s1', { type: 'publish', expireDate: Math.floor(nowS()) + 100 });
        await store.saveToken(app, t);
        const at = (ms: number, p: Partial<{ streamIds: string[]; type: 'play' | 'publish' }> = {}) =>
          store.consumeToken(app, { tokenId: t.tokenId, streamIds: p.streamIds ?? ['s1'], type: p.type ?? 'publish' }, ms, true);
        assert.deepEqual(await at(Date.now(), { type: 'play' }), { outcome: 'wrong_role' });
        // stream1 never matches stream10: exact ids only
        assert.deepEqual(await at(Date.now(), { streamIds: ['s10', 's'] }), { outcome: 'wrong_stream' });
        assert.deepEqual(await at(t.expireDate * 1000), { outcome: 'expired' });
        assert.deepEqual(await at(t.expireDate * 1000 + 5000), { outcome: 'expired' });
        // wrong_role is decided before expiry
        assert.deepEqual(await at(t.expireDate * 1000, { type: 'play' }), { outcome: 'wrong_role' });
        const ok = await at(t.expireDate * 1000 - 1, { streamIds: ['s1_240p', 's1'] });
        assert.equal(ok.outcome, 'ok');
        assert.deepEqual(await at(Date.now()), { outcome: 'used' });
      });

      it('room tokens match the room and are never consumed', async () => {
        const app = uid('app');
        const t = token('s1', { roomId: 'room1' });
        await store.saveToken(app, t);
        for (let i = 0; i < 3; i++) {
          const r = await store.consumeToken(app, { tokenId: t.tokenId, streamIds: ['other'], type: 'play', roomId: 'room1' }, Date.now(), true);
          assert.equal(r.outcome, 'ok');
          assert.deepEqual(r.token, t);
        }
        const wrong = await store.consumeToken(app, { tokenId: t.tokenId, streamIds: ['s1'], type: 'play', roomId: 'room2' }, Date.now(), true);
        assert.deepEqual(wrong, { outcome: 'wrong_stream' });
        // a token without a room never matches a room probe
        const t2 = token('s1');
        await store.saveToken(app, t2);
        const r2 = await store.consumeToken(app, { tokenId: t2.tokenId, streamIds: ['s1'], type: 'play', roomId: 'room1' }, Date.now(), true);
        assert.deepEqual(r2, { outcome: 'wrong_stream' });
        // without a room probe a room token is an ordinary token of its stream
        assert.equal((await store.consumeToken(app, { tokenId: t.tokenId, streamIds: ['s1'], type: 'play' }, Date.now(), true)).outcome, 'ok');
        assert.equal((await store.consumeToken(app, { tokenId: t.tokenId, streamIds: ['s1'], type: 'play', roomId: 'room1' }, Date.now(), true)).outcome, 'used');
      });

      it('forgets tokens and tombstones at expireDate', async () => {
        const app = uid('app');
        const live = token('s1', { expireDate: (Date.now() + 300) / 1000 });
        const used = token('s1', { expireDate: (Date.now() + 300) / 1000 });
        await store.saveToken(app, live);
        await store.saveToken(app, used);
        assert.equal((await store.consumeToken(app, { tokenId: used.tokenId, streamIds: ['s1'], type: 'play' }, Date.now(), true)).outcome, 'ok');
        assert.equal((await store.consumeToken(app, { tokenId: used.tokenId, streamIds: ['s1'], type: 'play' }, Date.now(), true)).outcome, 'used');
        await sleep(400);
        // a probe with an injected earlier clock shows the store itself forgot them
        const early = Date.now() - 10_000;
        assert.equal((await store.consumeToken(app, { tokenId: live.tokenId, streamIds: ['s1'], type: 'play' }, early, true)).outcome, 'missing');
        assert.equal((await store.consumeToken(app, { tokenId: used.tokenId, streamIds: ['s1'], type: 'play' }, early, true)).outcome, 'missing');
        assert.deepEqual(await store.listTokens(app, 's1', 0, 10), []);
      });

      it('does not keep a token saved already expired', async () => {
        const app = uid('app');
        const t = token('s1', { expireDate: Math.floor(nowS()) - 10 });
        await store.saveToken(app, t);
        assert.equal((await store.consumeToken(app, { tokenId: t.tokenId, streamIds: ['s1'], type: 'play' }, Date.now() - 60_000, true)).outcome, 'missing');
        assert.deepEqual(await store.listTokens(app, 's1', 0, 10), []);
      });

      it('re-saving a token id moves it to its new stream', async () => {
        const app = uid('app');
        const t = token('a');
        await store.saveToken(app, t);
        const moved = { ...t, streamId: 'b' };
        await store.saveToken(app, moved);
        assert.deepEqual(await store.listTokens(app, 'a', 0, 10), []);
        assert.deepEqual(await store.listTokens(app, 'b', 0, 10), [moved]);
        assert.equal((await store.consumeToken(app, { tokenId: t.tokenId, streamIds: ['a'], type: 'play' }, Date.now(), true)).outcome, 'wrong_stream');
        assert.equal((await store.consumeToken(app, { tokenId: t.tokenId, streamIds: ['b'], type: 'play' }, Date.now(), true)).outcome, 'ok');
      });

      it('lists by expireDate then tokenId, pages, and caps a page at 250', async () => {
        const app = uid('app');
        const base = Math.floor(nowS()) + 1000;
        const saved: OneTimeToken[] = [];
        for (let i = 0; i < 260; i++) saved.push({ tokenId: `t${String(i % 7)}-${i}`, streamId: 's1', type: i % 2 ? 'play' : 'publish', expireDate: base + (i % 5), roomId: i === 3 ? 'r' : null });
        await Promise.all(saved.map((t) => store.saveToken(app, t)));
        await store.saveToken(app, token('s2'));
        const expected = [...saved].sort((a, b) => a.expireDate - b.expireDate || Buffer.compare(Buffer.from(a.tokenId), Buffer.from(b.tokenId)));
        assert.equal((await store.listTokens(app, 's1', 0, 1000)).length, 250);
        const pages: OneTimeToken[] = [];
        for (let off = 0; off < 300; off += 40) pages.push(...(await store.listTokens(app, 's1', off, 40)));
        assert.deepEqual(pages, expected);
        assert.deepEqual(await store.listTokens(app, 's1', 255, 10), expected.slice(255));
        assert.deepEqual(await store.listTokens(app, 's1', 0, 0), []);
        assert.deepEqual(await store.listTokens(app, 's1', -5, 2), expected.slice(0, 2));
      });

      it('exactly one of many concurrent consumers wins (across instances)', async () => {
        const app = uid('app');
        const t = token('s1');
        await store.saveToken(app, t);
        const probe = { tokenId: t.tokenId, streamIds: ['s1'], type: 'play' as const };
        const results = await Promise.all(
          Array.from({ length: 60 }, (_, i) => (i % 2 ? peer : store).consumeToken(app, probe, Date.now(), true)),
        );
        const outcomes = results.map((r) => r.outcome);
        assert.equal(outcomes.filter((o) => o === 'ok').length, 1);
        assert.equal(outcomes.filter((o) => o === 'used').length, 59);
      });

      it('revokeTokens deletes the stream tokens and bumps the stream epoch', async () => {
        const app = uid('app');
        const a = [token('s1'), token('s1'), token('s1')];
        const other = token('s2');
        for (const t of [...a, other]) await store.saveToken(app, t);
        await store.consumeToken(app, { tokenId: a[0]!.tokenId, streamIds: ['s1'], type: 'play' }, Date.now(), true);
        const before = await store.getEpochs(app, 's1');
        assert.equal(await store.revokeTokens(app, 's1'), 2);
        const afterE = await store.getEpochs(app, 's1');
        assert.equal(afterE.stream, before.stream + 1);
        assert.deepEqual(await store.listTokens(app, 's1', 0, 10), []);
        assert.equal((await store.consumeToken(app, { tokenId: a[1]!.tokenId, streamIds: ['s1'], type: 'play' }, Date.now(), true)).outcome, 'missing');
        assert.deepEqual(await store.listTokens(app, 's2', 0, 10), [other]);
        assert.equal((await store.getEpochs(app, 's2')).stream, 0);
        assert.equal(await store.revokeTokens(app, 'empty'), 0);
        assert.equal((await store.getEpochs(app, 'empty')).stream, 1);
      });
    });

    describe('re-presentation of spent credentials', () => {
      it('the consuming client gets resumed with its seed; anyone else gets used', async () => {
        const app = uid('app');
        const t = token('s1');
        await store.saveToken(app, t);
        const probe = (client?: string, extra: Partial<{ streamIds: string[]; type: 'play' | 'publish' }> = {}) => ({
          tokenId: t.tokenId,
          streamIds: extra.streamIds ?? ['s1_240p', 's1'],
          type: extra.type ?? ('play' as const),
          client,
          seeds: { s1_240p: 'wrong-stream-seed', s1: 'sess.1.0.0.gen' },
        });
        assert.equal((await store.consumeToken(app, probe('10.0.0.1'), Date.now(), true)).outcome, 'ok');
        assert.deepEqual(await peer.consumeToken(app, probe('10.0.0.1'), Date.now(), true), { outcome: 'resumed', token: t, seed: 'sess.1.0.0.gen' });
        assert.equal((await store.consumeToken(app, probe('10.0.0.1'), Date.now(), false)).outcome, 'resumed', 'HEAD re-presents too');
        assert.deepEqual(await store.consumeToken(app, probe('10.0.0.2'), Date.now(), true), { outcome: 'used' });
        assert.deepEqual(await store.consumeToken(app, probe(undefined), Date.now(), true), { outcome: 'used' });
        assert.deepEqual(await store.consumeToken(app, probe('10.0.0.1', { type: 'publish' }), Date.now(), true), { outcome: 'used' });
        assert.deepEqual(await store.consumeToken(app, probe('10.0.0.1', { streamIds: ['s2'] }), Date.now(), true), { outcome: 'used' });
        assert.deepEqual(await store.consumeToken(app, { ...probe('10.0.0.1'), roomId: 'r' }, Date.now(), true), { outcome: 'used' });
        assert.deepEqual(await store.consumeToken(app, probe('10.0.0.1'), t.expireDate * 1000, true), { outcome: 'used' }, 'not past the token expiry');
        // A spent token is not listed, but revoking the stream removes it: nobody can re-present it.
        assert.deepEqual(await store.listTokens(app, 's1', 0, 10), []);
        const unused = token('s1');
        await store.saveToken(app, unused);
        assert.equal(await store.revokeTokens(app, 's1'), 1, 'counts unused tokens only');
        assert.deepEqual(await store.consumeToken(app, probe('10.0.0.1'), Date.now(), true), { outcome: 'missing' });
      });

      it('a consume without a seed resumes with an empty seed', async () => {
        const app = uid('app');
        const t = token('s1');
        await store.saveToken(app, t);
        const probe = { tokenId: t.tokenId, streamIds: ['s1'], type: 'play' as const, client: '::1' };
        assert.equal((await store.consumeToken(app, probe, Date.now(), true)).outcome, 'ok');
        assert.deepEqual(await store.consumeToken(app, probe, Date.now(), true), { outcome: 'resumed', token: t, seed: '' });
      });

      it('claimOnce records the first claimant; peekClaim reads without writing; both expire', async () => {
        const key = uid('claim');
        assert.equal(await store.peekClaim(key), null);
        assert.deepEqual(await store.claimOnce(key, '10.0.0.1', 'seed-1', 200), { first: true });
        assert.deepEqual(await peer.claimOnce(key, '10.0.0.2', 'seed-2', 200), { first: false, client: '10.0.0.1', seed: 'seed-1' });
        assert.deepEqual(await peer.peekClaim(key), { client: '10.0.0.1', seed: 'seed-1' });
        await sleep(250);
        assert.equal(await store.peekClaim(key), null);
        assert.deepEqual(await store.claimOnce(key, '10.0.0.2', '', 10_000), { first: true });
        assert.deepEqual(await store.claimOnce(key, '10.0.0.2', 'x', 10_000), { first: false, client: '10.0.0.2', seed: '' });
        const k2 = uid('claim');
        const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? peer : store).claimOnce(k2, `c${i}`, '', 10_000)));
        assert.equal(results.filter((r) => r.first).length, 1);
      });
    });

    describe('revocation push and generation', () => {
      it('listEpochs lists every non-zero epoch with its ids', async () => {
        const app = uid('app ✓');
        await store.revokeTokens(app, 'live/1');
        await store.revokeTokens(app, 'live/1');
        await store.blockSubscriber(app, 'live/1', 'zoë|1', 'play', Date.now() + 60_000);
        await store.putSubscriber(app, { subscriberId: 'b', streamId: 's2', type: 'play', concurrentConnectionsLimit: 1, blockedUntilUnitTimeStampMs: 0 });
        await store.deleteSubscribers(app, 's2');
        const mine = (await peer.listEpochs()).filter((e) => e.app === app).map((e) => ({ ...e }));
        const sorted = mine.sort((a, b) => `${a.streamId}/${a.subscriberId ?? ''}`.localeCompare(`${b.streamId}/${b.subscriberId ?? ''}`));
        assert.deepEqual(sorted, [
          { app, streamId: 'live/1', epoch: 2 },
          { app, streamId: 'live/1', subscriberId: 'zoë|1', role: 'play', epoch: 1 },
          { app, streamId: 's2', subscriberId: 'b', epoch: 1 },
        ]);
      });

      it('watchEpochs pushes every bump from any instance, after onSync', async () => {
        const app = uid('app');
        const seen: EpochValue[] = [];
        let synced!: () => void;
        const sync = new Promise<void>((r) => (synced = r));
        const stop = peer.watchEpochs((e) => e.app === app && seen.push(e), () => synced());
        try {
          await sync;
          await store.revokeTokens(app, 's1');
          await store.blockSubscriber(app, 's1', 'u1', 'play', Date.now() + 60_000);
          await store.deleteSubscriber(app, 's1', 'u1');
          await store.putSubscriber(app, { subscriberId: 'u2', streamId: 's1', type: 'play', concurrentConnectionsLimit: 1, blockedUntilUnitTimeStampMs: 0 });
          await store.deleteSubscribers(app, 's1');
          const until = Date.now() + 2000;
          while (seen.length < 4 && Date.now() < until) await sleep(10);
          assert.deepEqual(seen.map((e) => ({ ...e })), [
            { app, streamId: 's1', epoch: 1 },
            { app, streamId: 's1', subscriberId: 'u1', role: 'play', epoch: 1 },
            { app, streamId: 's1', subscriberId: 'u1', epoch: 1 },
            { app, streamId: 's1', subscriberId: 'u2', epoch: 1 },
          ]);
        } finally {
          stop();
        }
        await store.revokeTokens(app, 's1');
        await sleep(100);
        assert.equal(seen.length, 4, 'nothing after stop()');
      });

      it('generation is one stable value for every instance', async () => {
        const g = await store.generation();
        assert.match(g, /^[A-Za-z0-9_-]{8,}$/);
        assert.equal(await store.generation(), g);
        assert.equal(await peer.generation(), g);
      });
    });

    describe('epochs and sessions', () => {
      it('epochs start at zero and are independent per stream and subscriber', async () => {
        const app = uid('app');
        assert.deepEqual(await store.getEpochs(app, 's1'), { stream: 0, subscriber: 0 });
        await store.revokeTokens(app, 's1');
        await store.deleteSubscriber(app, 's1', 'u');
        await store.deleteSubscriber(app, 's1', 'u');
        assert.deepEqual(await store.getEpochs(app, 's1', 'u'), { stream: 1, subscriber: 2 });
        assert.deepEqual(await store.getEpochs(app, 's1'), { stream: 1, subscriber: 0 });
        assert.deepEqual(await peer.getEpochs(app, 's1', 'v'), { stream: 1, subscriber: 0 });
      });

      it('a block ends its role only: play and publish have block epochs of their own, publish_play bumps the subscriber, unblocking bumps nothing', async () => {
        const app = uid('app');
        const at = async () => Promise.all((['play', 'publish'] as const).map(async (role) => (await peer.getEpochs(app, 's1', 'u', role)).subscriber));
        await store.blockSubscriber(app, 's1', 'u', 'publish', Date.now() + 60_000);
        assert.deepEqual(await at(), [0, 1]);
        await store.blockSubscriber(app, 's1', 'u', 'play', Date.now() + 60_000);
        assert.deepEqual(await at(), [1, 1]);
        await store.blockSubscriber(app, 's1', 'u', 'play', 0);
        assert.deepEqual(await at(), [1, 1], 'unblocking ends nothing');
        await store.blockSubscriber(app, 's1', 'u', 'publish_play', Date.now() + 60_000);
        assert.deepEqual(await at(), [2, 2]);
        await store.deleteSubscriber(app, 's1', 'u');
        assert.deepEqual(await at(), [3, 3]);
        // Without a role: the subscriber's own epoch only (what deleting and publish_play bump).
        assert.equal((await peer.getEpochs(app, 's1', 'u')).subscriber, 2);
        // Another subscriber whose id ends like a role key is not touched by any of it.
        assert.equal((await peer.getEpochs(app, 's1', 'u:play', 'play')).subscriber, 0);
      });

      it('touchSession enforces the limit, refreshes, expires and ends sessions', async () => {
        const app = uid('app');
        const t0 = Date.now();
        const ttl = 10_000;
        const touch = (id: string, at: number, limit = 2) => store.touchSession(app, 's1', 'u', id, ttl, limit, at);
        assert.equal(await touch('a', t0), true);
        assert.equal(await touch('b', t0 + 10), true);
        assert.equal(await touch('c', t0 + 20), false);
        assert.equal(await touch('a', t0 + 30), true, 'refreshing a live session always succeeds');
        assert.equal(await touch('a', t0 + 40, 1), true, 'even over a lowered limit');
        // other subscribers and streams are independent
        assert.equal(await store.touchSession(app, 's1', 'other', 'c', ttl, 1, t0), true);
        assert.equal(await store.touchSession(app, 's2', 'u', 'c', ttl, 1, t0), true);
        await store.endSession(app, 's1', 'u', 'b');
        assert.equal(await touch('c', t0 + 50), true);
        // 'a' (refreshed at t0+40) and 'c' (t0+50) are live until t0+ttl+40: 'd' is refused…
        assert.equal(await touch('d', t0 + ttl + 39), false);
        // …then 'a' lapses and a slot frees up
        assert.equal(await touch('d', t0 + ttl + 45), true);
        await store.endSession(app, 's1', 'u', 'nonexistent');
      });

      it('a refused session registers nothing', async () => {
        const app = uid('app');
        const t0 = Date.now();
        assert.equal(await store.touchSession(app, 's1', 'u', 'a', 1000, 1, t0), true);
        assert.equal(await store.touchSession(app, 's1', 'u', 'b', 1000, 1, t0 + 500), false);
        // had 'b' been registered at t0+500 it would still be live at t0+1200
        assert.equal(await store.touchSession(app, 's1', 'u', 'c', 1000, 1, t0 + 1200), true);
      });

      it('admits exactly `limit` of many concurrent new sessions', async () => {
        const app = uid('app');
        const now = Date.now();
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, i) => (i % 2 ? peer : store).touchSession(app, 's1', 'u', `sess${i}`, 30_000, 3, now)),
        );
        assert.equal(results.filter(Boolean).length, 3);
      });
    });

    describe('live playbacks (disconnected events)', () => {
      /** Claims everything due before `now` for this app (other tests' leftovers are claimed too, and ignored). */
      const claimAll = async (s: Store, app: string, now: number): Promise<TrackedPlayback[]> => {
        const out: TrackedPlayback[] = [];
        for (;;) {
          const batch = await s.claimEndedPlaybacks(now, 100);
          out.push(...batch.filter((e) => e.playback.app === app));
          if (batch.length < 100) return out;
        }
      };

      it('a session is claimed once its deadline passes, with what its event needs; extending moves the deadline', async () => {
        const app = uid('app');
        const t0 = 1_000_000;
        const a = playback(app, 'a', { subscriberId: 'u1', eventProtocol: 'dash' });
        const b = playback(app, 'b', { streamId: 's2', type: 'play', eventProtocol: 'http' });
        await store.trackPlaybacks([
          { playback: a, deadlineMs: t0 + 100 },
          { playback: b, deadlineMs: t0 + 200 },
        ]);
        assert.deepEqual(await claimAll(store, app, t0 + 99), []);
        await peer.trackPlaybacks([{ playback: a, deadlineMs: t0 + 300 }]); // renewed on another replica
        await store.trackPlaybacks([{ playback: b, deadlineMs: t0 + 150 }]); // a late, older renewal: ignored
        assert.deepEqual(await claimAll(peer, app, t0 + 250), [{ playback: b, deadlineMs: t0 + 200 }]);
        assert.deepEqual(await claimAll(store, app, t0 + 250), [], 'claimed once');
        assert.deepEqual(await claimAll(store, app, t0 + 300), [{ playback: a, deadlineMs: t0 + 300 }]);
        assert.deepEqual(await claimAll(peer, app, t0 + 10_000), []);
      });

      it('claims earliest first, at most `limit` at a time', async () => {
        const app = uid('app');
        await claimAll(store, app, 2_000_000); // nothing of other tests' left due before our window
        const t0 = 2_000_000;
        await store.trackPlaybacks([3, 1, 2, 5, 4].map((n) => ({ playback: playback(app, `p${n}`), deadlineMs: t0 + n })));
        const first = await store.claimEndedPlaybacks(t0 + 10, 2);
        assert.deepEqual(first.map((e) => e.playback.sessionId), ['p1', 'p2']);
        assert.deepEqual((await claimAll(store, app, t0 + 10)).map((e) => e.playback.sessionId), ['p3', 'p4', 'p5']);
        assert.deepEqual(await store.claimEndedPlaybacks(t0 + 10, 0), []);
      });

      it('equal deadlines are claimed in the byte order of enc(app)/enc(sessionId), the Redis ZSET member', async () => {
        const app = uid('app');
        const app2 = `${app}-`; // its member sorts first: '-' is below the '/' that follows `app`
        const t0 = 2_500_000;
        await claimAll(store, app, t0); // nothing of other tests' left due by t0
        await store.trackPlaybacks(['1/b', '2/a', '1/a b', '1/a'].map((id) => ({ playback: playback(id[0] === '1' ? app : app2, id.slice(2)), deadlineMs: t0 })));
        const claimed = await store.claimEndedPlaybacks(t0, 1000);
        const ours = claimed.filter((e) => e.playback.app === app || e.playback.app === app2);
        // A tuple order (app, then session id) would give 1/a, 1/a b, 1/b, 2/a.
        assert.deepEqual(ours.map((e) => `${e.playback.app === app ? 1 : 2}/${e.playback.sessionId}`), ['2/a', '1/a', '1/a b', '1/b']);
      });

      it('concurrent sweeps on two replicas claim every ended session exactly once', async () => {
        const app = uid('app');
        const t0 = 3_000_000;
        const n = 120;
        await store.trackPlaybacks(Array.from({ length: n }, (_, i) => ({ playback: playback(app, `s${i}`, { subscriberId: `u${i % 7}` }), deadlineMs: t0 + (i % 10) })));
        const sweeps = await Promise.all(Array.from({ length: 8 }, (_, i) => claimAll(i % 2 ? peer : store, app, t0 + 100)));
        const ids = sweeps.flat().map((e) => e.playback.sessionId);
        assert.equal(ids.length, n);
        assert.equal(new Set(ids).size, n);
      });

      it('the same session id in two apps is two sessions', async () => {
        const app1 = uid('app');
        const app2 = uid('app');
        const t0 = 4_000_000;
        await store.trackPlaybacks([
          { playback: playback(app1, 'same'), deadlineMs: t0 },
          { playback: playback(app2, 'same'), deadlineMs: t0 },
        ]);
        const all = await store.claimEndedPlaybacks(t0, 1000);
        assert.deepEqual(all.filter((e) => e.playback.sessionId === 'same' && [app1, app2].includes(e.playback.app)).length, 2);
      });
    });

    describeSubscribers(() => ({ store, peer }));

    describe('replay guard, registry, shared cache', () => {
      it('markOnce records a key once per ttl', async () => {
        const key = uid('once');
        assert.equal(await store.markOnce(key, 150), true);
        assert.equal(await peer.markOnce(key, 150), false);
        await sleep(200);
        assert.equal(await store.markOnce(key, 150), true);
        const k2 = uid('once');
        const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? peer : store).markOnce(k2, 10_000)));
        assert.equal(results.filter(Boolean).length, 1);
      });

      it('registers, reads and unregisters streams', async () => {
        const app = uid('app');
        const s = { streamId: 'live/1', name: 'Main', registeredAt: Date.now() };
        assert.equal(await store.getStream(app, s.streamId), null);
        await store.registerStream(app, s);
        assert.deepEqual(await peer.getStream(app, s.streamId), s);
        assert.equal(await store.getStream(uid('app'), s.streamId), null);
        assert.equal(await store.unregisterStream(app, s.streamId), true);
        assert.equal(await store.unregisterStream(app, s.streamId), false);
        assert.equal(await store.getStream(app, s.streamId), null);
      });

      it('shared cache stores strings with a ttl', async () => {
        const key = uid('shared');
        assert.equal(await store.getShared(key), null);
        await store.setShared(key, '{"keys":[]}', 150);
        assert.equal(await peer.getShared(key), '{"keys":[]}');
        await store.setShared(key, 'v2 ✓', 150);
        assert.equal(await store.getShared(key), 'v2 ✓');
        await sleep(200);
        assert.equal(await store.getShared(key), null);
      });

      it('ping answers', async () => {
        await store.ping();
      });
    });

    describeConnectionEvents(() => store);

  });
}
