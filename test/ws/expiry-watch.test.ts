// Streams started over the signalling WebSocket end when their credential expires, when the
// stream's tokens are revoked or the subscriber is blocked; store outages while polling do not end
// them (fail-open, documented in src/ws/expiry-watch.ts) and new commands fail closed meanwhile.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestGate, HASH_SECRET, JWT_SECRET } from '../helpers/gate.js';
import { connectClient, startTestWsOrigin, type TestWsClient, type TestWsOrigin } from '../helpers/ws-origin.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { newTokenId } from '../../src/checks/one-time-token.js';
import { totpCode, totpKeyFor } from '../../src/checks/totp-subscriber.js';
import { createStore } from '../../src/store/index.js';

const prefix = `sgwsx-${process.pid}-${Date.now()}`;
const TOTP_SECRET = 'test-totp-app-secret';
const tokens = { oneTimeToken: true, hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: JWT_SECRET } };
const apps = {
  LiveApp: { play: tokens, publish: tokens },
  TotpApp: { play: { totp: { enabled: true, secret: TOTP_SECRET } } },
};
const err = (definition: string, streamId: string) => JSON.stringify({ command: 'error', definition, streamId });

describe('websocket gate: streams end with their credential', { concurrency: true }, () => {
  let origin: TestWsOrigin;
  let gate: RunningGate;
  const open: TestWsClient[] = [];
  const storeFor = (url: string, keyPrefix: string) => createStore({ type: 'redis', redis: { url, keyPrefix, commandTimeoutMs: 1000 } });
  const client = async (g: RunningGate, app = 'LiveApp') => {
    const c = await connectClient(`${g.url.replace('http', 'ws')}/${app}/websocket`);
    open.push(c);
    return c;
  };
  const stopsFor = (streamId: string) => origin.framesOf('stop').filter((m) => m.streamId === streamId).length;

  before(async () => {
    origin = await startTestWsOrigin();
    gate = await startTestGate({
      origin: { url: origin.url },
      store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } },
      apps,
      ws: { revocationCheckSeconds: 1 },
    });
  });
  after(async () => {
    for (const c of open) c.ws.terminate();
    await gate.close();
    await origin.close();
  });

  test('a JWT expiring during a publish: the client gets token_expired, the origin gets stop', async () => {
    const c = await client(gate);
    const token = await mintStreamJwt(JWT_SECRET, { streamId: 'exp1', type: 'publish', exp: Math.floor(Date.now() / 1000) + 2 });
    c.send({ command: 'publish', streamId: 'exp1', token });
    assert.equal((await c.nextJson()).command, 'start');
    assert.equal((await c.nextJson()).definition, 'publish_started');
    const t0 = Date.now();
    assert.equal(await c.next(3500), err('token_expired', 'exp1'));
    assert.ok(Date.now() - t0 >= 500, 'not before the expiry');
    await origin.until(() => stopsFor('exp1') === 1);
    assert.deepEqual(await c.nextJson(), { command: 'stop', streamId: 'exp1' }); // the origin's answer to the stop
    assert.equal(c.ws.readyState, 1, 'the socket stays open for new commands');
  });

  test('a one-time token expiring during a play ends the play the same way', async () => {
    const store = storeFor('redis://127.0.0.1:6379', prefix);
    const t = { tokenId: newTokenId(), streamId: 'exp2', type: 'play' as const, expireDate: Math.floor(Date.now() / 1000) + 2 };
    await store.saveToken('LiveApp', t);
    await store.close();
    const c = await client(gate);
    c.send({ command: 'play', streamId: 'exp2', token: t.tokenId });
    assert.equal((await c.nextJson()).definition, 'play_started');
    assert.equal(await c.next(3500), err('token_expired', 'exp2'));
    await origin.until(() => stopsFor('exp2') === 1);
  });

  test('revoking the stream tokens ends a running stream within a poll', async () => {
    const c = await client(gate);
    c.send({ command: 'play', streamId: 'rev1', token: hashToken('rev1', 'play', HASH_SECRET) });
    assert.equal((await c.nextJson()).definition, 'play_started');
    const store = storeFor('redis://127.0.0.1:6379', prefix);
    await store.revokeTokens('LiveApp', 'rev1');
    await store.close();
    assert.equal(await c.next(2500), err('unauthorized_access', 'rev1'));
    await origin.until(() => stopsFor('rev1') === 1);
  });

  test('a revocation is pushed: it ends a running stream within 1 s even with a 60 s poll', async () => {
    const slow = await startTestGate({
      origin: { url: origin.url },
      store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } },
      apps,
      ws: { revocationCheckSeconds: 60 },
    });
    try {
      const c = await client(slow);
      c.send({ command: 'play', streamId: 'push1', token: hashToken('push1', 'play', HASH_SECRET) });
      assert.equal((await c.nextJson()).definition, 'play_started');
      const store = storeFor('redis://127.0.0.1:6379', prefix);
      const t0 = Date.now();
      await store.revokeTokens('LiveApp', 'push1');
      await store.close();
      assert.equal(await c.next(1000), err('unauthorized_access', 'push1'));
      assert.ok(Date.now() - t0 < 1000);
      await origin.until(() => stopsFor('push1') === 1);
    } finally {
      await slow.close();
    }
  });

  test('blocking the subscriber for play ends its play with user_blocked, a publish block does not; a client stop ends the watch', async () => {
    const code = (sid: string, streamId: string) =>
      totpCode(totpKeyFor({ policy: { secret: TOTP_SECRET, derivation: 'antmedia', periodSeconds: 60 }, subscriberId: sid, streamId, type: 'play' })!.key, 60, Date.now());
    const c = await client(gate, 'TotpApp');
    c.send({ command: 'play', streamId: 'blk1', subscriberId: 'viewer-9', subscriberCode: code('viewer-9', 'blk1') });
    assert.equal((await c.nextJson()).definition, 'play_started');
    const d = await client(gate, 'TotpApp');
    d.send({ command: 'play', streamId: 'blk2', subscriberId: 'viewer-8', subscriberCode: code('viewer-8', 'blk2') });
    assert.equal((await d.nextJson()).definition, 'play_started');
    d.send({ command: 'stop', streamId: 'blk2' });
    assert.deepEqual(await d.nextJson(), { command: 'stop', streamId: 'blk2' });
    const store = storeFor('redis://127.0.0.1:6379', prefix);
    // A publish block is not a play block (Ant Media stops that role only): the play goes on past
    // the pushed bump and a poll of the epochs.
    await store.blockSubscriber('TotpApp', 'blk1', 'viewer-9', 'publish', Date.now() + 60_000);
    await assert.rejects(c.next(1500), /no frame within/);
    assert.equal(stopsFor('blk1'), 0);
    await store.blockSubscriber('TotpApp', 'blk1', 'viewer-9', 'play', Date.now() + 60_000);
    await store.blockSubscriber('TotpApp', 'blk2', 'viewer-8', 'play', Date.now() + 60_000);
    await store.close();
    assert.equal(await c.next(2500), err('user_blocked', 'blk1'));
    await origin.until(() => stopsFor('blk1') === 1);
    await sleep(1200);
    assert.equal(d.texts.length, 2, 'a stopped stream is no longer watched');
  });

  test('store outage: running streams continue (fail-open), new commands get data_store_not_available, revocations apply once it is back', async () => {
    const redis: RedisServer = await startRedisServer();
    const keyPrefix = `${prefix}-fault`;
    const faultGate = await startTestGate({
      origin: { url: origin.url },
      store: { type: 'redis', redis: { url: redis.url, keyPrefix, commandTimeoutMs: 200 } },
      apps,
      ws: { revocationCheckSeconds: 1 },
    });
    try {
      const c = await client(faultGate);
      c.send({ command: 'publish', streamId: 'flt1', token: hashToken('flt1', 'publish', HASH_SECRET) });
      assert.equal((await c.nextJson()).command, 'start');
      assert.equal((await c.nextJson()).definition, 'publish_started');
      redis.pause();
      try {
        const n = await client(faultGate);
        n.send({ command: 'play', streamId: 'flt2', token: newTokenId() });
        assert.equal(await n.next(2000), err('data_store_not_available', 'flt2'));
        await sleep(2200); // two failed polls
        assert.equal(c.texts.length, 2, 'no error frame while the store is down');
        assert.equal(stopsFor('flt1'), 0);
      } finally {
        redis.resume();
      }
      const store = storeFor(redis.url, keyPrefix);
      await store.revokeTokens('LiveApp', 'flt1');
      await store.close();
      assert.equal(await c.next(3000), err('unauthorized_access', 'flt1'));
      await origin.until(() => stopsFor('flt1') === 1);
    } finally {
      await faultGate.close();
      await redis.destroy();
    }
  });
});
