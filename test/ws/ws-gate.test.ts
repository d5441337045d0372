// The signalling WebSocket gate end to end: a real ws origin that answers like Ant Media, a real
// gate, real Redis, real ws clients. Expiry/revocation, backpressure and IP rules have their own files.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { request } from 'undici';
import { startTestGate, HASH_SECRET, JWT_SECRET } from '../helpers/gate.js';
import { connectClient, openOriginLeg, HandshakeRefused, startTestWsOrigin, type TestWsClient, type TestWsOrigin } from '../helpers/ws-origin.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { newTokenId } from '../../src/checks/one-time-token.js';
import { totpCode, totpKeyFor } from '../../src/checks/totp-subscriber.js';
import { createStore } from '../../src/store/index.js';
import type { Role } from '../../src/decision/types.js';

const prefix = `sgws-${process.pid}-${Date.now()}`;
const redisStore = { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } };
const TOTP_SECRET = 'test-totp-app-secret';
const tokens = { oneTimeToken: true, hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: JWT_SECRET } };
const apps = {
  LiveApp: { play: tokens, publish: tokens },
  TotpApp: { play: { totp: { enabled: true, secret: TOTP_SECRET } }, publish: { totp: { enabled: true, secret: TOTP_SECRET } } },
  OpenApp: {},
  SigApp: { websocketPath: 'signal' },
  RegApp: { publish: { acceptUndefinedStreams: false } },
  OriginRegApp: { publish: { acceptUndefinedStreams: false, registry: 'origin', registryCacheSeconds: 2 } },
};
const sideStore = () => createStore({ type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix, commandTimeoutMs: 1000 } });
const exp = () => Math.floor(Date.now() / 1000) + 600;
const err = (definition: string, streamId?: string) => JSON.stringify(streamId === undefined ? { command: 'error', definition } : { command: 'error', definition, streamId });
const totp = (subscriberId: string, streamId: string, type: Role) =>
  totpCode(totpKeyFor({ policy: { secret: TOTP_SECRET, derivation: 'antmedia', periodSeconds: 60 }, subscriberId, streamId, type })!.key, 60, Date.now());

