// The contract against the machine's shared Redis (127.0.0.1:6379), isolated by a random key
// prefix; the suite deletes exactly its own keys afterwards (never FLUSHALL).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { runStoreContract } from './store-contract.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { createStore } from '../../src/store/index.js';
import { StoreUnavailableError } from '../../src/errors.js';

const url = process.env.STREAMGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = `sgtest-${randomBytes(6).toString('hex')}`;
const config = { url, keyPrefix, commandTimeoutMs: 1000 };

runStoreContract('redis (standalone)', () => new RedisStore(config), { makePeer: () => new RedisStore(config) });

describe('redis store specifics', () => {
  it('createStore builds a RedisStore for type redis', async () => {
    const store = createStore({ type: 'redis', redis: config });
    assert.equal(store.kind, 'redis');
    await store.ping();
    await store.close();
  });

  it('keys carry TTLs: tokens expire at expireDate, sessions and guards at their ttl', async () => {
    const store = new RedisStore(config);
    const raw = new Redis(url);
    try {
      const expireDate = Math.floor(Date.now() / 1000) + 120;
      await store.saveToken('ttl', { tokenId: 'tk', streamId: 's', type: 'play', expireDate });
      await store.saveToken('ttl', { tokenId: 'used', streamId: 's', type: 'play', expireDate });
      assert.equal((await store.consumeToken('ttl', { tokenId: 'used', streamIds: ['s'], type: 'play' }, Date.now(), true)).outcome, 'ok');
      await store.touchSession('ttl', 's', 'u', 'sess', 5000, 2, Date.now());
      await store.markOnce('ttl-once', 5000);
      const keys = (await scanKeys(raw)).filter((k) => k.includes('ttl'));
      assert.equal(keys.length, 5); // two tokens (one a tombstone), their index, sessions, replay guard
      for (const k of keys) {
        const pttl = await raw.pttl(k);
        assert.ok(pttl > 0, `${k} has a TTL`);
      }
      const tokenKey = keys.find((k) => k.includes(':t:tk'));
      assert.ok(tokenKey);
      assert.ok(Math.abs((await raw.pexpiretime(tokenKey)) - expireDate * 1000) < 2);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it("a subscriber's own and block epoch keys lapse together: an old own epoch cannot expire under a newer block and revive a revoked session", async () => {
    const store = new RedisStore(config);
    const raw = new Redis(url);
    try {
      await store.deleteSubscriber('lapse', 's', 'carol'); // own epoch 1, long ago…
      const own = (await scanKeys(raw)).find((k) => k.includes('lapse/s') && k.endsWith(':ep:6361726f6c'));
      assert.ok(own, 'own epoch key');
      await raw.pexpire(own, 5000); // …so it is close to its TTL
      await store.blockSubscriber('lapse', 's', 'carol', 'play', Date.now() + 60_000); // a play session revoked at sum 2
      assert.deepEqual(await store.getEpochs('lapse', 's', 'carol', 'play'), { stream: 0, subscriber: 2 });
      const [ownTtl, playTtl] = [await raw.pttl(own), await raw.pttl(`${own}:play`)];
      assert.ok(ownTtl > 24 * 3600_000, `own key refreshed with the bump (${ownTtl} ms)`);
      assert.ok(Math.abs(ownTtl - playTtl) < 1000, 'both lapse at the same time');
      assert.equal(await raw.exists(`${own}:publish`), 0, 'an absent block epoch stays absent');
      // And the other way round: bumping the own epoch refreshes the block epoch.
      await raw.pexpire(`${own}:play`, 5000);
      await store.deleteSubscriber('lapse', 's', 'carol');
      assert.ok((await raw.pttl(`${own}:play`)) > 24 * 3600_000);
      await raw.pexpire(`${own}:play`, 5000);
      await store.putSubscriber('lapse', { subscriberId: 'carol', streamId: 's', type: 'play', concurrentConnectionsLimit: 1, blockedUntilUnitTimeStampMs: 0 });
      await store.deleteSubscribers('lapse', 's');
      assert.ok((await raw.pttl(`${own}:play`)) > 24 * 3600_000);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('a closed store rejects with StoreUnavailableError', async () => {
    const store = new RedisStore(config);
    await store.ping();
    await store.close();
    await assert.rejects(store.ping(), StoreUnavailableError);
  });
});

async function scanKeys(raw: Redis): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `*${keyPrefix}*`, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

after(async () => {
  const raw = new Redis(url);
  const keys = await scanKeys(raw);
  for (let i = 0; i < keys.length; i += 500) await raw.unlink(...keys.slice(i, i + 500));
  assert.equal((await scanKeys(raw)).length, 0);
  raw.disconnect();
});
