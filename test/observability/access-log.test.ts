// The access log and the RED metrics of the public listener: one JSON line per request with the
// canonical path (never the query), status, bytes, duration, door, decision reason, request id and
// trace id; requests, durations and in-flight counts per door on /metrics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGate, HASH_SECRET, JWT_SECRET } from '../helpers/gate.js';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { connectClient, openOriginLeg, HandshakeRefused, startTestWsOrigin } from '../helpers/ws-origin.js';
import { captureLogs, sample, until } from '../helpers/logs.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';

const apps = { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: JWT_SECRET } } } };
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const get = async (url: string, headers: Record<string, string> = {}) => {
  const r = await fetch(url, { headers });
  const body = Buffer.from(await r.arrayBuffer());
  return { status: r.status, requestId: r.headers.get('x-request-id'), bytes: body.length };
};

describe('access log and request metrics', () => {
  let origin: TestOrigin;
  before(async () => {
    origin = await startTestOrigin();
  });
  after(async () => origin.close());

  test('one line per request: canonical path without query, status, bytes, duration, door, reason, request id, trace id — and no credential', async () => {
    const logs = captureLogs();
    const gate = await startTestGate({ origin: { url: origin.url }, trustedProxies: ['127.0.0.1/32'], apps }, { log: logs.log });
    try {
      const hash = hashToken('stream1', 'play', HASH_SECRET);
      const jwt = await mintStreamJwt(JWT_SECRET, { streamId: 'stream1', type: 'play', exp: Math.floor(Date.now() / 1000) + 60 });
      // From a trusted proxy (loopback is trusted by default): its X-Request-Id is kept.
      const allowed = await get(`${gate.url}/LiveApp/streams/./x/../stream1.mp4?token=${hash}&subscriberCode=123456`, { 'x-request-id': 'edge-42', traceparent: TRACEPARENT });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.requestId, 'edge-42');
      const denied = await get(`${gate.url}/LiveApp/streams/stream10.m3u8?token=${jwt}`);
      assert.equal(denied.status, 401);
      assert.match(denied.requestId ?? '', UUID);
      const verify = await get(`${gate.url}/verify?role=play`, { 'x-original-uri': `/LiveApp/streams/stream1.m3u8?token=${jwt}` });
      assert.equal(verify.status, 200);
      // Selected by request id: the loopback port may also see strays from other processes' tests.
      const ids = [allowed.requestId, denied.requestId, verify.requestId];
      const mine = () => logs.withMsg('request').filter((l) => ids.includes(l.requestId as string));
      await until(() => mine().length === 3, 2000);

      const [a, d, v] = mine();
      assert.equal(a!.door, 'proxy');
      assert.equal(a!.method, 'GET');
      assert.equal(a!.path, '/LiveApp/streams/stream1.mp4');
      assert.equal(a!.status, 200);
      assert.ok(Number(a!.bytes) > allowed.bytes, `bytes on the wire (${String(a!.bytes)}) include the ${allowed.bytes}-byte body and the headers`);
      assert.equal(typeof a!.durationMs, 'number');
      assert.deepEqual([a!.reason, a!.via, a!.app, a!.stream], ['ok', 'hash', 'LiveApp', 'stream1']);
      assert.equal(a!.requestId, 'edge-42');
      assert.equal(a!.traceId, TRACE_ID);
      assert.equal(a!.ip, '127.0.0.1');
      assert.equal(a!.level, 30);

      assert.deepEqual([d!.door, d!.path, d!.status, d!.reason, d!.via], ['proxy', '/LiveApp/streams/stream10.m3u8', 401, 'token_wrong_stream', 'none']);
      assert.equal(d!.requestId, denied.requestId);
      assert.equal(d!.traceId, undefined);
      assert.deepEqual([v!.door, v!.path, v!.status, v!.reason, v!.via, v!.stream], ['verify', '/verify', 200, 'ok', 'jwt', 'stream1']);

      // The origin got the request id with the request.
      const seen = origin.seen.find((s) => s.url.startsWith('/LiveApp/streams/stream1.mp4'))!;
      assert.equal(seen.headers['x-request-id'], 'edge-42');
      assert.equal(seen.headers.traceparent, TRACEPARENT);

      const text = logs.text();
      for (const secret of [hash, jwt, jwt.split('.')[2]!, '123456', 'subscriberCode', 'token=', HASH_SECRET, JWT_SECRET]) assert.ok(!text.includes(secret), `"${secret}" reached the log`);
    } finally {
      await gate.close();
    }
  });

  test('X-Request-Id from an untrusted peer, or malformed, is replaced by a fresh id (also towards the origin)', async () => {
    const logs = captureLogs();
    const gate = await startTestGate({ origin: { url: origin.url }, trustedProxies: [], apps: { LiveApp: {} } }, { log: logs.log });
    try {
      const r = await get(`${gate.url}/LiveApp/streams/untrusted.mp4`, { 'x-request-id': 'forged-by-client' });
      assert.equal(r.status, 200);
      assert.match(r.requestId ?? '', UUID);
      assert.equal(origin.seen.find((s) => s.url === '/LiveApp/streams/untrusted.mp4')!.headers['x-request-id'], r.requestId);
      assert.ok(await until(() => logs.withMsg('request').some((l) => l.requestId === r.requestId && l.path === '/LiveApp/streams/untrusted.mp4'), 2000));
    } finally {
      await gate.close();
    }
    const trusted = await startTestGate({ origin: { url: origin.url }, apps: { LiveApp: {} } });
    try {
      const r = await get(`${trusted.url}/LiveApp/streams/a.mp4`, { 'x-request-id': 'bad id\twith "quotes"' });
      assert.match(r.requestId ?? '', UUID);
    } finally {
      await trusted.close();
    }
  });

  test('log.access: sampleRate 0 keeps only 4xx/5xx lines; enabled false writes none; metrics count every request either way', async () => {
    for (const access of [{ sampleRate: 0 }, false] as const) {
      const logs = captureLogs();
      const gate = await startTestGate({ origin: { url: origin.url }, apps, log: { access } }, { log: logs.log });
      try {
        for (let i = 0; i < 3; i++) assert.equal((await get(`${gate.url}/LiveApp/streams/stream1.mp4?token=${hashToken('stream1', 'play', HASH_SECRET)}`)).status, 200);
        assert.equal((await get(`${gate.url}/LiveApp/streams/stream1.mp4`)).status, 401);
        await new Promise((r) => setTimeout(r, 100));
        const lines = logs.withMsg('request').filter((l) => l.path === '/LiveApp/streams/stream1.mp4');
        if (access === false) assert.equal(lines.length, 0);
        else assert.deepEqual(lines.map((l) => [l.status, l.reason]), [[401, 'token_missing']]);
        const text = await (await fetch(`${gate.adminUrl}/metrics`)).text();
        assert.equal(sample(text, 'streamgate_http_requests_total', { door: 'proxy', code: '200' }), 3);
        assert.equal(sample(text, 'streamgate_http_requests_total', { door: 'proxy', code: '401' }), 1);
      } finally {
        await gate.close();
      }
    }
  });

  test('RED per door: requests by code, duration histogram, in-flight gauge while a slow response is open', async () => {
    origin.routes.set('/LiveApp/streams/slow.mp4', { delayMs: 600 });
    const gate = await startTestGate({ origin: { url: origin.url }, apps: { LiveApp: {} } });
    const scrape = async () => (await fetch(`${gate.adminUrl}/metrics`)).text();
    try {
      const slow = get(`${gate.url}/LiveApp/streams/slow.mp4`);
      assert.ok(await until(async () => sample(await scrape(), 'streamgate_http_requests_in_flight', { door: 'proxy' }) === 1, 2000), 'in-flight never 1');
      assert.equal((await slow).status, 200);
      assert.equal((await get(`${gate.url}/verify`)).status, 403); // no X-Original-URI
      assert.equal((await get(`${gate.url}/NoSuchApp/streams/x.m3u8`)).status, 404);
      const text = await scrape();
      assert.equal(sample(text, 'streamgate_http_requests_in_flight', { door: 'proxy' }), 0);
      assert.equal(sample(text, 'streamgate_http_requests_total', { door: 'proxy', code: '200' }), 1);
      assert.equal(sample(text, 'streamgate_http_requests_total', { door: 'proxy', code: '404' }), 1);
      assert.equal(sample(text, 'streamgate_http_requests_total', { door: 'verify', code: '403' }), 1);
      assert.equal(sample(text, 'streamgate_http_request_duration_seconds_count', { door: 'proxy' }), 2);
      // The slow one (≥ 0.6 s) is above the 0.5 s bucket, the 404 below it.
      assert.equal(sample(text, 'streamgate_http_request_duration_seconds_bucket', { door: 'proxy', le: '0.5' }), 1);
      assert.equal(sample(text, 'streamgate_build_info', { version: JSON.parse((await import('node:fs')).readFileSync('package.json', 'utf8')).version, node: process.versions.node }), 1);
    } finally {
      await gate.close();
    }
  });

  test('WebSocket door: the handshake answer (101 or the refusal and its reason) is logged and counted', async () => {
    const wsOrigin = await startTestWsOrigin();
    const logs = captureLogs();
    const gate = await startTestGate({ origin: { url: wsOrigin.url }, apps: { LiveApp: {} } }, { log: logs.log });
    try {
      const wsUrl = gate.url.replace('http', 'ws');
      const c = await connectClient(`${wsUrl}/LiveApp/websocket?token=secret-ws-token`, { headers: { traceparent: TRACEPARENT } });
      await openOriginLeg(c, wsOrigin); // the origin leg opens with the first forwarded frame
      await assert.rejects(connectClient(`${wsUrl}/NoApp/websocket`), (e: unknown) => e instanceof HandshakeRefused && e.status === 404);
      c.ws.close();
      await c.closed;
      const ws = () => logs.withMsg('request').filter((l) => l.door === 'websocket');
      await until(() => ws().length === 2, 2000);
      const [ok, refused] = ws();
      assert.deepEqual([ok!.door, ok!.status, ok!.path, ok!.traceId], ['websocket', 101, '/LiveApp/websocket', TRACE_ID]);
      // The origin's handshake got the same request id and the trace context.
      const shake = wsOrigin.handshakes.find((h) => h.url.startsWith('/LiveApp/websocket'))!;
      assert.equal(shake.headers['x-request-id'], ok!.requestId);
      assert.match(String(ok!.requestId), UUID);
      assert.equal(shake.headers.traceparent, TRACEPARENT);
      assert.deepEqual([refused!.door, refused!.status, refused!.reason], ['websocket', 404, 'app_not_found']);
      assert.ok(!logs.text().includes('secret-ws-token'));
      const text = await (await fetch(`${gate.adminUrl}/metrics`)).text();
      assert.equal(sample(text, 'streamgate_http_requests_total', { door: 'websocket', code: '101' }), 1);
      assert.equal(sample(text, 'streamgate_http_requests_total', { door: 'websocket', code: '404' }), 1);
      assert.equal(sample(text, 'streamgate_http_requests_in_flight', { door: 'websocket' }), 0);
    } finally {
      await gate.close();
      await wsOrigin.close();
    }
  });
});
