import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { antmediaDerivedKey, checkTotpSubscriber, hmacDerivedKey, totpCode, totpKeyFor } from '../../src/checks/totp-subscriber.js';
import { checkSubscriberNotBlocked, isBlocked } from '../../src/checks/subscriber-block.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { StoreUnavailableError } from '../../src/errors.js';
import { appSchema } from '../../src/config/schema.js';
import type { CheckResult, RequestContext, Role } from '../../src/decision/types.js';
import type { Subscriber } from '../../src/store/store.js';
import { testContext } from '../helpers/context.js';

const APP = 'LiveApp';
const SECRET = 'app-totp-secret-0123456789abcdef';

/** The reason of a refusal, or 'ok'. */
async function why(r: Promise<CheckResult>): Promise<string> {
  const res = await r;
  return res.ok ? 'ok' : res.reason;
}

// --- an independent RFC 4226 HOTP (the code under test uses otplib) ---------------------------
function hotp(key: Uint8Array, counter: number): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = createHmac('sha1', key).update(msg).digest();
  const off = h[h.length - 1]! & 0x0f;
  const bin = ((h[off]! & 0x7f) << 24) | (h[off + 1]! << 16) | (h[off + 2]! << 8) | h[off + 3]!;
  return String(bin % 1_000_000).padStart(6, '0');
}
const step = (nowMs: number, period: number) => Math.floor(nowMs / (period * 1000));

// RFC 6238 appendix B seed (SHA1): ASCII "12345678901234567890", base32 below.
const RFC_KEY = Buffer.from('12345678901234567890', 'ascii');
const RFC_B32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

function policy(over: Record<string, unknown> = {}, role: Role = 'play') {
  const app = appSchema.parse({ [role]: { totp: { enabled: true, ...over } } });
  return role === 'play' ? app.play.totp : app.publish.totp;
}

const ctx = (over: Partial<RequestContext> = {}) => testContext({ app: APP, ...over });

function subscriber(over: Partial<Subscriber> = {}): Subscriber {
  return {
    subscriberId: 'sub1',
    streamId: 'stream1',
    type: 'play',
    b32Secret: RFC_B32,
    totpExpiryPeriodSeconds: 30,
    concurrentConnectionsLimit: 1,
    blockedType: null,
    blockedUntilUnitTimeStampMs: 0,
    ...over,
  };
}

async function storeWith(...subs: Subscriber[]) {
  const store = new MemoryStore();
  for (const s of subs) await store.putSubscriber(APP, s);
  return store;
}

const creds = (subscriberCode: string, subscriberId = 'sub1') => ({ credentials: { subscriberId, subscriberCode } });

test('totpCode reproduces the RFC 6238 SHA1 vectors (6 digits)', () => {
  assert.equal(totpCode(RFC_KEY, 30, 59_000), '287082');
  assert.equal(totpCode(RFC_KEY, 30, 1_111_111_109_000), '081804');
  assert.equal(totpCode(RFC_KEY, 30, 1_111_111_111_000), '050471');
  assert.equal(totpCode(RFC_KEY, 30, 1_234_567_890_000), '005924');
  assert.equal(totpCode(RFC_KEY, 30, 2_000_000_000_000), '279037');
});

test('registered subscriber: current, previous and next step pass with window 1; two steps off fail', async () => {
  const store = await storeWith(subscriber());
  const now = 1_111_111_109_000;
  const s = step(now, 30);
  assert.equal(hotp(RFC_KEY, s), '081804'); // the independent HOTP agrees with the RFC
  const p = policy({ window: 1 });
  for (const d of [-1, 0, 1]) {
    assert.deepEqual(await checkTotpSubscriber(ctx({ now, ...creds(hotp(RFC_KEY, s + d)) }), p, store), { ok: true, subscriberId: 'sub1' }, `delta ${d}`);
  }
  for (const d of [-2, 2]) {
    assert.deepEqual(await checkTotpSubscriber(ctx({ now, ...creds(hotp(RFC_KEY, s + d)) }), p, store), { ok: false, status: 401, reason: 'subscriber_code_invalid' });
  }
  // window 0: only the current step
  assert.equal((await checkTotpSubscriber(ctx({ now, ...creds(hotp(RFC_KEY, s - 1)) }), policy({ window: 0 }), store)).ok, false);
  await store.close();
});

test('registered subscriber without its own period uses the policy period', async () => {
  const store = await storeWith(subscriber({ totpExpiryPeriodSeconds: null }));
  const now = Date.now();
  const p = policy({ periodSeconds: 60, window: 0 });
  assert.equal((await checkTotpSubscriber(ctx({ now, ...creds(hotp(RFC_KEY, step(now, 60))) }), p, store)).ok, true);
  await store.close();
});

