// Defends against dot-only stream ids (`.`, `..`, `...`) and other non-ids reaching the origin as a
// stream to create or serve. Ant Media's StreamIdValidator alphabet `[A-Za-z0-9_.-]+` admits `..`,
// and an origin that builds paths from the id (`streams/<id>/…`, `streams/<id>.m3u8`) would then
// write into or read from the streams folder itself or its parent. Publishing is open by default,
// so the refusal cannot depend on a credential: every door refuses the id itself.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, request } from 'undici';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { connectClient, startTestWsOrigin, type TestWsOrigin } from '../helpers/ws-origin.js';
import type { RunningGate } from '../../src/server.js';
import { isStreamId } from '../../src/request/stream-path.js';

const apps = { OpenApp: {}, LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } }, publish: { hash: { enabled: true, secret: HASH_SECRET } } } };

test('isStreamId refuses ids made of dots only and anything outside the alphabet', () => {
  for (const id of ['.', '..', '...', '', 'a/b', 'a b', 'a%2e', 'ü', 'a\\b']) assert.equal(isStreamId(id), false, JSON.stringify(id));
  for (const id of ['stream1', 's.1', '.hidden', 'a..b', 'x-y_z', '_']) assert.equal(isStreamId(id), true, id);
});

describe('dot-only stream ids at every door', () => {
  let origin: TestOrigin;
  let wsOrigin: TestWsOrigin;
  let gate: RunningGate;
  let wsGate: RunningGate;
  before(async () => {
    origin = await startTestOrigin();
    wsOrigin = await startTestWsOrigin();
    gate = await startTestGate({ origin: { url: origin.url }, apps });
    wsGate = await startTestGate({ origin: { url: wsOrigin.url }, apps, ws: { maxRefusals: 1000 } });
  });
  after(async () => {
    await gate.close();
    await wsGate.close();
    await origin.close();
    await wsOrigin.close();
  });

  // [method, path, proxy status, reason]; `..` as a whole segment never survives canonicalization.
  const http: [string, string, number, string][] = [
    ['POST', '/OpenApp/whip/...', 400, 'stream_unrecognized'],
    ['POST', '/OpenApp/whip/.', 400, 'path_invalid'],
    ['POST', '/OpenApp/whip/..', 400, 'path_invalid'],
    ['PUT', '/OpenApp/chunked/.../part.ts', 400, 'stream_unrecognized'],
    ['PUT', '/OpenApp/hls-upload/..000000001.ts', 400, 'stream_unrecognized'],
    ['GET', '/LiveApp/streams/..m3u8', 400, 'stream_unrecognized'],
    ['GET', '/LiveApp/streams/...m3u8', 400, 'stream_unrecognized'],
    ['GET', '/LiveApp/streams/.../x.mpd', 400, 'stream_unrecognized'],
    ['GET', '/LiveApp/streams/ll-hls/../x.m3u8', 400, 'path_invalid'],
  ];

  test('proxy: 400 and the origin never sees the request', async () => {
    for (const [method, path, status, reason] of http) {
      const before = origin.seen.length;
      // A raw request-target: WHATWG URL parsing would resolve the dot segments before sending.
      const client = new Client(gate.url);
      const r = await client.request({ path, method: method as 'GET', body: method === 'GET' ? undefined : 'x' });
      assert.equal(r.statusCode, status, `${method} ${path}`);
      assert.equal(((await r.body.json()) as { reason: string }).reason, reason, `${method} ${path}`);
      assert.equal(origin.seen.length, before, `${method} ${path}`);
      await client.close();
    }
  });

  test('/verify: 403 with the same reason (nginx turns a 400 into a 500)', async () => {
    for (const [method, path, , reason] of http) {
      const r = await request(`${gate.url}/verify`, { headers: { 'x-original-uri': path, 'x-original-method': method } });
      assert.equal(r.statusCode, 403, `${method} ${path}`);
      assert.equal(((await r.body.json()) as { reason: string }).reason, reason, `${method} ${path}`);
    }
  });

  test('WebSocket: publish and play of a dot-only id get invalidStreamName and never reach the origin', async () => {
    const c = await connectClient(`${wsGate.url.replace('http', 'ws')}/OpenApp/websocket`);
    try {
      for (const command of ['publish', 'play']) {
        for (const streamId of ['.', '..', '...']) {
          c.send({ command, streamId });
          assert.deepEqual(await c.nextJson(), { command: 'error', definition: 'invalidStreamName', streamId }, `${command} ${streamId}`);
        }
      }
      assert.equal(wsOrigin.framesOf('publish').length + wsOrigin.framesOf('play').length, 0);
      // A legal id on the same socket still works (the refusals did not poison the connection).
      c.send({ command: 'publish', streamId: 'cam.1' });
      assert.deepEqual(await c.nextJson(), { command: 'start', streamId: 'cam.1' });
    } finally {
      c.ws.terminate();
    }
  });
});
