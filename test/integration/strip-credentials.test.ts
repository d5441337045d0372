// origin.stripCredentials means one thing on every authorized media request: rewritten manifests,
// segments, whole files, ingest and the WebSocket upgrade. true (default): the origin never sees
// token/subscriberId/subscriberCode/roomId; false: it sees them everywhere (for an origin that checks
// them too). The playback grant is the gate's own and never reaches the origin either way.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { startTestWsOrigin, connectClient, openOriginLeg, type TestWsOrigin } from '../helpers/ws-origin.js';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { call } from '../helpers/http.js';

const apps = {
  LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } }, publish: { hash: { enabled: true, secret: HASH_SECRET } } },
};
const PLAYLIST = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nstream1000000001.ts\n';
const play = hashToken('stream1', 'play', HASH_SECRET);
const publish = hashToken('cam1', 'publish', HASH_SECRET);

for (const strip of [true, false]) {
  describe(`origin.stripCredentials: ${strip}`, () => {
    let origin: TestOrigin;
    let wsOrigin: TestWsOrigin;
    let gate: RunningGate;
    let wsGate: RunningGate;
    /** What the origin saw of the last request (path and query). */
    const lastSeen = () => origin.seen.at(-1)!.url;

    before(async () => {
      origin = await startTestOrigin();
      origin.routes.set('/LiveApp/streams/stream1.m3u8', { body: PLAYLIST, headers: { 'content-type': 'application/vnd.apple.mpegurl' } });
      gate = await startTestGate({ origin: { url: origin.url, stripCredentials: strip }, apps });
      wsOrigin = await startTestWsOrigin();
      wsGate = await startTestGate({ origin: { url: wsOrigin.url, stripCredentials: strip }, apps });
    });
    after(async () => {
      await gate.close();
      await wsGate.close();
      await origin.close();
      await wsOrigin.close();
    });

    test('a rewritten manifest: the origin sees the credential only when stripCredentials is false', async () => {
      const r = await call('GET', `${gate.url}/LiveApp/streams/stream1.m3u8?token=${play}&subscriberId=u1&keep=1`);
      assert.equal(r.status, 200);
      assert.match(r.text, /stream1000000001\.ts\?sg=/, 'the manifest was rewritten');
      assert.equal(lastSeen(), strip ? '/LiveApp/streams/stream1.m3u8?keep=1' : `/LiveApp/streams/stream1.m3u8?token=${play}&subscriberId=u1&keep=1`);
      // The segment URI the player follows carries the grant, which the origin never sees.
      const segment = /^(stream1000000001\.ts\?sg=[^\s]+)$/m.exec(r.text)![1]!;
      assert.equal((await call('GET', `${gate.url}/LiveApp/streams/${segment}`)).status, 200);
      assert.equal(lastSeen(), '/LiveApp/streams/stream1000000001.ts');
    });

    test('segments and whole files follow the same rule', async () => {
      assert.equal((await call('GET', `${gate.url}/LiveApp/streams/stream1000000002.ts?token=${play}&keep=1`)).status, 200);
      assert.equal(lastSeen(), strip ? '/LiveApp/streams/stream1000000002.ts?keep=1' : `/LiveApp/streams/stream1000000002.ts?token=${play}&keep=1`);
      assert.equal((await call('GET', `${gate.url}/LiveApp/streams/stream1.mp4?token=${play}`)).status, 200);
      assert.equal(lastSeen(), strip ? '/LiveApp/streams/stream1.mp4' : `/LiveApp/streams/stream1.mp4?token=${play}`);
      // A grant next to a token: the grant goes whatever the setting.
      assert.equal((await call('GET', `${gate.url}/LiveApp/streams/stream1000000003.ts?token=${play}&sg=x.y`)).status, 401);
    });

    test('ingest (WHIP) follows the same rule', async () => {
      assert.equal((await call('POST', `${gate.url}/LiveApp/whip/cam1?token=${publish}`, 'v=0')).status, 200);
      assert.equal(lastSeen(), strip ? '/LiveApp/whip/cam1' : `/LiveApp/whip/cam1?token=${publish}`);
    });

    test('the WebSocket upgrade follows the same rule; the grant never goes', async () => {
      const client = await connectClient(`${wsGate.url.replace('http', 'ws')}/LiveApp/websocket?token=${play}&sg=g&x=1`);
      await openOriginLeg(client, wsOrigin); // the origin leg opens with the first forwarded frame
      client.ws.close();
      await client.closed;
      assert.equal(wsOrigin.handshakes.at(-1)!.url, strip ? '/LiveApp/websocket?x=1' : `/LiveApp/websocket?token=${play}&x=1`);
    });
  });
}