describe('websocket gate', () => {
  let origin: TestWsOrigin;
  let gate: RunningGate;
  let ws: (app: string, path?: string) => string;
  const open: TestWsClient[] = [];
  const client = async (app = 'LiveApp', opts?: Parameters<typeof connectClient>[1]) => {
    const c = await connectClient(ws(app), opts);
    open.push(c);
    await openOriginLeg(c, origin);
    return c;
  };
  const gatedSeen = () => origin.frames.filter((f) => f.text && /"command":"(publish|play|join|joinRoom|getTrackList)"/.test(f.text)).length;

  before(async () => {
    origin = await startTestWsOrigin();
    // Refusals here are about definitions, not lockouts (test/security/ws-attempts.test.ts).
    gate = await startTestGate({ origin: { url: origin.url }, store: redisStore, apps, ws: { maxRefusals: 3, revocationCheckSeconds: 1 }, limits: { attempts: { perIp: 100_000 } } });
    ws = (app, path = 'websocket') => `${gate.url.replace('http', 'ws')}/${app}/${path}`;
  });
  after(async () => {
    for (const c of open) c.ws.terminate();
    await gate.close();
    await origin.close();
  });

  test('the handshake forwards cookies, Origin, User-Agent, subprotocol and X-Forwarded-*, never our grant cookie or query credentials', async () => {
    const c = await connectClient(`${ws('OpenApp')}?x=1&token=secret`, {
      headers: { cookie: 'a=1; sg_grant=zzz; b=2', origin: 'https://app.example', 'user-agent': 'test-ua/1' },
      protocols: ['proto-a', 'proto-b'],
    });
    open.push(c);
    await openOriginLeg(c, origin);
    assert.equal(c.ws.protocol, 'proto-a');
    const h = origin.handshakes.at(-1)!;
    assert.equal(h.url, '/OpenApp/websocket?x=1');
    assert.equal(h.headers.cookie, 'a=1; b=2');
    assert.equal(h.headers.origin, 'https://app.example');
    assert.equal(h.headers['user-agent'], 'test-ua/1');
    // The client got the first protocol it offered; the origin is asked for that one.
    assert.equal(h.headers['sec-websocket-protocol'], 'proto-a');
    assert.equal(h.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(h.headers['x-forwarded-proto'], 'http');
    assert.match(String(h.headers['x-forwarded-host']), /^127\.0\.0\.1:\d+$/);
    // Per-app path: SigApp signals on /SigApp/signal, and its /websocket is not the socket.
    open.push(await connectClient(ws('SigApp', 'signal')));
    await assert.rejects(connectClient(ws('SigApp')), (e: HandshakeRefused) => e.status === 403);
  });

  test('publish and play are allowed for hash, JWT, one-time and TOTP credentials; secrets are stripped', async () => {
    const store = sideStore();
    const once = async (streamId: string, type: Role) => {
      const t = { tokenId: newTokenId(), streamId, type, expireDate: exp() };
      await store.saveToken('LiveApp', t);
      return t.tokenId;
    };
    const cases: [string, string, Record<string, unknown>][] = [];
    for (const role of ['publish', 'play'] as const) {
      cases.push(['LiveApp', `h-${role}`, { token: hashToken(`h-${role}`, role, HASH_SECRET) }]);
      cases.push(['LiveApp', `j-${role}`, { token: await mintStreamJwt(JWT_SECRET, { streamId: `j-${role}`, type: role, exp: exp() }) }]);
      cases.push(['LiveApp', `o-${role}`, { token: await once(`o-${role}`, role) }]);
      cases.push(['TotpApp', `t-${role}`, { subscriberId: 'sub-1', subscriberCode: totp('sub-1', `t-${role}`, role) }]);
    }
    await store.close();
    for (const [app, streamId, creds] of cases) {
      const c = await client(app);
      const command = streamId.endsWith('publish') ? 'publish' : 'play';
      c.send({ command, streamId, ...creds, video: true });
      if (command === 'publish') assert.deepEqual(await c.nextJson(), { command: 'start', streamId }, streamId);
      assert.deepEqual(await c.nextJson(), { command: 'notification', definition: `${command}_started`, streamId }, streamId);
      const seen = origin.framesOf(command).at(-1)!;
      assert.equal(seen.streamId, streamId);
      assert.equal(seen.token, undefined, `${streamId}: token stripped`);
      assert.equal(seen.subscriberCode, undefined, `${streamId}: code stripped`);
      assert.equal(seen.video, true);
      if (app === 'TotpApp') assert.equal(seen.subscriberId, 'sub-1');
    }
  });

  test('refused commands get the original error frames and never reach the origin', async () => {
    const store = sideStore();
    await store.blockSubscriber('OpenApp', 'b1', 'bad-sub', 'publish_play', Date.now() + 60_000);
    await store.close();
    const expired = await mintStreamJwt(JWT_SECRET, { streamId: 's1', type: 'play', exp: Math.floor(Date.now() / 1000) - 120 });
    const publishJwt = await mintStreamJwt(JWT_SECRET, { streamId: 's1', type: 'publish', exp: exp() });
    const cases: [string, Record<string, unknown> | string, string][] = [
      ['LiveApp', { command: 'play', streamId: 's1' }, err('unauthorized_access', 's1')],
      ['LiveApp', { command: 'play', streamId: 's1', token: hashToken('s2', 'play', HASH_SECRET) }, err('unauthorized_access', 's1')],
      ['LiveApp', { command: 'publish', streamId: 's1', token: hashToken('s1', 'play', HASH_SECRET) }, err('unauthorized_access', 's1')],
      ['LiveApp', { command: 'play', streamId: 's1', token: expired }, err('unauthorized_access', 's1')],
      ['LiveApp', { command: 'play', streamId: 's1', token: publishJwt }, err('unauthorized_access', 's1')],
      ['LiveApp', { command: 'play', streamId: 's1', token: newTokenId() }, err('unauthorized_access', 's1')],
      ['TotpApp', { command: 'play', streamId: 's1', subscriberId: 'sub-1', subscriberCode: '000000' }, err('unauthorized_access', 's1')],
      ['LiveApp', { command: 'publish', token: 'x' }, err('noStreamNameSpecified')],
      ['LiveApp', { command: 'play', streamId: 'a/b' }, err('invalidStreamName', 'a/b')],
      ['LiveApp', { command: 'joinRoom', mode: 'mcu' }, err('no_room_specified')],
      ['OpenApp', { command: 'play', streamId: 'b1', subscriberId: 'bad-sub' }, err('user_blocked', 'b1')],
      ['RegApp', { command: 'publish', streamId: 'not-registered' }, err('not_allowed_unregistered_streams', 'not-registered')],
      // Lenient origin parsers accept a trailing comma: such a frame is never forwarded unauthorized.
      ['LiveApp', '{"command":"play","streamId":"s1",}', err('unauthorized_access')],
      ['LiveApp', '{"command":"pl\\u0061y","streamId":"s1"}', err('unauthorized_access', 's1')],
    ];
    const before = gatedSeen();
    for (const [app, frame, expected] of cases) {
      const c = await client(app);
      c.send(frame);
      assert.equal(await c.next(), expected, JSON.stringify(frame));
      c.ws.close();
    }
    assert.equal(gatedSeen(), before, 'no refused command reached the origin');
  });

  test('a one-time token is consumed exactly once, across concurrent clients and across doors', async () => {
    const store = sideStore();
    const t = { tokenId: newTokenId(), streamId: 'once1', type: 'play' as const, expireDate: exp() };
    await store.saveToken('LiveApp', t);
    await store.close();
    // Six clients, each with its own address: one wins; the others are refused.
    const clients = await Promise.all(Array.from({ length: 6 }, (_, i) => client('LiveApp', { localAddress: `127.0.0.${20 + i}` })));
    for (const c of clients) c.send({ command: 'play', streamId: 'once1', token: t.tokenId });
    const answers = await Promise.all(clients.map((c) => c.nextJson()));
    assert.equal(answers.filter((a) => a.definition === 'play_started').length, 1);
    assert.equal(answers.filter((a) => a.definition === 'unauthorized_access').length, 5);
    const http = await request(`${gate.url}/LiveApp/streams/once1.m3u8?token=${t.tokenId}`);
    assert.equal(http.statusCode, 401);
    assert.equal(((await http.body.json()) as { reason: string }).reason, 'token_used');
  });

  test('after maxRefusals refusals the socket is closed with 1008, and the origin leg too', async () => {
    const c = await client();
    const conn = origin.sockets.length;
    for (let i = 0; i < 3; i++) c.send({ command: 'play', streamId: 's1', token: 'wrong' });
    for (let i = 0; i < 3; i++) assert.equal(await c.next(), err('unauthorized_access', 's1'));
    assert.deepEqual(await c.closed, { code: 1008, reason: 'too many refused commands' });
    await origin.until(() => origin.closes.some((x) => x.conn === conn));
    assert.equal(origin.closes.find((x) => x.conn === conn)!.code, 1008);
  });

  test('a frame over ws.maxFrameBytes closes the socket with 1009', async () => {
    const c = await client('OpenApp');
    const conn = origin.sockets.length;
    c.send(JSON.stringify({ command: 'ping', pad: 'x'.repeat(64 * 1024) }));
    assert.equal((await c.closed).code, 1009);
    await origin.until(() => origin.closes.some((x) => x.conn === conn));
    assert.equal(origin.closes.find((x) => x.conn === conn)!.code, 1009);
  });

  test('frames sent behind a gated command wait for its decision and keep their order', async () => {
    const store = sideStore();
    const t = { tokenId: newTokenId(), streamId: 'ord1', type: 'publish' as const, expireDate: exp() };
    await store.saveToken('LiveApp', t);
    await store.close();
    const c = await client();
    const conn = origin.sockets.length;
    c.send({ command: 'publish', streamId: 'ord1', token: t.tokenId });
    c.send({ command: 'takeConfiguration', streamId: 'ord1', type: 'offer', sdp: 'v=0' });
    for (let i = 0; i < 3; i++) c.send({ command: 'takeCandidate', streamId: 'ord1', label: i, id: '0', candidate: `c${i}` });
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    c.send({ command: 'play', streamId: 'ord1', token: 'bad' }); // refused in place, the rest still flows
    c.send({ command: 'ping' });
    await origin.until(() => origin.frames.filter((f) => f.conn === conn).length === 7);
    const seen = origin.frames.filter((f) => f.conn === conn).map((f) => (f.text ? (JSON.parse(f.text) as { command: string }).command : 'binary'));
    assert.deepEqual(seen, ['publish', 'takeConfiguration', 'takeCandidate', 'takeCandidate', 'takeCandidate', 'binary', 'ping']);
  });

  test('other commands, binary frames and malformed JSON pass through byte for byte', async () => {
    const c = await client();
    const conn = origin.sockets.length;
    const frames = ['{ "command" : "takeCandidate",  "streamId":"s1", "candidate":"a" }', '{oops', '[1,2]', '{"command":"getStreamInfo","streamId":"s1","token":"kept"}'];
    for (const f of frames) c.send(f);
    c.ws.send(Buffer.from('binary-bytes'), { binary: true });
    await origin.until(() => origin.frames.filter((f) => f.conn === conn).length === frames.length + 1);
    const seen = origin.frames.filter((f) => f.conn === conn);
    assert.deepEqual(seen.slice(0, frames.length).map((f) => f.text), frames);
    assert.equal(seen.at(-1)!.binary!.toString(), 'binary-bytes');
    await origin.until(() => c.binaryBytes === 'binary-bytes'.length); // echoed back through the gate
  });

  test('getTrackList, join and joinRoom are authorized for the role they ask for', async () => {
    const c = await client();
    c.send({ command: 'getTrackList', streamId: 'room1' });
    assert.equal(await c.next(), err('unauthorized_access', 'room1'));
    c.send({ command: 'getTrackList', streamId: 'room1', token: hashToken('room1', 'play', HASH_SECRET) });
    assert.deepEqual(await c.nextJson(), { command: 'trackList', streamId: 'room1', trackList: [] });
    const p = await client();
    p.send({ command: 'join', streamId: 'p2p1', mode: 'both', token: hashToken('p2p1', 'play', HASH_SECRET) });
    assert.equal(await p.next(), err('unauthorized_access', 'p2p1'));
    p.send({ command: 'join', streamId: 'p2p1', mode: 'both', token: hashToken('p2p1', 'publish', HASH_SECRET) });
    assert.equal((await p.nextJson()).definition, 'joined');
    p.send({ command: 'joinRoom', room: 'room1', streamId: 'me', mode: 'multitrack', token: hashToken('room1', 'publish', HASH_SECRET) });
    assert.deepEqual(await p.nextJson(), { command: 'notification', definition: 'joinedTheRoom', room: 'room1', streamId: 'me' });
  });

  test('pings and pongs pass through; the origin answers them, not the gate', async () => {
    const c = await client('OpenApp');
    const conn = origin.sockets.length;
    const pong = new Promise<string>((resolve) => c.ws.once('pong', (d: Buffer) => resolve(d.toString())));
    c.ws.ping('hello');
    assert.equal(await pong, 'hello');
    assert.ok(origin.pings.some((p) => p.conn === conn && p.data === 'hello'));
    const originPing = new Promise<string>((resolve) => c.ws.once('ping', (d: Buffer) => resolve(d.toString())));
    origin.sockets[conn - 1]!.ping('from-origin');
    assert.equal(await originPing, 'from-origin');
  });

  test('close codes and reasons propagate both ways; 1006 becomes 1001 towards the origin and 1011 towards the client', async () => {
    const closeOf = async (conn: number) => {
      await origin.until(() => origin.closes.some((x) => x.conn === conn));
      const x = origin.closes.find((y) => y.conn === conn)!;
      return { code: x.code, reason: x.reason };
    };
    let c = await client('OpenApp');
    c.ws.close(4000, 'bye');
    assert.deepEqual(await closeOf(origin.sockets.length), { code: 4000, reason: 'bye' });
    c = await client('OpenApp');
    c.send({ command: 'closeMe', code: 4001, reason: 'later' });
    assert.deepEqual(await c.closed, { code: 4001, reason: 'later' });
    c = await client('OpenApp');
    c.send({ command: 'dropMe' });
    assert.equal((await c.closed).code, 1011);
    c = await client('OpenApp');
    c.ws.terminate();
    assert.equal((await closeOf(origin.sockets.length)).code, 1001);
    c = await client('OpenApp');
    c.ws.close();
    assert.equal((await closeOf(origin.sockets.length)).code, 1005);
  });

  test('shutdown closes every relay with 1001 on both legs and does not wait for the drain timeout', async () => {
    const g = await startTestGate({ origin: { url: origin.url }, apps, shutdown: { drainTimeoutMs: 5000 } });
    const c = await connectClient(`${g.url.replace('http', 'ws')}/OpenApp/websocket`);
    const conn = await openOriginLeg(c, origin);
    assert.equal(g.wsGate.size, 1);
    const t0 = Date.now();
    await g.close();
    assert.ok(Date.now() - t0 < 2000, `close took ${Date.now() - t0} ms`);
    assert.deepEqual(await c.closed, { code: 1001, reason: 'server shutting down' });
    await origin.until(() => origin.closes.some((x) => x.conn === conn));
    assert.equal(origin.closes.find((x) => x.conn === conn)!.code, 1001);
    assert.equal(g.wsGate.size, 0);
  });

  test('an origin that refuses the handshake closes the client with 1014 and its status; gate refusals are precise', async () => {
    // The origin leg opens at the first forwarded frame, after the client was accepted.
    for (const status of [403, 404, 503]) {
      origin.refuseWith = { status, body: `no (${status})` };
      try {
        const c = await connectClient(ws('OpenApp'));
        c.send({ command: 'getStreamInfo', streamId: 's1' });
        assert.deepEqual(await c.closed, { code: 1014, reason: `origin refused the WebSocket: HTTP ${status}` });
      } finally {
        origin.refuseWith = null;
      }
    }
    await assert.rejects(connectClient(ws('NoSuchApp')), (e: HandshakeRefused) => e.status === 404 && e.body.includes('app_not_found'));
    await assert.rejects(connectClient(ws('OpenApp', 'other')), (e: HandshakeRefused) => e.status === 403);
    // Upgrades ws itself would choke on are answered 400 before any origin connection is made.
    const handshakes = origin.handshakes.length;
    const base = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };
    for (const headers of [{ ...base, 'sec-websocket-protocol': 'a b' }, { ...base, 'sec-websocket-protocol': 'a, a' }, { ...base, 'sec-websocket-key': 'short' }]) {
      const status = await new Promise<number>((resolve, reject) => {
        const r = http.request(`${gate.url}/OpenApp/websocket`, { headers });
        r.on('response', (res) => resolve(res.statusCode ?? 0));
        r.on('upgrade', () => reject(new Error('upgraded')));
        r.on('error', reject);
        r.end();
      });
      assert.equal(status, 400, JSON.stringify(headers));
    }
    assert.equal(origin.handshakes.length, handshakes);
    // Other Upgrade requests (curl --http2 sends `Upgrade: h2c`) are plain HTTP requests to the gate.
    const h2c = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const r = http.request(`${gate.url}/OpenApp/streams/s1.m3u8`, { headers: { connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAAQAoAAAAAIAAAAA' } });
      r.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      r.on('upgrade', () => reject(new Error('upgraded')));
      r.on('error', reject);
      r.end();
    });
    assert.deepEqual(h2c, { status: 200, body: 'origin' });
    const dead = await startTestGate({ origin: { url: 'http://127.0.0.1:9' }, apps });
    try {
      const c = await connectClient(`${dead.url.replace('http', 'ws')}/OpenApp/websocket`);
      c.send({ command: 'getStreamInfo', streamId: 's1' });
      assert.deepEqual(await c.closed, { code: 1014, reason: 'origin_unavailable' });
    } finally {
      await dead.close();
    }
  });

  test('accept undefined streams: store registrations, and the origin registry (200/404, cached) over WebSocket, WHIP and /verify', async () => {
    const store = sideStore();
    await store.registerStream('RegApp', { streamId: 'reg1', registeredAt: Date.now() });
    await store.close();
    const c = await client('RegApp');
    c.send({ command: 'publish', streamId: 'reg1' });
    assert.equal((await c.nextJson()).command, 'start');
    assert.equal((await c.nextJson()).definition, 'publish_started');
    c.send({ command: 'play', streamId: 'not-registered' }); // play is never subject to registration
    assert.equal((await c.nextJson()).definition, 'play_started');

    origin.broadcasts.add('OriginRegApp/known');
    const o = await client('OriginRegApp');
    o.send({ command: 'publish', streamId: 'known' });
    assert.equal((await o.nextJson()).command, 'start');
    await o.next();
    o.send({ command: 'publish', streamId: 'unknown' });
    assert.equal(await o.next(), err('not_allowed_unregistered_streams', 'unknown'));
    const calls = origin.restCalls.length;
    const whip = await request(`${gate.url}/OriginRegApp/whip/unknown`, { method: 'POST', body: 'v=0' });
    assert.equal(whip.statusCode, 403);
    assert.equal(((await whip.body.json()) as { reason: string }).reason, 'stream_not_registered');
    assert.equal(origin.restCalls.length, calls, 'the cached 404 answered');
    const ok = await request(`${gate.url}/OriginRegApp/whip/known`, { method: 'POST', body: 'v=0' });
    assert.equal(ok.statusCode, 200);
    assert.equal(await ok.body.text(), 'origin');
    const verify = await request(`${gate.url}/verify`, { headers: { 'x-original-uri': '/OriginRegApp/whip/other', 'x-original-method': 'POST' } });
    assert.equal(verify.statusCode, 403);
    await verify.body.dump();
    assert.ok(origin.restCalls.includes('/OriginRegApp/rest/v2/broadcasts/other'));
  });
});
