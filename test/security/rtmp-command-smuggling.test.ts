// Commands smuggled past the RTMP door's decision in forms the origin still acts on. nginx-rtmp
// (ngx_rtmp_receive.c) looks AMF command names up case-insensitively and dispatches AMF0 data
// (type 18) and shared-object (type 19) messages through the same command table as type 20, and an
// aggregate message (type 22) is split into sub-messages that are dispatched by their own type.
// Defends against: an unauthenticated publish (or play) reaching the origin because the gate read the
// message as media or as an unknown command.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import { RawRtmpClient, rtmpToolsMissing, startNginxRtmp, type RtmpOrigin } from '../helpers/rtmp.js';
import { writeMessage } from '../../src/rtmp/chunk-reader.js';
import { encodeAmf0 } from '../../src/rtmp/amf0.js';
import type { RunningGate } from '../../src/server.js';

const skip = rtmpToolsMissing();

/** One FLV-tag-shaped sub-message of an aggregate (type 22) message, with its back pointer. */
function aggregatePart(typeId: number, body: Buffer): Buffer {
  const h = Buffer.alloc(11);
  h[0] = typeId;
  h.writeUIntBE(body.length, 1, 3);
  const back = Buffer.alloc(4);
  back.writeUInt32BE(11 + body.length);
  return Buffer.concat([h, body, back]);
}

describe('RTMP door: commands in other clothes never reach the origin undecided', { skip }, () => {
  let origin: RtmpOrigin;
  let gate: RunningGate;
  let port: number;

  before(async () => {
    origin = await startNginxRtmp(['LiveApp']);
    gate = await startTestGate({
      origin: { url: 'http://127.0.0.1:9' },
      rtmp: { enabled: true, listen: { host: '127.0.0.1', port: 0 }, origin: `rtmp://127.0.0.1:${origin.port}`, commandTimeoutMs: 3000 },
      apps: { LiveApp: { publish: { hash: { enabled: true, secret: HASH_SECRET } }, play: { hash: { enabled: true, secret: HASH_SECRET } } } },
    });
    port = Number(gate.rtmpGate!.address().split(':').pop());
  });
  after(async () => {
    await gate?.close();
    await origin?.stop();
  });

  const cases: [string, (c: RawRtmpClient) => void][] = [
    ['a command name in another letter case (Publish)', (c) => c.command(['Publish', 5, null, 'smuggled1', 'live'], 1)],
    ['a publish sent as an AMF0 data message (type 18)', (c) => c.write(writeMessage(4, 18, 1, encodeAmf0(['publish', 5, null, 'smuggled2', 'live']), 128))],
    ['a command name cut by a NUL (publish\\0x)', (c) => c.command(['publish\0x', 5, null, 'smuggled3', 'live'], 1)],
    ['a publish sent as a shared-object message (type 19, typeless name)', (c) => {
      const name = Buffer.from('publish');
      const len = Buffer.alloc(2);
      len.writeUInt16BE(name.length);
      c.write(writeMessage(4, 19, 1, Buffer.concat([len, name, encodeAmf0([5, null, 'smuggled4', 'live'])]), 128));
    }],
    ['a publish completed at the origin after an Abort Message the gate would have honoured', (c) => {
      // The origin ignores Abort and reads the next chunk as the rest of the publish; a gate that
      // dropped the partial message would read the same chunk as a new, harmless command.
      const publish = encodeAmf0(['publish', 5, null, 'smuggled5', 'live']);
      const body = Buffer.concat([publish, Buffer.alloc(200 - publish.length)]);
      const chunks = writeMessage(3, 20, 1, body, 128);
      c.write(chunks.subarray(0, 12 + 128));
      const abort = Buffer.alloc(4);
      abort.writeUInt32BE(3);
      c.write(writeMessage(2, 2, 0, abort, 128));
      c.write(chunks.subarray(12 + 128));
    }],
    ['a publish hidden in media after a Set Chunk Size the origin ignores (split below 4 bytes per chunk)', (c) => {
      // Both sides apply chunk size 1; nginx-rtmp then reads a Set Chunk Size only from its first
      // chunk's buffer, so the next one, sent 1 byte per chunk, is ignored there. A gate that applied
      // it would read 4096-byte chunks where the origin reads 1-byte ones: the video payload below
      // is opaque media to the first and a chunked publish to the second.
      const size = (n: number) => {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(n);
        return b;
      };
      c.write(writeMessage(2, 1, 0, size(1), 128));
      c.write(writeMessage(2, 1, 0, size(4096), 1));
      const hidden = Buffer.concat([Buffer.from([0]), writeMessage(5, 20, 1, encodeAmf0(['publish', 5, null, 'smuggled6', 'live']), 1)]);
      c.write(writeMessage(4, 9, 1, hidden, 4096));
    }],
    ['a publish inside an aggregate message (type 22)', (c) => c.write(writeMessage(4, 22, 1, aggregatePart(20, encodeAmf0(['publish', 5, null, 'smuggled7', 'live'])), 128))],
  ];
  for (const [index, [name, send]] of cases.entries()) {
    test(`${name} is refused, never published at the origin`, async () => {
      const c = await RawRtmpClient.open(port);
      c.command(['connect', 1, { app: 'LiveApp', tcUrl: 'rtmp://h/LiveApp' }]);
      c.command(['createStream', 2, null]);
      await c.until(() => c.received.some((r) => r.name === '_result' && r.values[1] === 2), 3000);
      send(c);
      await c.until(() => c.closed || c.received.some((r) => JSON.stringify(r.values).includes('NetStream.Publish.Start')), 2000);
      const started = c.received.some((r) => JSON.stringify(r.values).includes('NetStream.Publish.Start'));
      c.close();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(started, false, 'the origin answered NetStream.Publish.Start to an undecided publish');
      assert.doesNotMatch(origin.accessLog(), new RegExp(`"smuggled${index + 1}"`));
    });
  }
});
