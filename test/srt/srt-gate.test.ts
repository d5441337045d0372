// The SRT door with real peers: ffmpeg publishes over SRT through the gate to an ffmpeg SRT listener
// standing in for the origin. Valid Stream IDs (Ant Media's and the access-control form) reach the
// origin; invalid ones are rejected during the handshake and no media reaches it. (ffmpeg 5 passes
// `streamid` to libsrt without percent-decoding it, so the URLs below carry it as is.)
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import { freePort } from '../helpers/redis-server.js';
import { ffmpegSrtPublish, srtToolsMissing, startSrtOrigin, type SrtOrigin } from '../helpers/srt.js';
import { hashToken } from '../../src/checks/hash-token.js';
import type { RunningGate } from '../../src/server.js';

const missing = srtToolsMissing();

describe('SRT door in front of an SRT listener', { skip: missing ? `${missing}: SRT door tests skipped` : false }, () => {
  let gate: RunningGate;
  let originPort: number;
  let origin: SrtOrigin | null = null;
  let srt: string;
  const token = hashToken('stream1', 'publish', HASH_SECRET);

  before(async () => {
    originPort = await freePort();
    gate = await startTestGate({
      origin: { url: 'http://127.0.0.1:9' },
      srt: { enabled: true, listen: { host: '127.0.0.1', port: 0 }, origin: `127.0.0.1:${originPort}` },
      apps: { LiveApp: { publish: { oneTimeToken: true, hash: { enabled: true, secret: HASH_SECRET } } }, Open: {} },
    });
    srt = `srt://${gate.srtGate!.address()}`;
  });
  afterEach(async () => {
    origin?.stop();
    await origin?.done;
    origin = null;
  });
  after(async () => {
    await gate?.close();
  });

  // The origin's listener serves one caller: each test starts a fresh one on the port the gate knows.
  const listen = async () => (origin = await startSrtOrigin(originPort));

  test('a valid hash token (Ant Media form) publishes and the origin receives the stream', async () => {
    await listen();
    const run = await ffmpegSrtPublish(`${srt}?streamid=LiveApp/stream1,token=${token}`, 3);
    assert.equal(run.code, 0, run.stderr.slice(-400));
    await origin!.done;
    assert.ok(origin!.received() > 10_000, `origin received ${origin!.received()} bytes`);
  });

  test('the access-control form (#!::r=…,m=publish,s=…) carries a one-time token; its encoder may reconnect with it', async () => {
    await gate.runtime.store.saveToken('LiveApp', { tokenId: 'srt-once-1', streamId: 'cam', type: 'publish', expireDate: Math.floor(Date.now() / 1000) + 60 });
    await listen();
    const first = await ffmpegSrtPublish(`${srt}?streamid=#!::r=LiveApp/cam,m=publish,s=srt-once-1`, 2);
    assert.equal(first.code, 0, first.stderr.slice(-400));
    await origin!.done;
    assert.ok(origin!.received() > 5_000);
    // The same client re-presenting its spent token continues (another client is refused: the
    // handshake race in test/security/srt-handshake.test.ts runs two addresses).
    await listen();
    const again = await ffmpegSrtPublish(`${srt}?streamid=#!::r=LiveApp/cam,m=publish,s=srt-once-1`, 2);
    assert.equal(again.code, 0, again.stderr.slice(-400));
    await origin!.done;
    assert.ok(origin!.received() > 5_000);
  });

  test('an invalid token is rejected during the handshake; ffmpeg fails and no media reaches the origin', async () => {
    await listen();
    const started = Date.now();
    const run = await ffmpegSrtPublish(`${srt}?streamid=LiveApp/stream1,token=${'0'.repeat(64)}`, 3);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /reject/i);
    assert.ok(Date.now() - started < 5000, 'refused before any media flows');
    assert.equal(origin!.received(), 0);
  });

  test('Stream IDs that name no stream are rejected: none, another app, bad ids, a mode the gate does not serve', async () => {
    await listen();
    for (const sid of ['', 'Nope/stream1', 'LiveApp/..', 'LiveApp/a/b', '#!::r=LiveApp/s1,m=bidirectional', `LiveApp/stream1,token=${token},token=x`]) {
      const run = await ffmpegSrtPublish(sid ? `${srt}?streamid=${sid}` : srt, 1);
      assert.notEqual(run.code, 0, `streamid ${JSON.stringify(sid)} must be refused`);
    }
    assert.equal(origin!.received(), 0);
  });

  test('refusals and allows are counted per door', async () => {
    const text = await gate.runtime.metrics.registry.metrics();
    assert.match(text, /streamgate_decisions_total\{[^}]*outcome="allow"[^}]*door="srt"[^}]*\} [1-9]/);
    assert.match(text, /streamgate_srt_sessions_closed_total\{outcome="deny",reason="token_invalid"\} [1-9]/);
    assert.match(text, /streamgate_srt_sessions_closed_total\{outcome="deny",reason="stream_id_invalid"\} [1-9]/);
  });
});
