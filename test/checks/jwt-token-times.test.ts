// JWT NumericDate claims in milliseconds (RFC 7519 §2 says seconds): an `exp` of Date.now() makes a
// token valid for ~55,000 years, an `nbf` of Date.now() makes it never valid. Both are refused with
// `token_time_implausible`, through the check and through a running gate.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { createJwtCheck, MAX_PLAUSIBLE_NUMERIC_DATE } from '../../src/checks/jwt-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { appSchema } from '../../src/config/schema.js';
import { startTestGate, JWT_SECRET } from '../helpers/gate.js';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import type { RunningGate } from '../../src/server.js';
import { testContext } from '../helpers/context.js';

const sign = (claims: Record<string, unknown>) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(JWT_SECRET));
const nowS = () => Math.floor(Date.now() / 1000);
const nowMs = () => Date.now();

const cases: [string, () => Record<string, unknown>, string][] = [
  ['exp in milliseconds', () => ({ exp: nowMs() + 600_000 }), 'token_time_implausible'],
  ['nbf in milliseconds', () => ({ exp: nowS() + 600, nbf: nowMs() }), 'token_time_implausible'],
  ['iat in milliseconds', () => ({ exp: nowS() + 600, iat: nowMs() }), 'token_time_implausible'],
  ['exp just above 10^11', () => ({ exp: MAX_PLAUSIBLE_NUMERIC_DATE + 1 }), 'token_time_implausible'],
  ['exp in milliseconds, already past as seconds would never be', () => ({ exp: nowMs() - 600_000 }), 'token_time_implausible'],
  ['seconds everywhere', () => ({ exp: nowS() + 600, nbf: nowS() - 10, iat: nowS() }), 'ok'],
  ['exp at 10^11 exactly is still seconds', () => ({ exp: MAX_PLAUSIBLE_NUMERIC_DATE }), 'ok'],
  ['nbf in the future (seconds) is not implausible, just not yet valid', () => ({ exp: nowS() + 600, nbf: nowS() + 300 }), 'token_not_yet_valid'],
];

describe('JWT times in milliseconds', () => {
  const store = new MemoryStore();
  const check = createJwtCheck(appSchema.parse({ play: { jwt: { enabled: true, secret: JWT_SECRET } } }).play.jwt, store);
  after(() => store.close());

  test('the check refuses exp, nbf or iat above 10^11 with token_time_implausible', async () => {
    for (const [name, claims, want] of cases) {
      const token = await sign({ streamId: 'stream1', type: 'play', ...claims() });
      const r = await check.check(token, testContext());
      assert.equal(r.ok ? 'ok' : r.reason, want, name);
    }
  });

  test('a cached implausible token stays refused (the cache never keeps it)', async () => {
    const token = await sign({ streamId: 'stream1', type: 'play', exp: nowMs() + 600_000 });
    for (let i = 0; i < 3; i++) {
      const r = await check.check(token, testContext());
      assert.equal(r.ok ? 'ok' : r.reason, 'token_time_implausible');
    }
  });

  test('mintStreamJwt refuses an exp in milliseconds', async () => {
    await assert.rejects(mintStreamJwt(JWT_SECRET, { streamId: 's', type: 'play', exp: nowMs() + 600_000 }), RangeError);
  });
});

describe('JWT times in milliseconds through the gate', () => {
  let origin: TestOrigin;
  let gate: RunningGate;
  before(async () => {
    origin = await startTestOrigin();
    gate = await startTestGate({ origin: { url: origin.url }, apps: { LiveApp: { play: { jwt: { enabled: true, secret: JWT_SECRET } } } } });
  });
  after(async () => {
    await gate.close();
    await origin.close();
  });

  test('401 token_time_implausible on the proxy and on /verify; the origin never sees the request', async () => {
    const token = await sign({ streamId: 'stream1', type: 'play', exp: nowMs() + 600_000 });
    const seen = origin.seen.length;
    const p = await request(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${token}`);
    assert.equal(p.statusCode, 401);
    assert.deepEqual(await p.body.json(), { error: 'unauthorized', reason: 'token_time_implausible' });
    const v = await request(`${gate.url}/verify`, { headers: { 'x-original-uri': `/LiveApp/streams/stream1000000001.ts?token=${token}` } });
    assert.equal(v.statusCode, 401);
    assert.equal(((await v.body.json()) as { reason: string }).reason, 'token_time_implausible');
    assert.equal(origin.seen.length, seen);
  });
});
