// Playback that does not depend on the store being up: two replicas on one private Redis, steady
// load of hash/JWT first playlists, grant refreshes and grant segments while Redis is stopped for
// 10 s. Nothing fails; what truly needs the store (one-time tokens, registered TOTP subscribers)
// answers 503 and is counted as a denial; after Redis returns, a revocation ends live sessions
// within 1 s (pushed to every replica's revocation cache, no polling).
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSampleOrigin, type SampleOrigin } from '../../src/demo/sample-origin.js';
import { startTestGate, HASH_SECRET, JWT_SECRET } from '../helpers/gate.js';
import { fetchUrl, hlsUris } from '../helpers/player.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { newTokenId } from '../../src/checks/one-time-token.js';
import { totpCode } from '../../src/checks/totp-subscriber.js';
import { RedisStore } from '../../src/store/redis-store.js';

const SESSION_SECRET = 'session-secret-shared-by-all-replicas-0123456789';
const B32 = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const B32_KEY = Buffer.from('48656c6c6f21deadbeef48656c6c6f21deadbeef', 'hex'); // base32 decode of B32

/** Waits for `pred`, polling every `everyMs`; returns the ms it took, or throws after `ms`. */
async function within(ms: number, pred: () => Promise<boolean>, everyMs = 10): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await pred()) return performance.now() - t0;
    if (performance.now() - t0 > ms) throw new Error(`not within ${ms} ms`);
    await sleep(everyMs);
  }
}

