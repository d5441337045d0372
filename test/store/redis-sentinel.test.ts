// The contract through Sentinel discovery (a private master + one Sentinel), plus recovery after
// the master restarts. Skipped with a message only if the Sentinel cannot start here.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { runStoreContract } from './store-contract.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { StoreUnavailableError } from '../../src/errors.js';
import { startRedisSentinel, type RedisSentinel } from '../helpers/redis-server.js';

let setup: RedisSentinel | undefined;
let skip: string | false = false;
try {
  setup = await startRedisSentinel();
} catch (err) {
  skip = `Redis Sentinel could not start: ${(err as Error).message}`;
  console.log(`# SKIP redis-sentinel tests: ${skip}`);
}

if (setup) {
  const config = { sentinels: setup.sentinels, sentinelName: setup.name, keyPrefix: 'sgs', commandTimeoutMs: 500 };
  runStoreContract('redis (sentinel)', () => new RedisStore(config), { makePeer: () => new RedisStore(config) });

  describe('redis sentinel specifics', () => {
    it('fails closed while the master is down and recovers through Sentinel', async () => {
      const store = new RedisStore(config);
      try {
        await store.ping();
        await setup!.master.stop();
        await assert.rejects(store.ping(), StoreUnavailableError);
        await setup!.master.start();
        const t0 = Date.now();
        for (;;) {
          try {
            await store.ping();
            break;
          } catch (err) {
            assert.ok(err instanceof StoreUnavailableError);
            assert.ok(Date.now() - t0 < 5000, 'recovered within 5 s');
            await sleep(50);
          }
        }
        assert.equal(await store.markOnce('after-restart', 1000), true);
      } finally {
        await store.close();
      }
    });
  });
} else {
  describe('redis sentinel', () => {
    it('skipped: sentinel unavailable', { skip }, () => {});
  });
}

after(async () => {
  await setup?.stop();
});
