// Re-presenting a spent single-use credential continues the playback it opened: players that
// re-send the URL they were given (a live media playlist refreshed every target duration, MP4
// Range requests and HEAD, a DASH MPD refresh, the WebRTC SDK re-sending publish/play) keep
// working for the client that spent it — with no cookies — and nobody else can replay it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSampleOrigin, type SampleOrigin } from '../../src/demo/sample-origin.js';
import { startTestGate } from '../helpers/gate.js';
import { RoundRobin, fetchUrl, fromAddress, hlsUris } from '../helpers/player.js';
import { connectClient, startTestWsOrigin, type TestWsClient, type TestWsOrigin } from '../helpers/ws-origin.js';
import type { RunningGate } from '../../src/server.js';
import { newTokenId } from '../../src/checks/one-time-token.js';
import { totpCode, totpKeyFor } from '../../src/checks/totp-subscriber.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import type { Role } from '../../src/decision/types.js';

const prefix = `sgrepr-${process.pid}-${Date.now()}`;
const redis = { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } };
const SESSION_SECRET = 'session-secret-shared-by-all-replicas-0123456789';
const TOTP_SECRET = 'test-totp-app-secret';
const exp = () => Math.floor(Date.now() / 1000) + 600;

/** The session id inside a grant (payload field 5). */
const sessionOf = (grant: string) => Buffer.from(grant.split('.')[1]!, 'base64url').toString('utf8').split('|')[4]!;
const grantIn = (text: string, base: string) => new URL(hlsUris(text)[0]!, base).searchParams.get('sg')!;
const reason = (r: { text: string }) => (JSON.parse(r.text) as { reason: string }).reason;

