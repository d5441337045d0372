import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOneTimeToken, newTokenId } from '../../src/checks/one-time-token.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { StoreUnavailableError } from '../../src/errors.js';
import type { RequestContext } from '../../src/decision/types.js';
import { testContext } from '../helpers/context.js';

const APP = 'LiveApp';

const ctx = (over: Partial<RequestContext> = {}) => testContext({ app: APP, ...over });

async function storeWith(tokens: { tokenId: string; streamId: string; type: 'play' | 'publish'; expireDate: number; roomId?: string }[]) {
  const store = new MemoryStore();
  for (const t of tokens) await store.saveToken(APP, t);
  return store;
}

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

test('a valid token passes once, with expiresAt in ms; the replay is token_used', async () => {
  const exp = inAnHour();
  const store = await storeWith([{ tokenId: 'tok1', streamId: 'stream1', type: 'play', expireDate: exp }]);
  assert.deepEqual(await checkOneTimeToken('tok1', ctx(), store), { ok: true, expiresAt: exp * 1000, streamId: 'stream1' });
  assert.deepEqual(await checkOneTimeToken('tok1', ctx(), store), { ok: false, status: 401, reason: 'token_used' });
  await store.close();
});

test('unknown token → token_invalid', async () => {
  const store = new MemoryStore();
  assert.deepEqual(await checkOneTimeToken('nope', ctx(), store), { ok: false, status: 401, reason: 'token_invalid' });
  assert.deepEqual(await checkOneTimeToken('', ctx(), store), { ok: false, status: 401, reason: 'token_invalid' });
  await store.close();
});

test('a mismatch (stream, role) is refused and does not consume', async () => {
  const store = await storeWith([{ tokenId: 'tok1', streamId: 'stream1', type: 'play', expireDate: inAnHour() }]);
  assert.deepEqual(await checkOneTimeToken('tok1', ctx({ streamId: 'stream10', streamIds: ['stream10'] }), store), {
    ok: false,
    status: 401,
    reason: 'token_wrong_stream',
  });
  assert.deepEqual(await checkOneTimeToken('tok1', ctx({ role: 'publish' }), store), { ok: false, status: 401, reason: 'token_wrong_role' });
  // Still there for the rightful request.
  assert.equal((await checkOneTimeToken('tok1', ctx(), store)).ok, true);
  await store.close();
});

test('HEAD / probe (consume = false) checks without consuming', async () => {
  const store = await storeWith([{ tokenId: 'tok1', streamId: 'stream1', type: 'play', expireDate: inAnHour() }]);
  assert.equal((await checkOneTimeToken('tok1', ctx({ consume: false }), store)).ok, true);
  assert.equal((await checkOneTimeToken('tok1', ctx({ consume: false }), store)).ok, true);
  assert.equal((await checkOneTimeToken('tok1', ctx(), store)).ok, true);
  assert.equal((await checkOneTimeToken('tok1', ctx({ consume: false }), store)).ok, false);
  await store.close();
});

test('expired by one second → token_expired (and valid one second before)', async () => {
  const exp = inAnHour();
  const store = await storeWith([{ tokenId: 'tok1', streamId: 'stream1', type: 'play', expireDate: exp }]);
  assert.deepEqual(await checkOneTimeToken('tok1', ctx({ now: (exp + 1) * 1000 }), store), { ok: false, status: 401, reason: 'token_expired' });
  assert.deepEqual(await checkOneTimeToken('tok1', ctx({ now: exp * 1000 }), store), { ok: false, status: 401, reason: 'token_expired' });
  assert.equal((await checkOneTimeToken('tok1', ctx({ now: (exp - 1) * 1000 }), store)).ok, true);
  await store.close();
});

test('ambiguous file name: a token for any candidate stream passes', async () => {
  const store = await storeWith([{ tokenId: 'tok1', streamId: 's', type: 'play', expireDate: inAnHour() }]);
  assert.equal((await checkOneTimeToken('tok1', ctx({ streamId: 's_240p', streamIds: ['s_240p', 's'] }), store)).ok, true);
  await store.close();
});

test('room token: reusable for its room, refused for another room', async () => {
  const store = await storeWith([{ tokenId: 'room1tok', streamId: 'room1', type: 'play', expireDate: inAnHour(), roomId: 'room1' }]);
  const inRoom = ctx({ streamId: 'participant7', streamIds: ['participant7'], credentials: { roomId: 'room1' } });
  assert.equal((await checkOneTimeToken('room1tok', inRoom, store)).ok, true);
  assert.equal((await checkOneTimeToken('room1tok', inRoom, store)).ok, true, 'room tokens are not consumed');
  const other = await checkOneTimeToken('room1tok', ctx({ credentials: { roomId: 'room2' } }), store);
  assert.equal(other.ok, false);
  // An empty roomId is "no room": the token is then an ordinary one-time token for its stream.
  assert.equal((await checkOneTimeToken('room1tok', ctx({ streamIds: ['room1'], credentials: { roomId: '' } }), store)).ok, true);
  assert.equal((await checkOneTimeToken('room1tok', ctx({ streamIds: ['room1'] }), store)).ok, false);
  await store.close();
});

test('store unavailable → 503 store_unavailable (fail closed)', async () => {
  // The real MemoryStore with one method failing the way the Redis store does when unreachable.
  class DownStore extends MemoryStore {
    override async consumeToken(): Promise<never> {
      throw new StoreUnavailableError();
    }
  }
  const store = new DownStore();
  assert.deepEqual(await checkOneTimeToken('tok1', ctx(), store), { ok: false, status: 503, reason: 'store_unavailable' });
  await store.close();
});

test('newTokenId: ≥128 bits, URL-safe, never hash-shaped or JWT-shaped, unique', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const id = newTokenId();
    assert.match(id, /^[A-Za-z0-9_-]+$/);
    assert.ok(id.length * 6 >= 128);
    assert.ok(!/^[0-9a-f]{64}$/.test(id));
    assert.ok(!id.includes('.'));
    seen.add(id);
  }
  assert.equal(seen.size, 2000);
});
