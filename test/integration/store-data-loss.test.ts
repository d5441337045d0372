// Fail safe after store data loss: revocation epochs and one-time tombstones live in Redis, so a
// wipe (FLUSHALL, or a restart without persistence) must never revive a revoked session or a used
// token. The store's generation marker changes with the wipe; every replica detects it (logged at
// error, counted in streamgate_store_data_loss_total), and grants minted under the lost generation
// stop opening manifests (403 store_data_lost) — a replica started after the wipe refuses them too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSampleOrigin, type SampleOrigin } from '../../src/demo/sample-origin.js';
import { startTestGate, JWT_SECRET } from '../helpers/gate.js';
import { fetchUrl, fromAddress, hlsUris } from '../helpers/player.js';
import { REDIS_CLI, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import type { RunningGate } from '../../src/server.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { newTokenId } from '../../src/checks/one-time-token.js';
import { RedisStore } from '../../src/store/redis-store.js';

const SESSION_SECRET = 'session-secret-shared-by-all-replicas-0123456789';

describe('store data loss', () => {
  let redis: RedisServer;
  let origin: SampleOrigin;
  let gate: RunningGate;
  let side: RedisStore;
  const config = () => ({
    origin: { url: origin.url },
    store: { type: 'redis', redis: { url: redis.url, keyPrefix: 'loss', commandTimeoutMs: 300 } },
    session: { secrets: [SESSION_SECRET] },
    apps: { LiveApp: { play: { oneTimeToken: true, jwt: { enabled: true, secret: JWT_SECRET } } } },
  });

  before(async () => {
    redis = await startRedisServer(); // no persistence: a restart loses everything
    origin = await startSampleOrigin({ apps: ['LiveApp'] });
    gate = await startTestGate(config());
    side = new RedisStore({ url: redis.url, keyPrefix: 'loss', commandTimeoutMs: 1000 });
  });
  after(async () => {
    await gate?.close();
    await side?.close();
    await origin?.close();
    await redis?.destroy();
  });

  const dataLosses = async (g: RunningGate) => (await g.runtime.metrics.registry.getSingleMetric('streamgate_store_data_loss_total')!.get()).values[0]?.value ?? 0;
  const reason = (r: { text: string }) => (JSON.parse(r.text) as { reason: string }).reason;
  const waitFor = async (what: string, pred: () => Promise<boolean>, ms = 5000) => {
    const until = Date.now() + ms;
    while (!(await pred())) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  };
  /** A playback opened with a JWT: its variant playlist URL (with the grant). */
  const open = async (stream = 'stream1') => {
    const jwt = await mintStreamJwt(JWT_SECRET, { streamId: stream, type: 'play', exp: Math.floor(Date.now() / 1000) + 600 });
    const master = `${gate.url}/LiveApp/streams/${stream}_adaptive.m3u8?token=${jwt}`;
    const m = await fetchUrl(master);
    assert.equal(m.status, 200);
    return new URL(hlsUris(m.text)[0]!, master).toString();
  };

  for (const wipe of ['FLUSHALL', 'a restart without persistence'] as const) {
    test(`after ${wipe}, a revoked session stays refused, a used token stays used, and older sessions end`, async () => {
      await waitFor('revocations synced', async () => gate.runtime.revocations.ready);
      const revoked = await open('stream1');
      const other = await open('stream10');
      const t = { tokenId: newTokenId(), streamId: 'stream10', type: 'play' as const, expireDate: Math.floor(Date.now() / 1000) + 600 };
      await side.saveToken('LiveApp', t);
      const tokenUrl = `${gate.url}/LiveApp/streams/stream10.m3u8?token=${t.tokenId}`;
      assert.equal((await fetchUrl(tokenUrl)).status, 200);
      await side.revokeTokens('LiveApp', 'stream1');
      await waitFor('revocation applied', async () => (await fetchUrl(revoked)).status === 403);
      assert.equal((await fetchUrl(other)).status, 200);
      const losses = await dataLosses(gate);

      if (wipe === 'FLUSHALL') await promisify(execFile)(REDIS_CLI, ['-p', String(redis.port), 'FLUSHALL']);
      else {
        await redis.stop();
        await redis.start();
      }
      // Never revived, not even before the wipe is detected.
      for (let i = 0; i < 10; i++) {
        assert.equal((await fetchUrl(revoked)).status, 403);
        await sleep(50);
      }
      await waitFor('the data loss to be detected', async () => (await dataLosses(gate)) === losses + 1);
      const r = await fetchUrl(revoked);
      assert.equal(r.status, 403);
      assert.equal(reason(r), 'store_data_lost');
      // A session minted before the wipe cannot be checked against lost revocations: it ends.
      const o = await fetchUrl(other);
      assert.equal(o.status, 403);
      assert.equal(reason(o), 'store_data_lost');
      // The used token is gone with its tombstone: nobody, not even its client, gets it back.
      assert.equal((await fetchUrl(tokenUrl)).status, 401);
      assert.equal((await fetchUrl(tokenUrl, {}, fromAddress('127.0.0.2'))).status, 401);
      // A replica started after the wipe refuses the old grants as well.
      const late = await startTestGate(config());
      try {
        await waitFor('late replica synced', async () => late.runtime.revocations.ready);
        const moved = new URL(revoked);
        moved.host = new URL(late.url).host;
        assert.equal(reason(await fetchUrl(moved.toString())), 'store_data_lost');
      } finally {
        await late.close();
      }
      // New playbacks work at once.
      assert.equal((await fetchUrl(await open('stream1'))).status, 200);
    });
  }
});
