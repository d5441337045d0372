import { it } from 'node:test';
import assert from 'node:assert/strict';
import { runStoreContract } from './store-contract.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { createStore } from '../../src/store/index.js';

runStoreContract('memory', () => new MemoryStore());

it('createStore builds a MemoryStore by default', async () => {
  const store = createStore({ type: 'memory', redis: { keyPrefix: 'sg', commandTimeoutMs: 1000 } });
  assert.equal(store.kind, 'memory');
  assert.ok(store instanceof MemoryStore);
  await store.close();
});
