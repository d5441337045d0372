// CORS on app paths: header-level checks with a plain HTTP client, then a REAL headless Chromium
// (DevTools protocol over `ws`) whose page on one loopback origin fetch()es playlists from the gate
// on another port — the browser, not our reading of the spec, decides what is readable.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import { CHROMIUM, launchChromium, type Browser } from '../helpers/chromium.js';
import { missingTool } from '../helpers/tools.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';

const PLAYLIST = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.0,\nstream1000000001.ts\n';

async function startPageServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>player</title><p>player page</p>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

async function send(url: string, method: string, headers: Record<string, string> = {}) {
  const r = await request(url, { method: method as 'GET', headers });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text, json: () => JSON.parse(text) };
}

describe('CORS', () => {
  let origin: TestOrigin;
  let gate: RunningGate;
  let page: { port: number; close: () => Promise<void> };
  let allowed: string; // http://127.0.0.1:<page port>
  let refused: string; // http://localhost:<page port>: same server, another origin

  before(async () => {
    origin = await startTestOrigin();
    page = await startPageServer();
    allowed = `http://127.0.0.1:${page.port}`;
    refused = `http://localhost:${page.port}`;
    // The origin sends CORS headers of its own (Ant Media's filter does): the gate must drop them.
    const originCors = { 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true', vary: 'Accept-Encoding', 'content-type': 'application/vnd.apple.mpegurl' };
    for (const app of ['ListApp', 'CredApp', 'WildApp', 'TokenApp']) origin.routes.set(`/${app}/streams/stream1.m3u8`, { body: PLAYLIST, headers: originCors });
    gate = await startTestGate({
      origin: { url: origin.url },
      apps: {
        ListApp: { cors: { allowedOrigins: [allowed] } },
        CredApp: { cors: { allowedOrigins: [allowed], allowCredentials: true } },
        WildApp: {},
        TokenApp: { play: { hash: { enabled: true, secret: HASH_SECRET } }, cors: { allowedOrigins: [allowed] } },
      },
    });
  });
  after(async () => {
    await gate.close();
    await page.close();
    await origin.close();
  });

  const url = (app: string, file = 'stream1.m3u8') => `${gate.url}/${app}/streams/${file}`;

  describe('headers', () => {
    test('preflight from an allowed origin: 204 with methods, headers (Range included), max-age', async () => {
      const r = await send(url('ListApp'), 'OPTIONS', { origin: allowed, 'access-control-request-method': 'GET', 'access-control-request-headers': 'Range, X-Requested-With, authorization' });
      assert.equal(r.status, 204);
      assert.equal(r.headers['access-control-allow-origin'], allowed);
      assert.equal(r.headers['access-control-allow-methods'], 'GET, POST, HEAD, OPTIONS, PUT, DELETE');
      assert.match(String(r.headers['access-control-allow-headers']), /\bRange\b/);
      assert.equal(r.headers['access-control-max-age'], '1800');
      assert.match(String(r.headers.vary), /Origin/);
      assert.equal(r.headers['access-control-allow-credentials'], undefined);
      const cred = await send(url('CredApp'), 'OPTIONS', { origin: allowed, 'access-control-request-method': 'GET' });
      assert.equal(cred.headers['access-control-allow-credentials'], 'true');
    });

    test('preflight refusals: 403 JSON naming the origin, method or header', async () => {
      const cases: [Record<string, string>, string][] = [
        [{ origin: refused, 'access-control-request-method': 'GET' }, 'cors_origin_not_allowed'],
        [{ origin: allowed, 'access-control-request-method': 'PATCH' }, 'cors_method_not_allowed'],
        [{ origin: allowed, 'access-control-request-method': 'GET', 'access-control-request-headers': 'range, x-custom' }, 'cors_header_not_allowed'],
      ];
      for (const [headers, reason] of cases) {
        const r = await send(url('ListApp'), 'OPTIONS', headers);
        assert.equal(r.status, 403, reason);
        assert.deepEqual(r.json(), { error: 'forbidden', reason });
      }
      // Preflights on REST paths are the gate's too (never forwarded).
      const seen = origin.seen.length;
      assert.equal((await send(`${gate.url}/ListApp/rest/v2/broadcasts/s/token`, 'OPTIONS', { origin: allowed, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' })).status, 204);
      assert.equal(origin.seen.length, seen);
    });

    test('actual requests: allowed origin reflected, origin CORS headers replaced, Vary merged', async () => {
      const r = await send(url('ListApp'), 'GET', { origin: allowed });
      assert.equal(r.status, 200);
      assert.equal(r.headers['access-control-allow-origin'], allowed);
      assert.equal(r.headers['access-control-allow-credentials'], undefined, "the origin's credentials header is dropped");
      assert.equal(r.headers['access-control-expose-headers'], 'Content-Length, Content-Range, Accept-Ranges');
      assert.equal(r.headers.vary, 'Accept-Encoding, Origin');

      const c = await send(url('CredApp'), 'GET', { origin: allowed });
      assert.equal(c.headers['access-control-allow-credentials'], 'true');

      // A refused origin: no CORS headers (the origin's `*` is gone too), but the request is served.
      const no = await send(url('ListApp'), 'GET', { origin: refused });
      assert.equal(no.status, 200);
      assert.equal(no.text, PLAYLIST);
      assert.equal(no.headers['access-control-allow-origin'], undefined);
      assert.equal(no.headers['access-control-allow-credentials'], undefined);
      assert.equal(no.headers.vary, 'Accept-Encoding, Origin');

      // Wildcard: `*` always, never with credentials.
      const w = await send(url('WildApp'), 'GET', { origin: 'https://anyone.example' });
      assert.equal(w.headers['access-control-allow-origin'], '*');
      assert.equal(w.headers['access-control-allow-credentials'], undefined);
      assert.equal((await send(url('WildApp'), 'GET')).headers['access-control-allow-origin'], '*');
    });

    test("the gate's own 400/401/403/404/405 carry CORS headers", async () => {
      const cases: [string, string, number, string][] = [
        ['GET', url('TokenApp'), 401, 'token_missing'],
        ['GET', url('TokenApp', 'cover.jpg'), 400, 'stream_unrecognized'],
        ['DELETE', url('TokenApp'), 405, 'method_not_allowed'],
        ['GET', `${gate.url}/TokenApp/websocket`, 403, 'route_denied'],
        ['GET', `${gate.url}/TokenApp/rest/v2/broadcasts/s/token`, 403, 'rest_jwt_missing'],
      ];
      for (const [method, u, status, reason] of cases) {
        const r = await send(u, method, { origin: allowed });
        assert.equal(r.status, status, reason);
        assert.equal(r.json().reason, reason === 'rest_jwt_missing' ? 'rest_origin_requires_jwt' : reason);
        assert.equal(r.headers['access-control-allow-origin'], allowed, reason);
      }
    });
  });

  describe('real Chromium', { skip: missingTool(CHROMIUM, 'chromium') }, () => {
    let browser: Browser;
    before(async () => {
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
    });

    /** Runs fetch() in a page of `pageOrigin`; returns what the page could read, or the error. */
    async function fetchFrom(pageOrigin: string, target: string, init: Record<string, unknown> = {}) {
      const p = await browser.newPage(`${pageOrigin}/`);
      try {
        return await p.evaluate<{ ok: true; status: number; body: string; contentLength: string | null; vary: string | null } | { ok: false; error: string }>(`
          fetch(${JSON.stringify(target)}, ${JSON.stringify(init)}).then(
            async (r) => ({ ok: true, status: r.status, body: await r.text(), contentLength: r.headers.get('content-length'), vary: r.headers.get('vary') }),
            (e) => ({ ok: false, error: String(e) }))`);
      } finally {
        await p.close();
      }
    }

    test('an allowed page reads a playlist, with a preflighted header and an exposed header', async () => {
      const before = origin.seen.length;
      const r = await fetchFrom(allowed, url('ListApp'), { headers: { 'X-Requested-With': 'player' } });
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.status, 200);
      assert.equal(r.body, PLAYLIST);
      assert.equal(r.contentLength, String(Buffer.byteLength(PLAYLIST)), 'Content-Length is exposed');
      assert.equal(origin.seen.length, before + 1, 'the preflight was answered by the gate');
    });

    test('an allowed page can read the reason of a 401 and a token-authorized playlist', async () => {
      const denied = await fetchFrom(allowed, url('TokenApp'));
      assert.ok(denied.ok, JSON.stringify(denied));
      assert.equal(denied.status, 401);
      assert.equal(JSON.parse(denied.body).reason, 'token_missing');
      const token = hashToken('stream1', 'play', HASH_SECRET);
      const okr = await fetchFrom(allowed, `${url('TokenApp')}?token=${token}`);
      assert.ok(okr.ok, JSON.stringify(okr));
      assert.equal(okr.status, 200);
      assert.match(okr.body, /^#EXTM3U/);
    });

    test('a refused origin cannot read (simple and preflighted requests), nor can an unlisted header pass', async () => {
      const before = origin.seen.length;
      const simple = await fetchFrom(refused, url('ListApp'));
      assert.equal(simple.ok, false, JSON.stringify(simple));
      assert.match((simple as { error: string }).error, /TypeError/);
      assert.equal(origin.seen.length, before + 1, 'the simple request itself was served, just not readable');
      const pre = await fetchFrom(refused, url('ListApp'), { headers: { 'X-Requested-With': 'player' } });
      assert.equal(pre.ok, false);
      const header = await fetchFrom(allowed, url('ListApp'), { headers: { 'X-Custom': '1' } });
      assert.equal(header.ok, false);
      assert.equal(origin.seen.length, before + 1, 'refused preflights never reach the origin');
    });

    test('credentials: only where configured for the listed origin, never with the wildcard', async () => {
      const cred = await fetchFrom(allowed, url('CredApp'), { credentials: 'include' });
      assert.ok(cred.ok, JSON.stringify(cred));
      assert.equal((await fetchFrom(allowed, url('ListApp'), { credentials: 'include' })).ok, false);
      assert.equal((await fetchFrom(allowed, url('WildApp'), { credentials: 'include' })).ok, false);
      assert.equal((await fetchFrom(refused, url('WildApp'))).ok, true, 'the wildcard serves any page without credentials');
    });
  });
});
