// AMF0 as RTMP commands carry it, and the decoder's behaviour on hostile bytes: every input either
// decodes or throws AmfError — never another exception, never unbounded work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { AmfError, decodeAmf0, encodeAmf0 } from '../../src/rtmp/amf0.js';

test('a connect command round-trips', () => {
  const values = ['connect', 1, { app: 'LiveApp', tcUrl: 'rtmp://h/LiveApp', fpad: false, audioCodecs: 3191 }];
  const decoded = decodeAmf0(encodeAmf0(values));
  assert.equal(decoded[0], 'connect');
  assert.equal(decoded[1], 1);
  assert.deepEqual({ ...(decoded[2] as object) }, values[2]);
});

test('strict arrays, ECMA arrays, long strings, dates, null and undefined decode', () => {
  const bytes = Buffer.concat([
    Buffer.from([0x0a, 0, 0, 0, 2, 0x00]), Buffer.alloc(8), Buffer.from([0x05]), // [0, null]
    Buffer.from([0x08, 0, 0, 0, 1, 0, 1, 0x6b, 0x02, 0, 1, 0x76, 0, 0, 0x09]), // {k:'v'}
    Buffer.from([0x0c, 0, 0, 0, 3]), Buffer.from('abc'),
    Buffer.from([0x0b]), Buffer.alloc(10),
    Buffer.from([0x06]),
  ]);
  const [arr, ecma, long, date, undef] = decodeAmf0(bytes);
  assert.deepEqual(arr, [0, null]);
  assert.equal((ecma as Record<string, unknown>).k, 'v');
  assert.equal(long, 'abc');
  assert.ok(date instanceof Date);
  assert.equal(undef, undefined);
});

test('objects have no prototype: a __proto__ key is just a key', () => {
  const bytes = Buffer.concat([Buffer.from([0x03, 0, 9]), Buffer.from('__proto__'), Buffer.from([0x03, 0, 3]), Buffer.from('app'), Buffer.from([0x02, 0, 1, 0x78, 0, 0, 0x09, 0, 0, 0x09])]);
  const [obj] = decodeAmf0(bytes) as [Record<string, unknown>];
  assert.equal(Object.getPrototypeOf(obj), null);
  assert.equal(obj.app, undefined, 'no inherited app');
});

test('references, typed objects, XML and AVM+ are refused, as are duplicate properties', () => {
  for (const marker of [0x04, 0x07, 0x0d, 0x0f, 0x10, 0x11, 0xff]) assert.throws(() => decodeAmf0(Buffer.from([marker, 0, 0])), AmfError);
  const dup = Buffer.concat([Buffer.from([0x03, 0, 1, 0x61, 0x05, 0, 1, 0x61, 0x05, 0, 0, 0x09])]);
  assert.throws(() => decodeAmf0(dup), /duplicate property/);
});

test('lengths beyond the buffer, deep nesting and huge counts are refused', () => {
  assert.throws(() => decodeAmf0(Buffer.from([0x02, 0xff, 0xff, 0x61])), /truncated/);
  assert.throws(() => decodeAmf0(Buffer.from([0x0c, 0xff, 0xff, 0xff, 0xff])), /truncated/);
  assert.throws(() => decodeAmf0(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff])), /strict array/);
  const deep = Buffer.concat([...Array(50)].map(() => Buffer.from([0x03, 0, 1, 0x61])));
  assert.throws(() => decodeAmf0(deep), /nested too deeply/);
  assert.throws(() => decodeAmf0(Buffer.alloc(5000, 0x05)), /more than 1024 values/);
});

test('fuzz: 20,000 random and mutated inputs decode or throw AmfError, nothing else', () => {
  const seed = encodeAmf0(['publish', 5, null, 'stream1?token=abc', 'live', { a: 1, b: 'x', c: { d: true } }]);
  for (let i = 0; i < 20_000; i++) {
    let input: Buffer;
    if (i % 2) input = randomBytes(1 + (i % 300));
    else {
      input = Buffer.from(seed);
      for (let k = 0; k < 1 + (i % 5); k++) input[(i * 7919 + k * 104729) % input.length] = randomBytes(1)[0]!;
      input = input.subarray(0, (i * 31) % (input.length + 1));
    }
    try {
      decodeAmf0(input);
    } catch (err) {
      assert.ok(err instanceof AmfError, `input ${input.toString('hex')} threw ${(err as Error).name}: ${(err as Error).message}`);
    }
  }
});
