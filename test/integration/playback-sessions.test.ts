// Playback sessions end to end: one credential plays a whole live HLS/DASH stream through two gate
// replicas sharing Redis, round-robin, with zero store calls per grant-authorized segment.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startSampleOrigin, type SampleOrigin } from '../../src/demo/sample-origin.js';
import { startTestGate, HASH_SECRET, JWT_SECRET } from '../helpers/gate.js';
import { RoundRobin, fetchUrl, fromAddress, playDash, playHls } from '../helpers/player.js';
import { missingTool } from '../helpers/tools.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { newTokenId } from '../../src/checks/one-time-token.js';
import { totpCode } from '../../src/checks/totp-subscriber.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';

const prefix = `sgplay-${process.pid}-${Date.now()}`;
const SESSION_SECRET = 'session-secret-shared-by-all-replicas-0123456789';
const B32 = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

/** The session id inside a grant (payload field 5). */
function grantSession(grant: string): string {
  return Buffer.from(grant.split('.')[1]!, 'base64url').toString('utf8').split('|')[4]!;
}
const hlsUriOf = (playlist: string) => playlist.split('\n').find((l) => l && !l.startsWith('#'))!;

function b32decode(s: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  return Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
}

describe('playback sessions', () => {
  let clock = Date.now();
  let origin: SampleOrigin;
  let gates: RunningGate[];
  let store: Store;
  let rr: RoundRobin;
  const advance = () => {
    clock += 4000; // two new 2 s segments per refresh
  };
  const exp = () => Math.floor(Date.now() / 1000) + 600;
  // Calls made for requests; the batched playback-end tracking runs on its own timer (once a second
  // per replica, whatever the number of requests) and is not a per-request cost.
  const BACKGROUND = new Set(['trackPlaybacks', 'claimEndedPlaybacks']);
  const storeCalls = async (g: RunningGate) => {
    const m = await g.runtime.metrics.registry.getSingleMetric('streamgate_store_calls_total')!.get();
    return m.values.filter((v) => !BACKGROUND.has(String(v.labels.method))).reduce((n, v) => n + v.value, 0);
  };

  before(async () => {
    origin = await startSampleOrigin({ apps: ['LiveApp', 'SubApp'], now: () => clock });
    const config = {
      origin: { url: origin.url },
      store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } },
      session: { secrets: [SESSION_SECRET] },
      apps: {
        LiveApp: { play: { oneTimeToken: true, hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: JWT_SECRET } } },
        SubApp: { play: { totp: { enabled: true } } },
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

  test('a one-time token plays a whole live HLS stream over two replicas; only its client may re-present it', async () => {
    const t = { tokenId: newTokenId(), streamId: 'stream1', type: 'play' as const, expireDate: exp() };
    await store.saveToken('LiveApp', t);
    const master = `${gates[0]!.url}/LiveApp/streams/stream1_adaptive.m3u8?token=${t.tokenId}`;
    const r = await playHls(rr, master, { refreshes: 3, advance });
    assert.ok(r.segments >= 10, `played ${r.segments} segments`);
    // The consumed token never appears in the rewritten playlists; the grant does.
    assert.ok(!r.lastPlaylist.includes(t.tokenId));
    assert.match(r.lastPlaylist, /\.ts\?sg=v2\./);
    // Another client replaying the URL is refused; the client that spent it continues its session.
    const other = fromAddress('127.0.0.2');
    const again = await fetchUrl(master, {}, other);
    assert.equal(again.status, 401);
    assert.equal(JSON.parse(again.text).reason, 'token_used');
    const same = await fetchUrl(master);
    assert.equal(same.status, 200);
    const sessionOf = (playlist: string) => grantSession(new URL(hlsUriOf(playlist), master).searchParams.get('sg')!);
    assert.equal(sessionOf(same.text), grantSession(new URL(r.segmentUrl).searchParams.get('sg')!));
    await other.close();
  });

  test('JWT and hash tokens play HLS; segments and refreshes cost zero store calls', async () => {
    const jwt = await mintStreamJwt(JWT_SECRET, { streamId: 'stream1', type: 'play', exp: exp() });
    const hash = hashToken('stream1', 'play', HASH_SECRET);
    for (const token of [jwt, hash]) {
      const r = await playHls(rr, `${gates[0]!.url}/LiveApp/streams/stream1_adaptive.m3u8?token=${token}`, { refreshes: 3, advance });
      assert.ok(r.segments >= 10);
      // Session starts are written in batches on a timer, not per segment: flush them first.
      await gates[0]!.runtime.playbackEnds.flush();
      const before = await storeCalls(gates[0]!);
      for (let i = 0; i < 20; i++) assert.equal((await fetchUrl(r.segmentUrl.replace(new URL(r.segmentUrl).host, new URL(gates[0]!.url).host))).status, 200);
      assert.equal(await storeCalls(gates[0]!), before, 'grant-authorized segments made store calls');
      // Refreshes too: revocation epochs come from the replica's memory, not the store.
      for (let i = 0; i < 10; i++) assert.equal((await fetchUrl(r.variantUrl.replace(new URL(r.variantUrl).host, new URL(gates[0]!.url).host))).status, 200);
      assert.equal(await storeCalls(gates[0]!), before, 'grant refreshes made store calls');
    }
  });

  test('DASH plays with a hash token through both replicas', async () => {
    const hash = hashToken('stream1', 'play', HASH_SECRET);
    const r = await playDash(rr, `${gates[0]!.url}/LiveApp/streams/stream1/stream1.mpd?token=${hash}`, { refreshes: 3, chunks: 3, advance });
    assert.ok(r.segments >= 10);
    assert.match(r.mpd, /media="chunk_\$RepresentationID\$_\$Number%05d\$\.m4s\?sg=v2\./);
  });

  test('a registered TOTP subscriber plays, the viewer limit holds, blocking ends the playback at its next refresh', async () => {
    await store.putSubscriber('SubApp', { subscriberId: 'viewer-1', streamId: 'stream1', type: 'play', b32Secret: B32, concurrentConnectionsLimit: 1, blockedUntilUnitTimeStampMs: 0 });
    const code = () => totpCode(b32decode(B32), 60, Date.now());
    const master = () => `${gates[0]!.url}/SubApp/streams/stream1_adaptive.m3u8?subscriberId=viewer-1&subscriberCode=${code()}`;
    const r = await playHls(rr, master(), { refreshes: 3, advance });
    assert.ok(r.segments >= 10);
    // The playback is one `connected` event (renewals are not new connections), fed by the gate itself
    // when its batched tracking registers the session (flushed here instead of waiting for the timer).
    for (const g of gates) await g.runtime.playbackEnds.flush();
    const events = await store.listConnectionEvents('SubApp', 'stream1', 0, 50, 'viewer-1');
    assert.deepEqual(events.map((e) => [e.eventType, e.eventProtocol, e.type]), [['connected', 'hls', 'play']]);
    // A second simultaneous session of the same subscriber (another client) is one viewer too many.
    const elsewhere = fromAddress('127.0.0.2');
    const second = await fetchUrl(master(), {}, elsewhere);
    await elsewhere.close();
    assert.equal(second.status, 403);
    assert.equal(JSON.parse(second.text).reason, 'viewer_limit');
    // A publish block is not a play block (Ant Media's blockSubscriber stops that role only): the
    // playback goes on, on both replicas, well after the bump was pushed to them.
    await store.blockSubscriber('SubApp', 'stream1', 'viewer-1', 'publish', Date.now() + 3_600_000);
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 2; i++) assert.equal((await fetchUrl(rr.next(r.variantUrl))).status, 200);
    // Block: the live session ends at its next playlist refresh, on either replica.
    await store.blockSubscriber('SubApp', 'stream1', 'viewer-1', 'play', Date.now() + 3_600_000);
    const refresh = await fetchUrl(rr.next(r.variantUrl));
    assert.equal(refresh.status, 403);
    assert.equal(JSON.parse(refresh.text).reason, 'session_revoked');
    const fresh = await fetchUrl(master());
    assert.equal(fresh.status, 403);
    assert.equal(JSON.parse(fresh.text).reason, 'subscriber_blocked');
  });

  test('revoking a stream\'s tokens ends live playbacks at their next refresh', async () => {
    const jwt = await mintStreamJwt(JWT_SECRET, { streamId: 'stream1', type: 'play', exp: exp() });
    const r = await playHls(rr, `${gates[0]!.url}/LiveApp/streams/stream1_adaptive.m3u8?token=${jwt}`, { refreshes: 1, advance });
    await store.revokeTokens('LiveApp', 'stream1');
    const refresh = await fetchUrl(rr.next(r.variantUrl));
    assert.equal(refresh.status, 403);
    assert.equal(JSON.parse(refresh.text).reason, 'session_revoked');
  });

  test('grants are bound: stream, role, integrity', async () => {
    const hash = hashToken('stream1', 'play', HASH_SECRET);
    const r = await playHls(rr, `${gates[0]!.url}/LiveApp/streams/stream1_adaptive.m3u8?token=${hash}`, { refreshes: 0, advance });
    const grant = new URL(r.segmentUrl).searchParams.get('sg')!;
    const g = gates[1]!.url;
    const reason = async (url: string, init?: { method: string }) => {
      const res = init ? await fetch(url, init) : await fetch(url);
      return [res.status, ((await res.json()) as { reason: string }).reason];
    };
    assert.deepEqual(await reason(`${g}/LiveApp/streams/stream10000000001.ts?sg=${grant}`), [401, 'token_wrong_stream']);
    assert.deepEqual(await reason(`${g}/LiveApp/streams/stream1000000001.ts?sg=${grant.slice(0, -2)}xx`), [401, 'grant_invalid']);
    assert.deepEqual(await reason(`${g}/LiveApp/streams/stream1000000001.ts?sg=garbage`), [401, 'grant_invalid']);
    // A play grant never authorizes publishing.
    const pub = await startTestGate({ origin: { url: origin.url }, session: { secrets: [SESSION_SECRET] }, apps: { LiveApp: { publish: { hash: { enabled: true, secret: HASH_SECRET } } } } });
    try {
      // The WHIP endpoint ignores grants altogether (only a session URL takes one); other ingest paths check its role.
      assert.deepEqual(await reason(`${pub.url}/LiveApp/whip/stream1?sg=${grant}`, { method: 'POST' }), [401, 'token_missing']);
      assert.deepEqual(await reason(`${pub.url}/LiveApp/chunked/stream1/a.m4s?sg=${grant}`, { method: 'PUT' }), [401, 'token_wrong_role']);
    } finally {
      await pub.close();
    }
  });

  test('the grant cookie alone authorizes segments of its app, and never reaches the origin', async () => {
    const hash = hashToken('stream1', 'play', HASH_SECRET);
    const res = await fetchUrl(`${gates[0]!.url}/LiveApp/streams/stream1.m3u8?token=${hash}`);
    const cookie = String(res.headers['set-cookie']);
    assert.match(cookie, /^sg_grant_[A-Za-z0-9_-]{11}=v2\.[^;]+; Path=\/LiveApp\/streams\/; Max-Age=\d+; HttpOnly; SameSite=Lax/);
    const value = cookie.split(';')[0]!;
    const seg = await fetchUrl(`${gates[1]!.url}/LiveApp/streams/stream1000000001.ts`, { cookie: `${value}; other=1` });
    assert.equal(seg.status, 200);
    const none = await fetchUrl(`${gates[1]!.url}/LiveApp/streams/stream1000000001.ts`);
    assert.equal(none.status, 401);
  });

  test('session.enabled: false serves the origin playlist unchanged and grants open nothing', async () => {
    const off = await startTestGate({ origin: { url: origin.url }, session: { enabled: false, secrets: [SESSION_SECRET] }, apps: { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } } } } });
    try {
      const hash = hashToken('stream1', 'play', HASH_SECRET);
      const res = await fetchUrl(`${off.url}/LiveApp/streams/stream1_240p300kbps.m3u8?token=${hash}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['set-cookie'], undefined);
      assert.ok(!res.text.includes('sg='), 'playlist was rewritten');
      assert.equal((await fetchUrl(`${origin.url}/LiveApp/streams/stream1_240p300kbps.m3u8`)).text, res.text);
      // A grant from a gate with sessions on is no credential here.
      const r = await playHls(rr, `${gates[0]!.url}/LiveApp/streams/stream1_adaptive.m3u8?token=${hash}`, { refreshes: 0, advance });
      const grant = new URL(r.segmentUrl).searchParams.get('sg')!;
      const seg = await fetchUrl(`${off.url}/LiveApp/streams/stream1000000001.ts?sg=${grant}`);
      assert.equal(seg.status, 401);
      assert.equal(JSON.parse(seg.text).reason, 'token_missing');
    } finally {
      await off.close();
    }
  });

  test('an expired grant answers grant_expired', async () => {
    const short = await startTestGate({ origin: { url: origin.url }, session: { secrets: [SESSION_SECRET], ttlSeconds: 1 }, apps: { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } } } } });
    try {
      const res = await fetchUrl(`${short.url}/LiveApp/streams/stream1.m3u8?token=${hashToken('stream1', 'play', HASH_SECRET)}`);
      const seg = new URL(res.text.split('\n').find((l) => l.endsWith('.ts') || l.includes('.ts?'))!, `${short.url}/LiveApp/streams/`);
      await new Promise((r) => setTimeout(r, 2100));
      const late = await fetchUrl(seg.toString());
      assert.equal(late.status, 401);
      assert.equal(JSON.parse(late.text).reason, 'grant_expired');
    } finally {
      await short.close();
    }
  });

  test('ffprobe plays the tokenized master URL through the gate', { skip: missingTool('ffprobe') }, async () => {
    const hash = hashToken('stream1', 'play', HASH_SECRET);
    const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width', '-of', 'json', `${gates[0]!.url}/LiveApp/streams/stream1_adaptive.m3u8?token=${hash}`], { timeout: 30_000 });
    const streams = (JSON.parse(stdout) as { streams: { codec_name: string }[] }).streams;
    assert.ok(streams.some((s) => s.codec_name === 'h264'), stdout);
  });
});
