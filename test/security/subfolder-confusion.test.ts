// Defends against stream-id confusion through folder names (Ant Media's `subFolder` layout): a
// credential for a stream named like a folder must not open the other streams written into that
// folder, through the proxy or /verify. Ant Media's own parser mapped any `.m3u8`-less file in a
// folder by file name but any `.m4s`/`.mpd` by folder (reference §1.1 rule 2); our earlier grammar
// mapped every file in `streams/<f>/` to stream `<f>`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { startTestGate, HASH_SECRET, JWT_SECRET } from '../helpers/gate.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { call } from '../helpers/http.js';

const apps = { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: JWT_SECRET } } } };
const hash = (streamId: string) => hashToken(streamId, 'play', HASH_SECRET);

describe('a credential for a stream named like a folder opens nothing else in it', () => {
  let origin: TestOrigin;
  let gate: RunningGate;
  before(async () => {
    origin = await startTestOrigin();
    gate = await startTestGate({ origin: { url: origin.url }, apps, session: { enabled: false } });
  });
  after(async () => {
    await gate.close();
    await origin.close();
  });

  const otherFiles = ['folder/other.m3u8', 'folder/other000000001.ts', 'folder/other_240p000000001.ts', 'folder/other.mp4', 'folder/other.mp3', 'folder/sub/other.m3u8', 'folder/ll-hls/other.m3u8'];

  test('proxy: refused with the folder stream’s hash or JWT; the file’s own stream plays', async () => {
    const jwt = await mintStreamJwt(JWT_SECRET, { streamId: 'folder', type: 'play', exp: Math.floor(Date.now() / 1000) + 600 });
    for (const file of otherFiles) {
      for (const token of [hash('folder'), jwt]) {
        const r = await call('GET', `${gate.url}/LiveApp/streams/${file}?token=${token}`);
        assert.equal(r.status, 401, file);
        assert.match(r.json().reason, /^token_(invalid|wrong_stream)$/, file);
      }
      assert.equal((await call('GET', `${gate.url}/LiveApp/streams/${file}?token=${hash('other')}`)).status, 200, file);
    }
    // The folder's own files still open with its credential: its HLS in the subFolder and its DASH folder.
    for (const file of ['folder/folder.m3u8', 'folder/folder000000001.ts', 'folder/folder.mpd', 'folder/init_0.m4s', 'x/folder/folder.mpd']) {
      assert.equal((await call('GET', `${gate.url}/LiveApp/streams/${file}?token=${hash('folder')}`)).status, 200, file);
    }
  });

  test('/verify answers the same', async () => {
    for (const file of otherFiles) {
      const r = await call('GET', `${gate.url}/verify`, undefined, { 'x-original-uri': `/LiveApp/streams/${file}?token=${hash('folder')}` });
      assert.equal(r.status, 401, file);
      const own = await call('GET', `${gate.url}/verify`, undefined, { 'x-original-uri': `/LiveApp/streams/${file}?token=${hash('other')}` });
      assert.equal(own.status, 200, file);
      assert.equal(own.headers['x-streamgate-stream'], 'other');
    }
  });
});
