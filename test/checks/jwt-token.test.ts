import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, base64url } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { createJwtCheck } from '../../src/checks/jwt-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { createKeyResolver } from '../../src/jwt/key-resolver.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { appSchema } from '../../src/config/schema.js';
import type { CheckResult, RequestContext } from '../../src/decision/types.js';
import { testContext } from '../helpers/context.js';

const SECRET = 'a-jwt-stream-secret-of-at-least-32-bytes!';
const nowS = () => Math.floor(Date.now() / 1000);

/** The reason of a refusal, or 'ok'. */
async function why(r: Promise<CheckResult>): Promise<string> {
  const res = await r;
  return res.ok ? 'ok' : res.reason;
}

function jwtPolicy(over: Record<string, unknown> = {}) {
  return appSchema.parse({ play: { jwt: { enabled: true, ...over } } }).play.jwt;
}

const ctx = testContext;

const stores: MemoryStore[] = [];
function newStore(): MemoryStore {
  const s = new MemoryStore();
  stores.push(s);
  return s;
}
after(async () => {
  for (const s of stores) await s.close();
});

async function hs(claims: Record<string, unknown>, secret = SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

// --- a real JWKS endpoint on 127.0.0.1:0 ------------------------------------------------------
interface JwksServer {
  url: string;
  setKeys(keys: JWK[] | string): void;
  setMode(mode: 'ok' | 'hang'): void;
  hits(): number;
  close(): Promise<void>;
}
async function startJwks(keys: JWK[]): Promise<JwksServer> {
  let body = JSON.stringify({ keys });
  let hits = 0;
  let mode: 'ok' | 'hang' = 'ok';
  const server = http.createServer((_req, res) => {
    hits++;
    if (mode === 'hang') return;
    res.setHeader('content-type', 'application/json');
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  after(close);
  return {
    // Deliberately not /.well-known/jwks.json: any URL is accepted.
    url: `http://127.0.0.1:${port}/issuer/keys.json`,
    setKeys: (k) => {
      body = typeof k === 'string' ? k : JSON.stringify({ keys: k });
    },
    setMode: (m) => {
      mode = m;
    },
    hits: () => hits,
    close,
  };
}

async function keyPair(alg: 'RS256' | 'ES256' | 'EdDSA', kid: string) {
  const { publicKey, privateKey } = alg === 'EdDSA' ? await generateKeyPair('EdDSA', { crv: 'Ed25519' }) : await generateKeyPair(alg);
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { publicKey, privateKey, jwk, alg, kid };
}
type Pair = Awaited<ReturnType<typeof keyPair>>;

async function signWith(p: Pair, claims: Record<string, unknown>, kid: string = p.kid): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: p.alg, kid, typ: 'JWT' }).sign(p.privateKey as CryptoKey);
}
const playClaims = (extra: Record<string, unknown> = {}) => ({ streamId: 'stream1', type: 'play', exp: nowS() + 600, ...extra });

// --- HS256 ------------------------------------------------------------------------------------

test('valid HS256 token (minted by mintStreamJwt) → ok with expiresAt = exp in ms', async () => {
  const check = createJwtCheck(jwtPolicy({ secret: SECRET }), newStore());
  const exp = nowS() + 600;
  const token = await mintStreamJwt(SECRET, { streamId: 'stream1', type: 'play', exp });
  assert.deepEqual(await check.check(token, ctx()), { ok: true, expiresAt: exp * 1000, streamId: 'stream1' });
});

test('mintStreamJwt: HS256 with streamId, type, exp and optional roomId; refuses weak input', async () => {
  const exp = nowS() + 60;
  const token = await mintStreamJwt(SECRET, { streamId: 'room1', type: 'publish', exp, roomId: 'room1' });
  const [h, p] = token.split('.') as [string, string];
  assert.deepEqual(JSON.parse(new TextDecoder().decode(base64url.decode(h))), { alg: 'HS256', typ: 'JWT' });
  assert.deepEqual(JSON.parse(new TextDecoder().decode(base64url.decode(p))), { streamId: 'room1', type: 'publish', roomId: 'room1', exp });
  await assert.rejects(mintStreamJwt('short', { streamId: 's', type: 'play', exp }), RangeError);
  await assert.rejects(mintStreamJwt(SECRET, { streamId: 's', type: 'play', exp: 1.5 }), RangeError);
});

