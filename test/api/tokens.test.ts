// Management API, token endpoints, end to end: real gate (public + admin listeners), real origin,
// real Redis. Every endpoint's success and each validation error, and tokens minted over the API
// playing through the gate.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jwtVerify, SignJWT } from 'jose';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { startTestGate, JWT_SECRET, JWT_SECRET_NEXT } from '../helpers/gate.js';
import type { RunningGate } from '../../src/server.js';
import { TokenMessage } from '../../src/api/tokens.js';
import { call } from '../helpers/http.js';
import { fetchUrl, fromAddress } from '../helpers/player.js';

const prefix = `sgtest-apitok-${process.pid}-${Date.now()}`;
const redisStore = { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } };
const PUBLISH_SECRET = 'publish-jwt-secret-0123456789abcdef-xyz';

const apps = {
  LiveApp: {
    play: { oneTimeToken: true, jwt: { enabled: false, secret: JWT_SECRET } },
    publish: { jwt: { enabled: false, secret: PUBLISH_SECRET } },
    rest: { servePublic: true, maxTokenLifetimeSeconds: 3600 },
  },
  JwtApp: { play: { jwt: { enabled: true, secret: JWT_SECRET } } },
  // Management API on the admin listener only (the default).
  PrivateApp: { play: { oneTimeToken: true } },
  // Mid-rotation: the first secret signs, both verify (stream JWTs and the REST filter).
  RotApp: { play: { jwt: { enabled: true, secret: [JWT_SECRET_NEXT, JWT_SECRET] } }, rest: { jwt: { secret: [JWT_SECRET_NEXT, JWT_SECRET] } } },
};


const now = () => Math.floor(Date.now() / 1000);

