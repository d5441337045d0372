// Manifests at scale, end to end: a counting loopback origin behind a real gate. However many viewers
// (each with its own grant) ask for a manifest, the origin sees at most one request per manifest per
// TTL; what the origin marks as per-viewer is never shared; LL-HLS blocking reloads never come from
// the default TTL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';

const SESSION_SECRET = 'session-secret-for-manifest-cache-tests-0123456789';
const PLAYLIST = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:7
#EXTINF:2.000,
stream1000000007.ts
#EXTINF:2.000,
stream1000000008.ts
`;
const HLS = { 'content-type': 'application/vnd.apple.mpegurl' };
/** A stream of its own per test, and the hash token that plays it. */
const stream = (id: string) => ({ path: `/LiveApp/streams/${id}.m3u8`, token: hashToken(id, 'play', HASH_SECRET) });

async function get(url: string, headers: Record<string, string> = {}, dispatcher?: Dispatcher): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  const r = await request(url, { headers, dispatcher });
  return { status: r.statusCode, text: await r.body.text(), headers: r.headers };
}

/** The grant every URI line of a rewritten playlist carries (all the same, or the test fails). */
function grantOf(playlist: string): string {
  const grants = new Set(playlist.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => new URL(l, 'http://x/').searchParams.get('sg')));
  assert.equal(grants.size, 1, `one grant per playlist: ${[...grants].join(', ')}`);
  const g = [...grants][0];
  assert.ok(g, 'URIs carry a grant');
  return g;
}

describe('shared origin manifests', () => {
  let origin: TestOrigin;
  const gates: RunningGate[] = [];
  const startGate = async (manifest: Record<string, unknown> = {}) => {
    const g = await startTestGate({
      origin: { url: origin.url },
      session: { secrets: [SESSION_SECRET] },
      manifest,
      apps: { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } } } },
    });
    gates.push(g);
    return g;
  };
  const seen = (path: string) => origin.seen.filter((r) => r.url.split('?', 1)[0] === path).length;
  const cacheMetric = async (g: RunningGate, result: string) => {
    const m = await g.runtime.metrics.registry.getSingleMetric('streamgate_manifest_cache_total')!.get();
    return m.values.find((v) => v.labels.result === result)?.value ?? 0;
  };

  before(async () => {
    origin = await startTestOrigin();
  });
  after(async () => {
    for (const g of gates) await g.close();
    await origin.close();
  });

  test('200 concurrent viewers with distinct grants: one origin request, each viewer gets its own grant', async () => {
    const gate = await startGate({ cacheTtlMs: 500 });
    const { path, token } = stream('live1');
    origin.routes.set(path, { headers: HLS, body: PLAYLIST, delayMs: 50 });
    const t0 = Date.now();
    // 200 viewers on 200 addresses (127.0.0.2–201): one address re-sending one token is one playback.
    const viewers = Array.from({ length: 200 }, (_, i) => new Agent({ localAddress: `127.0.0.${i + 2}` }));
    const answers = await Promise.all(viewers.map((v) => get(`${gate.url}${path}?token=${token}`, {}, v)));
    await Promise.all(viewers.map((v) => v.close()));
    const burstMs = Date.now() - t0;
    assert.ok(seen(path) <= 1 + Math.floor(burstMs / 500), `${seen(path)} origin requests in ${burstMs} ms`);
    const grants = new Set<string>();
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.equal(a.headers['cache-control'], 'private, no-store');
      assert.equal(Number(a.headers['content-length']), Buffer.byteLength(a.text));
      grants.add(grantOf(a.text));
      // Nothing but the grant changed: removing it gives the origin's bytes back.
      assert.equal(a.text.replaceAll(`?sg=${grantOf(a.text)}`, ''), PLAYLIST);
    }
    assert.equal(grants.size, 200, 'every viewer has its own session');
    assert.equal(await cacheMetric(gate, 'miss'), seen(path));
    assert.equal((await cacheMetric(gate, 'coalesced')) + (await cacheMetric(gate, 'hit')), 200 - seen(path));

    // Refreshes with those 200 grants for 1.6 s: at most one origin request per 500 ms TTL.
    const before = seen(path);
    const started = Date.now();
    const list = [...grants];
    let refreshes = 0;
    let batches = 0;
    while (Date.now() - started < 1600 || batches < 4) {
      batches++;
      const batch = await Promise.all(list.slice(0, 50).map((g) => get(`${gate.url}${path}?sg=${g}`)));
      for (const b of batch) assert.equal(b.status, 200);
      refreshes += batch.length;
      list.push(...list.splice(0, 50));
      await sleep(20);
    }
    const elapsed = Date.now() - started;
    const fetched = seen(path) - before;
    assert.ok(fetched <= Math.ceil(elapsed / 500) + 1, `${fetched} origin requests for ${refreshes} refreshes in ${elapsed} ms`);
    assert.ok(fetched >= 2, `the cache expires: ${fetched} origin requests in ${elapsed} ms`);
  });

  test('cacheTtlMs 0: concurrent requests still share one fetch, sequential ones each fetch', async () => {
    const gate = await startGate({ cacheTtlMs: 0 });
    const { path, token } = stream('scoalesce');
    origin.routes.set(path, { headers: HLS, body: PLAYLIST, delayMs: 300 });
    await Promise.all(Array.from({ length: 20 }, () => get(`${gate.url}${path}?token=${token}`)));
    assert.equal(seen(path), 1);
    for (let i = 0; i < 3; i++) assert.equal((await get(`${gate.url}${path}?token=${token}`)).status, 200);
    assert.equal(seen(path), 4);
  });

  test("the origin's Cache-Control decides: no-store, private, Vary: Cookie and Set-Cookie are never shared; max-age and s-maxage set the TTL", async () => {
    const gate = await startGate({ cacheTtlMs: 500 });
    const cases: Array<{ name: string; headers: Record<string, string>; concurrent: number; sequentialAfterMs?: number }> = [
      { name: 'nostore', headers: { 'cache-control': 'no-store' }, concurrent: 5 },
      { name: 'private', headers: { 'cache-control': 'private, max-age=60' }, concurrent: 5 },
      { name: 'varycookie', headers: { vary: 'Accept-Encoding, Cookie' }, concurrent: 5 },
      { name: 'setcookie', headers: { 'set-cookie': 'origin_session=abc' }, concurrent: 5 },
    ];
    for (const c of cases) {
      const { path, token } = stream(`s${c.name}`);
      origin.routes.set(path, { headers: { ...HLS, ...c.headers }, body: PLAYLIST, delayMs: 30 });
      const answers = await Promise.all(Array.from({ length: c.concurrent }, () => get(`${gate.url}${path}?token=${token}`)));
      for (const a of answers) assert.equal(a.status, 200);
      assert.equal(seen(path), c.concurrent, `${c.name}: one origin request per viewer`);
    }
    // max-age=60 outlives the 500 ms default; s-maxage=0 (shared caches) overrides max-age.
    const { path: long, token: longToken } = stream('smaxage');
    origin.routes.set(long, { headers: { ...HLS, 'cache-control': 'public, max-age=60' }, body: PLAYLIST });
    const { path: short, token: shortToken } = stream('ssmaxage');
    origin.routes.set(short, { headers: { ...HLS, 'cache-control': 'max-age=60, s-maxage=0' }, body: PLAYLIST });
    for (const [p, t] of [[long, longToken], [short, shortToken]] as const) assert.equal((await get(`${gate.url}${p}?token=${t}`)).status, 200);
    await sleep(700);
    for (const [p, t] of [[long, longToken], [short, shortToken]] as const) assert.equal((await get(`${gate.url}${p}?token=${t}`)).status, 200);
    assert.equal(seen(long), 1, 'max-age=60: still fresh after the default TTL');
    assert.equal(seen(short), 2, 's-maxage=0: not kept');
  });

  test('a non-200 answer is shared with the requests waiting for it, and not kept', async () => {
    const gate = await startGate({ cacheTtlMs: 5000 });
    const { path, token } = stream('sgone');
    origin.routes.set(path, { status: 404, headers: { 'content-type': 'text/plain' }, body: 'no such stream', delayMs: 300 });
    const answers = await Promise.all(Array.from({ length: 10 }, () => get(`${gate.url}${path}?token=${token}`)));
    for (const a of answers) assert.deepEqual([a.status, a.text], [404, 'no such stream']);
    assert.equal(seen(path), 1);
    assert.equal((await get(`${gate.url}${path}?token=${token}`)).status, 404);
    assert.equal(seen(path), 2);
  });

  test('LL-HLS blocking reloads coalesce per exact query and are never answered from the default TTL', async () => {
    const gate = await startGate({ cacheTtlMs: 5000 });
    const { path, token } = stream('sll');
    origin.routes.set(path, { headers: HLS, body: PLAYLIST, delayMs: 300 });
    const q = (msn: number) => `${gate.url}${path}?token=${token}&_HLS_msn=${msn}&_HLS_part=2`;
    await Promise.all([...Array.from({ length: 8 }, () => get(q(9))), ...Array.from({ length: 8 }, () => get(q(10)))]);
    const urls = origin.seen.filter((r) => r.url.startsWith(path)).map((r) => r.url);
    assert.deepEqual(urls.sort(), [`${path}?_HLS_msn=10&_HLS_part=2`, `${path}?_HLS_msn=9&_HLS_part=2`], 'one fetch per exact query, credentials stripped');
    await get(q(9));
    assert.equal(seen(path), 3, 'a completed blocking reload is not kept');
    // The plain playlist URL gets the default TTL, and never answers a blocking reload.
    await get(`${gate.url}${path}?token=${token}`);
    await get(`${gate.url}${path}?token=${token}`);
    assert.equal(seen(path), 4);
    await get(q(11));
    assert.equal(seen(path), 5);
  });

  test('a request carrying Authorization is fetched on its own (RFC 9111 §3.5)', async () => {
    const gate = await startGate({ cacheTtlMs: 5000 });
    const { path, token } = stream('sauth');
    origin.routes.set(path, { headers: HLS, body: PLAYLIST });
    await get(`${gate.url}${path}?token=${token}`);
    await get(`${gate.url}${path}?token=${token}`, { authorization: 'Bearer origin-credential' });
    await get(`${gate.url}${path}?token=${token}`, { authorization: 'Bearer origin-credential' });
    assert.equal(seen(path), 3);
    assert.equal(await cacheMetric(gate, 'bypass'), 2);
  });

  test('manifest.cache: false fetches every time', async () => {
    const off = await startGate({ cache: false });
    const { path, token } = stream('snocache');
    origin.routes.set(path, { headers: HLS, body: PLAYLIST, delayMs: 30 });
    await Promise.all(Array.from({ length: 4 }, () => get(`${off.url}${path}?token=${token}`)));
    assert.equal(seen(path), 4);

  });
});
