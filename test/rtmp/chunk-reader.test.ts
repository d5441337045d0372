// The chunk stream reader (RTMP specification §5.3): header formats 0–3, chunk-size changes,
// interleaved chunk streams, extended timestamps, and the limits that keep hostile input bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ChunkReader, RtmpProtocolError, writeMessage } from '../../src/rtmp/chunk-reader.js';
import { encodeAmf0 } from '../../src/rtmp/amf0.js';

const command = (...v: Parameters<typeof encodeAmf0>[0]) => encodeAmf0(v);

test('a command split over 128-byte chunks is assembled; its byte range is reported', () => {
  const body = command('connect', 1, { app: 'LiveApp', tcUrl: `rtmp://h/LiveApp?${'x'.repeat(300)}` });
  const bytes = writeMessage(3, 20, 0, body, 128);
  const r = new ChunkReader(65536);
  const got = [];
  for (const b of bytes) got.push(...r.feed(Buffer.from([b]))); // one byte at a time
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]!.payload, body);
  assert.equal(got[0]!.startOffset, 0);
  assert.equal(r.frontier, bytes.length);
  assert.ok(r.atChunkBoundary);
});

test('Set Chunk Size applies to the chunks after it', () => {
  const size = Buffer.alloc(4);
  size.writeUInt32BE(4096);
  const body = command('publish', 5, null, 's'.repeat(1000));
  const bytes = Buffer.concat([writeMessage(2, 1, 0, size, 128), writeMessage(3, 20, 1, body, 4096)]);
  const r = new ChunkReader(65536);
  const got = r.feed(bytes);
  assert.equal(r.chunkSize, 4096);
  assert.deepEqual(got[1]!.payload, body);
});

test('interleaved chunk streams: media chunks between a command\'s chunks are counted over, not copied', () => {
  const body = command('publish', 5, null, 'x'.repeat(200));
  const cmd = writeMessage(3, 20, 1, body, 128); // two chunks: 12+128, 1+rest
  const media = writeMessage(6, 9, 1, Buffer.alloc(100, 7), 128);
  const firstChunkLen = 12 + 128;
  const bytes = Buffer.concat([cmd.subarray(0, firstChunkLen), media, cmd.subarray(firstChunkLen)]);
  const r = new ChunkReader(65536);
  const got = r.feed(bytes.subarray(0, firstChunkLen + media.length));
  assert.equal(got.length, 0);
  assert.equal(r.openCommandStart, 0, 'the command is still open from offset 0');
  const done = r.feed(bytes.subarray(firstChunkLen + media.length));
  assert.equal(done.length, 1);
  assert.deepEqual(done[0]!.payload, body);
  assert.equal(r.openCommandStart, Infinity);
});

test('type 1/2/3 headers reuse the previous message header; extended timestamps are read', () => {
  const body = command('FCPublish', 3, null, 's');
  const first = writeMessage(3, 20, 0, body, 128);
  first.writeUIntBE(0xffffff, 1, 3); // extended timestamp follows the 11-byte header
  const withExt = Buffer.concat([first.subarray(0, 12), Buffer.alloc(4), first.subarray(12)]);
  const again = Buffer.concat([Buffer.from([0xc3]), Buffer.alloc(4), body]); // fmt 3 of a new message, still extended
  const r = new ChunkReader(65536);
  const got = r.feed(Buffer.concat([withExt, again]));
  assert.equal(got.length, 2);
  assert.deepEqual(got[1]!.payload, body);
});

test('violations are refused: continuation without a start, oversized command, bad chunk size, too many chunk streams', () => {
  assert.throws(() => new ChunkReader(1024).feed(Buffer.from([0x43, 0, 0, 0, 0, 0, 5, 20])), RtmpProtocolError);
  assert.throws(() => new ChunkReader(1024).feed(writeMessage(3, 20, 0, Buffer.alloc(2000), 128)), /exceeds 1024/);
  const zero = Buffer.alloc(4);
  assert.throws(() => new ChunkReader(1024).feed(writeMessage(2, 1, 0, zero, 128)), /chunk size 0/);
  const many = Buffer.concat([...Array(70)].map((_, i) => Buffer.from([0x00, i, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0])));
  assert.throws(() => new ChunkReader(1024).feed(many), /more than 64 chunk streams/);
});

test('fuzz: random chunk streams parse or throw RtmpProtocolError, with bounded state', () => {
  for (let i = 0; i < 5000; i++) {
    const r = new ChunkReader(65536);
    try {
      r.feed(randomBytes(1 + (i % 2000)));
    } catch (err) {
      assert.ok(err instanceof RtmpProtocolError, (err as Error).message);
    }
  }
});

test('an Abort Message for an unfinished message is refused; one for an idle chunk stream passes', () => {
  const abort = (csid: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(csid);
    return writeMessage(2, 2, 0, b, 128);
  };
  const partial = writeMessage(3, 20, 0, Buffer.alloc(200), 128).subarray(0, 12 + 128);
  assert.throws(() => new ChunkReader(65536).feed(Buffer.concat([partial, abort(3)])), /Abort Message for the unfinished message on chunk stream 3/);
  const r = new ChunkReader(65536);
  assert.equal(r.feed(Buffer.concat([writeMessage(3, 20, 0, Buffer.alloc(200), 128), abort(3), abort(9)])).length, 3);
});
