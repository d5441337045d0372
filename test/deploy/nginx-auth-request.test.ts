// The shipped deploy/nginx/auth-request.conf, run by a real nginx in front of a real gate and
// origin, with a real Chromium player page on another origin: a refused token must reach the
// player as 401/403 with a readable reason, not as an opaque CORS failure (status 0).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { startTestGate, HASH_SECRET, SESSION_SECRET } from '../helpers/gate.js';
import { CHROMIUM, launchChromium, type Browser } from '../helpers/chromium.js';
import { findTool, missingTool } from '../helpers/tools.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';

const NGINX = findTool('nginx') ?? '/usr/sbin/nginx';
const PLAYLIST = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nstream1000000001.ts\n';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

/** The shipped file with its Service names and port pointed at loopback, inside a minimal main config. */
function nginxConf(dir: string, port: number, originPort: number, gatePort: number): string {
  let conf = readFileSync('deploy/nginx/auth-request.conf', 'utf8');
  const swap = (from: string, to: string) => {
    assert.ok(conf.includes(from), `deploy/nginx/auth-request.conf no longer contains "${from}"`);
    conf = conf.replace(from, to);
  };
  swap('server antmedia.antmedia.svc.cluster.local:5080;', `server 127.0.0.1:${originPort};`);
  swap('server streamgate.streamgate.svc.cluster.local:8080;', `server 127.0.0.1:${gatePort};`);
  swap('listen 80;', `listen 127.0.0.1:${port};`);
  return `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 256; }
http {
  access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
${conf}
}`;
}