describe('management API: tokens', () => {
  let origin: TestOrigin;
  let gate: RunningGate;
  let admin: string;

  before(async () => {
    origin = await startTestOrigin();
    gate = await startTestGate({ origin: { url: origin.url }, store: redisStore, apps });
    admin = `${gate.adminUrl}/LiveApp/rest/v2/broadcasts`;
  });
  after(async () => {
    await gate.close();
    await origin.close();
  });

  test('GET /{id}/token mints a CSPRNG one-time token that plays once through the gate', async () => {
    const exp = now() + 600;
    const r = await call('GET', `${admin}/stream1/token?expireDate=${exp}&type=play`);
    assert.equal(r.status, 200);
    const t = r.json();
    assert.deepEqual(Object.keys(t).sort(), ['expireDate', 'roomId', 'streamId', 'tokenId', 'type']);
    assert.equal(t.streamId, 'stream1');
    assert.equal(t.expireDate, exp);
    assert.equal(t.type, 'play');
    assert.equal(t.roomId, null);
    assert.match(t.tokenId, /^[A-Za-z0-9_-]{24}$/); // 144 random bits
    const play = await call('GET', `${gate.url}/LiveApp/streams/stream1.m3u8?token=${t.tokenId}`);
    assert.equal(play.status, 200);
    assert.equal(origin.seen.at(-1)!.url, '/LiveApp/streams/stream1.m3u8');
    // Another client replaying it is refused (its own client may re-present it: playback-sessions tests).
    const replay = await fetchUrl(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${t.tokenId}`, {}, fromAddress('127.0.0.2'));
    assert.equal(replay.status, 401);
    assert.equal(JSON.parse(replay.text).reason, 'token_used');
  });

  test('GET /{id}/token validation: status 400 and the exact Result message', async () => {
    const cases: [string, string][] = [
      ['type=play', TokenMessage.define],
      ['expireDate=0&type=play', TokenMessage.define],
      ['expireDate=-5&type=play', TokenMessage.define],
      ['expireDate=soon&type=play', TokenMessage.define],
      [`expireDate=${now() + 60}`, TokenMessage.define],
      [`expireDate=${now() + 60}&type=Play`, TokenMessage.badType],
      [`expireDate=${now() + 60}&type=view`, TokenMessage.badType],
      [`expireDate=${Date.now() + 60_000}&type=play`, TokenMessage.millis],
      [`expireDate=${now() - 1}&type=play`, TokenMessage.past],
      [`expireDate=${now() + 7200}&type=play`, TokenMessage.tooFar(3600)],
      [`expireDate=${now() + 60}&type=play&roomId=a%20b`, TokenMessage.badRoom],
    ];
    for (const [query, message] of cases) {
      const r = await call('GET', `${admin}/stream1/token?${query}`);
      assert.equal(r.status, 400, query);
      assert.deepEqual(r.json(), { success: false, message, dataId: null, errorId: 0 }, query);
    }
    const badId = await call('GET', `${admin}/bad%40id/token?expireDate=${now() + 60}&type=play`);
    assert.equal(badId.status, 400);
    assert.equal(badId.json().message, 'Stream id is not valid.');
  });

  test('1.x GET /rest/broadcast/getToken?id= answers like the v2 endpoint and is never forwarded', async () => {
    const legacy = (app: string, base: string, query: string) => call('GET', `${base}/${app}/rest/broadcast/getToken?${query}`);
    const exp = now() + 600;
    // Admin listener, and the public one where rest.servePublic is on (as the 1.x guide's backends call it).
    for (const base of [gate.adminUrl!, gate.url]) {
      const r = await legacy('LiveApp', base, `id=stream1&expireDate=${exp}&type=play`);
      assert.equal(r.status, 200);
      const t = r.json();
      assert.deepEqual(Object.keys(t).sort(), ['expireDate', 'roomId', 'streamId', 'tokenId', 'type']);
      assert.deepEqual({ ...t, tokenId: 'x' }, { tokenId: 'x', streamId: 'stream1', expireDate: exp, type: 'play', roomId: null });
      assert.equal((await call('GET', `${gate.url}/LiveApp/streams/stream10.m3u8?token=${t.tokenId}`)).json().reason, 'token_wrong_stream');
      assert.equal((await call('GET', `${gate.url}/LiveApp/streams/stream1.m3u8?token=${t.tokenId}`)).status, 200);
      const replay = await fetchUrl(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${t.tokenId}`, {}, fromAddress('127.0.0.2'));
      assert.equal(JSON.parse(replay.text).reason, 'token_used');
    }
    const pub = (await legacy('LiveApp', gate.adminUrl!, `id=cam1&expireDate=${exp}&type=publish`)).json();
    assert.equal(pub.type, 'publish');
    assert.equal((await gate.runtime.store.consumeToken('LiveApp', { tokenId: pub.tokenId, streamIds: ['cam1'], type: 'publish' }, Date.now(), false)).outcome, 'ok');

    // The same validation and messages as v2; the id is validated like a path id.
    const cases: [string, string][] = [
      [`expireDate=${exp}&type=play`, TokenMessage.define],
      [`id=&expireDate=${exp}&type=play`, TokenMessage.define],
      ['id=stream1&type=play', TokenMessage.define],
      [`id=stream1&expireDate=${exp}&type=view`, TokenMessage.badType],
      [`id=stream1&expireDate=${Date.now() + 60_000}&type=play`, TokenMessage.millis],
      [`id=stream1&expireDate=${now() - 1}&type=play`, TokenMessage.past],
      [`id=stream1&expireDate=${now() + 7200}&type=play`, TokenMessage.tooFar(3600)],
      [`id=a%2Fb&expireDate=${exp}&type=play`, 'Stream id is not valid.'],
      [`id=..&expireDate=${exp}&type=play`, 'Stream id is not valid.'],
    ];
    for (const [query, message] of cases) {
      const r = await legacy('LiveApp', gate.adminUrl!, query);
      assert.equal(r.status, 400, query);
      assert.deepEqual(r.json(), { success: false, message, dataId: null, errorId: 0 }, query);
    }
    const post = await call('POST', `${gate.adminUrl}/LiveApp/rest/broadcast/getToken?id=stream1&expireDate=${exp}&type=play`);
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET');
    // Public listener without servePublic: refused here, like every management path.
    const priv = await legacy('PrivateApp', gate.url, `id=stream1&expireDate=${exp}&type=play`);
    assert.equal(priv.status, 404);
    assert.equal(priv.json().reason, 'api_not_public');
    // The REST filter runs first: a cross-site request without a JWT is refused.
    const csrf = await call('GET', `${gate.url}/LiveApp/rest/broadcast/getToken?id=stream1&expireDate=${exp}&type=play`, undefined, { origin: 'https://evil.example' });
    assert.equal(csrf.status, 403);
    assert.ok(!origin.seen.some((r) => r.url.includes('/rest/broadcast/getToken')), 'the origin never sees the 1.x token path');
    // Other 1.x paths are not ours: forwarded to the origin (public listener), after the filter.
    assert.equal((await call('GET', `${gate.url}/LiveApp/rest/broadcast/get?id=stream1`)).status, 200);
    assert.equal(origin.seen.at(-1)!.url, '/LiveApp/rest/broadcast/get?id=stream1');
  });

  test('GET /{id}/jwt-token mints an HS256 stream JWT with the type secret; 400 without one', async () => {
    const exp = now() + 600;
    const r = await call('GET', `${admin}/stream1/jwt-token?expireDate=${exp}&type=play&roomId=room1`);
    assert.equal(r.status, 200);
    const t = r.json();
    assert.equal(t.streamId, 'stream1');
    assert.equal(t.roomId, 'room1');
    const { payload, protectedHeader } = await jwtVerify(t.tokenId, new TextEncoder().encode(JWT_SECRET));
    assert.equal(protectedHeader.alg, 'HS256');
    assert.deepEqual({ streamId: payload.streamId, type: payload.type, exp: payload.exp, roomId: payload.roomId }, { streamId: 'stream1', type: 'play', exp, roomId: 'room1' });
    const pub = await call('GET', `${admin}/cam1/jwt-token?expireDate=${exp}&type=publish`);
    assert.equal((await jwtVerify(pub.json().tokenId, new TextEncoder().encode(PUBLISH_SECRET))).payload.type, 'publish');

    // A JWT minted by the API for the JwtApp plays through the gate.
    const jr = await call('GET', `${gate.adminUrl}/JwtApp/rest/v2/broadcasts/stream1/jwt-token?expireDate=${exp}&type=play`);
    assert.equal((await call('GET', `${gate.url}/JwtApp/streams/stream1.m3u8?token=${jr.json().tokenId}`)).status, 200);
    assert.equal((await call('GET', `${gate.url}/JwtApp/streams/stream10.m3u8?token=${jr.json().tokenId}`)).status, 401);

    const none = await call('GET', `${gate.adminUrl}/PrivateApp/rest/v2/broadcasts/stream1/jwt-token?expireDate=${exp}&type=play`);
    assert.equal(none.status, 400);
    assert.equal(none.json().message, TokenMessage.noJwtKey);
    const jwtPublishMissing = await call('GET', `${gate.adminUrl}/JwtApp/rest/v2/broadcasts/stream1/jwt-token?expireDate=${exp}&type=publish`);
    assert.equal(jwtPublishMissing.status, 400);
    const tooLong = await call('GET', `${admin}/stream1/jwt-token?expireDate=${now() + 99_999}&type=play`);
    assert.equal(tooLong.json().message, TokenMessage.tooFar(3600));
  });

  test('secret rotation: jwt-token signs with the first secret; the REST filter and the gate accept both', async () => {
    const exp = now() + 600;
    const restJwt = (secret: string) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(now() + 60).sign(new TextEncoder().encode(secret));
    const api = `${gate.adminUrl}/RotApp/rest/v2/broadcasts`;
    for (const secret of [JWT_SECRET_NEXT, JWT_SECRET]) {
      const r = await call('GET', `${api}/stream1/jwt-token?expireDate=${exp}&type=play`, undefined, { authorization: `Bearer ${await restJwt(secret)}` });
      assert.equal(r.status, 200, 'the REST filter accepts a JWT signed with either secret');
      const minted = r.json().tokenId as string;
      assert.equal((await jwtVerify(minted, new TextEncoder().encode(JWT_SECRET_NEXT))).payload.streamId, 'stream1', 'signed with the first');
      await assert.rejects(jwtVerify(minted, new TextEncoder().encode(JWT_SECRET)));
    }
    const stranger = await call('GET', `${api}/stream1/jwt-token?expireDate=${exp}&type=play`, undefined, { authorization: `Bearer ${await restJwt('another-secret-of-thirty-two-bytes-000')}` });
    assert.equal(stranger.status, 403);
    // Stream JWTs signed before the rotation (old secret) still play; so do new ones.
    for (const secret of [JWT_SECRET, JWT_SECRET_NEXT]) {
      const old = await new SignJWT({ streamId: 'stream1', type: 'play' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(new TextEncoder().encode(secret));
      assert.equal((await call('GET', `${gate.url}/RotApp/streams/stream1.m3u8?token=${old}`)).status, 200);
    }
  });

  test('tokens/list pages (cap 250) and DELETE /{id}/tokens revokes and bumps the stream epoch', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await call('GET', `${admin}/listme/token?expireDate=${now() + 100 + i}&type=play`)).json().tokenId);
    const all = (await call('GET', `${admin}/listme/tokens/list/0/1000`)).json();
    assert.deepEqual(all.map((t: { tokenId: string }) => t.tokenId), ids); // ordered by expiry
    assert.equal((await call('GET', `${admin}/listme/tokens/list/1/1`)).json()[0].tokenId, ids[1]);
    for (const bad of ['x/10', '0/-1', '-1/5', '0/1.5']) {
      const r = await call('GET', `${admin}/listme/tokens/list/${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.json().message, 'offset and size must be non-negative integers');
    }
    const before = await gate.runtime.store.getEpochs('LiveApp', 'listme');
    const del = await call('DELETE', `${admin}/listme/tokens`);
    assert.deepEqual(del.json(), { success: true, message: null, dataId: null, errorId: 0 });
    assert.equal((await gate.runtime.store.getEpochs('LiveApp', 'listme')).stream, before.stream + 1);
    assert.deepEqual((await call('GET', `${admin}/listme/tokens/list/0/10`)).json(), []);
    const gone = await call('GET', `${gate.url}/LiveApp/streams/listme.m3u8?token=${ids[0]}`);
    assert.equal(gone.status, 401);
  });

  test('POST /validate-token checks without consuming unless ?consume=true; rooms compare the room', async () => {
    const t = (await call('GET', `${admin}/stream2/token?expireDate=${now() + 600}&type=play`)).json();
    const probe = { tokenId: t.tokenId, streamId: 'stream2', type: 'play' };
    assert.deepEqual((await call('POST', `${admin}/validate-token`, probe)).json(), { success: true, message: null, dataId: null, errorId: 0 });
    assert.equal((await call('POST', `${admin}/validate-token`, probe)).json().success, true); // still there
    assert.deepEqual((await call('POST', `${admin}/validate-token`, { ...probe, streamId: 'stream20' })).json().message, 'wrong_stream');
    assert.equal((await call('POST', `${admin}/validate-token`, { ...probe, type: 'publish' })).json().message, 'wrong_role');
    assert.equal((await call('POST', `${admin}/validate-token?consume=true`, probe)).json().success, true);
    assert.deepEqual((await call('POST', `${admin}/validate-token`, probe)).json(), { success: false, message: 'used', dataId: null, errorId: 0 });
    assert.equal((await call('GET', `${gate.url}/LiveApp/streams/stream2.m3u8?token=${t.tokenId}`)).status, 401);

    const room = (await call('GET', `${admin}/stream3/token?expireDate=${now() + 600}&type=play&roomId=room1`)).json();
    assert.equal(room.roomId, 'room1');
    const roomProbe = { tokenId: room.tokenId, streamId: 'any', type: 'play', roomId: 'room1' };
    assert.equal((await call('POST', `${admin}/validate-token?consume=true`, roomProbe)).json().success, true);
    assert.equal((await call('POST', `${admin}/validate-token`, roomProbe)).json().success, true); // room tokens are reusable
    assert.equal((await call('POST', `${admin}/validate-token`, { ...roomProbe, roomId: 'room2' })).json().success, false);

    assert.deepEqual((await call('POST', `${admin}/validate-token`, { streamId: 's', type: 'play' })).json().success, false);
    assert.equal((await call('POST', `${admin}/validate-token`, { tokenId: 'x', type: 'both' })).json().message, TokenMessage.badType);
    assert.equal((await call('POST', `${admin}/validate-token`, { tokenId: 'nope', streamId: 's', type: 'play' })).json().message, 'missing');
    const notJson = await call('POST', `${admin}/validate-token`, '{"tokenId":');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.json().message, 'Request body is not valid JSON');
    // text/plain is what a cross-site page can send without a preflight: never accepted.
    const plain = await call('POST', `${admin}/validate-token`, JSON.stringify(probe), { 'content-type': 'text/plain' });
    assert.equal(plain.status, 415);
    const big = await call('POST', `${admin}/validate-token`, JSON.stringify({ pad: 'x'.repeat(70_000) }));
    assert.equal(big.status, 413);
  });

  test('listeners: public only with servePublic; unknown paths go to the origin (public) or 404 (admin)', async () => {
    const exp = now() + 600;
    const pub = await call('GET', `${gate.url}/LiveApp/rest/v2/broadcasts/stream1/token?expireDate=${exp}&type=play`);
    assert.equal(pub.status, 200);
    assert.ok(pub.json().tokenId);
    const seen = origin.seen.length;
    const priv = await call('GET', `${gate.url}/PrivateApp/rest/v2/broadcasts/stream1/token?expireDate=${exp}&type=play`);
    assert.equal(priv.status, 404);
    assert.equal(priv.json().reason, 'api_not_public');
    assert.equal(origin.seen.length, seen, 'the management API is never forwarded');

    const unknown = await call('GET', `${gate.url}/PrivateApp/rest/v2/broadcasts/list/0/10?sort_by=name`);
    assert.equal(unknown.status, 200);
    assert.equal(origin.seen.at(-1)!.url, '/PrivateApp/rest/v2/broadcasts/list/0/10?sort_by=name');
    const update = await call('PUT', `${gate.url}/LiveApp/rest/v2/broadcasts/stream1`, { name: 'x' });
    assert.equal(update.status, 200, 'PUT /{id} (update broadcast) is the origin\'s');
    assert.equal(origin.seen.at(-1)!.method, 'PUT');
    const adminUnknown = await call('GET', `${admin}/list/0/10`);
    assert.equal(adminUnknown.status, 404);
    assert.equal(adminUnknown.json().reason, 'route_unknown');
    assert.equal((await call('GET', `${gate.adminUrl}/NoApp/rest/v2/broadcasts/s/token`)).json().reason, 'app_not_found');

    const wrong = await call('POST', `${admin}/stream1/token`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'GET');
    const head = await call('HEAD', `${admin}/stream1/token?expireDate=${exp}&type=play`);
    assert.equal(head.status, 405, 'HEAD never mints');
  });

  test('store down: 503 store_unavailable, never a token that was not saved', async () => {
    const down = await startTestGate({ store: { type: 'redis', redis: { url: 'redis://127.0.0.1:1', commandTimeoutMs: 200 } }, apps });
    try {
      const r = await call('GET', `${down.adminUrl}/LiveApp/rest/v2/broadcasts/stream1/token?expireDate=${now() + 60}&type=play`);
      assert.equal(r.status, 503);
      assert.deepEqual(r.json(), { error: 'service_unavailable', reason: 'store_unavailable' });
    } finally {
      await down.close();
    }
  });
});
