// Defends against the case-insensitive-origin bypass: `/{app}/Streams/stream1.m3u8` (capital S) used
// to route as a static file and pass with no credential. Harmless on a case-sensitive origin, an open
// door on a case-insensitive one (Windows, macOS, some object stores and CDNs), which serves it as
// `/{app}/streams/stream1.m3u8`. The reserved folders (`streams`, `rest`, `whip`, `chunked`,
// `hls-upload`) now match in any letter case at every door. Here the origin is case-insensitive.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { startTestGate, HASH_SECRET, SESSION_SECRET } from '../helpers/gate.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';

/**
 * An origin that folds the case of every path before serving, like a case-insensitive file system
 * (APFS and NTFS fold with Unicode's mappings, Java's equalsIgnoreCase compares upper- and
 * lower-cased characters): `ſ` (U+017F) is `s` there and `ı` (U+0131) is `i`.
 */
async function caseInsensitiveOrigin(): Promise<{ url: string; seen: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?', 1)[0]!).toUpperCase().toLowerCase();
    seen.push(req.url ?? '/');
    if (path === '/liveapp/streams/stream1.m3u8') {
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
      return res.end('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nstream1000000001.ts\n');
    }
    if (path === '/liveapp/rest/v2/broadcasts/list/0/10') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('[{"streamId":"secret-stream"}]');
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise((r) => server.close(() => r())) };
}

describe('reserved folders in any letter case', () => {
  let origin: Awaited<ReturnType<typeof caseInsensitiveOrigin>>;
  let gate: RunningGate;
  before(async () => {
    origin = await caseInsensitiveOrigin();
    gate = await startTestGate({
      origin: { url: origin.url },
      session: { secrets: [SESSION_SECRET] },
      apps: { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } }, publish: { hash: { enabled: true, secret: HASH_SECRET } }, rest: { allowedCIDRs: [] } } },
    });
  });
  after(async () => {
    await gate.close();
    await origin.close();
  });

  test('a playlist under Streams/, STREAMS/, sTrEaMs/ needs the stream\'s credential on the proxy', async () => {
    for (const folder of ['Streams', 'STREAMS', 'sTrEaMs']) {
      const before = origin.seen.length;
      const r = await request(`${gate.url}/LiveApp/${folder}/stream1.m3u8`);
      assert.equal(r.statusCode, 401, folder);
      assert.equal(((await r.body.json()) as { reason: string }).reason, 'token_missing');
      assert.equal(origin.seen.length, before, `${folder}: the origin never saw the request`);
      const ok = await request(`${gate.url}/LiveApp/${folder}/stream1.m3u8?token=${hashToken('stream1', 'play', HASH_SECRET)}`);
      assert.equal(ok.statusCode, 200, folder);
      assert.match(await ok.body.text(), /stream1000000001\.ts\?sg=/, `${folder}: rewritten like any playlist`);
    }
  });

  test('reserved names spelled with letters that fold to ASCII (ſtreams, whıp, reſt) are authorized as such', async () => {
    for (const path of ['/LiveApp/%C5%BFtreams/stream1.m3u8', '/LiveApp/%C5%BFTREAMS/stream1.m3u8']) {
      const before = origin.seen.length;
      const r = await request(`${gate.url}${path}`);
      assert.equal(r.statusCode, 401, path);
      assert.equal(((await r.body.json()) as { reason: string }).reason, 'token_missing');
      assert.equal(origin.seen.length, before, `${path}: the origin never saw the request`);
    }
    const whip = await request(`${gate.url}/LiveApp/wh%C4%B1p/cam1`, { method: 'POST', body: 'x' });
    assert.equal(whip.statusCode, 401);
    await whip.body.dump();
    const rest = await request(`${gate.url}/LiveApp/re%C5%BFt/v2/broadcasts/list/0/10`);
    assert.equal(rest.statusCode, 403);
    assert.doesNotMatch(await rest.body.text(), /secret-stream/);
    const v = await request(`${gate.url}/verify`, { headers: { 'x-original-uri': '/LiveApp/%C5%BFtreams/stream1.m3u8' } });
    assert.equal(v.statusCode, 401);
    await v.body.dump();
  });

  test('/verify refuses it too', async () => {
    const r = await request(`${gate.url}/verify`, { headers: { 'x-original-uri': '/LiveApp/Streams/stream1.m3u8' } });
    assert.equal(r.statusCode, 401);
    await r.body.dump();
  });

  test('publishing under WHIP/ or Chunked/ needs the publish credential', async () => {
    for (const path of ['/LiveApp/WHIP/cam1', '/LiveApp/Chunked/cam1/part.ts', '/LiveApp/HLS-Upload/cam1000000001.ts']) {
      const r = await request(`${gate.url}${path}`, { method: 'POST', body: 'x' });
      assert.equal(r.statusCode, 401, path);
      await r.body.dump();
    }
  });

  test('the REST filter applies to Rest/ and REST/', async () => {
    for (const folder of ['Rest', 'REST']) {
      const before = origin.seen.length;
      const r = await request(`${gate.url}/LiveApp/${folder}/v2/broadcasts/list/0/10`);
      assert.equal(r.statusCode, 403, folder);
      assert.equal(((await r.body.json()) as { reason: string }).reason, 'ip_not_allowed');
      assert.equal(origin.seen.length, before);
    }
  });
});
