// Management API, stream registry and statistics endpoints, end to end (real gate, origin, Redis).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { startTestGate } from '../helpers/gate.js';
import type { RunningGate } from '../../src/server.js';
import { recordConnectionEvent } from '../../src/api/connection-events.js';
import { StreamMessage } from '../../src/api/streams.js';
import { call } from '../helpers/http.js';

const prefix = `sgtest-apistr-${process.pid}-${Date.now()}`;
const redisStore = { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } };

const apps = {
  RegApp: { publish: { acceptUndefinedStreams: false } },
  FwdApp: { rest: { forwardCreate: true } },
};


describe('management API: streams and statistics', () => {
  let origin: TestOrigin;
  let gate: RunningGate;
  let api: string;

  before(async () => {
    origin = await startTestOrigin();
    gate = await startTestGate({ origin: { url: origin.url }, store: redisStore, apps });
    api = `${gate.adminUrl}/RegApp/rest/v2/broadcasts`;
  });
  after(async () => {
    await gate.close();
    await origin.close();
  });

  test('POST /create registers a stream that may then be published (acceptUndefinedStreams: false)', async () => {
    const publish = () => call('POST', `${gate.url}/RegApp/whip/cam1`, 'v=0');
    const refused = await publish();
    assert.equal(refused.status, 403);
    assert.equal(refused.json().reason, 'stream_not_registered');

    const r = await call('POST', `${api}/create`, { streamId: 'cam1', name: 'Front door' });
    assert.equal(r.status, 200);
    const b = r.json();
    assert.equal(b.streamId, 'cam1');
    assert.equal(b.name, 'Front door');
    assert.ok(Math.abs(b.date - Date.now()) < 5000);
    assert.equal((await publish()).status, 200);

    const got = await call('GET', `${api}/cam1`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.json(), b);

    assert.deepEqual((await call('DELETE', `${api}/cam1`)).json(), { success: true, message: null, dataId: null, errorId: 0 });
    assert.equal((await call('DELETE', `${api}/cam1`)).json().success, false);
    assert.equal((await call('GET', `${api}/cam1`)).status, 404);
    assert.equal((await publish()).status, 403);
  });

  test('POST /create validation and generated ids', async () => {
    await call('POST', `${api}/create`, { streamId: 'taken' });
    const dup = await call('POST', `${api}/create`, { streamId: 'taken' });
    assert.equal(dup.status, 400);
    assert.deepEqual(dup.json(), { success: false, message: StreamMessage.inUse, dataId: null, errorId: 0 });
    for (const streamId of ['a b', 'a/b', '../x', 'x;y']) {
      const bad = await call('POST', `${api}/create`, { streamId });
      assert.equal(bad.status, 400, streamId);
      assert.equal(bad.json().message, StreamMessage.invalid, streamId);
    }
    // No id (or no body at all): a random alphanumeric one, as the original generates one.
    const gen = (await call('POST', `${api}/create`, { name: 'anon' })).json();
    assert.match(gen.streamId, /^[A-Za-z0-9]{20}$/);
    const empty = await request(`${api}/create`, { method: 'POST' });
    assert.equal(empty.statusCode, 200);
    assert.match(((await empty.body.json()) as { streamId: string }).streamId, /^[A-Za-z0-9]{20}$/);
    assert.equal((await call('GET', `${api}/bad%21id`)).status, 400);
  });

  test('rest.forwardCreate: the origin creates too, its answer is returned, the stream registered', async () => {
    origin.routes.set('/FwdApp/rest/v2/broadcasts/create', { body: JSON.stringify({ streamId: 'origin42', name: 'from origin', status: 'created' }), headers: { 'content-type': 'application/json' } });
    const before = origin.seen.length;
    const r = await call('POST', `${gate.adminUrl}/FwdApp/rest/v2/broadcasts/create`, { name: 'mine' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { streamId: 'origin42', name: 'from origin', status: 'created' });
    const sent = origin.seen.slice(before).find((s) => s.url === '/FwdApp/rest/v2/broadcasts/create')!;
    assert.equal(sent.method, 'POST');
    assert.deepEqual(JSON.parse(sent.body.toString()), { name: 'mine' });
    assert.equal((await gate.runtime.store.getStream('FwdApp', 'origin42'))?.name, 'from origin');

    // The origin refuses: nothing registered, its answer passed on.
    origin.routes.set('/FwdApp/rest/v2/broadcasts/create', { status: 400, body: '{"success":false}', headers: { 'content-type': 'application/json' } });
    const no = await call('POST', `${gate.adminUrl}/FwdApp/rest/v2/broadcasts/create`, { streamId: 'nope1' });
    assert.equal(no.status, 400);
    assert.equal(await gate.runtime.store.getStream('FwdApp', 'nope1'), null);
  });

  test('connection-events pages and filters what recordConnectionEvent wrote; subscriber-stats groups it', async () => {
    const t0 = Date.now() - 10_000;
    const deps = { store: gate.runtime.store, log: gate.runtime.log };
    await recordConnectionEvent(deps, 'RegApp', { streamId: 'live1', subscriberId: 'user1', type: 'play', eventType: 'connected', eventProtocol: 'hls', timestamp: t0 });
    await recordConnectionEvent(deps, 'RegApp', { streamId: 'live1', subscriberId: 'user2', type: 'play', eventType: 'connected', eventProtocol: 'dash', timestamp: t0 + 1 });
    await recordConnectionEvent(deps, 'RegApp', { streamId: 'live1', subscriberId: 'user1', type: 'play', eventType: 'disconnected', eventProtocol: 'hls', timestamp: t0 + 2 });
    await recordConnectionEvent(deps, 'RegApp', { streamId: 'other', subscriberId: 'user1', type: 'play', eventType: 'connected', eventProtocol: 'hls', timestamp: t0 + 3 });

    const all = (await call('GET', `${api}/live1/connection-events/0/50`)).json();
    assert.equal(all.length, 3);
    assert.deepEqual(Object.keys(all[0]).sort(), ['eventProtocol', 'eventType', 'instanceIP', 'streamId', 'subscriberId', 'timestamp', 'type']);
    assert.deepEqual(all.map((e: { eventType: string }) => e.eventType), ['connected', 'connected', 'disconnected']);
    assert.ok(typeof all[0].instanceIP === 'string' && all[0].instanceIP.length > 0);
    const user1 = (await call('GET', `${api}/live1/connection-events/0/50?subscriberId=user1`)).json();
    assert.deepEqual(user1.map((e: { timestamp: number }) => e.timestamp), [t0, t0 + 2]);
    assert.equal((await call('GET', `${api}/live1/connection-events/2/1`)).json()[0].timestamp, t0 + 2);
    assert.equal((await call('GET', `${api}/live1/connection-events/0/z`)).status, 400);

    await call('POST', `${api}/live1/subscribers`, { subscriberId: 'user1', b32Secret: 'JBSWY3DPEHPK3PXP' });
    const stats = (await call('GET', `${api}/live1/subscriber-stats/list/0/10`)).json();
    assert.equal(stats.length, 1);
    assert.equal(stats[0].subscriberId, 'user1');
    assert.equal(stats[0].streamId, 'live1');
    assert.equal(stats[0].connectionEvents.length, 2);
    assert.equal(stats[0].avgVideoBitrate, 0);
  });

  test('recordConnectionEvent never rejects when the store is down', async () => {
    const down = await startTestGate({ store: { type: 'redis', redis: { url: 'redis://127.0.0.1:1', commandTimeoutMs: 200 } }, apps });
    try {
      await recordConnectionEvent({ store: down.runtime.store, log: down.runtime.log }, 'RegApp', { streamId: 's', type: 'play', eventType: 'connected', eventProtocol: 'hls' });
      const r = await call('GET', `${down.adminUrl}/RegApp/rest/v2/broadcasts/s/connection-events/0/10`);
      assert.equal(r.status, 503);
    } finally {
      await down.close();
    }
  });
});
