// The shipped deploy/nginx/auth-request.conf, run by a real nginx in front of a real gate and a
// WHIP-shaped origin: only the upstream addresses and the listen port are substituted. What a player
// or encoder sees: allows, 401 with one WWW-Authenticate and streamgate's JSON reason, 403 with its
// reason, the WHIP POST → PATCH → DELETE sequence with a one-time Bearer token, and /verify
// unreachable from outside.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startTestWhipOrigin, type TestWhipOrigin } from '../helpers/whip-origin.js';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { newTokenId } from '../../src/checks/one-time-token.js';

const NGINX = '/usr/sbin/nginx';
const apps = { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } }, publish: { oneTimeToken: true, hash: { enabled: true, secret: HASH_SECRET } } } };

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe('deploy/nginx/auth-request.conf as shipped', { skip: existsSync(NGINX) ? false : 'nginx not installed' }, () => {
  let origin: TestWhipOrigin;
  let gate: RunningGate;
  let nginx: ChildProcess;
  let dir: string;
  let base: string;

  before(async () => {
    origin = await startTestWhipOrigin();
    gate = await startTestGate({ origin: { url: origin.url }, session: { resumeSpentCredentials: false }, apps });
    dir = mkdtempSync(join(tmpdir(), 'sg-deploy-nginx-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const shipped = readFileSync('deploy/nginx/auth-request.conf', 'utf8')
      .replace('antmedia.antmedia.svc.cluster.local:5080', new URL(origin.url).host)
      .replace('streamgate.streamgate.svc.cluster.local:8080', new URL(gate.url).host)
      .replace('listen 80;', `listen 127.0.0.1:${port};`);
    writeFileSync(join(dir, 'auth-request.conf'), shipped);
    writeFileSync(
      join(dir, 'nginx.conf'),
      `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 256; }
http {
  access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  include ${dir}/auth-request.conf;
}`,
    );
    const syntax = spawnSync(NGINX, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);
    nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      try {
        await (await request(`${base}/LiveApp/play.html`)).body.dump();
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

  test('play: allowed with a token; 401 with one challenge and the JSON reason; 403 with its reason', async () => {
    const ok = await request(`${base}/LiveApp/streams/stream1000000001.ts?token=${hashToken('stream1', 'play', HASH_SECRET)}`);
    assert.equal(ok.statusCode, 200);
    assert.equal(await ok.body.text(), 'ok /LiveApp/streams/stream1000000001.ts');
    const missing = await request(`${base}/LiveApp/streams/stream1.m3u8`);
    assert.equal(missing.statusCode, 401);
    assert.equal(missing.headers['www-authenticate'], 'Bearer realm="LiveApp"');
    assert.equal(missing.headers['content-type'], 'application/json');
    assert.deepEqual(await missing.body.json(), { error: 'unauthorized', reason: 'token_missing' });
    const expired = await request(`${base}/LiveApp/streams/stream1.m3u8?token=${hashToken('stream2', 'play', HASH_SECRET)}`);
    assert.equal(expired.headers['www-authenticate'], 'Bearer realm="LiveApp", error="invalid_token", error_description="token_invalid"');
    await expired.body.dump();
    const forbidden = await request(`${base}/LiveApp/streams/cover.jpg`);
    assert.equal(forbidden.statusCode, 403);
    assert.deepEqual(await forbidden.body.json(), { error: 'forbidden', reason: 'stream_unrecognized' });
  });

  test('WHIP: one-time Bearer POST, then PATCH and DELETE on the Location nginx hands back', async () => {
    const t = { tokenId: newTokenId(), streamId: 'cam1', type: 'publish' as const, expireDate: Math.floor(Date.now() / 1000) + 60 };
    await gate.runtime.store.saveToken('LiveApp', t);
    const bearer = { authorization: `Bearer ${t.tokenId}` };
    const post = await request(`${base}/LiveApp/whip/cam1`, { method: 'POST', headers: { ...bearer, 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
    assert.equal(post.statusCode, 201);
    await post.body.dump();
    // proxy_redirect: the origin's absolute URL now points at nginx (absolute_redirect makes it an
    // absolute URL on this server), carrying streamgate's grant.
    assert.match(String(post.headers.location), new RegExp(`^${base}/LiveApp/whip/cam1/[0-9a-f-]{36}\\?sg=v2\\.`));
    const location = String(post.headers.location).slice(base.length);
    const frag = { ...bearer, 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': '*' };
    const patch = await request(`${base}${location}`, { method: 'PATCH', headers: frag, body: 'a=end-of-candidates\r\n' });
    assert.equal(patch.statusCode, 204);
    await patch.body.dump();
    // Without the grant, the spent one-time token is refused with its challenge.
    const bare = await request(`${base}${location.split('?')[0]}`, { method: 'PATCH', headers: frag, body: 'a=end-of-candidates\r\n' });
    assert.equal(bare.statusCode, 401);
    assert.equal(bare.headers['www-authenticate'], 'Bearer realm="LiveApp", error="invalid_token", error_description="token_used"');
    assert.deepEqual(await bare.body.json(), { error: 'unauthorized', reason: 'token_used' });
    const del = await request(`${base}${location}`, { method: 'DELETE', headers: bearer });
    assert.equal(del.statusCode, 204);
    await del.body.dump();
    assert.equal(origin.sessions.size, 0);
    const none = await request(`${base}/LiveApp/whip/cam1`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
    assert.equal(none.statusCode, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="LiveApp"');
    await none.body.dump();
  });

  test('/verify and /verify/… are not reachable through nginx', async () => {
    for (const path of ['/verify', '/verify/LiveApp/streams/stream1.m3u8']) {
      const r = await request(`${base}${path}`, { headers: { 'x-original-uri': '/LiveApp/streams/stream1.m3u8' } });
      assert.equal(r.statusCode, 404, path);
      await r.body.dump();
    }
  });
});