test('expired by one second → token_expired; valid one second before (tolerance 0)', async () => {
  const check = createJwtCheck(jwtPolicy({ secret: SECRET, clockToleranceSeconds: 0 }), newStore());
  const now = Date.now();
  const s = Math.floor(now / 1000);
  assert.deepEqual(await check.check(await hs(playClaims({ exp: s - 1 })), ctx({ now })), { ok: false, status: 401, reason: 'token_expired' });
  assert.equal((await check.check(await hs(playClaims({ exp: s })), ctx({ now }))).ok, false, 'exp is exclusive');
  assert.equal((await check.check(await hs(playClaims({ exp: s + 1 })), ctx({ now }))).ok, true);
});

test('clock tolerance: 10 s past exp passes with 30 s tolerance, 31 s does not', async () => {
  const check = createJwtCheck(jwtPolicy({ secret: SECRET, clockToleranceSeconds: 30 }), newStore());
  assert.equal((await check.check(await hs(playClaims({ exp: nowS() - 10 })), ctx())).ok, true);
  assert.equal(await why(check.check(await hs(playClaims({ exp: nowS() - 31 })), ctx())), 'token_expired');
});

test('nbf in the future → token_not_yet_valid; within tolerance passes', async () => {
  const check = createJwtCheck(jwtPolicy({ secret: SECRET, clockToleranceSeconds: 30 }), newStore());
  assert.deepEqual(await check.check(await hs(playClaims({ nbf: nowS() + 60 })), ctx()), { ok: false, status: 401, reason: 'token_not_yet_valid' });
  assert.equal((await check.check(await hs(playClaims({ nbf: nowS() + 10 })), ctx())).ok, true);
});

test('missing exp → token_invalid when required; accepted (no expiresAt) when not', async () => {
  const token = await hs({ streamId: 'stream1', type: 'play' });
  assert.deepEqual(await createJwtCheck(jwtPolicy({ secret: SECRET }), newStore()).check(token, ctx()), { ok: false, status: 401, reason: 'token_invalid' });
  assert.deepEqual(await createJwtCheck(jwtPolicy({ secret: SECRET, requireExp: false }), newStore()).check(token, ctx()), { ok: true, expiresAt: undefined, streamId: 'stream1' });
  // exp of the wrong type is invalid, not "missing"
  assert.equal(await why(createJwtCheck(jwtPolicy({ secret: SECRET }), newStore()).check(await hs(playClaims({ exp: 'tomorrow' })), ctx())), 'token_invalid');
});

test('wrong stream → token_wrong_stream, incl. stream1 vs stream10; ambiguous names accept any candidate', async () => {
  const check = createJwtCheck(jwtPolicy({ secret: SECRET }), newStore());
  const s1 = await hs(playClaims());
  const s10 = await hs(playClaims({ streamId: 'stream10' }));
  assert.deepEqual(await check.check(s1, ctx({ streamId: 'stream10', streamIds: ['stream10'] })), { ok: false, status: 401, reason: 'token_wrong_stream' });
  assert.equal(await why(check.check(s10, ctx())), 'token_wrong_stream');
  assert.equal((await check.check(s1, ctx({ streamId: 'stream1_240p', streamIds: ['stream1_240p', 'stream1'] }))).ok, true);
  assert.equal(await why(check.check(await hs(playClaims({ streamId: 'STREAM1' })), ctx())), 'token_wrong_stream', 'case-sensitive');
});

