// The RTMP door with real peers: nginx-rtmp as the origin, ffmpeg publishing (standing in for OBS and
// hardware encoders) and ffprobe playing. Every publish policy the other doors enforce applies here,
// refusals reach the encoder as an RTMP error, and a refused publish never reaches the origin.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startTestGate, HASH_SECRET, JWT_SECRET } from '../helpers/gate.js';
import { ffmpegPublish, ffprobeStreams, rtmpToolsMissing, startNginxRtmp, type RtmpOrigin } from '../helpers/rtmp.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { totpCode, totpKeyFor } from '../../src/checks/totp-subscriber.js';
import type { RunningGate } from '../../src/server.js';

const missing = rtmpToolsMissing();
const TOTP_SECRET = 'test-totp-app-secret-for-rtmp';
const totp = (subscriberId: string, streamId: string) =>
  totpCode(totpKeyFor({ policy: { secret: TOTP_SECRET, derivation: 'antmedia', periodSeconds: 60 }, subscriberId, streamId, type: 'publish' })!.key, 60, Date.now());

/**
 * A TCP relay whose connections to `target` come from `localAddress` (127.0.0.0/8 is all local on
 * Linux): an encoder behind it is another client to the gate. ffmpeg cannot choose its source address.
 */
async function relayFrom(localAddress: string, target: string): Promise<{ address: string; close: () => void }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const server = net.createServer((client) => {
    const upstream = net.connect({ host, port, localAddress });
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

describe('RTMP door in front of nginx-rtmp', { skip: missing ? `${missing}: RTMP door tests skipped` : false }, () => {
  let origin: RtmpOrigin;
  let gate: RunningGate;
  let rtmp: string;

  before(async () => {
    origin = await startNginxRtmp(['LiveApp', 'Reg', 'Ip', 'Totp']);
    gate = await startTestGate({
      origin: { url: 'http://127.0.0.1:9' },
      rtmp: { enabled: true, listen: { host: '127.0.0.1', port: 0 }, origin: `rtmp://127.0.0.1:${origin.port}` },
      apps: {
        LiveApp: {
          publish: { oneTimeToken: true, hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: JWT_SECRET } },
          play: { hash: { enabled: true, secret: HASH_SECRET } },
        },
        Reg: { publish: { acceptUndefinedStreams: false } },
        Ip: { publish: { allowedCIDRs: ['10.0.0.0/8'] } },
        Totp: { publish: { totp: { enabled: true, secret: TOTP_SECRET } } },
      },
    });
    rtmp = `rtmp://${gate.rtmpGate!.address()}`;
  });
  after(async () => {
    await gate?.close();
    await origin?.stop();
  });

  const publishes = (stream: string) => origin.accessLog().split('\n').filter((l) => l.includes('PUBLISH') && l.includes(`"${stream}"`)).length;

  test('a hash token publishes, and ffprobe reads the stream back from the origin', async () => {
    const token = hashToken('hashed', 'publish', HASH_SECRET);
    const publishing = ffmpegPublish(`${rtmp}/LiveApp/hashed?token=${token}`, 6);
    await new Promise((r) => setTimeout(r, 2500));
    const probe = await ffprobeStreams(`rtmp://127.0.0.1:${origin.port}/LiveApp/hashed`);
    const done = await publishing;
    assert.equal(done.code, 0, done.stderr.slice(-500));
    assert.match(probe.out, /video/);
    assert.equal(publishes('hashed'), 1);
  });

  test('playback through the door needs a play credential', async () => {
    const token = hashToken('watched', 'publish', HASH_SECRET);
    const publishing = ffmpegPublish(`${rtmp}/LiveApp/watched?token=${token}`, 6);
    await new Promise((r) => setTimeout(r, 2500));
    const refused = await ffprobeStreams(`${rtmp}/LiveApp/watched?token=${'0'.repeat(64)}`);
    const played = await ffprobeStreams(`${rtmp}/LiveApp/watched?token=${hashToken('watched', 'play', HASH_SECRET)}`);
    await publishing;
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /streamgate: token_invalid/);
    assert.equal(played.code, 0, played.stderr);
    assert.match(played.out, /video/);
  });

  test('a JWT publishes; a JWT that expires mid-publish ends it', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3;
    const jwt = await mintStreamJwt(JWT_SECRET, { streamId: 'jwted', type: 'publish', exp });
    const run = await ffmpegPublish(`${rtmp}/LiveApp/jwted?token=${jwt}`, 15);
    assert.notEqual(run.code, 0, 'ffmpeg must fail when the gate ends the publish');
    assert.ok(run.ms < 12_000, `ended after ${run.ms} ms`);
    assert.equal(publishes('jwted'), 1);
    // The close is reported with why the gate ended it, as on the SRT door.
    await new Promise((r) => setTimeout(r, 200));
    assert.match(await gate.runtime.metrics.registry.getSingleMetricAsString('streamgate_rtmp_connections_closed_total'), /outcome="allow",reason="token_expired"/);
  });

  test('a one-time token publishes once per client: its encoder may reconnect with it, another client is refused before the origin', async () => {
    await gate.runtime.store.saveToken('LiveApp', { tokenId: 'rtmp-once-1', streamId: 'once', type: 'publish', expireDate: Math.floor(Date.now() / 1000) + 60 });
    const first = await ffmpegPublish(`${rtmp}/LiveApp/once?token=rtmp-once-1`, 2);
    assert.equal(first.code, 0, first.stderr.slice(-500));
    const reconnect = await ffmpegPublish(`${rtmp}/LiveApp/once?token=rtmp-once-1`, 2);
    assert.equal(reconnect.code, 0, reconnect.stderr.slice(-500));
    const relay = await relayFrom('127.0.0.2', gate.rtmpGate!.address());
    try {
      const other = await ffmpegPublish(`rtmp://${relay.address}/LiveApp/once?token=rtmp-once-1`, 2);
      assert.notEqual(other.code, 0);
      assert.match(other.stderr, /Server error: streamgate: token_used/);
    } finally {
      relay.close();
    }
    assert.equal(publishes('once'), 2);
  });

  test('a bad token is refused with a message the encoder prints, and no publish reaches the origin', async () => {
    const run = await ffmpegPublish(`${rtmp}/LiveApp/bad?token=nope`, 2);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /Server error: streamgate: token_invalid/);
    assert.equal(publishes('bad'), 0);
  });

  test('a publisher outside publish.allowedCIDRs is refused', async () => {
    const run = await ffmpegPublish(`${rtmp}/Ip/cam1`, 2);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /streamgate: ip_not_allowed/);
    assert.equal(publishes('cam1'), 0);
  });

  test('an unregistered stream is refused until it is registered', async () => {
    const refused = await ffmpegPublish(`${rtmp}/Reg/studio`, 2);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /streamgate: stream_not_registered/);
    await gate.runtime.store.registerStream('Reg', { streamId: 'studio', registeredAt: Date.now() });
    const allowed = await ffmpegPublish(`${rtmp}/Reg/studio`, 2);
    assert.equal(allowed.code, 0, allowed.stderr.slice(-500));
    assert.equal(publishes('studio'), 1);
  });

  test('a TOTP publisher (subscriberId + subscriberCode in the query) publishes; a wrong code is refused', async () => {
    const wrong = String((Number(totp('cam-op', 'totpcam')) + 1) % 1_000_000).padStart(6, '0');
    const refused = await ffmpegPublish(`${rtmp}/Totp/totpcam?subscriberId=cam-op&subscriberCode=${wrong}`, 2);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /streamgate: subscriber_code_invalid/);
    const ok = await ffmpegPublish(`${rtmp}/Totp/totpcam?subscriberId=cam-op&subscriberCode=${totp('cam-op', 'totpcam')}`, 2);
    assert.equal(ok.code, 0, ok.stderr.slice(-500));
    assert.equal(publishes('totpcam'), 1);
  });

  test('an application that is not configured is rejected at connect', async () => {
    const run = await ffmpegPublish(`${rtmp}/Other/s1`, 2);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /not served here/);
  });

  test('SIGTERM drain: new publishers are turned away, a running publish finishes', async () => {
    const second = await startTestGate({
      origin: { url: 'http://127.0.0.1:9' },
      shutdown: { drainTimeoutMs: 15_000 },
      rtmp: { enabled: true, listen: { host: '127.0.0.1', port: 0 }, origin: `rtmp://127.0.0.1:${origin.port}` },
      apps: { LiveApp: {} },
    });
    const url = `rtmp://${second.rtmpGate!.address()}`;
    const running = ffmpegPublish(`${url}/LiveApp/draining`, 4);
    await new Promise((r) => setTimeout(r, 1500));
    const closed = second.close();
    const late = await ffmpegPublish(`${url}/LiveApp/late`, 1);
    const done = await running;
    await closed;
    assert.equal(done.code, 0, done.stderr.slice(-500));
    assert.notEqual(late.code, 0);
    assert.equal(publishes('late'), 0);
  });

  test('decisions and connections are counted', async () => {
    const text = await gate.runtime.metrics.registry.metrics();
    assert.match(text, /streamgate_decisions_total\{[^}]*outcome="deny"[^}]*door="rtmp"[^}]*\} [1-9]/);
    assert.match(text, /streamgate_rtmp_connections_closed_total\{outcome="allow",reason="ok"\} [1-9]/);
  });
});
