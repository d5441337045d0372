// A leaked segment URL of a registered subscriber's playback (CDN or proxy logs, Referer) must open
// nothing from another address. Before: its media grant played from anywhere, and refreshing a
// playlist with it (in the URL or as the stream's cookie) renewed it, and the subscriber's session
// with it, until maxLifetimeSeconds — so the real subscriber, limited to one viewer, was locked out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSampleOrigin, type SampleOrigin } from '../../src/demo/sample-origin.js';
import { startTestGate } from '../helpers/gate.js';
import { fetchUrl, fromAddress, hlsUris } from '../helpers/player.js';
import type { RunningGate } from '../../src/server.js';
import { totpCode } from '../../src/checks/totp-subscriber.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';

const prefix = `sgleak-${process.pid}-${Date.now()}`;
/** The subscriber's TOTP key and its base32 form, as registered through the REST API. */
const KEY = Buffer.from('abcdefghijklmnopqrst', 'utf8');
const B32 = 'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U';

describe("a registered subscriber's leaked segment URL", () => {
  let origin: SampleOrigin;
  let gate: RunningGate;
  let store: Store;

  before(async () => {
    origin = await startSampleOrigin({ apps: ['SubApp'] });
    gate = await startTestGate({
      origin: { url: origin.url },
      store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } },
      session: { secrets: ['session-secret-for-the-leaked-grant-test-0123456789'] },
      apps: { SubApp: { play: { totp: { enabled: true } } } },
    });
    store = createStore({ type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix, commandTimeoutMs: 1000 } });
    await store.putSubscriber('SubApp', {
      subscriberId: 'viewer-L',
      streamId: 'stream1',
      type: 'play',
      b32Secret: B32,
      concurrentConnectionsLimit: 1,
      blockedUntilUnitTimeStampMs: 0,
    });
  });
  after(async () => {
    await gate.close();
    await store.close();
    await origin.close();
  });

  test('opens nothing from another address, in the URL or as the cookie; the subscriber plays on', async () => {
    const master = `${gate.url}/SubApp/streams/stream1_adaptive.m3u8?subscriberId=viewer-L&subscriberCode=${totpCode(KEY, 60, Date.now())}`;
    const opened = await fetchUrl(master);
    assert.equal(opened.status, 200, opened.text);
    const variant = new URL(hlsUris(opened.text)[0]!, master).href;
    const playlist = await fetchUrl(variant);
    assert.equal(playlist.status, 200);
    const segment = new URL(hlsUris(playlist.text).at(-1)!, variant).href;
    const leaked = new URL(segment).searchParams.get('sg')!;

    const elsewhere = fromAddress('127.0.0.2');
    const refused = async (url: string, headers: Record<string, string> = {}) => {
      const r = await fetchUrl(url, headers, elsewhere);
      assert.equal(r.status, 401, `${new URL(url).pathname} answered ${r.status}`);
      assert.equal(JSON.parse(r.text).reason, 'grant_invalid');
    };
    await refused(segment);
    const bareVariant = new URL(variant);
    bareVariant.search = '';
    await refused(`${bareVariant.href}?sg=${leaked}`);
    const cookie = `${gate.runtime.sessions.cookieName('stream1')}=${leaked}`;
    await refused(master.split('?')[0]!, { cookie });
    await refused(bareVariant.href, { cookie });
    await elsewhere.close();

    // The subscriber, at its own address, is untouched.
    assert.equal((await fetchUrl(segment)).status, 200);
    assert.equal((await fetchUrl(variant)).status, 200);
  });
});
