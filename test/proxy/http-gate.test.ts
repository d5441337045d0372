// The HTTP front door end to end: a real origin, real gates, real Redis, real HTTP clients.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { request } from 'undici';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { startTestGate, HASH_SECRET, JWT_SECRET } from '../helpers/gate.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { newTokenId } from '../../src/checks/one-time-token.js';
import { createStore } from '../../src/store/index.js';
import { fetchUrl, fromAddress } from '../helpers/player.js';

const prefix = `sgtest-${process.pid}-${Date.now()}`;
const redisStore = { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } };

const apps = {
  LiveApp: { play: { oneTimeToken: true, hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: JWT_SECRET } } },
  OpenApp: {},
  PubApp: { publish: { hash: { enabled: true, secret: HASH_SECRET } } },
};

/** A second client of the gates' Redis, as a backend minting tokens would be. */
const sideStore = () => createStore({ type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix, commandTimeoutMs: 1000 } });

async function get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  const r = await request(url, { method, headers });
  const body = Buffer.from(await r.body.arrayBuffer());
  return { status: r.statusCode, headers: r.headers, body, json: () => JSON.parse(body.toString()) as Record<string, unknown> };
}

/** Sends the request-target byte for byte (no client-side `..` normalization, like curl --path-as-is). */
function rawGet(base: string, path: string): Promise<{ status: number; json: () => Record<string, unknown> }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: () => JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('http gate', () => {
  let origin: TestOrigin;
  let gate: RunningGate;
  let gate2: RunningGate;

  before(async () => {
    origin = await startTestOrigin();
    const config = { origin: { url: origin.url, headersTimeoutMs: 400 }, store: redisStore, apps };
    gate = await startTestGate(config);
    gate2 = await startTestGate(config);
  });
  after(async () => {
    await gate.close();
    await gate2.close();
    await origin.close();
  });

  const exp = () => Math.floor(Date.now() / 1000) + 600;

  test('a hash-authorized segment arrives byte-identical to the origin, credential stripped', async () => {
    const token = hashToken('stream1', 'play', HASH_SECRET);
    const r = await get(`${gate.url}/LiveApp/streams/stream1000000001.ts?token=${token}&keep=1`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, origin.bodyFor('/LiveApp/streams/stream1000000001.ts'));
    const seen = origin.seen.at(-1)!;
    assert.equal(seen.url, '/LiveApp/streams/stream1000000001.ts?keep=1');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  });

  test('Range is answered 206 with exactly the requested bytes; conditional requests pass through', async () => {
    const token = hashToken('stream1', 'play', HASH_SECRET);
    const r = await get(`${gate.url}/LiveApp/streams/stream1.mp4?token=${token}`, { range: 'bytes=100-199' });
    assert.equal(r.status, 206);
    assert.equal(r.headers['content-range'], 'bytes 100-199/300000');
    assert.deepEqual(r.body, origin.bodyFor('/LiveApp/streams/stream1.mp4').subarray(100, 200));
    const c = await get(`${gate.url}/LiveApp/streams/stream1.mp4?token=${token}`, { 'if-none-match': '"v1"' });
    assert.equal(c.status, 304);
  });

  test('deny reasons are precise JSON with no-store', async () => {
    const cases: [string, number, string][] = [
      ['/LiveApp/streams/stream1.m3u8', 401, 'token_missing'],
      [`/LiveApp/streams/stream10.m3u8?token=${hashToken('stream1', 'play', HASH_SECRET)}`, 401, 'token_invalid'],
      [`/LiveApp/streams/stream10000000001.ts?token=${hashToken('stream1', 'play', HASH_SECRET)}`, 401, 'token_invalid'],
      ['/LiveApp/streams/stream1.m3u8?token=nope', 401, 'token_invalid'],
      ['/LiveApp/streams/stream1%2e%2e/x.m3u8', 400, 'path_invalid'],
      ['/LiveApp/streams/x.ts;jsessionid=A', 400, 'path_invalid'],
      [`/LiveApp/streams/${'a'.repeat(2100)}.m3u8`, 400, 'uri_too_long'],
      ['/LiveApp/streams/cover.jpg', 400, 'stream_unrecognized'],
      ['/NoSuchApp/streams/stream1.m3u8', 404, 'app_not_found'],
      ['/', 403, 'route_denied'],
    ];
    for (const [path, status, reason] of cases) {
      const r = await get(`${gate.url}${path}`);
      assert.equal(r.status, status, path);
      assert.equal(r.json().reason, reason, path);
      assert.equal(r.headers['cache-control'], 'no-store', path);
    }
    // Traversal sent verbatim, as an attacker would (the original parsed this as stream1).
    for (const path of ['/LiveApp/streams/stream1__/../stream2.m3u8', '/LiveApp/streams/./stream1.m3u8', '/LiveApp/streams//stream1.m3u8', '/LiveApp/streams/a\\..\\stream2.m3u8']) {
      const r = await rawGet(gate.url, `${path}?token=${hashToken('stream1', 'play', HASH_SECRET)}`);
      assert.equal(r.status, 400, path);
      assert.equal(r.json().reason, 'path_invalid', path);
    }
    const jwt = await mintStreamJwt(JWT_SECRET, { streamId: 'stream1', type: 'publish', exp: exp() });
    assert.equal((await get(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${jwt}`)).json().reason, 'token_wrong_role');
    const expired = await mintStreamJwt(JWT_SECRET, { streamId: 'stream1', type: 'play', exp: Math.floor(Date.now() / 1000) - 120 });
    assert.equal((await get(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${expired}`)).json().reason, 'token_expired');
  });

  test('a JWT opens a stream and its renditions but never stream10', async () => {
    const jwt = await mintStreamJwt(JWT_SECRET, { streamId: 'stream1', type: 'play', exp: exp() });
    for (const f of ['stream1.m3u8', 'stream1_adaptive.m3u8', 'stream1_240p300kbps.m3u8', 'stream1_240p300kbps000000007.ts', 'stream1/stream1.mpd', 'll-hls/stream1/stream1__master.m3u8']) {
      assert.equal((await get(`${gate.url}/LiveApp/streams/${f}?token=${jwt}`)).status, 200, f);
    }
    for (const f of ['stream10.m3u8', 'stream10000000001.ts', 'stream100000000001.ts', 'stream10/stream10.mpd']) {
      const r = await get(`${gate.url}/LiveApp/streams/${f}?token=${jwt}`);
      assert.equal(r.status, 401, f);
      assert.equal(r.json().reason, 'token_wrong_stream', f);
    }
  });

  test('one-time token: HEAD does not consume, GET does, a replay from another client answers token_used', async () => {
    const store = sideStore();
    const t = { tokenId: newTokenId(), streamId: 'stream1', type: 'play' as const, expireDate: exp() };
    await store.saveToken('LiveApp', t);
    await store.close();
    const url = `${gate.url}/LiveApp/streams/stream1.m3u8?token=${t.tokenId}`;
    assert.equal((await get(url, {}, 'HEAD')).status, 200);
    assert.equal((await get(`${gate.url}/LiveApp/streams/stream10.m3u8?token=${t.tokenId}`)).json().reason, 'token_wrong_stream');
    assert.equal((await get(url)).status, 200);
    const replay = await fetchUrl(url, {}, fromAddress('127.0.0.2'));
    assert.equal(replay.status, 401);
    assert.equal(JSON.parse(replay.text).reason, 'token_used');
  });

  test('one-time race: 60 concurrent clients over two gates sharing Redis, exactly one 200', async () => {
    const store = sideStore();
    const t = { tokenId: newTokenId(), streamId: 'stream1', type: 'play' as const, expireDate: exp() };
    await store.saveToken('LiveApp', t);
    await store.close();
    const results = await Promise.all(
      // Each request from its own loopback address: one client wins, every other one is refused.
      Array.from({ length: 60 }, (_, i) => fetchUrl(`${(i % 2 ? gate : gate2).url}/LiveApp/streams/stream1.m3u8?token=${t.tokenId}`, {}, fromAddress(`127.0.0.${10 + i}`))),
    );
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1);
    assert.ok(results.filter((r) => r.status === 401).every((r) => JSON.parse(r.text).reason === 'token_used'));
  });

  test('publish over HTTP streams the request body to the origin', async () => {
    const token = hashToken('cam1', 'publish', HASH_SECRET);
    const body = Buffer.alloc(200_000, 7);
    const r = await request(`${gate.url}/PubApp/whip/cam1?token=${token}`, { method: 'POST', body, headers: { 'content-type': 'application/sdp' } });
    assert.equal(r.statusCode, 200);
    const echoed = (await r.body.json()) as { body: string };
    assert.equal(Buffer.from(echoed.body, 'base64').length, body.length);
    const denied = await request(`${gate.url}/PubApp/whip/cam1`, { method: 'POST', body: 'x' });
    assert.equal(denied.statusCode, 401);
    await denied.body.dump();
  });

  test('every 401 carries a Bearer challenge for the app (RFC 9110 §11.6.1, RFC 6750 §3)', async () => {
    const missing = await get(`${gate.url}/LiveApp/streams/stream1.m3u8`);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers['www-authenticate'], 'Bearer realm="LiveApp"', 'no credential: no error code');
    const bad = await get(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${hashToken('stream10', 'play', HASH_SECRET)}`);
    assert.equal(bad.status, 401);
    assert.equal(bad.headers['www-authenticate'], 'Bearer realm="LiveApp", error="invalid_token", error_description="token_invalid"');
    const head = await get(`${gate.url}/LiveApp/streams/stream1.m3u8`, {}, 'HEAD');
    assert.equal(head.headers['www-authenticate'], 'Bearer realm="LiveApp"');
    const notFound = await get(`${gate.url}/Nope/streams/stream1.m3u8`);
    assert.equal(notFound.headers['www-authenticate'], undefined);
  });

  test('open apps pass; non-GET on /streams is 405; static files pass unchecked', async () => {
    assert.equal((await get(`${gate.url}/OpenApp/streams/stream1.m3u8`)).status, 200);
    assert.equal((await get(`${gate.url}/LiveApp/play.html`)).status, 200);
    const r = await request(`${gate.url}/LiveApp/streams/stream1.m3u8`, { method: 'DELETE' });
    assert.equal(r.statusCode, 405);
    await r.body.dump();
  });

  test('hop-by-hop headers are removed, X-Forwarded-For from an untrusted peer is replaced', async () => {
    await get(`${gate.url}/OpenApp/streams/stream1.m3u8`, { 'x-forwarded-for': '6.6.6.6', 'proxy-authorization': 'Basic x', te: 'trailers', 'x-custom': 'kept' });
    const seen = origin.seen.at(-1)!;
    // No peer is a trusted proxy by default, not even loopback: the client's own chain is replaced.
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['proxy-authorization'], undefined);
    assert.equal(seen.headers.te, undefined);
    assert.equal(seen.headers['x-custom'], 'kept');
  });

  test('a client that goes away aborts the upstream request (the pool socket is released)', async () => {
    origin.routes.set('/OpenApp/streams/stuck.mp4', { hang: true });
    const ac = new AbortController();
    const pending = request(`${gate.url}/OpenApp/streams/stuck.mp4`, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    await assert.rejects(pending);
    // Within 200 ms of the abort: well before this gate's 400 ms header timeout would abort it anyway.
    for (let i = 0; i < 10 && !origin.aborted.includes('/OpenApp/streams/stuck.mp4'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(origin.aborted.includes('/OpenApp/streams/stuck.mp4'), 'the origin request was not aborted');
  });

  test('origin timeout → 504, origin refused → 502, both with JSON reasons', async () => {
    origin.routes.set('/OpenApp/streams/slow.m3u8', { hang: true });
    const slow = await get(`${gate.url}/OpenApp/streams/slow.m3u8`);
    assert.equal(slow.status, 504);
    assert.equal(slow.json().reason, 'origin_timeout');
    const dead = await startTestGate({ origin: { url: 'http://127.0.0.1:9' }, apps });
    try {
      const r = await get(`${dead.url}/OpenApp/streams/stream1.m3u8`);
      assert.equal(r.status, 502);
      assert.equal(r.json().reason, 'origin_unavailable');
    } finally {
      await dead.close();
    }
  });
});
