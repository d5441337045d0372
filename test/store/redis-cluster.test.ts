// The contract against a private 3-master Redis Cluster: proves every multi-key operation stays
// in one slot (a cross-slot command would fail with CROSSSLOT) and revoke works across slots.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { runStoreContract } from './store-contract.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { haveRedisCli, startRedisCluster, type RedisCluster } from '../helpers/redis-server.js';

let cluster: RedisCluster | undefined;
let skip: string | false = false;
try {
  if (!(await haveRedisCli())) throw new Error('redis-cli is not available');
  cluster = await startRedisCluster();
} catch (err) {
  skip = `Redis Cluster could not start: ${(err as Error).message}`;
  console.log(`# SKIP redis-cluster tests: ${skip}`);
}

const config = () => ({ cluster: cluster!.nodes, keyPrefix: `sgc${randomBytes(3).toString('hex')}`, commandTimeoutMs: 1000 });

if (cluster) {
  const shared = config();
  runStoreContract('redis (cluster)', () => new RedisStore(shared), { makePeer: () => new RedisStore(shared) });

  describe('redis cluster specifics', () => {
    let raw: Cluster;
    before(() => {
      raw = new Cluster(cluster!.nodes);
    });
    after(() => raw.disconnect());

    it('spreads tokens over slots yet revokes them all', async () => {
      const store = new RedisStore(shared);
      try {
        const exp = Math.floor(Date.now() / 1000) + 600;
        const ids = Array.from({ length: 40 }, (_, i) => `rt${i}`);
        await Promise.all(ids.map((tokenId) => store.saveToken('spread', { tokenId, streamId: 's', type: 'play', expireDate: exp })));
        const slots = new Set(await Promise.all(ids.map((id) => raw.cluster('KEYSLOT', `{${shared.keyPrefix}:spread:t:${id}}`))));
        assert.ok(slots.size > 10, 'token keys land in many slots');
        assert.equal(await store.revokeTokens('spread', 's'), 40);
        const outcomes = await Promise.all(ids.map((tokenId) => store.consumeToken('spread', { tokenId, streamIds: ['s'], type: 'play' }, Date.now(), true)));
        assert.ok(outcomes.every((o) => o.outcome === 'missing'));
      } finally {
        await store.close();
      }
    });
  });
} else {
  describe('redis cluster', () => {
    it('skipped: cluster unavailable', { skip }, () => {});
  });
}

after(async () => {
  await cluster?.stop();
});