test('wrong role → token_wrong_role; a publish token plays only its own room stream', async () => {
  const check = createJwtCheck(jwtPolicy({ secret: SECRET }), newStore());
  const pub = await hs(playClaims({ type: 'publish' }));
  assert.deepEqual(await check.check(pub, ctx()), { ok: false, status: 401, reason: 'token_wrong_role' });
  assert.equal(await why(check.check(await hs(playClaims()), ctx({ role: 'publish' }))), 'token_wrong_role');
  assert.equal((await check.check(pub, ctx({ role: 'publish' }))).ok, true);
  // Conference: {type: publish, streamId: roomId} plays the room.
  const room = await hs(playClaims({ type: 'publish', streamId: 'room1' }));
  assert.equal((await check.check(room, ctx({ streamId: 'room1', streamIds: ['room1'], credentials: { roomId: 'room1' } }))).ok, true);
  assert.equal(await why(check.check(room, ctx({ streamId: 'participant', streamIds: ['participant'], credentials: { roomId: 'room1' } }))), 'token_wrong_stream');
  assert.equal(await why(check.check(pub, ctx({ credentials: { roomId: 'room1' } }))), 'token_wrong_role');
});

test('missing or non-string streamId/type claims → token_invalid', async () => {
  const check = createJwtCheck(jwtPolicy({ secret: SECRET }), newStore());
  assert.equal(await why(check.check(await hs({ type: 'play', exp: nowS() + 60 }), ctx())), 'token_invalid');
  assert.equal(await why(check.check(await hs({ streamId: 'stream1', exp: nowS() + 60 }), ctx())), 'token_invalid');
  assert.equal(await why(check.check(await hs({ streamId: ['stream1'], type: 'play', exp: nowS() + 60 }), ctx())), 'token_invalid');
});

test('tampered signature, tampered payload, wrong secret and garbage → token_invalid, never cached', async () => {
  const check = createJwtCheck(jwtPolicy({ secret: SECRET }), newStore());
  const token = await hs(playClaims());
  const [h, p, sig] = token.split('.') as [string, string, string];
  const mid = Math.floor(sig.length / 2);
  const badSig = `${h}.${p}.${sig.slice(0, mid)}${sig[mid] === 'A' ? 'B' : 'A'}${sig.slice(mid + 1)}`;
  const forged = `${h}.${base64url.encode(JSON.stringify(playClaims({ streamId: 'stream2' })))}.${sig}`;
  const invalid = { ok: false, status: 401, reason: 'token_invalid' };
  assert.deepEqual(await check.check(badSig, ctx()), invalid);
  assert.deepEqual(await check.check(badSig, ctx()), invalid);
  assert.deepEqual(await check.check(forged, ctx({ streamIds: ['stream2'] })), invalid);
  assert.deepEqual(await check.check(await hs(playClaims(), 'another-secret-that-is-32-bytes-long!!'), ctx()), invalid);
  for (const junk of ['', 'a.b', 'a.b.c', 'a.b.c.d', '...', token.replace(/\./g, '')]) assert.deepEqual(await check.check(junk, ctx()), invalid);
  assert.equal(check.stats().size, 0, 'bad tokens are not cached');
  assert.equal((await check.check(token, ctx())).ok, true);
});

test('alg "none" is refused', async () => {
  const check = createJwtCheck(jwtPolicy({ secret: SECRET }), newStore());
  const unsecured = new UnsecuredJWT(playClaims()).encode();
  assert.equal(unsecured.endsWith('.'), true);
  assert.equal(await why(check.check(unsecured, ctx())), 'token_invalid');
  // Also with a "signature" glued on, and with algorithms explicitly listed.
  const explicit = createJwtCheck(jwtPolicy({ secret: SECRET, algorithms: ['HS256'] }), newStore());
  assert.equal(await why(explicit.check(`${unsecured}${base64url.encode('sig')}`, ctx())), 'token_invalid');
});

