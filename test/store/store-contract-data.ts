// Subscriber and connection-event parts of the store contract (run by runStoreContract in
// store-contract.ts; split only to keep files short).
import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ConnectionEvent, LivePlayback, Store, Subscriber } from '../../src/store/store.js';

export const uid = (p: string) => `${p}-${randomBytes(5).toString('hex')}`;

function subscriber(streamId: string, subscriberId: string, extra: Partial<Subscriber> = {}): Subscriber {
  return { subscriberId, streamId, type: 'play', concurrentConnectionsLimit: 2, blockedUntilUnitTimeStampMs: 0, ...extra };
}

export function describeSubscribers(stores: () => { store: Store; peer: Store }): void {
  describe('subscribers', () => {
    let store: Store;
    // the stores only exist once the suite's before() hook has run
    beforeEach(() => void ({ store } = stores()));
    it('round-trips a subscriber and lists by subscriberId with paging', async () => {
      const app = uid('app');
      const full = subscriber('s1', 'm', { subscriberName: 'Mia', b32Secret: 'JBSWY3DPEHPK3PXP', totpExpiryPeriodSeconds: 30, blockedType: null });
      await store.putSubscriber(app, full);
      assert.deepEqual(await store.getSubscriber(app, 's1', 'm'), full);
      assert.equal(await store.getSubscriber(app, 's1', 'nobody'), null);
      assert.equal(await store.getSubscriber(app, 's2', 'm'), null);
      const ids = ['z', 'a', 'B', 'é', '10', '9', 'a-b'];
      await Promise.all(ids.map((id) => store.putSubscriber(app, subscriber('s1', id))));
      const sorted = [...ids, 'm'].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      const all = await store.listSubscribers(app, 's1', 0, 100);
      assert.deepEqual(all.map((s) => s.subscriberId), sorted);
      assert.deepEqual((await store.listSubscribers(app, 's1', 2, 3)).map((s) => s.subscriberId), sorted.slice(2, 5));
      assert.deepEqual(await store.listSubscribers(app, 's1', 50, 3), []);
      // overwrite
      await store.putSubscriber(app, subscriber('s1', 'm', { concurrentConnectionsLimit: 9 }));
      assert.equal((await store.getSubscriber(app, 's1', 'm'))?.concurrentConnectionsLimit, 9);
      assert.equal((await store.listSubscribers(app, 's1', 0, 100)).length, sorted.length);
    });

    it('caps a subscriber page at 250', async () => {
      const app = uid('app');
      await Promise.all(Array.from({ length: 255 }, (_, i) => store.putSubscriber(app, subscriber('s1', `u${i}`))));
      assert.equal((await store.listSubscribers(app, 's1', 0, 1000)).length, 250);
      assert.equal((await store.listSubscribers(app, 's1', 250, 1000)).length, 5);
    });

    it('deleteSubscriber removes one and bumps its epoch', async () => {
      const app = uid('app');
      await store.putSubscriber(app, subscriber('s1', 'a'));
      await store.putSubscriber(app, subscriber('s1', 'b'));
      assert.deepEqual(await store.getEpochs(app, 's1', 'a'), { stream: 0, subscriber: 0 });
      assert.equal(await store.deleteSubscriber(app, 's1', 'a'), true);
      assert.deepEqual(await store.getEpochs(app, 's1', 'a'), { stream: 0, subscriber: 1 });
      assert.deepEqual(await store.getEpochs(app, 's1', 'b'), { stream: 0, subscriber: 0 });
      assert.equal(await store.getSubscriber(app, 's1', 'a'), null);
      assert.equal(await store.deleteSubscriber(app, 's1', 'a'), false);
      assert.deepEqual((await store.listSubscribers(app, 's1', 0, 10)).map((s) => s.subscriberId), ['b']);
    });

    it('deleteSubscribers removes all of a stream and bumps each epoch', async () => {
      const app = uid('app');
      for (const id of ['a', 'b', 'c']) await store.putSubscriber(app, subscriber('s1', id));
      await store.putSubscriber(app, subscriber('s2', 'a'));
      assert.equal(await store.deleteSubscribers(app, 's1'), 3);
      for (const id of ['a', 'b', 'c']) assert.equal((await store.getEpochs(app, 's1', id)).subscriber, 1);
      assert.equal((await store.getEpochs(app, 's2', 'a')).subscriber, 0);
      assert.deepEqual(await store.listSubscribers(app, 's1', 0, 10), []);
      assert.equal((await store.listSubscribers(app, 's2', 0, 10)).length, 1);
      assert.equal(await store.deleteSubscribers(app, 's1'), 0);
    });

    it('blockSubscriber creates, blocks for years and unblocks; a block bumps the epoch of its role, unblocking none', async () => {
      const app = uid('app');
      const farFuture = Date.UTC(2200, 0, 1) + 123; // beyond 32-bit seconds and 2^32 ms
      await store.blockSubscriber(app, 's1', 'x', 'play', farFuture);
      assert.deepEqual(await store.getSubscriber(app, 's1', 'x'), {
        subscriberId: 'x',
        streamId: 's1',
        type: 'play',
        concurrentConnectionsLimit: 1,
        blockedType: 'play',
        blockedUntilUnitTimeStampMs: farFuture,
      });
      assert.equal((await store.getEpochs(app, 's1', 'x', 'play')).subscriber, 1);
      assert.equal((await store.getEpochs(app, 's1', 'x', 'publish')).subscriber, 0);
      await store.blockSubscriber(app, 's1', 'x', 'publish_play', 0);
      const unblocked = await store.getSubscriber(app, 's1', 'x');
      assert.equal(unblocked?.blockedUntilUnitTimeStampMs, 0);
      assert.equal(unblocked?.blockedType ?? null, null);
      assert.equal((await store.getEpochs(app, 's1', 'x', 'play')).subscriber, 1);
      await store.blockSubscriber(app, 's1', 'p', 'publish', Date.now() + 60_000);
      assert.equal((await store.getSubscriber(app, 's1', 'p'))?.type, 'publish');
      assert.deepEqual((await store.listSubscribers(app, 's1', 0, 10)).map((s) => s.subscriberId), ['p', 'x']);
    });

    it('blocking an existing subscriber keeps its other fields', async () => {
      const app = uid('app');
      const s = subscriber('s1', 'k', { subscriberName: 'Kim', b32Secret: 'ABCDEFGH', concurrentConnectionsLimit: 5, type: 'publish' });
      await store.putSubscriber(app, s);
      const until = Date.now() + 365 * 24 * 3600 * 1000 * 30;
      await store.blockSubscriber(app, 's1', 'k', 'publish', until);
      assert.deepEqual(await store.getSubscriber(app, 's1', 'k'), { ...s, blockedType: 'publish', blockedUntilUnitTimeStampMs: until });
      assert.deepEqual((await store.listSubscribers(app, 's1', 0, 10))[0], { ...s, blockedType: 'publish', blockedUntilUnitTimeStampMs: until });
    });
  });
}

