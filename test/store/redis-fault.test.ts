// Redis going away and coming back: every call must fail closed fast with StoreUnavailableError
// (never a raw ioredis error), and the same store instance must recover on its own.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisStore } from '../../src/store/redis-store.js';
import { StoreUnavailableError } from '../../src/errors.js';
import type { Store } from '../../src/store/store.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const TIMEOUT = 300;
let server: RedisServer;
before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await server?.destroy();
});

const probe = { tokenId: 't', streamIds: ['s'], type: 'play' as const };

/** One call of each kind of operation (plain command, script, MGET, multi-step). */
function everyKindOfCall(store: Store): Promise<unknown>[] {
  return [
    store.ping(),
    store.consumeToken('app', probe, Date.now(), true),
    store.getEpochs('app', 's', 'u'),
    store.touchSession('app', 's', 'u', 'x', 1000, 1, Date.now()),
    store.markOnce('k', 1000),
    store.listTokens('app', 's', 0, 10),
    store.revokeTokens('app', 's'),
    store.getShared('jwks'),
  ];
}

async function assertAllUnavailable(calls: Promise<unknown>[], withinMs: number): Promise<void> {
  const t0 = Date.now();
  const results = await Promise.allSettled(calls);
  const elapsed = Date.now() - t0;
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assert.ok(r.reason instanceof StoreUnavailableError, `got ${String(r.reason)}`);
    assert.equal(r.reason.code, 'SG_ERR_STORE_UNAVAILABLE');
  }
  assert.ok(elapsed < withinMs, `rejected after ${elapsed} ms`);
}

async function waitUntilUsable(store: Store, withinMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    try {
      await store.ping();
      return Date.now() - t0;
    } catch (err) {
      assert.ok(err instanceof StoreUnavailableError);
      if (Date.now() - t0 > withinMs) throw new Error(`store did not recover within ${withinMs} ms`);
      await sleep(50);
    }
  }
}

describe('redis fault handling', () => {
  it('fails fast while Redis is down and recovers when it returns', async () => {
    const store = new RedisStore({ url: server.url, keyPrefix: 'fault', commandTimeoutMs: TIMEOUT });
    try {
      await store.ping();
      await store.saveToken('app', { tokenId: 't', streamId: 's', type: 'play', expireDate: Date.now() / 1000 + 60 });
      await server.stop();
      await assertAllUnavailable(everyKindOfCall(store), TIMEOUT * 4 + 200);
      // and keeps failing fast while it stays down
      await sleep(300);
      await assertAllUnavailable(everyKindOfCall(store), TIMEOUT * 4 + 200);
      await server.start();
      await waitUntilUsable(store, 5000);
      // scripts are gone from the restarted server: they must be reloaded transparently
      assert.equal((await store.consumeToken('app', probe, Date.now(), true)).outcome, 'missing');
      await store.saveToken('app', { tokenId: 't', streamId: 's', type: 'play', expireDate: Date.now() / 1000 + 60 });
      assert.equal((await store.consumeToken('app', probe, Date.now(), true)).outcome, 'ok');
      assert.equal((await store.touchSession('app', 's', 'u', 'x', 1000, 1, Date.now())), true);
    } finally {
      await store.close();
    }
  });

  it('times out on a hung server within about commandTimeout', async () => {
    const store = new RedisStore({ url: server.url, keyPrefix: 'fault', commandTimeoutMs: TIMEOUT });
    try {
      await store.ping();
      server.pause();
      const t0 = Date.now();
      await assert.rejects(store.consumeToken('app', probe, Date.now(), true), StoreUnavailableError);
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= TIMEOUT - 20 && elapsed < TIMEOUT + 300, `rejected after ${elapsed} ms`);
      await assertAllUnavailable(everyKindOfCall(store), TIMEOUT * 4 + 300);
      server.resume();
      await waitUntilUsable(store, 5000);
      assert.deepEqual(await store.getEpochs('app', 'never-bumped'), { stream: 0, subscriber: 0 });
    } finally {
      server.resume();
      await store.close();
    }
  });

  it('a store created while Redis is down rejects, then works once Redis is up', async () => {
    await server.stop();
    const store = new RedisStore({ url: server.url, keyPrefix: 'fault', commandTimeoutMs: TIMEOUT });
    try {
      await assertAllUnavailable([store.ping(), store.getShared('x')], TIMEOUT + 300);
      await server.start();
      await waitUntilUsable(store, 5000);
      await store.setShared('x', 'y', 1000);
      assert.equal(await store.getShared('x'), 'y');
    } finally {
      await store.close();
    }
  });

  it('the epoch push resubscribes after a restart and asks for a resync', async () => {
    const store = new RedisStore({ url: server.url, keyPrefix: 'fault', commandTimeoutMs: TIMEOUT });
    const bumps: string[] = [];
    let syncs = 0;
    const stop = store.watchEpochs((e) => bumps.push(`${e.streamId}:${e.epoch}`), () => syncs++);
    try {
      const until = async (what: string, pred: () => boolean) => {
        const t0 = Date.now();
        while (!pred()) {
          if (Date.now() - t0 > 5000) throw new Error(`timed out waiting for ${what}`);
          await sleep(20);
        }
      };
      await until('first sync', () => syncs === 1);
      await store.revokeTokens('app', 'before');
      await until('push before restart', () => bumps.includes('before:1'));
      await server.stop();
      await server.start();
      await until('resync after restart', () => syncs === 2);
      await waitUntilUsable(store, 5000);
      await store.revokeTokens('app', 'after');
      await until('push after restart', () => bumps.includes('after:1'));
    } finally {
      stop();
      await store.close();
    }
  });

  it('close() leaves nothing running even while Redis is down', async () => {
    await server.stop();
    const store = new RedisStore({ url: server.url, keyPrefix: 'fault', commandTimeoutMs: TIMEOUT });
    await sleep(100);
    await store.close();
    await assert.rejects(store.ping(), StoreUnavailableError);
    await server.start();
  });
});
