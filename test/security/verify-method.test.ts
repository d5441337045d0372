// Defends against the /verify method bypass: with play protected and publish open (Ant Media's
// default), `/verify` derived the role from X-Original-Method alone, so a `PUT` or `POST` of a
// playlist or segment was judged as an (open) publish and allowed — behind nginx `auth_request` the
// write then reached the origin — while the proxy door refused it with 405. Both doors now resolve
// the request through one target table. Here a real nginx asks /verify in front of the origin.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { haveNginx, startAuthRequestNginx, type AuthRequestNginx } from '../helpers/nginx.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';

const apps = { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } } } };

describe('writes to media files through nginx auth_request', { skip: haveNginx() ? false : 'nginx not installed' }, () => {
  let origin: TestOrigin;
  let gate: RunningGate;
  let nginx: AuthRequestNginx;
  before(async () => {
    origin = await startTestOrigin();
    gate = await startTestGate({ apps });
    nginx = await startAuthRequestNginx(gate.url, origin.url);
  });
  after(async () => {
    await nginx.close();
    await gate.close();
    await origin.close();
  });

  test('PUT, POST, DELETE and PATCH of a playlist or segment are refused and never reach the origin', async () => {
    const hash = hashToken('stream1', 'play', HASH_SECRET);
    for (const method of ['PUT', 'POST', 'DELETE', 'PATCH']) {
      for (const path of ['/LiveApp/streams/stream1.m3u8', '/LiveApp/streams/stream1000000001.ts', `/LiveApp/streams/stream1.m3u8?token=${hash}`]) {
        const before = origin.seen.length;
        const r = await request(`${nginx.url}${path}`, { method: method as 'PUT', body: '#EXTM3U\n' });
        assert.equal(r.statusCode, 403, `${method} ${path}`);
        await r.body.dump();
        assert.equal(origin.seen.length, before, `${method} ${path} reached the origin`);
      }
    }
  });

  test('reads still work, and publishing (open) still reaches the origin', async () => {
    const hash = hashToken('stream1', 'play', HASH_SECRET);
    const get = await request(`${nginx.url}/LiveApp/streams/stream1000000001.ts?token=${hash}`);
    assert.equal(get.statusCode, 200);
    await get.body.dump();
    const whip = await request(`${nginx.url}/LiveApp/whip/cam1`, { method: 'POST', body: 'v=0' });
    assert.equal(whip.statusCode, 200);
    await whip.body.dump();
    assert.equal(origin.seen.at(-1)?.url, '/LiveApp/whip/cam1');
  });
});
