// The SRT handshake as the gate reads and writes it, and the Stream ID grammar (Ant Media's form and
// the SRT access-control form).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ExtensionType, RequestType, SrtPacketError, encodeStreamId, readHandshake, rejection, streamIdOf, writeHandshake } from '../../src/srt/packet.js';
import { parseStreamId } from '../../src/srt/stream-id.js';
import { conclusion, handshake } from '../helpers/srt.js';

test('a Stream ID is padded to words and each word reversed on the wire, and read back', () => {
  assert.deepEqual(encodeStreamId('STREAM'), Buffer.from('ERTS\0\0MA', 'latin1'));
  const hs = readHandshake(conclusion('LiveApp/stream1,token=abc'));
  assert.equal(hs.requestType, RequestType.conclusion);
  assert.equal(streamIdOf(hs), 'LiveApp/stream1,token=abc');
  assert.equal(streamIdOf(readHandshake(conclusion(null))), undefined);
});

test('a rejection answers the caller socket with ReqType 1000 + code', () => {
  const hs = readHandshake(conclusion('LiveApp/s'));
  const rej = readHandshake(rejection(hs, 1401, 99));
  assert.equal(rej.requestType, 2401);
  assert.equal(rej.destinationSocketId, hs.socketId);
  assert.equal(rej.socketId, 99);
  assert.equal(rej.extensions.length, 0);
});

test('truncated handshakes, overrunning extensions and over-long Stream IDs are refused', () => {
  assert.throws(() => readHandshake(writeHandshake(handshake()).subarray(0, 40)), SrtPacketError);
  const overrun = Buffer.concat([writeHandshake(handshake({ version: 5, requestType: RequestType.conclusion })), Buffer.from([0, 5, 0, 200])]);
  assert.throws(() => readHandshake(overrun), /overruns/);
  const long = writeHandshake(handshake({ version: 5, requestType: RequestType.conclusion, extensions: [{ type: ExtensionType.sid, content: Buffer.alloc(600, 0x61) }] }));
  assert.throws(() => streamIdOf(readHandshake(long)), /exceeds 512/);
  const bad = writeHandshake(handshake({ version: 5, requestType: RequestType.conclusion, extensions: [{ type: ExtensionType.sid, content: Buffer.from([0xff, 0xfe, 0x61, 0x61]) }] }));
  assert.throws(() => streamIdOf(readHandshake(bad)), /not UTF-8/);
});

test('fuzz: random datagrams read as a handshake or throw SrtPacketError', () => {
  for (let i = 0; i < 20_000; i++) {
    const p = randomBytes(1 + (i % 200));
    p[0] = 0x80; // a control packet of type handshake, whatever follows
    p[1] = 0;
    try {
      streamIdOf(readHandshake(p));
    } catch (err) {
      assert.ok(err instanceof SrtPacketError, (err as Error).message);
    }
  }
});

test('Stream ID grammar: Ant Media form and access-control form', () => {
  assert.deepEqual(parseStreamId('LiveApp/stream1,token=abc'), { app: 'LiveApp', streamId: 'stream1', role: 'publish', credentials: { token: 'abc' } });
  assert.deepEqual(parseStreamId('LiveApp/s1,subscriberId=u,subscriberCode=123456,m=request'), { app: 'LiveApp', streamId: 's1', role: 'play', credentials: { subscriberId: 'u', subscriberCode: '123456' } });
  assert.deepEqual(parseStreamId('#!::r=LiveApp/cam,m=publish,s=one-shot'), { app: 'LiveApp', streamId: 'cam', role: 'publish', credentials: { token: 'one-shot' } });
  assert.equal((parseStreamId('#!::r=LiveApp/cam') as { role: string }).role, 'play', 'the access-control default mode is request');
  for (const [sid, code] of [
    [undefined, 1400],
    ['LiveApp', 1400],
    ['LiveApp/a/b', 1400],
    ['LiveApp/..', 1400],
    ['Live App/s', 1400],
    ['LiveApp/s,token=a,token=b', 1400],
    ['LiveApp/s,novalue', 1400],
    ['#!::r=LiveApp/s,m=bidirectional', 1405],
    ['#!::r=LiveApp/s,t=file', 1415],
  ] as const) {
    const r = parseStreamId(sid);
    assert.ok('problem' in r, `${sid} must be refused`);
    assert.equal(r.code, code, String(sid));
  }
});
