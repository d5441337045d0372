// Management API, subscriber endpoints, end to end (real gate, origin, Redis). TOTP codes come
// from Debian's oathtool, an independent RFC 6238 implementation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { startTestGate, TOTP_SECRET } from '../helpers/gate.js';
import type { RunningGate } from '../../src/server.js';
import { SubscriberMessage } from '../../src/api/subscriber-validation.js';
import { SubscriberApiMessage } from '../../src/api/subscribers.js';
import { call } from '../helpers/http.js';
import { missingTool } from '../helpers/tools.js';

const prefix = `sgtest-apisub-${process.pid}-${Date.now()}`;
const redisStore = { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } };
const B32 = 'JBSWY3DPEHPK3PXPJBSWY3DP'; // 24 chars, multiple of 8
const B32_OTHER = 'KRSXG5CTMVRXEZLUKRSXG5CT';
const APP_TOTP_SECRET = TOTP_SECRET;

const apps = {
  TotpApp: { play: { totp: { enabled: true, window: 0 } } },
  DerivedApp: { play: { totp: { enabled: true, window: 0, secret: APP_TOTP_SECRET } } },
};


/** oathtool's code for the current step (RFC 6238, HMAC-SHA1, 6 digits). */
const needsOathtool = { skip: missingTool('oathtool') };
const oath = (b32: string, period = 60) => execFileSync('oathtool', ['--totp', '-b', b32, `--time-step-size=${period}s`], { encoding: 'utf8' }).trim();

const ok = { success: true, message: '', dataId: null, errorId: 0 };
const fail = (message: string) => ({ success: false, message, dataId: null, errorId: 0 });

