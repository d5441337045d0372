// PlaybackEnds against real stores: batched deadlines, sweeps, exactly-once across replicas, and a
// Redis that stops answering (pending renewals are kept and written when it is back).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PlaybackEnds } from '../../src/session/playback-ends.js';
import type { Grant } from '../../src/session/grant.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { TrackedPlayback } from '../../src/store/store.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const GRACE = 10_000;
const grant = (sessionId: string, expiresAtS: number, extra: Partial<Grant> = {}): Grant => ({
  app: 'LiveApp',
  streamId: 'stream1',
  role: 'play',
  subscriberId: undefined,
  sessionId,
  issuedAt: expiresAtS - 30,
  expiresAt: expiresAtS,
  sessionStartedAt: expiresAtS - 30,
  epochs: { stream: 0, subscriber: 0 },
  generation: 'g1',
  ...extra,
});

function tracker(store: MemoryStore | RedisStore, maxPending?: number, claimBatch?: number) {
  const ended: [TrackedPlayback, number][] = [];
  const errors: string[] = [];
  const ends = new PlaybackEnds(store, (e, at) => ended.push([e, at]), { graceMs: GRACE, flushIntervalMs: 60_000, sweepIntervalMs: 60_000, maxPending, claimBatch }, (_err, what) => errors.push(what));
  return { ends, ended, errors };
}

describe('PlaybackEnds (memory store)', () => {
  const store = new MemoryStore();
  after(() => store.close());

  it('the latest renewal before a flush wins; the session ends at its grant expiry plus grace', async () => {
    const { ends, ended } = tracker(store);
    ends.seen('LiveApp', grant('s1', 1000), 'hls');
    ends.seen('LiveApp', grant('s1', 1030, { subscriberId: 'u1' }), 'hls');
    await ends.flush();
    assert.equal(await ends.sweep(1030_000 + GRACE - 1), 0);
    assert.equal(await ends.sweep(1030_000 + GRACE), 1);
    assert.deepEqual(ended, [[{ playback: { app: 'LiveApp', sessionId: 's1', streamId: 'stream1', subscriberId: 'u1', type: 'play', eventProtocol: 'hls' }, deadlineMs: 1030_000 + GRACE }, 1030_000]]);
  });

  it('nothing is written before a flush; a capped backlog drops new sessions, never renewals', async () => {
    const { ends } = tracker(store, 2);
    ends.seen('CapApp', grant('a', 2000), 'dash');
    ends.seen('CapApp', grant('b', 2000), 'dash');
    ends.seen('CapApp', grant('c', 2000), 'dash'); // over the cap: not tracked
    ends.seen('CapApp', grant('a', 2010), 'dash'); // a renewal of a pending one: kept
    assert.deepEqual(await store.claimEndedPlaybacks(Number.MAX_SAFE_INTEGER, 100), []);
    await ends.flush();
    const claimed = await store.claimEndedPlaybacks(Number.MAX_SAFE_INTEGER, 100);
    assert.deepEqual(claimed.map((e) => [e.playback.sessionId, e.deadlineMs]).sort(), [['a', 2010_000 + GRACE], ['b', 2000_000 + GRACE]]);
  });
});

describe('PlaybackEnds (Redis, two replicas, an outage)', () => {
  let server: RedisServer;
  let stores: RedisStore[];
  before(async () => {
    server = await startRedisServer();
    const cfg = { url: server.url, keyPrefix: 'sg', commandTimeoutMs: 300 };
    stores = [new RedisStore(cfg), new RedisStore(cfg)];
  });
  after(async () => {
    for (const s of stores) await s.close();
    await server.destroy();
  });

  it('many sessions, both replicas sweeping concurrently: each end is reported exactly once', async () => {
    // Small claim batches, so the two replicas' sweeps interleave over many store calls.
    const [a, b] = [tracker(stores[0]!, undefined, 7), tracker(stores[1]!, undefined, 7)];
    for (let i = 0; i < 300; i++) (i % 2 ? a : b).ends.seen('LiveApp', grant(`x${i}`, 5000 + (i % 17)), 'hls');
    await Promise.all([a.ends.flush(), b.ends.flush()]);
    // Two sweeps per replica at once (a replica coalesces its own: one store pass each).
    await Promise.all([a.ends.sweep(9_999_999), b.ends.sweep(9_999_999), a.ends.sweep(9_999_999), b.ends.sweep(9_999_999)]);
    const ids = [...a.ended, ...b.ended].map(([e]) => e.playback.sessionId);
    assert.equal(ids.length, 300);
    assert.equal(new Set(ids).size, 300);
    assert.ok(a.ended.length > 0 && b.ended.length > 0, `${a.ended.length} / ${b.ended.length}: both replicas claimed some`);
  });

  it('while Redis does not answer, renewals stay pending and sweeps report nothing; afterwards both catch up', async () => {
    const { ends, ended, errors } = tracker(stores[0]!);
    ends.seen('LiveApp', grant('held', 7000), 'hls');
    server.pause();
    try {
      await ends.flush();
      assert.equal(await ends.sweep(9_999_999), 0);
      assert.deepEqual(errors, ['flush', 'sweep']);
      ends.seen('LiveApp', grant('held', 7030), 'hls'); // renewed during the outage
    } finally {
      server.resume();
    }
    await ends.flush();
    assert.equal(await ends.sweep(7030_000 + GRACE - 1), 0);
    assert.equal(await ends.sweep(7030_000 + GRACE), 1);
    assert.equal(ended[0]![1], 7030_000);
  });
});