export function describeConnectionEvents(getStore: () => Store): void {
  describe('connection events', () => {
    let store: Store;
    beforeEach(() => void (store = getStore()));
    const ev = (streamId: string, timestamp: number, extra: Partial<ConnectionEvent> = {}): ConnectionEvent => ({
      timestamp,
      eventType: 'connected',
      instanceIP: '10.0.0.1',
      type: 'play',
      eventProtocol: 'hls',
      streamId,
      subscriberId: null,
      ...extra,
    });

    it('lists by time (ties in arrival order), pages and filters by subscriber', async () => {
      const app = uid('app');
      const t = Date.now();
      const events = [
        ev('s1', t + 30, { subscriberId: 'a' }),
        ev('s1', t + 10, { subscriberId: 'b', eventType: 'disconnected' }),
        ev('s1', t + 20),
        ev('s1', t + 10, { subscriberId: 'a', eventProtocol: 'webrtc' }),
        ev('s1', t + 40, { subscriberId: 'a', type: 'publish' }),
      ];
      for (const e of events) await store.addConnectionEvent(app, e);
      await store.addConnectionEvent(app, ev('s2', t));
      const byTime = [events[1], events[3], events[2], events[0], events[4]];
      assert.deepEqual(await store.listConnectionEvents(app, 's1', 0, 50), byTime);
      assert.deepEqual(await store.listConnectionEvents(app, 's1', 1, 2), byTime.slice(1, 3));
      assert.deepEqual(await store.listConnectionEvents(app, 's1', 0, 50, 'a'), [events[3], events[0], events[4]]);
      assert.deepEqual(await store.listConnectionEvents(app, 's1', 1, 1, 'a'), [events[0]]);
      assert.deepEqual(await store.listConnectionEvents(app, 's1', 0, 50, 'zzz'), []);
      assert.deepEqual(await store.listConnectionEvents(app, 'none', 0, 50), []);
      assert.equal((await store.listConnectionEvents(app, 's2', 0, 50)).length, 1);
    });

    it('keeps the latest 10,000 events of a stream and caps a page at 250', async () => {
      const app = uid('app');
      const t = Date.now();
      const n = 10_005;
      // in batches: a single burst of 10k commands could outlast the command timeout on a busy box
      for (let i = 0; i < n; i += 500) {
        const batch: Promise<void>[] = [];
        for (let j = i; j < Math.min(n, i + 500); j++) batch.push(store.addConnectionEvent(app, ev('s1', t + j, { instanceIP: String(j) })));
        await Promise.all(batch);
      }
      const first = await store.listConnectionEvents(app, 's1', 0, 1000);
      assert.equal(first.length, 250);
      assert.equal(first[0]?.instanceIP, '5');
      const last = await store.listConnectionEvents(app, 's1', 9_990, 250);
      assert.equal(last.length, 10);
      assert.equal(last.at(-1)?.instanceIP, String(n - 1));
      assert.deepEqual(await store.listConnectionEvents(app, 's1', 10_000, 10), []);
    });
  });
}

/** A live HTTP playback of stream `s1` (HLS play) for the disconnected-event tracking tests. */
export const livePlayback = (app: string, sessionId: string, extra: Partial<LivePlayback> = {}): LivePlayback => ({
  app,
  sessionId,
  streamId: 's1',
  subscriberId: null,
  type: 'play',
  eventProtocol: 'hls',
  ...extra,
});
