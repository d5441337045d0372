// The REST filter end to end: HS256 and JWKS (a real local JWKS server: rotation, outage), client IP
// through trusted proxies, both-vs-either, browser requests, and canonical-path decisions (no
// `rest/v2/acm`-style bypass). Denied requests must never reach the origin.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { startTestGate } from '../helpers/gate.js';
import type { RunningGate } from '../../src/server.js';

const prefix = `sgtest-restf-${process.pid}-${Date.now()}`;
const redisStore = { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } };
const REST_SECRET = 'rest-api-secret-0123456789abcdef-0123';
const OTHER_SECRET = 'another-secret-0123456789abcdef-01234';
const ALLOWED = ['10.1.0.0/16'];

interface Jwks {
  url: string;
  keys: JWK[];
  fetches: number;
  close(): Promise<void>;
}

async function startJwks(): Promise<Jwks> {
  const state = { keys: [] as JWK[], fetches: 0 };
  const server = http.createServer((_req, res) => {
    state.fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/any/path/keys.json`;
  return Object.assign(state, {
    url,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  }) as Jwks;
}

type Reply = { status: number; json: () => any };

async function get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const r = await request(url, { headers });
  const text = await r.body.text();
  return { status: r.statusCode, json: () => JSON.parse(text) };
}

/** Sends the request-target byte for byte (no client-side normalization). */
function rawGet(base: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: () => JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const now = () => Math.floor(Date.now() / 1000);
const hs = (secret: string, claims: Record<string, unknown> = {}, exp: number | null = now() + 300, alg = 'HS256') => {
  const j = new SignJWT(claims).setProtectedHeader({ alg });
  if (exp !== null) j.setExpirationTime(exp);
  return j.sign(new TextEncoder().encode(secret));
};
const auth = (token: string, scheme = 'Bearer ') => ({ authorization: `${scheme}${token}` });
const from = (ip: string) => ({ 'x-forwarded-for': ip });

async function expectDenied(r: Promise<Reply>, reason: string, msg?: string): Promise<void> {
  const res = await r;
  assert.equal(res.status, 403, msg ?? reason);
  assert.deepEqual(res.json(), { error: 'forbidden', reason }, msg);
}

describe('REST filter', () => {
  let origin: TestOrigin;
  let jwks: Jwks;
  let gate: RunningGate;
  let noProxyGate: RunningGate;
  const kA = generateKeyPair('ES256', { extractable: true });
  const kB = generateKeyPair('RS256', { extractable: true });

  before(async () => {
    origin = await startTestOrigin();
    jwks = await startJwks();
    const apps = {
      HsApp: { rest: { servePublic: true, jwt: { secret: REST_SECRET } } },
      IssApp: { rest: { servePublic: true, jwt: { secret: REST_SECRET, issuer: 'backend', audience: 'streamgate' } } },
      JwksApp: { rest: { servePublic: true, jwt: { jwksUrl: jwks.url, jwksCacheSeconds: 1, jwksCooldownSeconds: 1, jwksTimeoutMs: 500, jwksShared: false } } },
      IpApp: { rest: { servePublic: true, allowedCIDRs: ALLOWED } },
      BothApp: { rest: { servePublic: true, allowedCIDRs: ALLOWED, jwt: { secret: REST_SECRET } } },
      EitherApp: { rest: { servePublic: true, allowedCIDRs: ALLOWED, mode: 'either', jwt: { secret: REST_SECRET } } },
    };
    const config = { origin: { url: origin.url }, store: redisStore, trustedProxies: ['127.0.0.1/32'], apps };
    gate = await startTestGate(config);
    noProxyGate = await startTestGate({ ...config, trustedProxies: [] });
  });
  after(async () => {
    await gate.close();
    await noProxyGate.close();
    await jwks.close();
    await origin.close();
  });

  const api = (app: string, rest = 's1/tokens/list/0/1') => `${gate.url}/${app}/rest/v2/broadcasts/${rest}`;

  test('HS256: missing, malformed, expired, wrong-key, exp-less, alg-none and off-list algorithms are refused', async () => {
    const seen = origin.seen.length;
    await expectDenied(get(api('HsApp')), 'rest_jwt_missing');
    await expectDenied(get(api('HsApp'), { authorization: 'Bearer ' }), 'rest_jwt_missing');
    await expectDenied(get(api('HsApp'), auth('not.a.jwt')), 'rest_jwt_invalid');
    await expectDenied(get(api('HsApp'), auth(await hs(REST_SECRET, {}, now() - 120))), 'rest_jwt_expired');
    await expectDenied(get(api('HsApp'), auth(await hs(OTHER_SECRET))), 'rest_jwt_invalid');
    await expectDenied(get(api('HsApp'), auth(await hs(REST_SECRET, {}, null))), 'rest_jwt_invalid', 'exp is required');
    await expectDenied(get(api('HsApp'), auth(await hs(REST_SECRET, {}, now() + 300, 'HS384'))), 'rest_jwt_invalid', 'algorithms are pinned');
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    await expectDenied(get(api('HsApp'), auth(`${b64({ alg: 'none' })}.${b64({ exp: now() + 300 })}.`)), 'rest_jwt_invalid', 'alg none');
    // Forwarded paths are filtered exactly like ours.
    await expectDenied(get(api('HsApp', 'list/0/10')), 'rest_jwt_missing');
    assert.equal(origin.seen.length, seen, 'nothing denied reached the origin');
  });

  test('HS256: raw token and Bearer (any case) pass; forwarded calls keep Authorization', async () => {
    const token = await hs(REST_SECRET);
    for (const scheme of ['', 'Bearer ', 'bearer ', 'BEARER   ']) {
      const r = await get(api('HsApp'), auth(token, scheme));
      assert.equal(r.status, 200, JSON.stringify(scheme));
      assert.deepEqual(r.json(), []);
    }
    const fwd = await get(api('HsApp', 'list/0/10'), auth(token));
    assert.equal(fwd.status, 200);
    assert.equal(origin.seen.at(-1)!.url, '/HsApp/rest/v2/broadcasts/list/0/10');
    assert.equal(origin.seen.at(-1)!.headers.authorization, `Bearer ${token}`);
  });

  test('issuer and audience are checked when configured', async () => {
    await expectDenied(get(api('IssApp'), auth(await hs(REST_SECRET))), 'rest_jwt_invalid');
    await expectDenied(get(api('IssApp'), auth(await hs(REST_SECRET, { iss: 'someone', aud: 'streamgate' }))), 'rest_jwt_invalid');
    await expectDenied(get(api('IssApp'), auth(await hs(REST_SECRET, { iss: 'backend', aud: 'other' }))), 'rest_jwt_invalid');
    assert.equal((await get(api('IssApp'), auth(await hs(REST_SECRET, { iss: 'backend', aud: 'streamgate' })))).status, 200);
  });

  test('JWKS rotation: a new kid is accepted at once, a removed one is refused after the cache period', async () => {
    const [a, b] = await Promise.all([kA, kB]);
    const jwkA = { ...(await exportJWK(a.publicKey)), kid: 'key-a', alg: 'ES256', use: 'sig' };
    const jwkB = { ...(await exportJWK(b.publicKey)), kid: 'key-b', alg: 'RS256', use: 'sig' };
    jwks.keys = [jwkA];
    const tokA = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'key-a' }).setExpirationTime(now() + 300).sign(a.privateKey);
    const tokB = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'key-b' }).setExpirationTime(now() + 300).sign(b.privateKey);
    assert.equal((await get(api('JwksApp'), auth(tokA))).status, 200);
    await expectDenied(get(api('JwksApp'), auth(tokB)), 'rest_jwt_invalid', 'unknown kid before rotation');

    jwks.keys = [jwkA, jwkB];
    await sleep(1100); // past the refetch cooldown that the refused kid started
    assert.equal((await get(api('JwksApp'), auth(tokB))).status, 200, 'new kid accepted');
    const expiredB = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'key-b' }).setExpirationTime(now() - 120).sign(b.privateKey);
    await expectDenied(get(api('JwksApp'), auth(expiredB)), 'rest_jwt_expired', 'exp checked for JWKS tokens too');

    jwks.keys = [jwkB];
    await sleep(1100); // past jwksCacheSeconds: the next call refreshes in the background
    let refused = false;
    for (let i = 0; i < 20 && !refused; i++) {
      refused = (await get(api('JwksApp'), auth(tokA))).status === 403;
      if (!refused) await sleep(50);
    }
    assert.ok(refused, 'removed kid refused');
    assert.equal((await get(api('JwksApp'), auth(tokB))).status, 200);
  });

  test('JWKS down: cached keys keep working; without any keys it is a 403, not a 500', async () => {
    const b = await kB;
    const tokB = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'key-b' }).setExpirationTime(now() + 300).sign(b.privateKey);
    assert.equal((await get(api('JwksApp'), auth(tokB))).status, 200);
    const fetchesBefore = jwks.fetches;
    await jwks.close();
    await sleep(1100); // cache expired; refetches fail
    for (let i = 0; i < 3; i++) assert.equal((await get(api('JwksApp'), auth(tokB))).status, 200, 'stale keys still verify');
    assert.equal(jwks.fetches, fetchesBefore);

    // A fresh gate that never saw the key set: every JWT is refused with a 403.
    const fresh = await startTestGate({ origin: { url: origin.url }, store: redisStore, apps: { JwksApp: { rest: { servePublic: true, jwt: { jwksUrl: jwks.url, jwksTimeoutMs: 300, jwksShared: false } } } } });
    try {
      await expectDenied(get(`${fresh.url}/JwksApp/rest/v2/broadcasts/s1/tokens/list/0/1`, auth(tokB)), 'rest_jwt_invalid');
      await expectDenied(get(`${fresh.adminUrl}/JwksApp/rest/v2/broadcasts/s1/tokens/list/0/1`, auth(tokB)), 'rest_jwt_invalid');
    } finally {
      await fresh.close();
    }
  });

  test('IP allowlist through trusted proxies; X-Forwarded-For from an untrusted peer is ignored', async () => {
    assert.equal((await get(api('IpApp'), from('10.1.2.3'))).status, 200);
    assert.equal((await get(api('IpApp'), from('6.6.6.6, 10.1.200.1'))).status, 200, 'rightmost untrusted hop decides');
    await expectDenied(get(api('IpApp'), from('10.2.0.1')), 'ip_not_allowed');
    await expectDenied(get(api('IpApp'), from('10.1.2.3, 6.6.6.6')), 'ip_not_allowed', 'a client cannot prepend an allowed address');
    await expectDenied(get(api('IpApp')), 'ip_not_allowed', 'the loopback peer itself is not in the list');
    // trustedProxies: [] → the header is the client's own claim: ignored.
    await expectDenied(get(`${noProxyGate.url}/IpApp/rest/v2/broadcasts/s1/tokens/list/0/1`, from('10.1.2.3')), 'ip_not_allowed');
    // The admin listener applies the same filter.
    await expectDenied(get(`${gate.adminUrl}/IpApp/rest/v2/broadcasts/s1/tokens/list/0/1`), 'ip_not_allowed');
    assert.equal((await get(`${gate.adminUrl}/IpApp/rest/v2/broadcasts/s1/tokens/list/0/1`, from('10.1.0.9'))).status, 200);
  });

  test('mode both: JWT and IP; mode either: one suffices, but a presented bad token is never ignored', async () => {
    const good = await hs(REST_SECRET);
    const bad = await hs(OTHER_SECRET);
    assert.equal((await get(api('BothApp'), { ...from('10.1.0.1'), ...auth(good) })).status, 200);
    await expectDenied(get(api('BothApp'), { ...from('10.9.0.1'), ...auth(good) }), 'ip_not_allowed');
    await expectDenied(get(api('BothApp'), from('10.1.0.1')), 'rest_jwt_missing');
    await expectDenied(get(api('BothApp'), { ...from('10.1.0.1'), ...auth(bad) }), 'rest_jwt_invalid');

    assert.equal((await get(api('EitherApp'), { ...from('10.9.0.1'), ...auth(good) })).status, 200, 'JWT alone');
    assert.equal((await get(api('EitherApp'), from('10.1.0.1'))).status, 200, 'IP alone');
    await expectDenied(get(api('EitherApp'), from('10.9.0.1')), 'rest_jwt_missing');
    await expectDenied(get(api('EitherApp'), { ...from('10.1.0.1'), ...auth(bad) }), 'rest_jwt_invalid');
  });

  test('browser requests (Origin header) need a JWT: an allowed address alone is ambient authority', async () => {
    const origin_ = { origin: 'https://evil.example' };
    await expectDenied(get(api('IpApp'), { ...from('10.1.2.3'), ...origin_ }), 'rest_origin_requires_jwt');
    await expectDenied(get(api('EitherApp'), { ...from('10.1.2.3'), ...origin_ }), 'rest_jwt_missing');
    assert.equal((await get(api('EitherApp'), { ...origin_, ...auth(await hs(REST_SECRET)) })).status, 200);
  });

  test('decisions are made on the canonical path: no substring or encoding bypass', async () => {
    const seen = origin.seen.length;
    for (const path of ['/IpApp/rest/v2/acm/../v2/broadcasts/s1/token', '/IpApp/rest/v2/acm/%2e%2e/broadcasts/list/0/1', '/IpApp/rest;a=b/v2/broadcasts/list/0/1', '/IpApp/rest//v2/acm']) {
      const r = await rawGet(gate.url, path);
      assert.equal(r.status, 400, path);
      assert.equal(r.json().reason, 'path_invalid', path);
    }
    for (const path of ['/IpApp/rest/v2/acm/list', '/IpApp/r%65st/v2/broadcasts/list/0/1', '/IpApp/rest/v2/broadcasts/list/0/1?x=rest/v2/acm']) {
      await expectDenied(rawGet(gate.url, path), 'ip_not_allowed', path);
    }
    assert.equal(origin.seen.length, seen, 'nothing reached the origin');
    // An encoded spelling that passes is forwarded in its one canonical form.
    assert.equal((await rawGet(gate.url, '/IpApp/r%65st/v2/broadcasts/list/0/1', from('10.1.0.1'))).status, 200);
    assert.equal(origin.seen.at(-1)!.url, '/IpApp/rest/v2/broadcasts/list/0/1');
  });
});
