// A second SRT connection opened over an allowed caller's UDP address. libsrt multiplexes many
// sockets on one UDP port (SRTO_REUSEADDR), and a listener takes any handshake from a new caller
// socket id as a new connection request, whatever address it comes from. Once a caller is allowed,
// the gate relays its datagrams unread, so a fresh induction + conclusion from the same address could
// open another stream (or the other role) at the origin without a decision.
// The same holds while a conclusion is being decided: retransmissions of it are held, and the one
// forwarded after an allow must be the conclusion that was decided, never a later one that names
// another stream (a decision that waits for the store leaves time to send one).
// Defends against: publishing or playing a stream nobody authorized, riding on an authorized session.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import { conclusion, handshake, standInSrtOrigin, udpPeer } from '../helpers/srt.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { RequestType, readHandshake, streamIdOf, writeHandshake } from '../../src/srt/packet.js';
import type { RunningGate } from '../../src/server.js';

describe('SRT door: an allowed caller address cannot open a second, undecided connection', () => {
  let gate: RunningGate;
  let origin: Awaited<ReturnType<typeof udpPeer>>;
  let port: number;

  before(async () => {
    origin = await standInSrtOrigin();
    gate = await startTestGate({
      origin: { url: 'http://127.0.0.1:9' },
      srt: { enabled: true, listen: { host: '127.0.0.1', port: 0 }, origin: `127.0.0.1:${origin.port}` },
      apps: { LiveApp: { publish: { hash: { enabled: true, secret: HASH_SECRET } }, play: { hash: { enabled: true, secret: HASH_SECRET } } } },
    });
    port = Number(gate.srtGate!.address().split(':').pop());
  });
  after(async () => {
    await gate?.close();
    await origin?.close();
  });

  const streamIdsAtOrigin = () =>
    origin.got.flatMap((m) => {
      try {
        const hs = readHandshake(m);
        return hs.requestType === RequestType.conclusion ? [streamIdOf(hs) ?? ''] : [];
      } catch {
        return [];
      }
    });

  test('a new caller socket id on the same address never reaches the origin; the allowed one still flows', async () => {
    const c = await udpPeer();
    const send = (b: Buffer) => c.sock.send(b, port, '127.0.0.1');
    send(writeHandshake(handshake()));
    await sleep(100);
    send(conclusion(`LiveApp/mine,token=${hashToken('mine', 'publish', HASH_SECRET)}`));
    await sleep(150);
    assert.deepEqual(streamIdsAtOrigin(), [`LiveApp/mine,token=${hashToken('mine', 'publish', HASH_SECRET)}`]);

    // A second libsrt socket on the same UDP port: its own socket id, no credential.
    send(writeHandshake(handshake({ socketId: 0x9999 })));
    await sleep(100);
    send(conclusion('LiveApp/victim', { socketId: 0x9999 }));
    send(conclusion('#!::r=LiveApp/victim,m=request', { socketId: 0x9999 }));
    // The allowed socket id itself, with another Stream ID or another initial sequence number.
    send(conclusion('LiveApp/victim', { destinationSocketId: 0x5555 }));
    send(conclusion(`LiveApp/victim,token=${hashToken('mine', 'publish', HASH_SECRET)}`, { initialSequence: 99 }));
    await sleep(150);
    assert.equal(streamIdsAtOrigin().filter((s) => s.includes('victim')).length, 0, 'an undecided conclusion reached the origin');

    // The allowed session is untouched: its media and its own retransmitted conclusion still flow.
    const before = origin.got.length;
    send(Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.alloc(1300, 7)]));
    send(conclusion(`LiveApp/mine,token=${hashToken('mine', 'publish', HASH_SECRET)}`, { destinationSocketId: 0x5555 }));
    await sleep(100);
    assert.equal(origin.got.length, before + 2);
    await c.close();
  });

  test('a conclusion swapped in while the first is decided is not the one forwarded', async () => {
    const redisGate = await startTestGate({
      origin: { url: 'http://127.0.0.1:9' },
      store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: `sg-test-srt-swap-${process.pid}-${Date.now()}:` } },
      srt: { enabled: true, listen: { host: '127.0.0.1', port: 0 }, origin: `127.0.0.1:${origin.port}` },
      shutdown: { drainTimeoutMs: 200 },
      apps: { LiveApp: { publish: { oneTimeToken: true } } },
    });
    try {
      await redisGate.runtime.store.saveToken('LiveApp', { tokenId: 'srt-swap-token-1', streamId: 'mine2', type: 'publish', expireDate: Math.floor(Date.now() / 1000) + 60 });
      const gatePort = Number(redisGate.srtGate!.address().split(':').pop());
      const c = await udpPeer();
      const send = (b: Buffer) => c.sock.send(b, gatePort, '127.0.0.1');
      send(writeHandshake(handshake({ socketId: 0x7777 })));
      await sleep(100);
      // Back to back: the second arrives while the one-time token is checked in Redis.
      send(conclusion('LiveApp/mine2,token=srt-swap-token-1', { socketId: 0x7777 }));
      send(conclusion('LiveApp/victim2', { socketId: 0x7777 }));
      await sleep(300);
      const ids = streamIdsAtOrigin();
      assert.ok(ids.includes('LiveApp/mine2,token=srt-swap-token-1'), `the decided conclusion was forwarded: ${JSON.stringify(ids)}`);
      assert.equal(ids.filter((s) => s.includes('victim2')).length, 0, 'a conclusion that was never decided reached the origin');
      await c.close();
    } finally {
      await redisGate.close();
    }
  });
});