describe('management API: subscribers', () => {
  let origin: TestOrigin;
  let gate: RunningGate;
  let api: string;
  const play = (stream: string, sid: string, code: string) => call('GET', `${gate.url}/TotpApp/streams/${stream}.m3u8?subscriberId=${sid}&subscriberCode=${code}`);

  before(async () => {
    origin = await startTestOrigin();
    gate = await startTestGate({ origin: { url: origin.url }, store: redisStore, apps });
    api = `${gate.adminUrl}/TotpApp/rest/v2/broadcasts`;
  });
  after(async () => {
    await gate.close();
    await origin.close();
  });

  test('POST /{id}/subscribers: an added subscriber passes TOTP with an oathtool code', needsOathtool, async () => {
    const r = await call('POST', `${api}/stream1/subscribers`, { subscriberId: 'user1', b32Secret: B32, type: 'play', totpExpiryPeriodSeconds: 30, concurrentConnectionsLimit: 2 });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), ok);
    assert.equal((await play('stream1', 'user1', oath(B32, 30))).status, 200);
    // Bound to the stream and the secret.
    assert.equal((await play('stream10', 'user1', oath(B32, 30))).status, 401);
    assert.equal((await play('stream1', 'user1', oath(B32_OTHER, 30))).status, 401);
  });

  test('POST /{id}/subscribers validation: HTTP 200, success false, the original messages', async () => {
    const cases: [unknown, string][] = [
      [{ subscriberId: 'abc', b32Secret: B32 }, SubscriberMessage.missingId],
      [{ b32Secret: B32 }, SubscriberMessage.missingId],
      [{ subscriberId: '    ', b32Secret: B32 }, SubscriberMessage.missingId],
      [{ subscriberId: 'user2', b32Secret: 'ABCDEFG' }, SubscriberMessage.badSecret],
      [{ subscriberId: 'user2', b32Secret: 'ABCDEFG1' }, SubscriberMessage.badSecret],
      [{ subscriberId: 'user2', b32Secret: B32, totpExpiryPeriodSeconds: 5 }, SubscriberMessage.badPeriod],
      [{ subscriberId: 'user2', b32Secret: B32, totpExpiryPeriodSeconds: 2147483648 }, SubscriberMessage.badPeriod],
      [{ subscriberId: 'user2', b32Secret: B32, type: 'publish_play' }, SubscriberMessage.badType],
      [{ subscriberId: 'user2', b32Secret: B32, concurrentConnectionsLimit: -1 }, SubscriberMessage.badLimit],
    ];
    for (const [body, message] of cases) {
      const r = await call('POST', `${api}/stream1/subscribers`, body);
      assert.equal(r.status, 200, JSON.stringify(body));
      assert.deepEqual(r.json(), fail(message), JSON.stringify(body));
    }
    assert.equal(SubscriberMessage.badPeriod, 'Custom TOTP expiry period must be between 10 and 2147483647');
    assert.equal((await call('POST', `${api}/stream1/subscribers`, '[')).status, 400);
    assert.equal((await call('POST', `${api}/bad%24id/subscribers`, { subscriberId: 'user2' })).json().message, 'Stream id is not valid.');
  });

  test('subscribers/list never returns secrets; a missing type files the subscriber as a player', async () => {
    await call('POST', `${api}/liststream/subscribers`, { subscriberId: 'bbbb', b32Secret: B32 });
    await call('POST', `${api}/liststream/subscribers`, { subscriberId: 'aaaa', b32Secret: B32, type: 'publish', subscriberName: 'Ann' });
    const list = await call('GET', `${api}/liststream/subscribers/list/0/1000`);
    assert.equal(list.status, 200);
    const body = list.json();
    assert.deepEqual(body.map((s: { subscriberId: string }) => s.subscriberId), ['aaaa', 'bbbb']);
    assert.ok(!JSON.stringify(body).includes(B32), 'no secret in the list');
    assert.ok(body.every((s: object) => !('b32Secret' in s)));
    assert.deepEqual(body[0], { subscriberId: 'aaaa', subscriberName: 'Ann', streamId: 'liststream', type: 'publish', concurrentConnectionsLimit: 1, blockedType: null, blockedUntilUnitTimeStampMs: 0, totpExpiryPeriodSeconds: null });
    assert.equal(body[1].type, 'play');
    assert.equal((await call('GET', `${api}/liststream/subscribers/list/1/1`)).json()[0].subscriberId, 'bbbb');
    assert.equal((await call('GET', `${api}/liststream/subscribers/list/0/x`)).status, 400);
  });

  test('GET …/totp returns the code the gate accepts (registered and derived); errors as the original', needsOathtool, async () => {
    await call('POST', `${api}/stream1/subscribers`, { subscriberId: 'user3', b32Secret: B32 });
    let r = await call('GET', `${api}/stream1/subscribers/user3/totp?type=play`);
    let code = oath(B32);
    if (r.json().dataId !== code) {
      // crossed a step boundary between the two reads: once more
      r = await call('GET', `${api}/stream1/subscribers/user3/totp?type=play`);
      code = oath(B32);
    }
    assert.deepEqual(r.json(), { success: true, message: '', dataId: code, errorId: 0 });
    assert.equal((await play('stream1', 'user3', r.json().dataId)).status, 200);

    const none = await call('GET', `${api}/stream1/subscribers/ghost/totp`);
    assert.deepEqual(none.json(), { success: false, message: SubscriberApiMessage.noSecret, dataId: '', errorId: 0 });
    const junk = await call('GET', `${api}/stream1/subscribers/user3/totp?type=both`);
    assert.equal(junk.status, 400);

    // Unregistered subscriber, app secret: the code is derived (Ant Media's derivation) and plays.
    const derived = await call('GET', `${gate.adminUrl}/DerivedApp/rest/v2/broadcasts/stream1/subscribers/visitor9/totp?type=play`);
    assert.equal(derived.json().success, true);
    const p = await call('GET', `${gate.url}/DerivedApp/streams/stream1.m3u8?subscriberId=visitor9&subscriberCode=${derived.json().dataId}`);
    assert.equal(p.status, 200);
  });

  test('PUT …/block: refuses playback, bumps the epoch, 64-bit long blocks, 0 unblocks', needsOathtool, async () => {
    await call('POST', `${api}/stream1/subscribers`, { subscriberId: 'user4', b32Secret: B32, concurrentConnectionsLimit: 10 });
    assert.equal((await play('stream1', 'user4', oath(B32))).status, 200);
    const e0 = await gate.runtime.store.getEpochs('TotpApp', 'stream1', 'user4');

    // 100 years: past 2^31 seconds and far past the original's int-milliseconds overflow (~24.8 days).
    const seconds = 100 * 365 * 24 * 3600;
    const t0 = Date.now();
    assert.deepEqual((await call('PUT', `${api}/stream1/subscribers/user4/block/${seconds}/play`)).json(), ok);
    const s = (await gate.runtime.store.getSubscriber('TotpApp', 'stream1', 'user4'))!;
    assert.equal(s.blockedType, 'play');
    assert.ok(s.blockedUntilUnitTimeStampMs >= t0 + seconds * 1000 && s.blockedUntilUnitTimeStampMs <= Date.now() + seconds * 1000);
    // A play block bumps the play sessions' epoch (and not the publishing ones').
    assert.equal((await gate.runtime.store.getEpochs('TotpApp', 'stream1', 'user4', 'play')).subscriber, e0.subscriber + 1);
    assert.equal((await gate.runtime.store.getEpochs('TotpApp', 'stream1', 'user4', 'publish')).subscriber, e0.subscriber);
    const blocked = await play('stream1', 'user4', oath(B32));
    assert.equal(blocked.status, 403);
    assert.equal(blocked.json().reason, 'subscriber_blocked');

    // Re-adding the subscriber does not lift the block.
    await call('POST', `${api}/stream1/subscribers`, { subscriberId: 'user4', b32Secret: B32, concurrentConnectionsLimit: 10 });
    assert.equal((await play('stream1', 'user4', oath(B32))).status, 403);

    assert.deepEqual((await call('PUT', `${api}/stream1/subscribers/user4/block/0/play`)).json(), ok);
    assert.equal((await play('stream1', 'user4', oath(B32))).status, 200);

    // A publish-only block leaves playback alone.
    await call('PUT', `${api}/stream1/subscribers/user4/block/60/publish`);
    assert.equal((await play('stream1', 'user4', oath(B32))).status, 200);

    // Blocking an unknown subscriber creates it, blocked.
    await call('PUT', `${api}/stream1/subscribers/newcomer/block/60/publish_play`);
    assert.equal((await gate.runtime.store.getSubscriber('TotpApp', 'stream1', 'newcomer'))!.blockedType, 'publish_play');

    for (const [path, status, message] of [
      ['user4/block/60/all', 400, SubscriberApiMessage.badBlockType],
      ['user4/block/abc/play', 400, SubscriberApiMessage.badSeconds],
      ['user4/block/-1/play', 400, SubscriberApiMessage.badSeconds],
      ['user4/block/999999999999999/play', 400, SubscriberApiMessage.badSeconds],
    ] as const) {
      const r = await call('PUT', `${api}/stream1/subscribers/${path}`);
      assert.equal(r.status, status, path);
      assert.equal(r.json().message, message, path);
    }
  });

  test('re-adding with a new secret ends old playbacks (epoch bump); the same secret does not', needsOathtool, async () => {
    await call('POST', `${api}/stream1/subscribers`, { subscriberId: 'user5', b32Secret: B32 });
    const e0 = (await gate.runtime.store.getEpochs('TotpApp', 'stream1', 'user5')).subscriber;
    await call('POST', `${api}/stream1/subscribers`, { subscriberId: 'user5', b32Secret: B32 });
    assert.equal((await gate.runtime.store.getEpochs('TotpApp', 'stream1', 'user5')).subscriber, e0);
    await call('POST', `${api}/stream1/subscribers`, { subscriberId: 'user5', b32Secret: B32_OTHER });
    assert.equal((await gate.runtime.store.getEpochs('TotpApp', 'stream1', 'user5')).subscriber, e0 + 1);
    assert.equal((await play('stream1', 'user5', oath(B32_OTHER))).status, 200);
  });

  test('DELETE one and DELETE all: Result, epochs bumped, codes refused afterwards', needsOathtool, async () => {
    await call('POST', `${api}/delstream/subscribers`, { subscriberId: 'user6', b32Secret: B32 });
    await call('POST', `${api}/delstream/subscribers`, { subscriberId: 'user7', b32Secret: B32 });
    await call('POST', `${api}/delstream/subscribers`, { subscriberId: 'user8', b32Secret: B32 });
    const e6 = (await gate.runtime.store.getEpochs('TotpApp', 'delstream', 'user6')).subscriber;
    assert.deepEqual((await call('DELETE', `${api}/delstream/subscribers/user6`)).json(), { success: true, message: null, dataId: null, errorId: 0 });
    assert.equal((await gate.runtime.store.getEpochs('TotpApp', 'delstream', 'user6')).subscriber, e6 + 1);
    assert.equal((await call('DELETE', `${api}/delstream/subscribers/user6`)).json().success, false);
    assert.equal((await play('delstream', 'user6', oath(B32))).status, 401);

    const e7 = (await gate.runtime.store.getEpochs('TotpApp', 'delstream', 'user7')).subscriber;
    assert.deepEqual((await call('DELETE', `${api}/delstream/subscribers`)).json(), { success: true, message: null, dataId: null, errorId: 0 });
    assert.deepEqual((await call('GET', `${api}/delstream/subscribers/list/0/50`)).json(), []);
    assert.equal((await gate.runtime.store.getEpochs('TotpApp', 'delstream', 'user7')).subscriber, e7 + 1);
    assert.equal((await play('delstream', 'user8', oath(B32))).status, 401);
  });
});
