// One grant cookie per stream: a page that plays two streams of one app on cookies alone (a
// multiview, or the /verify deployment where nginx serves the bodies) keeps both playing — one
// stream's grant never overwrites the other's. Real Chromium, one browser context, credentials
// `include`, segment and playlist URLs stripped of their `sg` parameter so only cookies authorize.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSampleOrigin, type SampleOrigin } from '../../src/demo/sample-origin.js';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import { CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { missingTool } from '../helpers/tools.js';
import { fetchUrl } from '../helpers/player.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';

describe('multiview on cookies alone', () => {
  let origin: SampleOrigin;
  let gate: RunningGate;
  let page: http.Server;
  let pageUrl: string;

  before(async () => {
    origin = await startSampleOrigin({ apps: ['LiveApp'] });
    page = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>multiview</title>');
    });
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
    // Same site as the gate (cookies are per host, not per port), another origin: CORS with credentials.
    pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
    gate = await startTestGate({
      origin: { url: origin.url },
      apps: { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } }, cors: { allowedOrigins: [pageUrl], allowCredentials: true } } },
    });
  });
  after(async () => {
    await gate.close();
    page.closeAllConnections();
    await new Promise<void>((r) => page.close(() => r()));
    await origin.close();
  });

  test('the gate sets one cookie per stream and reads the one of the requested stream', async () => {
    const a = await fetchUrl(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${hashToken('stream1', 'play', HASH_SECRET)}`);
    const b = await fetchUrl(`${gate.url}/LiveApp/streams/stream10.m3u8?token=${hashToken('stream10', 'play', HASH_SECRET)}`);
    const nameOf = (r: typeof a) => String(r.headers['set-cookie']).split('=')[0]!;
    assert.notEqual(nameOf(a), nameOf(b));
    const jar = [a, b].map((r) => String(r.headers['set-cookie']).split(';')[0]).join('; ');
    assert.equal((await fetchUrl(`${gate.url}/LiveApp/streams/stream1000000001.ts`, { cookie: jar })).status, 200);
    assert.equal((await fetchUrl(`${gate.url}/LiveApp/streams/stream10000000001.ts`, { cookie: jar })).status, 200);
  });

  test('two streams of one app in one Chromium context', { skip: missingTool(CHROMIUM, 'chromium'), timeout: 60_000 }, async () => {
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage(pageUrl);
      const base = `${gate.url}/LiveApp/streams/`;
      const result = await tab.evaluate<Record<string, number[]>>(`(async () => {
        const get = (u) => fetch(u, { credentials: 'include' });
        const bare = (u, rel) => new URL(rel, u).pathname; // relative URI resolved, query (the grant) dropped
        const out = {};
        // Both players open their stream with a token (each response sets its stream's cookie)…
        for (const [id, token] of ${JSON.stringify([
          ['stream1', hashToken('stream1', 'play', HASH_SECRET)],
          ['stream10', hashToken('stream10', 'play', HASH_SECRET)],
        ])}) {
          out[id] = [(await get(${JSON.stringify(base)} + id + '_adaptive.m3u8?token=' + token)).status];
        }
        // …then both play on cookies alone: variant playlist refreshes and segments, interleaved.
        for (let round = 0; round < 3; round++) {
          for (const id of ['stream1', 'stream10']) {
            const variant = ${JSON.stringify(base)} + id + '_240p300kbps.m3u8';
            const v = await get(variant);
            out[id].push(v.status);
            const uris = (await v.text()).split('\\n').filter((l) => l && !l.startsWith('#'));
            if (uris.length) out[id].push((await get(bare(variant, uris[uris.length - 1]))).status);
          }
        }
        return out;
      })()`);
      assert.deepEqual(result, { stream1: [200, 200, 200, 200, 200, 200, 200], stream10: [200, 200, 200, 200, 200, 200, 200] });
    } finally {
      await browser.close();
    }
  });
});
