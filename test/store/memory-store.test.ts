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

  it("a sweep's cost follows what it claims, not how many sessions are live (no scan of all of them)", async () => {
    /** Fastest of several rounds (ms) of: claim 500 due sessions, then find nothing more due. */
    const sweepMs = async (live: number): Promise<number> => {
      const store = new MemoryStore();
      const t0 = 1_000_000;
      for (let i = 0; i < live; i += 10_000) {
        await store.trackPlaybacks(Array.from({ length: Math.min(10_000, live - i) }, (_, j) => ({ playback: playback(`live-${i + j}`), deadlineMs: t0 + 1e9 + i + j })));
      }
      let best = Infinity;
      for (let round = 0; round < 9; round++) {
        await store.trackPlaybacks(Array.from({ length: 500 }, (_, j) => ({ playback: playback(`due-${round}-${j}`), deadlineMs: t0 + j })));
        const start = performance.now();
        const claimed = await store.claimEndedPlaybacks(t0 + 1000, 500);
        const more = await store.claimEndedPlaybacks(t0 + 1000, 500);
        best = Math.min(best, performance.now() - start);
        assert.deepEqual([claimed.length, more.length], [500, 0]);
      }
      await store.close();
      return best;
    };
    const few = await sweepMs(5_000);
    const many = await sweepMs(200_000);
    // O(claimed · log n): ~1.5× from the log and cache misses; a scan of all sessions: ~40×.
    assert.ok(many < few * 8, `claiming 500 took ${many.toFixed(2)} ms among 200k live sessions vs ${few.toFixed(2)} ms among 5k`);
  });
});