test('a registered subscriber ignores the app secret: derived codes do not open it', async () => {
  const store = await storeWith(subscriber());
  const now = Date.now();
  const derived = antmediaDerivedKey(SECRET, 'sub1', 'stream1', 'play');
  const r = await checkTotpSubscriber(ctx({ now, ...creds(hotp(derived, step(now, 60))) }), policy({ secret: SECRET }), store);
  assert.equal(r.ok, false);
  await store.close();
});

test('antmedia derivation matches Ant Media (TokenFilterTest.testGeneratedSecret) and its documented formula', async () => {
  // Ant's unit test: secret123 + sub1 + stream1 + publish is 27 chars → padded with "XXXXX".
  assert.deepEqual(Buffer.from(antmediaDerivedKey('secret123', 'sub1', 'stream1', 'publish')), Buffer.from('secret123sub1stream1publishXXXXX'));
  assert.deepEqual(Buffer.from(antmediaDerivedKey('secret', 'sub1', 'stream1', 'publish')), Buffer.from('secretsub1stream1publish')); // 24: no pad

  const store = new MemoryStore();
  const now = Date.now();
  const expectedKey = Buffer.from(`${SECRET}sub9stream1play`.padEnd(Math.ceil(`${SECRET}sub9stream1play`.length / 8) * 8, 'X'), 'utf8');
  const code = hotp(expectedKey, step(now, 60));
  assert.equal(totpCode(antmediaDerivedKey(SECRET, 'sub9', 'stream1', 'play'), 60, now), code);
  const p = policy({ secret: SECRET, derivation: 'antmedia' });
  assert.deepEqual(await checkTotpSubscriber(ctx({ now, ...creds(code, 'sub9') }), p, store), { ok: true, subscriberId: 'sub9' });
  // The derived key is bound to the role and the stream.
  assert.equal((await checkTotpSubscriber(ctx({ now, streamIds: ['stream2'], ...creds(code, 'sub9') }), p, store)).ok, false);
  const pub = policy({ secret: SECRET }, 'publish');
  assert.equal((await checkTotpSubscriber(ctx({ now, role: 'publish', ...creds(code, 'sub9') }), pub, store)).ok, false);
  await store.close();
});

test('hmac derivation: HMAC-SHA256(secret, label \\0 sid \\0 stream \\0 type)', async () => {
  const store = new MemoryStore();
  const now = Date.now();
  const expectedKey = createHmac('sha256', SECRET).update('streamgate-totp-v1\0sub9\0stream1\0play').digest();
  assert.deepEqual(Buffer.from(hmacDerivedKey(SECRET, 'sub9', 'stream1', 'play')), expectedKey);
  const p = policy({ secret: SECRET, derivation: 'hmac' });
  assert.equal((await checkTotpSubscriber(ctx({ now, ...creds(hotp(expectedKey, step(now, 60)), 'sub9') }), p, store)).ok, true);
  // An antmedia-derived code is not an hmac-derived code.
  const antCode = hotp(antmediaDerivedKey(SECRET, 'sub9', 'stream1', 'play'), step(now, 60));
  if (antCode !== hotp(expectedKey, step(now, 60))) {
    assert.equal((await checkTotpSubscriber(ctx({ now, ...creds(antCode, 'sub9') }), p, store)).ok, false);
  }
  await store.close();
});

test('collision: antmedia ("ab","c") and ("a","bc") share codes; hmac does not', async () => {
  const store = new MemoryStore();
  const now = Date.now();
  const s = step(now, 60);
  assert.deepEqual(antmediaDerivedKey(SECRET, 'ab', 'c', 'play'), antmediaDerivedKey(SECRET, 'a', 'bc', 'play'));
  const ant = policy({ secret: SECRET, derivation: 'antmedia' });
  const codeForAbOnC = hotp(antmediaDerivedKey(SECRET, 'ab', 'c', 'play'), s);
  // Subscriber "a" replays the code of subscriber "ab" on stream "bc": accepted (the weakness).
  assert.equal((await checkTotpSubscriber(ctx({ now, streamId: 'bc', streamIds: ['bc'], ...creds(codeForAbOnC, 'a') }), ant, store)).ok, true);

  const hm = policy({ secret: SECRET, derivation: 'hmac' });
  assert.notDeepEqual(hmacDerivedKey(SECRET, 'ab', 'c', 'play'), hmacDerivedKey(SECRET, 'a', 'bc', 'play'));
  const hmacCodeAb = hotp(hmacDerivedKey(SECRET, 'ab', 'c', 'play'), s);
  const hmacCodesA = [-1, 0, 1].map((d) => hotp(hmacDerivedKey(SECRET, 'a', 'bc', 'play'), s + d));
  if (!hmacCodesA.includes(hmacCodeAb)) {
    assert.equal((await checkTotpSubscriber(ctx({ now, streamId: 'bc', streamIds: ['bc'], ...creds(hmacCodeAb, 'a') }), hm, store)).ok, false);
  }
  await store.close();
});

