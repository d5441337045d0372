// HTTP playback sessions end visibly: a session whose manifest refreshes stop gets a `disconnected`
// connection event after its grant's expiry plus grace, written once by whichever replica sweeps
// first. Real gates (two replicas on one Redis), real origin; sweeps are driven with a future clock
// instead of waiting a minute.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { antmediaDerivedKey, totpCode } from '../../src/checks/totp-subscriber.js';
import { call } from '../helpers/http.js';
import { fetchUrl, fromAddress } from '../helpers/player.js';

const prefix = `sgtest-ends-${process.pid}-${Date.now()}`;
const TOTP_SECRET = 'app-totp-secret-for-ends';
const config = (url: string) => ({
  origin: { url },
  store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } },
  session: { secrets: ['a-shared-grant-secret-of-32-chars-at-least!'], ttlSeconds: 30 },
  apps: {
    LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } } },
    SubApp: { play: { totp: { enabled: true, secret: TOTP_SECRET } } },
  },
});
const PLAYLIST = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg000000001.ts\n';
const HOUR = 3600_000;

interface Event {
  eventType: string;
  eventProtocol: string;
  streamId: string;
  subscriberId: string | null;
  type: string;
  timestamp: number;
}

describe('disconnected events for HTTP playback sessions', () => {
  let origin: TestOrigin;
  let gates: RunningGate[];
  const events = async (app: string, stream: string): Promise<Event[]> => (await call('GET', `${gates[0]!.adminUrl}/${app}/rest/v2/broadcasts/${stream}/connection-events/0/50`)).json();
  const grantOf = (body: string) => /\?sg=([^\s&]+)/.exec(body)![1]!;
  const expiryMs = (gate: RunningGate, grant: string) => {
    const v = gate.runtime.sessions.codec.verify(grant, Math.floor(Date.now() / 1000));
    assert.ok(v.ok);
    return v.grant.expiresAt * 1000;
  };
  const flushAll = () => Promise.all(gates.map((g) => g.runtime.playbackEnds.flush()));
  const sweepAll = async (at: number) => (await Promise.all(gates.map((g) => g.runtime.playbackEnds.sweep(at)))).reduce((a, b) => a + b, 0);

  before(async () => {
    origin = await startTestOrigin();
    for (const stream of ['stream1', 'stream2', 'stream3', 'cam']) origin.routes.set(`/LiveApp/streams/${stream}.m3u8`, { body: PLAYLIST });
    origin.routes.set('/SubApp/streams/stream1.m3u8', { body: PLAYLIST });
    gates = [await startTestGate(config(origin.url)), await startTestGate(config(origin.url))];
  });
  after(async () => {
    for (const g of gates) await g.close();
    await origin.close();
  });

  test('a session started on one replica and renewed on the other ends once, when its last grant lapses', async () => {
    const first = await call('GET', `${gates[0]!.url}/LiveApp/streams/stream1.m3u8?token=${hashToken('stream1', 'play', HASH_SECRET)}`);
    assert.equal(first.status, 200);
    const renewed = await call('GET', `${gates[1]!.url}/LiveApp/streams/stream1.m3u8?sg=${grantOf(first.text)}`);
    assert.equal(renewed.status, 200);
    const lapse = expiryMs(gates[1]!, grantOf(renewed.text));
    await flushAll();

    // Still refreshing within its grant plus grace: not ended.
    assert.equal(await sweepAll(lapse + 9_000), 0);
    assert.deepEqual((await events('LiveApp', 'stream1')).map((e) => e.eventType), ['connected']);

    // Both replicas sweep at once; exactly one reports it.
    assert.equal(await sweepAll(lapse + 10_000), 1);
    assert.equal(await sweepAll(lapse + HOUR), 0);
    const [connected, disconnected] = await events('LiveApp', 'stream1');
    assert.deepEqual({ ...disconnected, timestamp: 0, instanceIP: undefined }, { ...connected, eventType: 'disconnected', timestamp: 0, instanceIP: undefined });
    assert.equal(disconnected!.eventProtocol, 'hls');
    assert.equal(disconnected!.timestamp, lapse, 'timestamped when the last grant lapsed');
    assert.ok(disconnected!.timestamp > connected!.timestamp);
  });

  test('subscriber sessions carry the subscriber id; each of two sessions ends on its own', async () => {
    const code = () => totpCode(antmediaDerivedKey(TOTP_SECRET, 'viewer1', 'stream1', 'play'), 60, Date.now());
    const a = await call('GET', `${gates[0]!.url}/SubApp/streams/stream1.m3u8?subscriberId=viewer1&subscriberCode=${code()}`);
    // A second viewer (another client: the same client re-sending its code would continue its session).
    const b = await fetchUrl(`${gates[1]!.url}/SubApp/streams/stream1.m3u8?subscriberId=viewer1&subscriberCode=${code()}`, {}, fromAddress('127.0.0.2'));
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    await flushAll();
    assert.equal(await sweepAll(Date.now() + HOUR), 2);
    const list = await events('SubApp', 'stream1');
    assert.deepEqual(list.map((e) => [e.eventType, e.subscriberId]), [
      ['connected', 'viewer1'],
      ['connected', 'viewer1'],
      ['disconnected', 'viewer1'],
      ['disconnected', 'viewer1'],
    ]);
  });

  test('a replica that shuts down hands its sessions over: another reports their end', async () => {
    const leaving = await startTestGate(config(origin.url));
    const r = await call('GET', `${leaving.url}/LiveApp/streams/stream3.m3u8?token=${hashToken('stream3', 'play', HASH_SECRET)}`);
    assert.equal(r.status, 200);
    await leaving.close(); // no explicit flush: close() writes what is pending
    assert.equal(await sweepAll(Date.now() + HOUR), 1);
    assert.deepEqual((await events('LiveApp', 'stream3')).map((e) => e.eventType), ['connected', 'disconnected']);
  });

  test('a segment request (no session) records nothing; whole files and DASH record their protocol', async () => {
    const token = hashToken('stream2', 'play', HASH_SECRET);
    assert.equal((await call('GET', `${gates[0]!.url}/LiveApp/streams/stream2000000001.ts?token=${token}`)).status, 200);
    assert.equal((await call('GET', `${gates[0]!.url}/LiveApp/streams/stream2.mp4?token=${token}`)).status, 200);
    await flushAll();
    assert.equal(await sweepAll(Date.now() + HOUR), 1);
    assert.deepEqual((await events('LiveApp', 'stream2')).map((e) => [e.eventType, e.eventProtocol]), [
      ['connected', 'http'],
      ['disconnected', 'http'],
    ]);
  });
});
