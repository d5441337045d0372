// LivePlaybacks (MemoryStore's live HTTP playbacks) against a plain reference model: the observable
// contract is the Redis script's (redis-scripts.ts: ZADD GT + HSET, ZRANGEBYSCORE … LIMIT + ZREM).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LivePlaybacks } from '../../src/store/memory-playbacks.js';
import { playbackMember } from '../../src/store/ids.js';
import type { LivePlayback, TrackedPlayback } from '../../src/store/store.js';
import { livePlayback as playback } from './store-contract-data.js';

/** Deterministic PRNG (mulberry32), so a failure replays. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the Redis script does, written the obvious way: a map, a filter and a sort per claim. */
class Model {
  readonly live = new Map<string, TrackedPlayback>();
  track(entries: readonly TrackedPlayback[]): void {
    for (const e of entries) {
      const m = playbackMember(e.playback.app, e.playback.sessionId);
      const known = this.live.get(m);
      this.live.set(m, { playback: { ...e.playback }, deadlineMs: Math.max(known?.deadlineMs ?? -Infinity, Math.floor(e.deadlineMs)) });
    }
  }
  claim(now: number, limit: number): TrackedPlayback[] {
    const due = [...this.live].filter(([, e]) => e.deadlineMs <= now);
    due.sort(([ma, a], [mb, b]) => a.deadlineMs - b.deadlineMs || Buffer.compare(Buffer.from(ma), Buffer.from(mb)));
    const out = due.slice(0, Math.max(0, Math.floor(limit)));
    for (const [m] of out) this.live.delete(m);
    return out.map(([, e]) => e);
  }
}


describe('LivePlaybacks', () => {
  it('answers every claim as the reference model does, through growth, renewals, ties and shrinking', () => {
    const rnd = prng(20240607);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    // Apps whose members order differently from (app, id) tuples; ids with characters enc() escapes.
    const apps = ['live', 'live-', 'li/ve', 'ça'];
    const ids = Array.from({ length: 6000 }, (_, i) => (i % 7 === 0 ? `id ${i}` : i % 11 === 0 ? `ïd/${i}` : `id${i}`));
    const table = new LivePlaybacks();
    const model = new Model();
    let now = 0;
    let claimed = 0;
    let peak = 0;
    // Phases: sessions pile up faster than they end (the table grows past several capacities),
    // then they end with no new ones (it shrinks), twice.
    for (const phase of ['fill', 'drain', 'fill', 'drain']) {
      for (let step = 0; step < 150; step++) {
        if (phase === 'fill') {
          const batch = Array.from({ length: 1 + Math.floor(rnd() * 120) }, () => ({
            playback: playback(pick(apps), pick(ids), { streamId: pick(['a', 'b"c', 'ü']), subscriberId: rnd() < 0.5 ? null : pick(['u1', 'u 2']), eventProtocol: pick(['hls', 'dash', 'http'] as const) }),
            // Few distinct deadlines: many ties, broken by the member's bytes.
            deadlineMs: now + Math.floor(rnd() * 40) * 25 + (rnd() < 0.1 ? 0.5 : 0),
          }));
          table.track(batch);
          model.track(batch);
        }
        now += phase === 'fill' ? 2 : 40;
        const limit = pick([0, 1, 7, 50, 500, 0.5, -1]);
        const got = table.claim(now, limit);
        assert.deepEqual(got, model.claim(now, limit), `${phase} step ${step}`);
        claimed += got.length;
        assert.equal(table.size, model.live.size);
        peak = Math.max(peak, table.size);
      }
    }
    assert.ok(peak > 4096, `the table grew past several capacities (peak ${peak})`);
    assert.ok(claimed > 10_000, `claims were exercised (${claimed})`);
    assert.deepEqual(table.claim(Infinity, Infinity), model.claim(Infinity, Infinity));
    assert.equal(table.size, 0);
  });

  it('gives back exactly what was tracked, whatever the ids hold', () => {
    const table = new LivePlaybacks();
    const odd = [
      playback('ça/va', 'a b%c', { streamId: 'st"re\\am', subscriberId: 'sub ü' }),
      playback('app', 'lone \ud800 surrogate', { subscriberId: '' }),
      playback('lone \udfff', 'x', { type: 'publish', eventProtocol: 'dash' }),
      playback('a%%b', '%%41'),
    ];
    table.track(odd.map((p, i) => ({ playback: p, deadlineMs: 10 + i })));
    assert.deepEqual(
      table.claim(100, 10).map((e) => e.playback),
      odd,
    );
  });

  it('a later renewal replaces what the session reports; an older deadline does not move it back', () => {
    const table = new LivePlaybacks();
    table.track([{ playback: playback('app', 's'), deadlineMs: 100 }]);
    table.track([{ playback: playback('app', 's', { eventProtocol: 'dash' }), deadlineMs: 50 }]);
    assert.deepEqual(table.claim(99, 10), []);
    assert.deepEqual(table.claim(100, 10), [{ playback: playback('app', 's', { eventProtocol: 'dash' }), deadlineMs: 100 }]);
  });

  it('past its cap refuses new sessions, keeps renewing tracked ones, and tracks a refused one at its first renewal after room frees', () => {
    const table = new LivePlaybacks(3);
    table.track(['a', 'b', 'c', 'd'].map((id, i) => ({ playback: playback('app', id), deadlineMs: 10 + i })));
    assert.equal(table.size, 3);
    assert.equal(table.refused, 1);
    table.track([{ playback: playback('app', 'c'), deadlineMs: 30 }]); // a renewal, at the cap
    assert.equal(table.refused, 1);
    assert.deepEqual(table.claim(11, 10).map((e) => e.playback.sessionId), ['a', 'b']);
    table.track([{ playback: playback('app', 'd'), deadlineMs: 20 }]); // d renews: now there is room
    assert.deepEqual(table.claim(100, 10).map((e) => [e.playback.sessionId, e.deadlineMs]), [['d', 20], ['c', 30]]);
    const none = new LivePlaybacks(0);
    none.track([{ playback: playback('app', 'a'), deadlineMs: 1 }]);
    assert.deepEqual([none.size, none.refused, none.claim(10, 10).length], [0, 1, 0]);
    assert.throws(() => new LivePlaybacks(-1), RangeError);
  });
});