test('unregistered subscriber without an app secret → subscriber_code_invalid', async () => {
  const store = new MemoryStore();
  const r = await checkTotpSubscriber(ctx(creds('123456', 'nobody')), policy(), store);
  assert.deepEqual(r, { ok: false, status: 401, reason: 'subscriber_code_invalid' });
  await store.close();
});

test('missing subscriberId or code → subscriber_missing; malformed codes → invalid, never thrown', async () => {
  const store = await storeWith(subscriber());
  const missing = { ok: false, status: 401, reason: 'subscriber_missing' };
  assert.deepEqual(await checkTotpSubscriber(ctx(), policy(), store), missing);
  assert.deepEqual(await checkTotpSubscriber(ctx({ credentials: { subscriberId: 'sub1' } }), policy(), store), missing);
  assert.deepEqual(await checkTotpSubscriber(ctx({ credentials: { subscriberCode: '123456' } }), policy(), store), missing);
  for (const bad of ['abcdef', '12345', '1234567', ' 12345', '１２３４５６']) {
    assert.equal((await checkTotpSubscriber(ctx(creds(bad)), policy(), store)).ok, false);
  }
  await store.close();
});

test('a publish subscriber may play; a play subscriber may not publish', async () => {
  const now = Date.now();
  const code = hotp(RFC_KEY, step(now, 30));
  const pubStore = await storeWith(subscriber({ type: 'publish' }));
  assert.equal((await checkTotpSubscriber(ctx({ now, ...creds(code) }), policy(), pubStore)).ok, true);
  assert.equal((await checkTotpSubscriber(ctx({ now, role: 'publish', ...creds(code) }), policy({}, 'publish'), pubStore)).ok, true);
  const playStore = await storeWith(subscriber({ type: 'play' }));
  assert.deepEqual(await checkTotpSubscriber(ctx({ now, role: 'publish', ...creds(code) }), policy({}, 'publish'), playStore), {
    ok: false,
    status: 401,
    reason: 'subscriber_code_invalid',
  });
  await pubStore.close();
  await playStore.close();
});

test('preventReplay: the same code in the same step is refused the second time; HEAD does not spend it', async () => {
  const store = await storeWith(subscriber());
  const now = Date.now();
  const code = hotp(RFC_KEY, step(now, 30));
  const p = policy({ preventReplay: true });
  assert.equal((await checkTotpSubscriber(ctx({ now, consume: false, ...creds(code) }), p, store)).ok, true);
  assert.equal((await checkTotpSubscriber(ctx({ now, ...creds(code) }), p, store)).ok, true);
  assert.deepEqual(await checkTotpSubscriber(ctx({ now, ...creds(code) }), p, store), { ok: false, status: 401, reason: 'subscriber_code_replayed' });
  // The next step's code is a new code.
  assert.equal((await checkTotpSubscriber(ctx({ now, ...creds(hotp(RFC_KEY, step(now, 30) + 1)) }), p, store)).ok, true);
  // Without preventReplay the code is reusable within its window (Ant Media behaviour).
  assert.equal((await checkTotpSubscriber(ctx({ now, ...creds(code) }), policy(), store)).ok, true);
  await store.close();
});

test('blocked subscriber with a valid code → 403 subscriber_blocked; other role and expired blocks pass', async () => {
  const store = await storeWith(subscriber({ type: 'publish' }));
  const now = Date.now();
  const code = hotp(RFC_KEY, step(now, 30));
  await store.blockSubscriber(APP, 'stream1', 'sub1', 'play', now + 60_000);
  assert.deepEqual(await checkTotpSubscriber(ctx({ now, ...creds(code) }), policy(), store), { ok: false, status: 403, reason: 'subscriber_blocked' });
  assert.equal((await checkTotpSubscriber(ctx({ now, role: 'publish', ...creds(code) }), policy({}, 'publish'), store)).ok, true);
  // A wrong code is just wrong: the block state is not disclosed.
  assert.equal(await why(checkTotpSubscriber(ctx({ now, ...creds(code === '000000' ? '000001' : '000000') }), policy(), store)), 'subscriber_code_invalid');
  assert.equal((await checkTotpSubscriber(ctx({ now: now + 61_000, ...creds(hotp(RFC_KEY, step(now + 61_000, 30))) }), policy(), store)).ok, true);
  await store.blockSubscriber(APP, 'stream1', 'sub1', 'publish_play', now + 60_000);
  assert.equal((await checkTotpSubscriber(ctx({ now, role: 'publish', ...creds(code) }), policy({}, 'publish'), store)).ok, false);
  await store.close();
});

