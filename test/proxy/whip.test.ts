// WHIP as publishers send it (RFC 9725): `Authorization: Bearer` on POST /{app}/whip/{id}, then PATCH
// (trickle ICE) and DELETE on the session URL from Location — through the gate to a WHIP-shaped
// origin, with one-time, hash and JWT tokens, and the refusals around them. Real Redis.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGate, HASH_SECRET, JWT_SECRET, SESSION_SECRET } from '../helpers/gate.js';
import { call, type Reply } from '../helpers/http.js';
import { startTestWhipOrigin, type TestWhipOrigin } from '../helpers/whip-origin.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { newTokenId } from '../../src/checks/one-time-token.js';

const prefix = `sgtest-whip-${process.pid}-${Date.now()}`;
const apps = {
  LiveApp: { publish: { oneTimeToken: true, hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: JWT_SECRET } } },
};
const OFFER = 'v=0\r\no=- 4215775240449105457 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';
const CANDIDATE = 'a=ice-ufrag:EsAw\r\na=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0\r\n';

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const sdp = { 'content-type': 'application/sdp' };
const frag = { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': '*' };
const reason = (r: Reply) => (r.text ? (JSON.parse(r.text) as { reason?: string }).reason : undefined);

describe('WHIP: POST → PATCH → DELETE through the gate', () => {
  let origin: TestWhipOrigin;
  let gate: RunningGate;
  let other: RunningGate; // a second replica with the same session secret

  async function oneTime(streamId: string): Promise<string> {
    const t = { tokenId: newTokenId(), streamId, type: 'publish' as const, expireDate: Math.floor(Date.now() / 1000) + 60 };
    await gate.runtime.store.saveToken('LiveApp', t);
    return t.tokenId;
  }

  before(async () => {
    origin = await startTestWhipOrigin();
    const config = {
      origin: { url: origin.url },
      store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } },
      // A spent one-time token stays spent here, even for its own client (session.resumeSpentCredentials).
      session: { secrets: [SESSION_SECRET], resumeSpentCredentials: false },
      apps,
    };
    gate = await startTestGate(config);
    other = await startTestGate(config);
  });
  after(async () => {
    await gate.close();
    await other.close();
    await origin.close();
  });

  test('a one-time Bearer token publishes once; the session URL carries a grant for PATCH and DELETE', async () => {
    const token = await oneTime('cam1');
    const post = await call('POST', `${gate.url}/LiveApp/whip/cam1`, OFFER, { ...sdp, ...bearer(token) });
    assert.equal(post.status, 201, post.text);
    assert.match(post.text, /^v=0/);
    const location = String(post.headers.location);
    // Same-origin path (never the origin's own host), the origin's resource id, and the grant.
    assert.match(location, /^\/LiveApp\/whip\/cam1\/[0-9a-f-]{36}\?sg=v2\./);
    assert.ok(post.headers.etag);
    const posted = origin.seen.at(-1)!;
    assert.equal(posted.headers.authorization, undefined, 'the Bearer token is a credential: stripped like ?token=');
    const resource = location.split('?')[0]!;
    assert.ok(origin.sessions.has(resource));

    // The publisher re-sends the same (now spent) Bearer on the Location URL, as OBS and GStreamer do.
    const patch = await call('PATCH', `${gate.url}${location}`, CANDIDATE, { ...frag, ...bearer(token) });
    assert.equal(patch.status, 204, patch.text);
    assert.equal(origin.seen.at(-1)!.url, resource, 'the grant never reaches the origin');
    assert.equal(origin.seen.at(-1)!.body.toString(), CANDIDATE);
    // Any replica verifies the grant (stateless HMAC).
    const patch2 = await call('PATCH', `${other.url}${location}`, CANDIDATE, { ...frag, ...bearer(token) });
    assert.equal(patch2.status, 204);
    const del = await call('DELETE', `${gate.url}${location}`, undefined, bearer(token));
    assert.equal(del.status, 204);
    assert.ok(!origin.sessions.has(resource));

    // The token was spent by the POST exactly once.
    const again = await call('POST', `${gate.url}/LiveApp/whip/cam1`, OFFER, { ...sdp, ...bearer(token) });
    assert.equal(again.status, 401);
    assert.equal(reason(again), 'token_used');
    assert.equal(again.headers['www-authenticate'], 'Bearer realm="LiveApp", error="invalid_token", error_description="token_used"');
  });

  test('without the grant a spent one-time token opens nothing; a grant opens only its own resource', async () => {
    const token = await oneTime('cam2');
    const post = await call('POST', `${gate.url}/LiveApp/whip/cam2`, OFFER, { ...sdp, ...bearer(token) });
    assert.equal(post.status, 201);
    const location = String(post.headers.location);
    const [resource, query] = location.split('?') as [string, string];
    const seenBefore = origin.seen.length;

    const bare = await call('PATCH', `${gate.url}${resource}`, CANDIDATE, { ...frag, ...bearer(token) });
    assert.equal(bare.status, 401);
    assert.equal(reason(bare), 'token_used');
    // The same grant on another session of the same stream, on another stream, or on a new POST.
    const foreign = await call('DELETE', `${gate.url}/LiveApp/whip/cam2/00000000-0000-4000-8000-000000000000?${query}`);
    assert.equal(reason(foreign), 'grant_invalid');
    const otherStream = await call('DELETE', `${gate.url}${resource.replace('/cam2/', '/cam3/')}?${query}`);
    assert.equal(reason(otherStream), 'grant_invalid');
    const newPublish = await call('POST', `${gate.url}/LiveApp/whip/cam2?${query}`, OFFER, sdp);
    assert.equal(newPublish.status, 401);
    assert.equal(reason(newPublish), 'token_missing');
    assert.equal(newPublish.headers['www-authenticate'], 'Bearer realm="LiveApp"');
    const tampered = await call('DELETE', `${gate.url}${resource}?${query.slice(0, -2)}xx`);
    assert.equal(reason(tampered), 'grant_invalid');
    assert.equal(origin.seen.length, seenBefore, 'no refused request reached the origin');

    assert.equal((await call('DELETE', `${gate.url}${location}`)).status, 204);
  });

  test('reusable tokens (hash, JWT) authorize the session URL by themselves; ?token= still works', async () => {
    const hash = hashToken('cam4', 'publish', HASH_SECRET);
    const post = await call('POST', `${gate.url}/LiveApp/whip/cam4`, OFFER, { ...sdp, ...bearer(hash) });
    assert.equal(post.status, 201);
    const resource = String(post.headers.location).split('?')[0]!;
    assert.equal((await call('PATCH', `${gate.url}${resource}`, CANDIDATE, { ...frag, ...bearer(hash) })).status, 204);
    assert.equal((await call('DELETE', `${gate.url}${resource}?token=${hash}`)).status, 204);

    const jwt = await mintStreamJwt(JWT_SECRET, { streamId: 'cam5', type: 'publish', exp: Math.floor(Date.now() / 1000) + 60 });
    const viaQuery = await call('POST', `${gate.url}/LiveApp/whip/cam5?token=${jwt}`, OFFER, sdp);
    assert.equal(viaQuery.status, 201);
    assert.ok(!origin.seen.at(-1)!.url.includes('token='));
    const r5 = String(viaQuery.headers.location).split('?')[0]!;
    assert.equal((await call('DELETE', `${gate.url}${r5}`, undefined, bearer(jwt))).status, 204);
  });

  test('refusals: wrong stream, wrong scheme, malformed Bearer, a play credential', async () => {
    const hash = hashToken('cam6', 'publish', HASH_SECRET);
    const wrong = await call('POST', `${gate.url}/LiveApp/whip/cam60`, OFFER, { ...sdp, ...bearer(hash) });
    assert.equal(wrong.status, 401);
    assert.equal(reason(wrong), 'token_invalid');
    const basic = await call('POST', `${gate.url}/LiveApp/whip/cam6`, OFFER, { ...sdp, authorization: `Basic ${hash}` });
    assert.equal(reason(basic), 'token_missing');
    const junk = await call('POST', `${gate.url}/LiveApp/whip/cam6`, OFFER, { ...sdp, authorization: `Bearer ${hash} extra` });
    assert.equal(reason(junk), 'token_missing');
    const play = await call('POST', `${gate.url}/LiveApp/whip/cam6`, OFFER, { ...sdp, ...bearer(hashToken('cam6', 'play', HASH_SECRET)) });
    assert.equal(reason(play), 'token_invalid');
    // A session URL with no credential at all.
    const none = await call('DELETE', `${gate.url}/LiveApp/whip/cam6/00000000-0000-4000-8000-000000000000`);
    assert.equal(none.status, 401);
    assert.equal(reason(none), 'token_missing');
  });

  test('/verify authorizes the same sequence: Bearer on POST, the grant or a reusable token on the session URL', async () => {
    const token = await oneTime('cam7');
    // Proxy mode minted the Location; an nginx in front of the session URL asks /verify about it.
    const post = await call('POST', `${gate.url}/LiveApp/whip/cam7`, OFFER, { ...sdp, ...bearer(token) });
    const location = String(post.headers.location);
    const v = (uri: string, method: string, headers: Record<string, string> = {}) => call('GET', `${gate.url}/verify`, undefined, { 'x-original-uri': uri, 'x-original-method': method, ...headers });
    assert.equal((await v(location, 'PATCH', bearer(token))).status, 200);
    const spent = await v(location.split('?')[0]!, 'DELETE', bearer(token));
    assert.equal(spent.status, 401);
    assert.equal(spent.headers['x-streamgate-reason'], 'token_used');
    const fresh = await oneTime('cam8');
    const ok = await v('/LiveApp/whip/cam8', 'POST', bearer(fresh));
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-streamgate-role'], 'publish');
    assert.equal((await v('/LiveApp/whip/cam8', 'POST', bearer(fresh))).headers['x-streamgate-reason'], 'token_used');
    // /verify never sees the origin's Location, so its grant covers every session URL of the stream
    // (nginx appends it to Location with proxy_redirect) — and nothing else.
    const g = String(ok.headers['x-streamgate-grant']);
    assert.match(g, /^v2\./);
    assert.equal((await v(`/LiveApp/whip/cam8/0f0e0d0c-0b0a-4909-8807-060504030201?sg=${g}`, 'PATCH', bearer(fresh))).status, 200);
    assert.equal((await v(`/LiveApp/whip/cam8/11111111-2222-4333-8444-555555555555?sg=${g}`, 'DELETE')).status, 200);
    assert.equal((await v(`/LiveApp/whip/cam9/0f0e0d0c-0b0a-4909-8807-060504030201?sg=${g}`, 'DELETE')).headers['x-streamgate-reason'], 'grant_invalid');
    assert.equal((await v(`/LiveApp/whip/cam8?sg=${g}`, 'POST')).headers['x-streamgate-reason'], 'token_missing');
    assert.equal((await v(`/LiveApp/chunked/cam8/seg1.m4s?sg=${g}`, 'PUT')).headers['x-streamgate-reason'], 'grant_invalid');
    // A PATCH allowed by its grant gets no new grant; only an allowed POST does.
    assert.equal((await v(`/LiveApp/whip/cam8/0f0e0d0c-0b0a-4909-8807-060504030201?sg=${g}`, 'PATCH')).headers['x-streamgate-grant'], undefined);
  });
});