describe('re-presenting a spent credential', () => {
  let clock = Date.now();
  let origin: SampleOrigin;
  let gates: RunningGate[];
  let store: Store;
  let rr: RoundRobin;
  const other = fromAddress('127.0.0.2');
  const code = (subscriberId: string, streamId: string, type: Role) =>
    totpCode(totpKeyFor({ policy: { secret: TOTP_SECRET, derivation: 'hmac', periodSeconds: 30 }, subscriberId, streamId, type })!.key, 30, Date.now());

  before(async () => {
    origin = await startSampleOrigin({ apps: ['LiveApp', 'TotpApp', 'ShortApp'], now: () => clock });
    const config = {
      origin: { url: origin.url },
      store: redis,
      session: { secrets: [SESSION_SECRET] },
      apps: {
        LiveApp: { play: { oneTimeToken: true } },
        TotpApp: { play: { totp: { enabled: true, secret: TOTP_SECRET, derivation: 'hmac', periodSeconds: 30, preventReplay: true } } },
        // 10 s steps, no tolerance: a code leaves its window within 10 s.
        ShortApp: { play: { totp: { enabled: true, secret: TOTP_SECRET, derivation: 'hmac', periodSeconds: 10, window: 0 } } },
      },
    };
    gates = [await startTestGate(config), await startTestGate(config)];
    rr = new RoundRobin(gates.map((g) => g.url));
    store = createStore({ type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix, commandTimeoutMs: 1000 } });
  });
  after(async () => {
    for (const g of gates) await g.close();
    await store.close();
    await origin.close();
  });

  const token = async (streamId = 'stream1', type: Role = 'play') => {
    const t = { tokenId: newTokenId(), streamId, type, expireDate: exp() };
    await store.saveToken('LiveApp', t);
    return t.tokenId;
  };

  /** A cookie-less player of a non-adaptive live stream: re-requests the URL it was given. */
  async function playMediaPlaylist(url: string, refreshes: number) {
    const sessions = new Set<string>();
    let segments = 0;
    for (let i = 0; i <= refreshes; i++) {
      const r = await fetchUrl(rr.next(url));
      assert.equal(r.status, 200, `refresh ${i}: ${r.text.slice(0, 200)}`);
      assert.equal(r.headers['cache-control'], 'private, no-store');
      sessions.add(sessionOf(grantIn(r.text, url)));
      for (const uri of hlsUris(r.text).slice(-2)) {
        const seg = await fetchUrl(rr.next(new URL(uri, url).toString()));
        assert.equal(seg.status, 200);
        segments++;
      }
      clock += 2000; // one target duration
    }
    return { sessions, segments };
  }

  test('a live media playlist with a one-time token plays through 6 refreshes on two replicas, one session; another client is refused', async () => {
    const url = `${gates[0]!.url}/LiveApp/streams/stream1.m3u8?token=${await token()}`;
    const { sessions, segments } = await playMediaPlaylist(url, 6);
    assert.equal(sessions.size, 1, 'every refresh continues the same playback session');
    assert.ok(segments >= 12);
    const replay = await fetchUrl(url, {}, other);
    assert.equal(replay.status, 401);
    assert.equal(reason(replay), 'token_used');
  });

  test('a browser that changes address keeps playing on its grant cookie; the token URL alone stays refused there', async () => {
    const url = `${gates[0]!.url}/LiveApp/streams/stream1.m3u8?token=${await token()}`;
    const first = await fetchUrl(url);
    assert.equal(first.status, 200);
    const jar = String(first.headers['set-cookie']).split(';')[0]!;
    // Wi-Fi to cellular: the same URL from another address, with the cookie the browser holds.
    const moved = await fetchUrl(url, { cookie: jar }, other);
    assert.equal(moved.status, 200, moved.text);
    assert.equal(sessionOf(grantIn(moved.text, url)), sessionOf(grantIn(first.text, url)), 'the same playback');
    const alone = await fetchUrl(url, {}, other);
    assert.equal(alone.status, 401);
    assert.equal(reason(alone), 'token_used');
    // A cookie that does not carry it (another stream's grant under this stream's name, garbage)
    // leaves the token's own answer.
    const otherStream = await fetchUrl(`${gates[0]!.url}/LiveApp/streams/stream10.m3u8?token=${await token('stream10')}`);
    const foreign = String(otherStream.headers['set-cookie']).split(';')[0]!.split('=')[1]!;
    for (const value of [foreign, 'v2.garbage.value']) {
      const r = await fetchUrl(url, { cookie: `${jar.split('=')[0]}=${value}` }, other);
      assert.equal(r.status, 401);
      assert.equal(reason(r), 'token_used');
    }
  });

  test('an MP4 with a one-time token: HEAD, then a seek of three Range requests; another client is refused', async () => {
    const url = `${gates[0]!.url}/LiveApp/streams/stream1.mp4?token=${await token()}`;
    const head = await fetchUrl(url, {}, undefined, 'HEAD');
    assert.equal(head.status, 200);
    const size = Number(head.headers['content-length']);
    const ranges = ['bytes=0-1023', `bytes=${size - 4096}-`, `bytes=${Math.floor(size / 2)}-${Math.floor(size / 2) + 99}`];
    for (const range of ranges) {
      const r = await fetchUrl(rr.next(url), { range });
      assert.equal(r.status, 206, range);
      assert.match(String(r.headers['set-cookie']), /^sg_grant_[A-Za-z0-9_-]{11}=v2\./);
    }
    assert.equal((await fetchUrl(rr.next(url), {}, undefined, 'HEAD')).status, 200);
    const replay = await fetchUrl(url, { range: 'bytes=0-99' }, other);
    assert.equal(replay.status, 401);
    assert.equal(reason(replay), 'token_used');
  });

  test('a DASH MPD refreshed with its one-time token keeps one session', async () => {
    const url = `${gates[0]!.url}/LiveApp/streams/stream1/stream1.mpd?token=${await token()}`;
    const sessions = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await fetchUrl(rr.next(url));
      assert.equal(r.status, 200);
      sessions.add(sessionOf(/\?sg=([^"&]+)/.exec(r.text)![1]!));
      clock += 2000;
    }
    assert.equal(sessions.size, 1);
    assert.equal((await fetchUrl(url, {}, other)).status, 401);
  });

  test('a TOTP code with preventReplay plays through 4 refreshes; the same code from another client is a replay', async () => {
    const url = `${gates[0]!.url}/TotpApp/streams/stream1.m3u8?subscriberId=viewer-7&subscriberCode=${code('viewer-7', 'stream1', 'play')}`;
    const { sessions } = await playMediaPlaylist(url, 4);
    assert.equal(sessions.size, 1);
    const replay = await fetchUrl(url, {}, other);
    assert.equal(replay.status, 401);
    assert.equal(reason(replay), 'subscriber_code_replayed');
  });

  test('a TOTP code past its window still continues the playback it opened, for its client only', { timeout: 30_000 }, async () => {
    const step = () => Math.floor(Date.now() / 10_000);
    const k = step();
    const c = totpCode(totpKeyFor({ policy: { secret: TOTP_SECRET, derivation: 'hmac', periodSeconds: 10 }, subscriberId: 'viewer-8', streamId: 'stream1', type: 'play' })!.key, 10, Date.now());
    const url = `${gates[0]!.url}/ShortApp/streams/stream1.m3u8?subscriberId=viewer-8&subscriberCode=${c}`;
    const first = await fetchUrl(url);
    assert.equal(first.status, 200);
    if (step() !== k) return; // the step turned during the request: nothing left to prove here
    while (step() === k) await new Promise((r) => setTimeout(r, 100));
    const later = await fetchUrl(rr.next(url));
    assert.equal(later.status, 200, later.text);
    assert.equal(sessionOf(grantIn(later.text, url)), sessionOf(grantIn(first.text, url)));
    const stranger = await fetchUrl(url, {}, other);
    assert.equal(stranger.status, 401);
    assert.equal(reason(stranger), 'subscriber_code_invalid');
  });

  test('session.resumeSpentCredentials: false restores strict single use, even for the same client', async () => {
    const strict = await startTestGate({ origin: { url: origin.url }, store: redis, session: { secrets: [SESSION_SECRET], resumeSpentCredentials: false }, apps: { LiveApp: { play: { oneTimeToken: true } } } });
    try {
      const url = `${strict.url}/LiveApp/streams/stream1.m3u8?token=${await token()}`;
      assert.equal((await fetchUrl(url)).status, 200);
      const again = await fetchUrl(url);
      assert.equal(again.status, 401);
      assert.equal(reason(again), 'token_used');
    } finally {
      await strict.close();
    }
  });

  test('revoking the stream\'s tokens ends re-presentation too', async () => {
    const url = `${gates[0]!.url}/LiveApp/streams/stream1.m3u8?token=${await token()}`;
    assert.equal((await fetchUrl(url)).status, 200);
    await store.revokeTokens('LiveApp', 'stream1');
    const again = await fetchUrl(url);
    assert.equal(again.status, 401);
    assert.equal(reason(again), 'token_invalid');
  });
});

describe('the WebRTC SDK re-sends publish with the same one-time token', () => {
  let origin: TestWsOrigin;
  let gate: RunningGate;
  let store: Store;
  const open: TestWsClient[] = [];
  before(async () => {
    origin = await startTestWsOrigin();
    gate = await startTestGate({ origin: { url: origin.url }, store: redis, apps: { LiveApp: { publish: { oneTimeToken: true }, play: { oneTimeToken: true } } } });
    store = createStore({ type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix, commandTimeoutMs: 1000 } });
  });
  after(async () => {
    for (const c of open) c.ws.terminate();
    await gate.close();
    await store.close();
    await origin.close();
  });
  const client = async (localAddress?: string) => {
    const c = await connectClient(`${gate.url.replace('http', 'ws')}/LiveApp/websocket`, localAddress ? { localAddress } : {});
    open.push(c);
    return c;
  };

  /** The next notification or error (the origin answers publish with `start` first). */
  const answer = async (c: TestWsClient) => {
    for (;;) {
      const m = await c.nextJson();
      if (m.command === 'notification' || m.command === 'error') return m;
    }
  };

  test('on the same socket and on a new socket from the same client; never from another client', async () => {
    const t = { tokenId: newTokenId(), streamId: 'cam1', type: 'publish' as const, expireDate: exp() };
    await store.saveToken('LiveApp', t);
    const publish = { command: 'publish', streamId: 'cam1', token: t.tokenId };
    const first = await client();
    first.send(publish);
    assert.equal((await answer(first)).definition, 'publish_started');
    // Network blip: the SDK re-sends the same publish on the same socket…
    first.send(publish);
    assert.equal((await answer(first)).definition, 'publish_started');
    first.ws.close();
    // …or reconnects and re-sends it on a new socket.
    const second = await client();
    second.send(publish);
    assert.equal((await answer(second)).definition, 'publish_started');
    assert.equal(origin.framesOf('publish').length, 3);
    // Another client with the same token is refused and nothing reaches the origin.
    const thief = await client('127.0.0.2');
    thief.send(publish);
    assert.deepEqual(await answer(thief), { command: 'error', definition: 'unauthorized_access', streamId: 'cam1' });
    assert.equal(origin.framesOf('publish').length, 3);
  });
});