describe('store outage', () => {
  let redis: RedisServer;
  let origin: SampleOrigin;
  let gates: RunningGate[];
  let side: RedisStore;

  before(async () => {
    // Persistence as the README asks of production (AOF, fsync always): a restart keeps the data.
    redis = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always']);
    origin = await startSampleOrigin({ apps: ['LiveApp', 'SubApp'] });
    const config = {
      origin: { url: origin.url },
      store: { type: 'redis', redis: { url: redis.url, keyPrefix: 'outage', commandTimeoutMs: 300 } },
      session: { secrets: [SESSION_SECRET] },
      apps: {
        LiveApp: { play: { oneTimeToken: true, hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: JWT_SECRET } } },
        SubApp: { play: { totp: { enabled: true } } },
      },
    };
    gates = [await startTestGate(config), await startTestGate(config)];
    side = new RedisStore({ url: redis.url, keyPrefix: 'outage', commandTimeoutMs: 1000 });
    await side.putSubscriber('SubApp', { subscriberId: 'viewer-1', streamId: 'stream1', type: 'play', b32Secret: B32, concurrentConnectionsLimit: 5, blockedUntilUnitTimeStampMs: 0 });
    await within(5000, async () => gates.every((g) => g.runtime.revocations.ready));
  });
  after(async () => {
    for (const g of gates ?? []) await g.close();
    await side?.close();
    await origin?.close();
    await redis?.destroy();
  });

  const hash = hashToken('stream1', 'play', HASH_SECRET);
  const denials = async (g: RunningGate, reason: string) => {
    const m = await g.runtime.metrics.registry.getSingleMetric('streamgate_decisions_total')!.get();
    return m.values.filter((v) => v.labels.outcome === 'deny' && v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
  };
  /** Opens a playback with a hash token on one replica: the variant URL and a segment URL carrying its grant. */
  const openPlayback = async (g: RunningGate) => {
    const master = `${g.url}/LiveApp/streams/stream1_adaptive.m3u8?token=${hash}`;
    const m = await fetchUrl(master);
    assert.equal(m.status, 200);
    const variant = new URL(hlsUris(m.text)[0]!, master).toString();
    const v = await fetchUrl(variant);
    assert.equal(v.status, 200);
    return { variant, segment: new URL(hlsUris(v.text).at(-1)!, variant).toString() };
  };
  const onGate = (url: string, g: RunningGate) => {
    const u = new URL(url);
    u.host = new URL(g.url).host;
    return u.toString();
  };

  test('Redis down for 10 s under steady load: zero failed hash/JWT/grant requests; single-use credentials 503 and counted as denials', async (t: TestContext) => {
    const live = await openPlayback(gates[0]!);
    const jwt = await mintStreamJwt(JWT_SECRET, { streamId: 'stream1', type: 'play', exp: Math.floor(Date.now() / 1000) + 600 });
    const requests = (g: RunningGate) => [
      `${g.url}/LiveApp/streams/stream1.m3u8?token=${hash}`, // first playlist, hash
      `${g.url}/LiveApp/streams/stream1_240p300kbps.m3u8?token=${jwt}`, // first playlist, JWT
      onGate(live.variant, g), // grant refresh
      onGate(live.segment, g), // grant segment
    ];
    const failures: string[] = [];
    let served = 0;
    let stop = false;
    const worker = async (i: number) => {
      for (let n = 0; !stop; n++) {
        const url = requests(gates[(i + n) % 2]!)[n % 4]!;
        const r = await fetchUrl(url).catch((e: Error) => ({ status: 0, text: e.message }));
        if (r.status === 200) served++;
        else failures.push(`${r.status} ${new URL(url).pathname} ${r.text.slice(0, 100)}`);
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(worker));
    await sleep(500);
    const deniedBefore = (await denials(gates[0]!, 'store_unavailable')) + (await denials(gates[1]!, 'store_unavailable'));

    await redis.stop();
    const downAt = Date.now();
    await sleep(300);
    // What truly needs the store fails closed, on both replicas.
    for (const g of gates) {
      const oneTime = await fetchUrl(`${g.url}/LiveApp/streams/stream1.m3u8?token=${newTokenId()}`);
      assert.equal(oneTime.status, 503);
      assert.equal(JSON.parse(oneTime.text).reason, 'store_unavailable');
      const sub = await fetchUrl(`${g.url}/SubApp/streams/stream1.m3u8?subscriberId=viewer-1&subscriberCode=${totpCode(B32_KEY, 60, Date.now())}`);
      assert.equal(sub.status, 503);
    }
    const servedAtDown = served;
    await sleep(Math.max(0, 10_000 - (Date.now() - downAt)));
    const servedWhileDown = served - servedAtDown;
    await redis.start();
    await sleep(2000); // load goes on across the return
    stop = true;
    await load;

    const deniedAfter = (await denials(gates[0]!, 'store_unavailable')) + (await denials(gates[1]!, 'store_unavailable'));
    t.diagnostic(`served ${served} requests (${servedWhileDown} during the 10 s outage), failed ${failures.length}; store_unavailable denials counted: ${deniedAfter - deniedBefore}`);
    assert.deepEqual(failures.slice(0, 5), []);
    assert.ok(servedWhileDown > 100, `only ${servedWhileDown} requests served while Redis was down`);
    assert.ok(deniedAfter - deniedBefore >= 4, 'the 503s are counted as denials');
  });

  test('after Redis returns, a revocation ends live sessions on every replica within 1 s', async (t: TestContext) => {
    await within(10_000, async () => (await side.ping().then(() => true, () => false)));
    const playbacks = [await openPlayback(gates[0]!), await openPlayback(gates[1]!)];
    // Both replicas keep serving the refreshes until the revocation.
    for (const p of playbacks) for (const g of gates) assert.equal((await fetchUrl(onGate(p.variant, g))).status, 200);
    const revokedAt = performance.now();
    await side.revokeTokens('LiveApp', 'stream1');
    const latencies: number[] = [];
    for (const p of playbacks) {
      for (const g of gates) {
        await within(1000, async () => (await fetchUrl(onGate(p.variant, g))).status === 403, 5);
        latencies.push(performance.now() - revokedAt);
      }
    }
    t.diagnostic(`revoke → refresh refused (403 session_revoked) after ${latencies.map((l) => l.toFixed(1)).join(', ')} ms`);
    const refused = await fetchUrl(onGate(playbacks[0]!.variant, gates[1]!));
    assert.equal(JSON.parse(refused.text).reason, 'session_revoked');
    assert.ok(Math.max(...latencies) < 1000);
  });
});
