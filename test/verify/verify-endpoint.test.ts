// /verify: the auth_request / ForwardAuth / ext_authz contract, then a real nginx using it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { findTool, missingTool } from '../helpers/tools.js';
import { startTestGate, HASH_SECRET, JWT_SECRET } from '../helpers/gate.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { newTokenId } from '../../src/checks/one-time-token.js';

const apps = {
  LiveApp: {
    play: { oneTimeToken: true, hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: JWT_SECRET } },
    publish: { hash: { enabled: true, secret: HASH_SECRET }, allowedCIDRs: ['10.0.0.0/8', '2001:db8::/32'] },
  },
};

async function verify(gate: RunningGate, headers: Record<string, string>, query = '') {
  const r = await request(`${gate.url}/verify${query}`, { headers });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, reason: text ? (JSON.parse(text) as { reason?: string }).reason : undefined };
}

describe('/verify', () => {
  let gate: RunningGate;
  before(async () => {
    gate = await startTestGate({ session: { secrets: ['verify-session-secret-0123456789abcdef'] }, apps });
  });
  after(async () => gate.close());

  const hash = hashToken('stream1', 'play', HASH_SECRET);

  test('200 with identity headers for every original-URI dialect', async () => {
    for (const h of <Record<string, string>[]>[
      { 'x-original-uri': `/LiveApp/streams/stream1.m3u8?token=${hash}` }, // nginx
      { 'x-forwarded-uri': `/LiveApp/streams/stream1000000001.ts?token=${hash}`, 'x-forwarded-method': 'GET' }, // Traefik
      { 'x-original-url': `https://cdn.example/LiveApp/streams/stream1.mp4?token=${hash}`, 'x-original-method': 'GET' }, // ingress-nginx
    ]) {
      const r = await verify(gate, h);
      assert.equal(r.status, 200, JSON.stringify(h));
      assert.equal(r.headers['x-streamgate-stream'], 'stream1');
      assert.equal(r.headers['x-streamgate-role'], 'play');
    }
  });

  test('401 for missing or bad credentials, 403 for everything else — never 400/404', async () => {
    const cases: [Record<string, string>, number, string, string?][] = [
      [{ 'x-original-uri': '/LiveApp/streams/stream1.m3u8' }, 401, 'token_missing'],
      [{ 'x-original-uri': `/LiveApp/streams/stream10.m3u8?token=${hash}` }, 401, 'token_invalid'],
      [{ 'x-original-uri': '/LiveApp/streams/stream1__/../stream2.m3u8' }, 403, 'path_invalid'],
      [{ 'x-original-uri': '/Nope/streams/stream1.m3u8' }, 403, 'app_not_found'],
      [{ 'x-original-uri': '/LiveApp/streams/cover.jpg' }, 403, 'stream_unrecognized'],
      [{}, 403, 'path_invalid'],
      [{ 'x-original-uri': `/LiveApp/streams/stream1.m3u8?token=${hash}` }, 403, 'route_denied', '?role=admin'],
    ];
    for (const [h, status, reason, q] of cases) {
      const r = await verify(gate, h, q);
      assert.equal(r.status, status, JSON.stringify(h));
      assert.equal(r.reason, reason, JSON.stringify(h));
      assert.equal(r.headers['x-streamgate-reason'], reason, 'for nginx: auth_request_set $r $upstream_http_x_streamgate_reason');
      // RFC 9110 §11.6.1: every 401 carries a challenge; a 403 does not.
      assert.equal(r.headers['www-authenticate'], status === 401 ? (reason === 'token_missing' ? 'Bearer realm="LiveApp"' : `Bearer realm="LiveApp", error="invalid_token", error_description="${reason}"`) : undefined);
    }
  });

  test('?role=publish selects the role; publisher CIDRs apply to the forwarded client IP', async () => {
    const pub = hashToken('cam1', 'publish', HASH_SECRET);
    const uri = { 'x-original-uri': `/LiveApp/whip/cam1?token=${pub}` };
    assert.equal((await verify(gate, { ...uri, 'x-real-ip': '10.1.2.3' }, '?role=publish')).status, 200);
    assert.equal((await verify(gate, { ...uri, 'x-forwarded-for': '2001:db8::7' }, '?role=publish')).status, 200);
    const r = await verify(gate, { ...uri, 'x-real-ip': '192.0.2.1' }, '?role=publish');
    assert.equal(r.status, 403);
    assert.equal(r.reason, 'ip_not_allowed');
    // A play token is not a publish token.
    assert.equal((await verify(gate, { 'x-original-uri': `/LiveApp/whip/cam1?token=${hash}`, 'x-real-ip': '10.1.2.3' }, '?role=publish')).reason, 'token_invalid');
  });

  test('one-time tokens: a HEAD probe does not consume, the GET does, once; only that client may re-present it', async () => {
    const t = { tokenId: newTokenId(), streamId: 'stream1', type: 'play' as const, expireDate: Math.floor(Date.now() / 1000) + 60 };
    await gate.runtime.store.saveToken('LiveApp', t);
    const uri = `/LiveApp/streams/stream1.m3u8?token=${t.tokenId}`;
    assert.equal((await verify(gate, { 'x-original-uri': uri, 'x-original-method': 'HEAD' })).status, 200);
    assert.equal((await verify(gate, { 'x-original-uri': uri, 'x-real-ip': '203.0.113.8' })).status, 200);
    assert.equal((await verify(gate, { 'x-original-uri': uri, 'x-real-ip': '203.0.113.9' })).reason, 'token_used');
    assert.equal((await verify(gate, { 'x-original-uri': uri, 'x-real-ip': '203.0.113.8' })).status, 200);
  });

  test('a manifest allow sets the grant cookie that then opens segments', async () => {
    const jwt = await mintStreamJwt(JWT_SECRET, { streamId: 'stream1', type: 'play', exp: Math.floor(Date.now() / 1000) + 60 });
    const r = await verify(gate, { 'x-original-uri': `/LiveApp/streams/stream1_adaptive.m3u8?token=${jwt}` });
    assert.equal(r.status, 200);
    const cookie = String(r.headers['set-cookie']).split(';')[0]!;
    assert.match(cookie, /^sg_grant_[A-Za-z0-9_-]{11}=v2\./);
    assert.equal((await verify(gate, { 'x-original-uri': '/LiveApp/streams/stream1_240p300kbps000000003.ts', cookie })).status, 200);
    // One cookie per stream: stream1's grant is not even looked at for stream10's files.
    assert.equal((await verify(gate, { 'x-original-uri': '/LiveApp/streams/stream10000000003.ts', cookie })).reason, 'token_missing');
  });

  test('dialects that disagree are refused: a client cannot choose the URI or method authorized', async () => {
    // Traefik sets X-Forwarded-Uri but passes client headers: an injected X-Original-URI must not win.
    const r = await verify(gate, { 'x-forwarded-uri': '/LiveApp/streams/stream10.m3u8', 'x-original-uri': `/LiveApp/streams/stream1.m3u8?token=${hash}` });
    assert.equal(r.status, 403);
    assert.equal(r.reason, 'route_denied');
    const m = await verify(gate, { 'x-original-uri': `/LiveApp/streams/stream1.m3u8?token=${hash}`, 'x-forwarded-method': 'POST', 'x-original-method': 'GET' });
    assert.equal(m.status, 403);
    // Agreeing dialects are fine; a CORS preflight needs no credential.
    assert.equal((await verify(gate, { 'x-forwarded-uri': `/LiveApp/streams/stream1.m3u8?token=${hash}`, 'x-original-uri': `/LiveApp/streams/stream1.m3u8?token=${hash}` })).status, 200);
    assert.equal((await verify(gate, { 'x-original-uri': '/LiveApp/streams/stream1.m3u8', 'x-original-method': 'OPTIONS' })).status, 200);
  });

  test('a caller outside verify.allowedCallers learns nothing, even when it is a trusted proxy', async () => {
    // trustedProxies is for the proxy and WebSocket doors; /verify has its own list.
    const strict = await startTestGate({ trustedProxies: ['127.0.0.1/32', '::1/128'], verify: { allowedCallers: ['10.0.0.0/8'] }, apps });
    try {
      const r = await verify(strict, { 'x-original-uri': `/LiveApp/streams/stream1.m3u8?token=${hash}` });
      assert.equal(r.status, 403);
      assert.equal(r.reason, 'route_denied');
    } finally {
      await strict.close();
    }
  });
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe('nginx auth_request in front of the origin', { skip: missingTool('nginx') }, () => {
  let origin: TestOrigin;
  let gate: RunningGate;
  let nginx: ChildProcess;
  let dir: string;
  let base: string;

  before(async () => {
    origin = await startTestOrigin();
    gate = await startTestGate({ apps });
    dir = mkdtempSync(join(tmpdir(), 'sg-nginx-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const conf = `
daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 256; }
http {
  access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server {
    listen 127.0.0.1:${port};
    location / {
      auth_request /_verify;
      auth_request_set $sg_cookie $upstream_http_set_cookie;
      add_header Set-Cookie $sg_cookie;
      auth_request_set $sg_reason $upstream_http_x_streamgate_reason;
      error_page 401 = @denied_401;
      error_page 403 = @denied_403;
      proxy_pass ${origin.url};
    }
    location @denied_401 {
      # auth_request copies the subrequest's WWW-Authenticate onto a 401 itself (also through
      # error_page); an add_header of it here would send it twice.
      add_header Cache-Control no-store always;
      default_type application/json;
      return 401 '{"error":"unauthorized","reason":"$sg_reason"}';
    }
    location @denied_403 {
      add_header Cache-Control no-store always;
      default_type application/json;
      return 403 '{"error":"forbidden","reason":"$sg_reason"}';
    }
    location = /_verify {
      internal;
      proxy_pass ${gate.url}/verify;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
}`;
    writeFileSync(join(dir, 'nginx.conf'), conf);
    nginx = spawn(findTool('nginx') ?? 'nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      try {
        await (await request(`${base}/`)).body.dump();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  after(async () => {
    nginx?.kill('SIGQUIT');
    await gate.close();
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('nginx serves what /verify allows and denies the rest with the same status', async () => {
    const hash = hashToken('stream1', 'play', HASH_SECRET);
    const ok = await request(`${base}/LiveApp/streams/stream1000000001.ts?token=${hash}`);
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(Buffer.from(await ok.body.arrayBuffer()), origin.bodyFor('/LiveApp/streams/stream1000000001.ts'));
    const missing = await request(`${base}/LiveApp/streams/stream1.m3u8`);
    assert.equal(missing.statusCode, 401);
    await missing.body.dump();
    const traversal = await request(`${base}/LiveApp/streams/cover.jpg`);
    assert.equal(traversal.statusCode, 403);
    await traversal.body.dump();
  });

  test('a 401 reaches the client with the challenge and the reason, a 403 with its reason', async () => {
    const missing = await request(`${base}/LiveApp/streams/stream1.m3u8`);
    assert.equal(missing.statusCode, 401);
    assert.equal(missing.headers['www-authenticate'], 'Bearer realm="LiveApp"', 'exactly one challenge');
    assert.equal(missing.headers['cache-control'], 'no-store');
    assert.deepEqual(await missing.body.json(), { error: 'unauthorized', reason: 'token_missing' });
    const wrong = await request(`${base}/LiveApp/streams/stream10.m3u8?token=${hashToken('stream1', 'play', HASH_SECRET)}`);
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.headers['www-authenticate'], 'Bearer realm="LiveApp", error="invalid_token", error_description="token_invalid"');
    assert.deepEqual(await wrong.body.json(), { error: 'unauthorized', reason: 'token_invalid' });
    const forbidden = await request(`${base}/LiveApp/streams/cover.jpg`);
    assert.equal(forbidden.statusCode, 403);
    assert.equal(forbidden.headers['www-authenticate'], undefined);
    assert.deepEqual(await forbidden.body.json(), { error: 'forbidden', reason: 'stream_unrecognized' });
  });

  test('a client cannot choose its IP or URI through nginx', async () => {
    const pub = hashToken('cam1', 'publish', HASH_SECRET);
    // The client is 127.0.0.1, outside publish.allowedCIDRs; a forged X-Forwarded-For must not help.
    const r = await request(`${base}/LiveApp/whip/cam1?token=${pub}`, { method: 'POST', body: 'v=0', headers: { 'x-forwarded-for': '10.9.9.9', 'x-real-ip': '10.9.9.9' } });
    assert.equal(r.statusCode, 403);
    await r.body.dump();
    // A forged X-Original-URI is overwritten by nginx: the URI authorized is the one requested.
    const hash = hashToken('stream1', 'play', HASH_SECRET);
    const u = await request(`${base}/LiveApp/streams/stream10.m3u8`, { headers: { 'x-original-uri': `/LiveApp/streams/stream1.m3u8?token=${hash}` } });
    assert.equal(u.statusCode, 401);
    await u.body.dump();
  });

  test('the grant cookie set through nginx opens segments without a token', async () => {
    const hash = hashToken('stream1', 'play', HASH_SECRET);
    const m = await request(`${base}/LiveApp/streams/stream1.m3u8?token=${hash}`);
    assert.equal(m.statusCode, 200);
    await m.body.dump();
    const cookie = String(m.headers['set-cookie']).split(';')[0]!;
    assert.match(cookie, /^sg_grant_[A-Za-z0-9_-]{11}=/);
    const seg = await request(`${base}/LiveApp/streams/stream1000000002.ts`, { headers: { cookie } });
    assert.equal(seg.statusCode, 200);
    await seg.body.dump();
  });
});