describe('nginx auth_request (shipped config): denials a browser player can read', { skip: missingTool('nginx') }, () => {
  let origin: TestOrigin;
  let gate: RunningGate;
  let nginx: ChildProcess;
  let dir: string;
  let base: string;
  let page: http.Server;
  let pageUrl: string;

  before(async () => {
    origin = await startTestOrigin();
    // Ant Media's CORS filter answers the allowed GETs; nginx answers the denials.
    origin.routes.set('/LiveApp/streams/stream1.m3u8', { body: PLAYLIST, headers: { 'access-control-allow-origin': '*', 'content-type': 'application/vnd.apple.mpegurl' } });
    gate = await startTestGate({
      origin: { url: origin.url },
      session: { secrets: [SESSION_SECRET] },
      apps: { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } }, publish: { hash: { enabled: true, secret: HASH_SECRET }, allowedCIDRs: ['10.0.0.0/8'] } } },
    });
    dir = mkdtempSync(join(tmpdir(), 'sg-nginx-conf-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, port, origin.port, Number(new URL(gate.url).port)));
    const t = spawn(NGINX, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let tOut = '';
    t.stderr!.on('data', (d: Buffer) => (tOut += d));
    assert.equal(await new Promise((r) => t.once('exit', r)), 0, `nginx -t refused the shipped config:\n${tOut}`);
    nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      try {
        await (await request(`${base}/LiveApp/streams/x.m3u8`)).body.dump();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    page = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>player</title>');
    });
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
    pageUrl = `http://localhost:${(page.address() as AddressInfo).port}/`; // another origin than nginx's
  });
  after(async () => {
    nginx?.kill('SIGQUIT');
    await gate?.close();
    await origin?.close();
    page?.closeAllConnections();
    page?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('nginx answers denials with CORS headers, the gate reason in a header and a JSON body', async () => {
    const h = { origin: 'https://player.example' };
    const missing = await request(`${base}/LiveApp/streams/stream1.m3u8`, { headers: h });
    assert.equal(missing.statusCode, 401);
    assert.equal(missing.headers['access-control-allow-origin'], '*');
    assert.equal(missing.headers['x-streamgate-reason'], 'token_missing');
    assert.match(String(missing.headers['access-control-expose-headers']), /X-Streamgate-Reason/);
    assert.deepEqual(await missing.body.json(), { error: 'unauthorized', reason: 'token_missing' });
    const wrong = await request(`${base}/LiveApp/streams/stream1.m3u8?token=${hashToken('stream2', 'play', HASH_SECRET)}`, { headers: h });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.headers['x-streamgate-reason'], 'token_invalid');
    await wrong.body.dump();
    // 403: a good publish token from outside publish.allowedCIDRs.
    const ip = await request(`${base}/LiveApp/whip/cam1?token=${hashToken('cam1', 'publish', HASH_SECRET)}`, { method: 'POST', body: 'v=0', headers: h });
    assert.equal(ip.statusCode, 403);
    assert.equal(ip.headers['x-streamgate-reason'], 'ip_not_allowed');
    assert.equal(ip.headers['access-control-allow-origin'], '*');
    assert.deepEqual(await ip.body.json(), { error: 'forbidden', reason: 'ip_not_allowed' });
    // Allowed requests are untouched: the origin's bytes and headers.
    const ok = await request(`${base}/LiveApp/streams/stream1.m3u8?token=${hashToken('stream1', 'play', HASH_SECRET)}`, { headers: h });
    assert.equal(ok.statusCode, 200);
    assert.equal(await ok.body.text(), PLAYLIST);
  });

  test('gate unreachable: 503 with Retry-After and CORS, not a bare 500', async () => {
    // A second server block is not needed: stop the gate's listener and ask again.
    const closed = await startTestGate({ apps: {} });
    await closed.close(); // a port nothing listens on
    const conf = nginxConf(dir, await freePort(), origin.port, Number(new URL(closed.url).port));
    const d2 = mkdtempSync(join(tmpdir(), 'sg-nginx-conf-'));
    writeFileSync(join(d2, 'nginx.conf'), conf.replaceAll(dir, d2));
    const port = Number(/listen 127\.0\.0\.1:(\d+);/.exec(conf)![1]);
    const n2 = spawn(NGINX, ['-p', d2, '-c', join(d2, 'nginx.conf')], { stdio: 'ignore' });
    try {
      let r: Awaited<ReturnType<typeof request>> | undefined;
      for (let i = 0; i < 100 && !r; i++) r = await request(`http://127.0.0.1:${port}/LiveApp/streams/stream1.m3u8`).catch(() => new Promise<undefined>((res) => setTimeout(() => res(undefined), 100)));
      assert.ok(r);
      assert.equal(r.statusCode, 503);
      assert.equal(r.headers['retry-after'], '2');
      assert.equal(r.headers['access-control-allow-origin'], '*');
      assert.equal(r.headers['x-streamgate-reason'], 'verify_unavailable');
      await r.body.dump();
    } finally {
      n2.kill('SIGQUIT');
      await new Promise((r) => n2.once('exit', r));
      rmSync(d2, { recursive: true, force: true });
    }
  });

  test('a Chromium player on another origin sees 401/403 and reads the reason (fetch and XHR, as hls.js uses)', { skip: missingTool(CHROMIUM, 'chromium') }, async () => {
    const browser: Browser = await launchChromium();
    try {
      const tab = await browser.newPage(pageUrl);
      const urls = {
        missing: `${base}/LiveApp/streams/stream1.m3u8`,
        invalid: `${base}/LiveApp/streams/stream1.m3u8?token=${hashToken('stream2', 'play', HASH_SECRET)}`,
        allowed: `${base}/LiveApp/streams/stream1.m3u8?token=${hashToken('stream1', 'play', HASH_SECRET)}`,
      };
      const seen = await tab.evaluate<Record<string, { fetch: unknown; xhr: unknown }>>(`(async () => {
        const viaFetch = (u) => fetch(u).then(async (r) => ({ status: r.status, reason: r.headers.get('x-streamgate-reason'), body: await r.text() }), (e) => ({ error: String(e) }));
        const viaXhr = (u) => new Promise((resolve) => {
          const x = new XMLHttpRequest();
          x.open('GET', u);
          x.onload = () => resolve({ status: x.status, reason: x.getResponseHeader('x-streamgate-reason'), body: x.responseText });
          x.onerror = () => resolve({ error: 'network error', status: x.status });
          x.send();
        });
        const urls = ${JSON.stringify(urls)};
        const out = {};
        for (const [k, u] of Object.entries(urls)) out[k] = { fetch: await viaFetch(u), xhr: await viaXhr(u) };
        return out;
      })()`);
      for (const via of ['fetch', 'xhr'] as const) {
        assert.deepEqual(seen.missing![via], { status: 401, reason: 'token_missing', body: '{"error":"unauthorized","reason":"token_missing"}\n' }, via);
        assert.deepEqual(seen.invalid![via], { status: 401, reason: 'token_invalid', body: '{"error":"unauthorized","reason":"token_invalid"}\n' }, via);
        assert.deepEqual(seen.allowed![via], { status: 200, reason: null, body: PLAYLIST }, via);
      }
      await tab.close();
    } finally {
      await browser.close();
    }
  });
});