test('HS/RS confusion: an HS256 token signed with the RSA public key is refused', async () => {
  const rsa = await keyPair('RS256', 'k1');
  const server = await startJwks([rsa.jwk]);
  const pem = await exportSPKI(rsa.publicKey as CryptoKey);
  const confused = [
    await hs(playClaims(), pem),
    await new SignJWT(playClaims()).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(new TextEncoder().encode(JSON.stringify(rsa.jwk))),
    await new SignJWT(playClaims()).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(base64url.decode(rsa.jwk.n as string)),
  ];
  // JWKS only (HS256 not in the pinned list).
  const jwksOnly = createJwtCheck(jwtPolicy({ jwksUrl: server.url, jwksShared: false }), newStore());
  // Both configured: HS256 allowed, but its key is always the configured secret, never a JWKS key.
  const both = createJwtCheck(jwtPolicy({ secret: SECRET, jwksUrl: server.url, jwksShared: false, algorithms: ['HS256', 'RS256'] }), newStore());
  for (const t of confused) {
    assert.equal(await why(jwksOnly.check(t, ctx())), 'token_invalid');
    assert.equal(await why(both.check(t, ctx())), 'token_invalid');
  }
  // Sanity: the genuine RS256 token passes both; an HS256 token passes only where HS256 is pinned.
  const genuine = await signWith(rsa, playClaims());
  assert.equal((await jwksOnly.check(genuine, ctx())).ok, true);
  assert.equal((await both.check(genuine, ctx())).ok, true);
  assert.equal(await why(jwksOnly.check(await hs(playClaims()), ctx())), 'token_invalid');
  assert.equal((await both.check(await hs(playClaims()), ctx())).ok, true);
  // And an RS256 token is refused by an HS256-only policy.
  assert.equal(await why(createJwtCheck(jwtPolicy({ secret: SECRET }), newStore()).check(genuine, ctx())), 'token_invalid');
});

// --- cache -------------------------------------------------------------------------------------

test('a verified token is cached: later checks do no crypto but still re-check stream, role and time', async () => {
  const check = createJwtCheck(jwtPolicy({ secret: SECRET, clockToleranceSeconds: 0 }), newStore());
  const exp = nowS() + 60;
  const token = await hs(playClaims({ exp }));
  assert.equal((await check.check(token, ctx())).ok, true);
  for (let i = 0; i < 50; i++) assert.equal((await check.check(token, ctx({ kind: 'segment' }))).ok, true);
  assert.deepEqual(check.stats(), { size: 1, hits: 50, misses: 1, verifications: 1 });
  assert.equal(check.keyResolver.stats().keyLookups, 1, 'the key function ran once');
  // Hits are still checked against the request and the clock.
  assert.equal(await why(check.check(token, ctx({ streamIds: ['stream10'] }))), 'token_wrong_stream');
  assert.equal(await why(check.check(token, ctx({ role: 'publish' }))), 'token_wrong_role');
  assert.equal(await why(check.check(token, ctx({ now: exp * 1000 + 1000 }))), 'token_expired');
  assert.equal(check.stats().verifications, 1);
  assert.equal(check.stats().size, 0, 'an expired entry is dropped');
});

test('the cache is bounded (LRU)', async () => {
  const check = createJwtCheck(jwtPolicy({ secret: SECRET }), newStore(), { cacheSize: 2 });
  const [a, b, c] = await Promise.all([1, 2, 3].map((i) => hs(playClaims({ jti: String(i) }))));
  await check.check(a!, ctx());
  await check.check(b!, ctx());
  await check.check(a!, ctx()); // a is now most recent
  await check.check(c!, ctx()); // evicts b
  assert.equal(check.stats().size, 2);
  const v = check.stats().verifications;
  await check.check(a!, ctx());
  assert.equal(check.stats().verifications, v, 'a stayed cached');
  await check.check(b!, ctx());
  assert.equal(check.stats().verifications, v + 1, 'b was evicted');
});

// --- JWKS --------------------------------------------------------------------------------------