test('an unregistered subscriber that was blocked (record without secret) is refused too', async () => {
  const store = new MemoryStore();
  const now = Date.now();
  await store.blockSubscriber(APP, 'stream1', 'sub9', 'publish_play', now + 60_000);
  const code = hotp(antmediaDerivedKey(SECRET, 'sub9', 'stream1', 'play'), step(now, 60));
  assert.equal(await why(checkTotpSubscriber(ctx({ now, ...creds(code, 'sub9') }), policy({ secret: SECRET }), store)), 'subscriber_blocked');
  await store.close();
});

test('isBlocked follows Ant Media semantics; checkSubscriberNotBlocked applies it to any request naming a subscriber', async () => {
  const now = 1_700_000_000_000;
  assert.equal(isBlocked({ blockedType: 'play', blockedUntilUnitTimeStampMs: now }, 'play', now), true);
  assert.equal(isBlocked({ blockedType: 'play', blockedUntilUnitTimeStampMs: now - 1 }, 'play', now), false);
  assert.equal(isBlocked({ blockedType: 'play', blockedUntilUnitTimeStampMs: 0 }, 'play', 0), false);
  assert.equal(isBlocked({ blockedType: 'publish', blockedUntilUnitTimeStampMs: now + 1 }, 'play', now), false);
  assert.equal(isBlocked({ blockedType: 'publish_play', blockedUntilUnitTimeStampMs: now + 1 }, 'publish', now), true);
  assert.equal(isBlocked({ blockedType: null, blockedUntilUnitTimeStampMs: now + 1 }, 'play', now), false);
  // 64-bit ms: a block of a year does not overflow (Ant's int arithmetic did at ~24.8 days).
  assert.equal(isBlocked({ blockedType: 'play', blockedUntilUnitTimeStampMs: now + 365 * 86_400_000 }, 'play', now), true);

  const store = new MemoryStore();
  await store.blockSubscriber(APP, 's', 'sub1', 'play', now + 1000);
  assert.deepEqual(await checkSubscriberNotBlocked(ctx({ now, credentials: {} }), store), { ok: true });
  assert.deepEqual(await checkSubscriberNotBlocked(ctx({ now, streamIds: ['s_240p', 's'], credentials: { subscriberId: 'sub1' } }), store), {
    ok: false,
    status: 403,
    reason: 'subscriber_blocked',
  });
  assert.deepEqual(await checkSubscriberNotBlocked(ctx({ now, streamIds: ['other'], credentials: { subscriberId: 'sub1' } }), store), { ok: true, subscriberId: 'sub1' });
  await store.close();
});

test('store unavailable → 503 store_unavailable', async () => {
  // The real MemoryStore with reads failing the way the Redis store does when unreachable.
  class DownStore extends MemoryStore {
    override async getSubscriber(): Promise<never> {
      throw new StoreUnavailableError();
    }
  }
  const store = new DownStore();
  const down = { ok: false, status: 503, reason: 'store_unavailable' };
  assert.deepEqual(await checkTotpSubscriber(ctx(creds('123456')), policy(), store), down);
  assert.deepEqual(await checkSubscriberNotBlocked(ctx({ credentials: { subscriberId: 'sub1' } }), store), down);
  await store.close();
});

test('totpKeyFor (CLI / REST): registered key and period, derived key, or null', () => {
  const p = policy({ secret: SECRET, periodSeconds: 60 });
  const reg = totpKeyFor({ policy: p, subscriberId: 'sub1', streamId: 'stream1', type: 'play', subscriber: subscriber({ totpExpiryPeriodSeconds: 120 }) });
  assert.ok(reg);
  assert.deepEqual(Buffer.from(reg.key), RFC_KEY);
  assert.equal(reg.periodSeconds, 120);
  assert.equal(reg.registered, true);
  const derived = totpKeyFor({ policy: p, subscriberId: 'sub9', streamId: 'stream1', type: 'play' });
  assert.ok(derived);
  assert.equal(derived.registered, false);
  assert.equal(derived.periodSeconds, 60);
  assert.equal(totpKeyFor({ policy: policy(), subscriberId: 'sub9', streamId: 'stream1', type: 'play' }), null);
  // A record whose secret is not base32 is unusable; it never falls back to the derived key.
  assert.equal(totpKeyFor({ policy: p, subscriberId: 'sub1', streamId: 'stream1', type: 'play', subscriber: subscriber({ b32Secret: 'not base32!' }) }), null);
});
