// Real players given only a non-adaptive live URL with a one-time token — `{id}.m3u8?token=T`,
// Ant Media's default — keep playing: they re-request exactly that URL every target duration, and
// the gate continues the playback the token opened for that client. No cookies are sent (hls.js
// without credentials, ffmpeg without a cookie jar). Skips when Chromium or ffmpeg is missing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startSampleOrigin, type SampleOrigin } from '../../src/demo/sample-origin.js';
import { startTestGate } from '../helpers/gate.js';
import { CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { findTool, missingTool } from '../helpers/tools.js';
import { playWithHlsJs, startPageServer } from '../helpers/player-page.js';
import type { RunningGate } from '../../src/server.js';
import { newTokenId } from '../../src/checks/one-time-token.js';

const FFMPEG = findTool('ffmpeg') ?? 'ffmpeg';
describe('players on a one-time media-playlist URL', () => {
  let origin: SampleOrigin;
  let gate: RunningGate;
  let page: { url: string; close: () => Promise<void> };

  before(async () => {
    origin = await startSampleOrigin({ apps: ['LiveApp'] }); // real clock: a live window that moves
    page = await startPageServer();
    gate = await startTestGate({
      origin: { url: origin.url },
      store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: `sgplayers-${process.pid}-${Date.now()}` } },
      apps: { LiveApp: { play: { oneTimeToken: true }, cors: { allowedOrigins: [page.url] } } },
    });
  });
  after(async () => {
    await gate.close();
    await page.close();
    await origin.close();
  });

  const mint = async (streamId: string) => {
    const t = { tokenId: newTokenId(), streamId, type: 'play' as const, expireDate: Math.floor(Date.now() / 1000) + 600 };
    await gate.runtime.store.saveToken('LiveApp', t);
    return `${gate.url}/LiveApp/streams/${streamId}.m3u8?token=${t.tokenId}`;
  };
  /** Decisions so far: allowed by a one-time token (first use or re-presentation) / refused. */
  const decisions = async () => {
    const m = await gate.runtime.metrics.registry.getSingleMetric('streamgate_decisions_total')!.get();
    const pick = (outcome: string) => m.values.filter((v) => v.labels.outcome === outcome && v.labels.via === (outcome === 'allow' ? 'oneTimeToken' : 'none')).reduce((n, v) => n + v.value, 0);
    return { allowed: pick('allow'), refused: pick('deny') };
  };

  test('hls.js in Chromium, credentials off, through 6 playlist loads', { skip: missingTool(CHROMIUM, 'chromium'), timeout: 60_000 }, async () => {
    const url = await mint('stream1');
    const before = await decisions();
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage(page.url);
      const result = await playWithHlsJs(tab, url, 6);
      assert.ok(result.levelLoads >= 6, `playlist loads: ${JSON.stringify(result)}`);
      assert.ok(result.fragLoads >= 3, `segments: ${JSON.stringify(result)}`);
      assert.deepEqual(result.errors.filter((e) => /manifest|level/i.test(e)), [], 'no playlist load failed');
    } finally {
      await browser.close();
    }
    const after = await decisions();
    assert.ok(after.allowed - before.allowed >= 6, `one-time re-presentations allowed: ${after.allowed - before.allowed}`);
    assert.equal(after.refused - before.refused, 0);
  });

  test('ffmpeg, no cookie jar, through ≥ 5 playlist refreshes', { skip: missingTool('ffmpeg'), timeout: 60_000 }, async () => {
    const url = await mint('stream10');
    const before = await decisions();
    // 16 s of a live stream of 2 s segments: ffmpeg starts 3 segments from the live edge and then
    // re-requests the same URL every target duration to find the next ones.
    const { stderr } = await promisify(execFile)(FFMPEG, ['-nostdin', '-hide_banner', '-loglevel', 'warning', '-i', url, '-t', '16', '-c', 'copy', '-f', 'null', '-'], { timeout: 45_000 });
    assert.doesNotMatch(stderr, /HTTP error 40[13]|Server returned/i, stderr);
    const after = await decisions();
    assert.ok(after.allowed - before.allowed >= 6, `playlist requests allowed: ${after.allowed - before.allowed}\n${stderr}`);
    assert.equal(after.refused - before.refused, 0, stderr);
  });
});