test('RS256, ES256 and EdDSA tokens verify through a JWKS at an arbitrary URL (one fetch)', async () => {
  const pairs = await Promise.all([keyPair('RS256', 'rsa'), keyPair('ES256', 'ec'), keyPair('EdDSA', 'ed')]);
  const server = await startJwks(pairs.map((p) => p.jwk));
  const check = createJwtCheck(jwtPolicy({ jwksUrl: server.url, jwksShared: false }), newStore());
  for (const p of pairs) assert.deepEqual(await check.check(await signWith(p, playClaims()), ctx()), { ok: true, expiresAt: playClaims().exp * 1000, streamId: 'stream1' }, p.alg);
  assert.equal(server.hits(), 1);
  // A kid used with another key type, or an algorithm outside the pinned list, is refused.
  const ecUnderRsaKid = await signWith(pairs[1]!, playClaims(), 'rsa');
  assert.equal(await why(check.check(ecUnderRsaKid, ctx())), 'token_invalid');
  const rs384 = await generateKeyPair('RS384');
  const unpinned = await new SignJWT(playClaims()).setProtectedHeader({ alg: 'RS384', kid: 'rsa' }).sign(rs384.privateKey);
  assert.equal(await why(check.check(unpinned, ctx())), 'token_invalid');
});

test('kid rotation: a new kid triggers a refetch; a removed kid is refused after it', async () => {
  let t = 1_000_000;
  const oldKey = await keyPair('RS256', 'old');
  const newKey = await keyPair('RS256', 'new');
  const server = await startJwks([oldKey.jwk]);
  const policy = jwtPolicy({ jwksUrl: server.url, jwksShared: false, jwksCooldownSeconds: 30 });
  const resolver = createKeyResolver({ ...policy, clock: () => t }, newStore());
  const check = createJwtCheck(policy, newStore(), { keyResolver: resolver });
  assert.equal((await check.check(await signWith(oldKey, playClaims({ jti: '1' })), ctx())).ok, true);
  assert.equal(server.hits(), 1);

  server.setKeys([newKey.jwk]);
  assert.equal((await check.check(await signWith(newKey, playClaims()), ctx())).ok, true, 'new kid → refetch');
  assert.equal(server.hits(), 2);
  assert.equal(await why(check.check(await signWith(oldKey, playClaims({ jti: '2' })), ctx())), 'token_invalid', 'old kid gone');
  assert.equal(server.hits(), 2, 'within the cooldown: no refetch');
  t += 31_000;
  assert.equal(await why(check.check(await signWith(oldKey, playClaims({ jti: '3' })), ctx())), 'token_invalid');
  assert.equal(server.hits(), 3, 'after the cooldown an unknown kid refetches again, and is still refused');
});

test('cooldown: a flood of unknown kids refetches at most once per cooldown', async () => {
  const key = await keyPair('ES256', 'real');
  const server = await startJwks([key.jwk]);
  const check = createJwtCheck(jwtPolicy({ jwksUrl: server.url, jwksShared: false, jwksCooldownSeconds: 30 }), newStore());
  const results = [];
  for (let i = 0; i < 20; i++) results.push(await check.check(await signWith(key, playClaims(), `made-up-${i}`), ctx()));
  assert.ok(results.every((r) => r.ok === false && r.reason === 'token_invalid'));
  assert.equal(server.hits(), 2, 'initial load + one refetch');
  // Concurrent unknown kids too.
  await Promise.all(Array.from({ length: 20 }, async (_, i) => check.check(await signWith(key, playClaims(), `burst-${i}`), ctx())));
  assert.equal(server.hits(), 2);
  assert.equal((await check.check(await signWith(key, playClaims()), ctx())).ok, true);
});

