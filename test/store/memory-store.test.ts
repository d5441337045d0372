import { describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import assert from 'node:assert/strict';
import { runStoreContract } from './store-contract.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { createStore } from '../../src/store/index.js';
import type { LivePlayback } from '../../src/store/store.js';

runStoreContract('memory', () => new MemoryStore());

it('createStore builds a MemoryStore by default', async () => {
  const store = createStore({ type: 'memory', redis: { keyPrefix: 'sg', commandTimeoutMs: 1000 } });
  assert.equal(store.kind, 'memory');
  assert.ok(store instanceof MemoryStore);
  await store.close();
});

describe('MemoryStore live playbacks', () => {
  const playback = (sessionId: string): LivePlayback => ({ app: 'live', sessionId, streamId: 's1', subscriberId: null, type: 'play', eventProtocol: 'hls' });

  it('past maxTrackedPlaybacks new sessions are not tracked until there is room; tracked ones still renew', async () => {
    const store = new MemoryStore({ maxTrackedPlaybacks: 2 });
    await store.trackPlaybacks(['a', 'b', 'c'].map((id) => ({ playback: playback(id), deadlineMs: 100 })));
    await store.trackPlaybacks([{ playback: playback('b'), deadlineMs: 300 }]);
    assert.deepEqual((await store.claimEndedPlaybacks(200, 10)).map((e) => e.playback.sessionId), ['a']);
    await store.trackPlaybacks([{ playback: playback('c'), deadlineMs: 250 }]); // c renews: tracked now
    assert.deepEqual((await store.claimEndedPlaybacks(1000, 10)).map((e) => [e.playback.sessionId, e.deadlineMs]), [['c', 250], ['b', 300]]);
    await store.close();
  });
});
