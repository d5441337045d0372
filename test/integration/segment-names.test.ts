// Ant Media's other segment names through a real gate: a date/epoch `hlsSegmentFileSuffixFormat`,
// legacy 4-digit indexes (opt-in), audio-only `.mp3`; and config errors naming the key.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { call } from '../helpers/http.js';

const play = { hash: { enabled: true, secret: HASH_SECRET } };
const apps = {
  LiveApp: { play },
  DateApp: { play, hlsSegmentFileSuffixFormat: '-%Y%m%d-%s' },
  LegacyApp: { play, hlsSegmentFileSuffixFormat: ['%09d', '%04d'] },
};
const token = (id: string) => hashToken(id, 'play', HASH_SECRET);

describe('segment names per app', () => {
  let origin: TestOrigin;
  let gate: RunningGate;
  before(async () => {
    origin = await startTestOrigin();
    gate = await startTestGate({ origin: { url: origin.url }, apps });
  });
  after(async () => {
    await gate.close();
    await origin.close();
  });
  const get = (path: string) => call('GET', `${gate.url}${path}`);

  test('a date/epoch suffix format: segments of the stream play, its neighbours do not', async () => {
    assert.equal((await get(`/DateApp/streams/stream1-20240131-1719999999.ts?token=${token('stream1')}`)).status, 200);
    assert.equal(origin.seen.at(-1)!.url, '/DateApp/streams/stream1-20240131-1719999999.ts');
    assert.equal((await get(`/DateApp/streams/stream1_240p-20240131-1719999999.fmp4?token=${token('stream1')}`)).status, 200);
    assert.equal((await get(`/DateApp/streams/stream10-20240131-1719999999.ts?token=${token('stream1')}`)).status, 401);
    // The default app reads the same name as another stream's nine-digit segment.
    assert.equal((await get(`/LiveApp/streams/stream1-20240131-1719999999.ts?token=${token('stream1')}`)).status, 401);
  });

  test('legacy 4-digit indexes where configured; 400 stream_unrecognized elsewhere', async () => {
    assert.equal((await get(`/LegacyApp/streams/stream10001.ts?token=${token('stream1')}`)).status, 200);
    assert.equal((await get(`/LegacyApp/streams/stream1000000001.ts?token=${token('stream1')}`)).status, 200);
    const plain = await get(`/LiveApp/streams/stream10001.ts?token=${token('stream1')}`);
    assert.equal(plain.status, 400);
    assert.equal(plain.json().reason, 'stream_unrecognized');
  });

  test('audio-only VoD .mp3 is a file of its stream', async () => {
    assert.equal((await get(`/LiveApp/streams/stream1.mp3?token=${token('stream1')}`)).status, 200);
    assert.equal((await get(`/LiveApp/streams/stream1_2.mp3?token=${token('stream1')}`)).status, 200);
    assert.equal((await get(`/LiveApp/streams/stream10.mp3?token=${token('stream1')}`)).status, 401);
  });

  test('a format that is not fixed-width is a config error naming the key', () => {
    const issues = (formats: unknown): string[] => {
      try {
        parseConfig(JSON.stringify({ apps: { A: { hlsSegmentFileSuffixFormat: formats } } }), {});
        return [];
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.issues.map((i) => i.path);
      }
    };
    assert.deepEqual(issues('%d'), []);
    assert.deepEqual(issues('%9d'), ['apps.A.hlsSegmentFileSuffixFormat']);
    assert.deepEqual(issues(['%09d', 'seg']), ['apps.A.hlsSegmentFileSuffixFormat[1]']);
    assert.deepEqual(issues([]), ['apps.A.hlsSegmentFileSuffixFormat']);
  });
});