test('issuer down: cached keys keep working after the cache period', async () => {
  let t = 5_000_000;
  const key = await keyPair('EdDSA', 'ed1');
  const server = await startJwks([key.jwk]);
  const policy = jwtPolicy({ jwksUrl: server.url, jwksShared: false, jwksCacheSeconds: 60, jwksCooldownSeconds: 30 });
  const resolver = createKeyResolver({ ...policy, clock: () => t }, newStore());
  const check = createJwtCheck(policy, newStore(), { keyResolver: resolver });
  assert.equal((await check.check(await signWith(key, playClaims({ jti: 'a' })), ctx())).ok, true);
  await server.close();
  t += 61_000; // stale: a refetch is attempted and fails
  assert.equal((await check.check(await signWith(key, playClaims({ jti: 'b' })), ctx())).ok, true);
  await new Promise((r) => setTimeout(r, 100)); // let the background refetch fail
  assert.equal(resolver.stats().jwksFetchFailures, 1);
  assert.equal((await check.check(await signWith(key, playClaims({ jti: 'c' })), ctx())).ok, true);
  assert.equal(resolver.stats().jwksFetchFailures, 1, 'backs off instead of retrying every request');
});

test('no keys at all → refused cleanly, never thrown', async () => {
  const key = await keyPair('RS256', 'k');
  // An address where nothing listens.
  const dead = await startJwks([]);
  const deadUrl = dead.url;
  await dead.close();
  const check = createJwtCheck(jwtPolicy({ jwksUrl: deadUrl, jwksShared: false }), newStore());
  assert.deepEqual(await check.check(await signWith(key, playClaims()), ctx()), { ok: false, status: 401, reason: 'token_invalid' });

  // Empty set, malformed documents.
  const server = await startJwks([]);
  for (const body of [JSON.stringify({ keys: [] }), 'not json', JSON.stringify({ nokeys: true }), JSON.stringify({ keys: [{ kty: 'RSA', kid: 'k', d: 'private!' }] })]) {
    server.setKeys(body);
    const c = createJwtCheck(jwtPolicy({ jwksUrl: server.url, jwksShared: false }), newStore());
    assert.equal(await why(c.check(await signWith(key, playClaims()), ctx())), 'token_invalid', body);
  }

  // The key function itself rejects with a jose error (what the REST filter sees), not a raw one.
  const resolver = createKeyResolver({ jwksUrl: deadUrl, jwksCacheSeconds: 60, jwksTimeoutMs: 500, jwksCooldownSeconds: 30, jwksShared: false }, newStore());
  await assert.rejects(async () => resolver({ alg: 'RS256', kid: 'k' }, { payload: '', signature: '' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  await assert.rejects(async () => resolver({ alg: 'HS256' }, { payload: '', signature: '' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  await assert.rejects(async () => resolver({ alg: 'constructor' } as never, { payload: '', signature: '' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
});

test('a JWKS endpoint that hangs is cut off by jwksTimeoutMs', async () => {
  const key = await keyPair('RS256', 'k');
  const server = await startJwks([key.jwk]);
  server.setMode('hang');
  const check = createJwtCheck(jwtPolicy({ jwksUrl: server.url, jwksShared: false, jwksTimeoutMs: 200 }), newStore());
  const started = Date.now();
  assert.equal(await why(check.check(await signWith(key, playClaims()), ctx())), 'token_invalid');
  assert.ok(Date.now() - started < 2000);
});

test('shared JWKS: a second replica reads the key set from the store without fetching', async () => {
  const key = await keyPair('ES256', 'shared');
  const server = await startJwks([key.jwk]);
  const store = newStore();
  const policy = jwtPolicy({ jwksUrl: server.url, jwksShared: true });
  const replicaA = createJwtCheck(policy, store);
  const replicaB = createJwtCheck(policy, store);
  const token = await signWith(key, playClaims());
  assert.equal((await replicaA.check(token, ctx())).ok, true);
  assert.equal(server.hits(), 1);
  assert.ok(await store.getShared(`jwks:${server.url}`), 'written to the store');
  assert.equal((await replicaB.check(token, ctx())).ok, true);
  assert.equal(server.hits(), 1, 'replica B did not fetch');
  assert.deepEqual(
    { fetches: replicaB.keyResolver.stats().jwksFetches, sharedReads: replicaB.keyResolver.stats().sharedReads },
    { fetches: 0, sharedReads: 1 },
  );
});
