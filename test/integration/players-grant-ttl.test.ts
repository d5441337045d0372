// Real players on an adaptive master keep playing past the grant's ttl. The master's variant URIs
// carry a grant, and a live player re-requests that variant URL, unchanged, every target duration for
// as long as it plays: that URL must stay good for the session's life, while the grants on segment
// URIs stay short-lived. Cookies are off (ffmpeg has no jar; hls.js without credentials).
// session.ttlSeconds is 2 here, so every run below outlives several grants.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startSampleOrigin, type SampleOrigin } from '../../src/demo/sample-origin.js';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import { fetchUrl } from '../helpers/player.js';
import { CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { findTool, missingTool } from '../helpers/tools.js';
import { playWithHlsJs, startPageServer } from '../helpers/player-page.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';

const FFMPEG = findTool('ffmpeg') ?? 'ffmpeg';
const TTL = 2;
const uriLines = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('players past the grant ttl', () => {
  let origin: SampleOrigin;
  let gate: RunningGate;
  let page: { url: string; close: () => Promise<void> };
  let master: string;

  before(async () => {
    origin = await startSampleOrigin({ apps: ['LiveApp'] }); // real clock: a live window that moves
    page = await startPageServer();
    gate = await startTestGate({
      origin: { url: origin.url },
      session: { secrets: ['session-secret-for-the-grant-ttl-tests-0123456789'], ttlSeconds: TTL },
      apps: { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } }, cors: { allowedOrigins: [page.url] } } },
    });
    master = `${gate.url}/LiveApp/streams/stream1_adaptive.m3u8?token=${hashToken('stream1', 'play', HASH_SECRET)}`;
  });
  after(async () => {
    await gate.close();
    await page.close();
    await origin.close();
  });

  const refused = async () => {
    const m = await gate.runtime.metrics.registry.getSingleMetric('streamgate_decisions_total')!.get();
    return m.values.filter((v) => v.labels.outcome === 'deny').reduce((n, v) => n + v.value, 0);
  };

  test('a variant URL from the master refreshes after its segment grants expired; those segment URLs do not', async () => {
    const variant = new URL(uriLines((await fetchUrl(master)).text)[0]!, master).href;
    const first = await fetchUrl(variant);
    assert.equal(first.status, 200);
    const oldSegment = new URL(uriLines(first.text).at(-1)!, variant).href;
    assert.equal((await fetchUrl(oldSegment)).status, 200);
    await sleep((TTL + 1) * 1000);
    const late = await fetchUrl(variant);
    assert.equal(late.status, 200, late.text);
    const freshSegment = new URL(uriLines(late.text).at(-1)!, variant).href;
    assert.equal((await fetchUrl(freshSegment)).status, 200);
    const stale = await fetchUrl(oldSegment);
    assert.equal(stale.status, 401, 'a segment URL stays short-lived');
    assert.equal(JSON.parse(stale.text).reason, 'grant_expired');
    // The variant URL's grant opens playlists only: not segments, even with a guessed name.
    const sessionGrant = new URL(variant).searchParams.get('sg')!;
    const guessed = new URL(freshSegment);
    guessed.searchParams.set('sg', sessionGrant);
    const refused = await fetchUrl(guessed.href);
    assert.equal(refused.status, 401);
    assert.equal(JSON.parse(refused.text).reason, 'grant_invalid');
  });

  test('a player on cookies alone (master without a token) keeps refreshing its variant past the grant ttl', async () => {
    // The cookie came with an earlier answer (a page that opened the stream once, the /verify deployment).
    const opened = await fetchUrl(master);
    let jar = String(opened.headers['set-cookie']).split(';')[0]!;
    const bare = master.split('?')[0]!;
    const listing = await fetchUrl(bare, { cookie: jar });
    assert.equal(listing.status, 200, listing.text);
    const variant = new URL(uriLines(listing.text)[0]!, bare).href;
    // The cookie's media grant is not turned into a longer grant (anyone can send a Cookie header):
    // the variant URL carries that same media grant, and once it expires the fresh cookie answers.
    assert.equal(new URL(variant).searchParams.get('sg'), jar.split('=')[1]);
    const statuses: number[] = [];
    for (const end = Date.now() + (2 * TTL + 1) * 1000; Date.now() < end; await sleep(400)) {
      const r = await fetchUrl(variant, { cookie: jar });
      statuses.push(r.status);
      if (r.headers['set-cookie']) jar = String(r.headers['set-cookie']).split(';')[0]!;
    }
    assert.deepEqual([...new Set(statuses)], [200], `statuses: ${statuses.join(' ')}`);
    // Without the cookie that expired URL grant is refused: the cookie, not the URL, carried the playback.
    const alone = await fetchUrl(variant);
    assert.equal(alone.status, 401);
    assert.equal(JSON.parse(alone.text).reason, 'grant_expired');
  });

  test('ffmpeg plays the master for 5 × the grant ttl', { skip: missingTool('ffmpeg'), timeout: 60_000 }, async () => {
    const before = await refused();
    const { stderr } = await promisify(execFile)(FFMPEG, ['-nostdin', '-hide_banner', '-loglevel', 'warning', '-i', master, '-map', '0:v:0', '-t', String(5 * TTL + 2), '-c', 'copy', '-f', 'null', '-'], { timeout: 45_000 });
    assert.doesNotMatch(stderr, /HTTP error 40[13]|Server returned|Failed to reload/i, stderr);
    assert.equal((await refused()) - before, 0, stderr);
  });

  test('hls.js in Chromium, credentials off, through 8 level loads', { skip: missingTool(CHROMIUM, 'chromium'), timeout: 60_000 }, async () => {
    const before = await refused();
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage(page.url);
      const result = await playWithHlsJs(tab, master, 8);
      assert.ok(result.levelLoads >= 8, `level loads: ${JSON.stringify(result)}`);
      assert.deepEqual(result.errors, [], 'no load failed');
    } finally {
      await browser.close();
    }
    assert.equal((await refused()) - before, 0);
  });
});
