// Hostile RTMP clients against the RTMP door: truncated and foreign handshakes, silence, oversized
// and interleaved chunks, chunk-size abuse, AMF type confusion, huge strings, commands out of order,
// a stream switched after authorization, and PROXY headers from peers that may not send them.
// Defends against: crashing or exhausting the gate (memory, sockets), a client choosing its own IP,
// and any command the decision did not see reaching the origin.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import { RawRtmpClient } from '../helpers/rtmp.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { acceptHandshake } from '../../src/rtmp/handshake.js';
import { Inbox } from '../../src/rtmp/inbox.js';
import { ChunkReader, writeMessage } from '../../src/rtmp/chunk-reader.js';
import { readCommand } from '../../src/rtmp/commands.js';
import { encodeAmf0 } from '../../src/rtmp/amf0.js';
import type { RunningGate } from '../../src/server.js';

/** A minimal RTMP origin: answers the handshake, records every command it receives, answers none. */
async function sinkOrigin() {
  const commands: string[] = [];
  const server = net.createServer((s) => {
    const inbox = new Inbox(s, 1 << 20);
    s.on('error', () => undefined);
    void acceptHandshake(s, inbox, Date.now() + 5000).then(
      () => {
        const reader = new ChunkReader(1 << 20);
        const onData = (d: Buffer) => {
          try {
            for (const m of reader.feed(d)) {
              if (m.typeId !== 20) continue;
              const c = readCommand(m);
              commands.push(c.kind === 'stream' ? `${c.name}:${c.rawName}` : c.kind === 'connect' ? `connect:${c.app}` : c.name);
            }
          } catch {
            s.destroy();
          }
        };
        const rest = inbox.detach();
        s.on('data', onData);
        if (rest.length) onData(rest);
      },
      () => s.destroy(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, commands, close: () => new Promise((r) => server.close(r)) };
}

const connect = (c: RawRtmpClient, app = 'LiveApp') => c.command(['connect', 1, { app, tcUrl: `rtmp://h/${app}` }]);
const settle = () => new Promise((r) => setTimeout(r, 200));

describe('RTMP door under hostile input', () => {
  let gate: RunningGate;
  let origin: Awaited<ReturnType<typeof sinkOrigin>>;
  let port: number;
  const token = hashToken('cam', 'publish', HASH_SECRET);

  before(async () => {
    origin = await sinkOrigin();
    gate = await startTestGate({
      origin: { url: 'http://127.0.0.1:9' },
      rtmp: {
        enabled: true,
        listen: { host: '127.0.0.1', port: 0 },
        origin: `127.0.0.1:${origin.port}`,
        handshakeTimeoutMs: 400,
        commandTimeoutMs: 800,
        maxCommandBytes: 8192,
        proxyProtocol: { trustedCIDRs: ['127.0.0.2/32'] },
      },
      apps: {
        LiveApp: { publish: { hash: { enabled: true, secret: HASH_SECRET } } },
        Cidr: { publish: { allowedCIDRs: ['10.0.0.0/8'] } },
      },
    });
    port = Number(gate.rtmpGate!.address().split(':').pop());
  });
  after(async () => {
    await gate?.close();
    await origin?.close();
  });

  test('a truncated handshake is dropped at the handshake timeout', async () => {
    const c = await RawRtmpClient.open(port, { handshake: false });
    c.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(100)]));
    assert.ok(await c.until(() => c.closed, 2000), 'closed');
  });

  test('a foreign handshake version (RTMPE, TLS, HTTP) is closed at once', async () => {
    for (const first of [Buffer.from([6]), Buffer.from([0x16, 3, 1]), Buffer.from('GET / HTTP/1.1\r\n\r\n')]) {
      const c = await RawRtmpClient.open(port, { handshake: false });
      c.write(Buffer.concat([first, Buffer.alloc(1600)]));
      assert.ok(await c.until(() => c.closed, 1000));
      assert.equal(c.received.length, 0);
    }
  });

  test('a client that completes the handshake and says nothing is dropped', async () => {
    const c = await RawRtmpClient.open(port);
    assert.ok(await c.until(() => c.closed, 3000));
    assert.match(c.errorDescription() ?? '', /no stream command was authorized in time/);
  });

  test('an oversized command (a huge AMF string) is refused before it is buffered', async () => {
    const c = await RawRtmpClient.open(port);
    c.write(writeMessage(3, 20, 0, encodeAmf0(['connect', 1, { app: 'LiveApp', tcUrl: 'x'.repeat(60_000) }]), 128).subarray(0, 4000));
    assert.ok(await c.until(() => c.closed, 2000));
    assert.match(c.errorDescription() ?? '', /protocol_error: message type 20 of \d+ bytes exceeds 8192/);
  });

  test('AMF type confusion gets a clear refusal', async () => {
    const cases: Buffer[] = [
      encodeAmf0(['connect', 1, { app: 5 }]),
      encodeAmf0([1, 'connect']),
      Buffer.from([0x02, 0, 7, ...Buffer.from('connect'), 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x07, 0, 1]), // a reference marker
    ];
    for (const body of cases) {
      const c = await RawRtmpClient.open(port);
      c.write(writeMessage(3, 20, 0, body, 128));
      assert.ok(await c.until(() => c.closed, 2000));
      assert.match(c.errorDescription() ?? '', /protocol_error/);
    }
  });

  test('a stream command before connect is refused; chunk size 0 is refused', async () => {
    const c = await RawRtmpClient.open(port);
    c.command(['publish', 5, null, `cam?token=${token}`, 'live'], 1);
    assert.ok(await c.until(() => c.closed, 2000));
    assert.match(c.errorDescription() ?? '', /publish before connect/);
    const d = await RawRtmpClient.open(port);
    d.write(writeMessage(2, 1, 0, Buffer.alloc(4), 128));
    assert.ok(await d.until(() => d.closed, 2000));
  });

  test('a publish split around interleaved media chunks is still decided; refused, it never reaches the origin', async () => {
    const before = origin.commands.length;
    const c = await RawRtmpClient.open(port);
    connect(c);
    const body = encodeAmf0(['publish', 5, null, `split?token=${'f'.repeat(64)}&pad=${'p'.repeat(100)}`, 'live']);
    const cmd = writeMessage(3, 20, 1, body, 128);
    const media = writeMessage(6, 9, 1, Buffer.alloc(300, 1), 128);
    assert.ok(body.length > 128, 'the command spans two chunks');
    c.write(Buffer.concat([cmd.subarray(0, 12 + 128), media, cmd.subarray(12 + 128)]));
    assert.ok(await c.until(() => c.closed, 3000));
    assert.match(c.errorDescription() ?? '', /token_invalid/);
    await settle();
    assert.deepEqual(origin.commands.slice(before), ['connect:LiveApp']);
  });

  test('switching to another stream after an allowed publish needs its own credential', async () => {
    const before = origin.commands.length;
    const c = await RawRtmpClient.open(port);
    connect(c);
    c.command(['publish', 5, null, `cam?token=${token}`, 'live'], 1);
    c.command(['publish', 6, null, `other?token=${token}`, 'live'], 1);
    assert.ok(await c.until(() => c.closed, 3000));
    assert.match(c.errorDescription() ?? '', /token_wrong_stream|token_invalid/);
    await settle();
    assert.deepEqual(origin.commands.slice(before), ['connect:LiveApp', `publish:cam?token=${token}`]);
  });

  test('a publish under a container prefix (mp4:cam) is refused: the origin would publish that name, not cam', async () => {
    const before = origin.commands.length;
    const c = await RawRtmpClient.open(port);
    connect(c);
    c.command(['publish', 5, null, `mp4:cam?token=${token}`, 'live'], 1);
    assert.ok(await c.until(() => c.closed, 3000));
    assert.match(c.errorDescription() ?? '', /invalid_stream_name/);
    await settle();
    assert.ok(!origin.commands.slice(before).some((cmd) => cmd.startsWith('publish')), origin.commands.slice(before).join());
  });

  test('PROXY headers: the client a configured balancer names is the one authorized', async () => {
    const before = origin.commands.length;
    const inside = await RawRtmpClient.open(port, { localAddress: '127.0.0.2', proxyHeader: Buffer.from('PROXY TCP4 10.1.2.3 192.0.2.1 5000 1935\r\n') });
    connect(inside, 'Cidr');
    inside.command(['publish', 5, null, 'cam1', 'live'], 1);
    await settle();
    assert.equal(inside.closed, false);
    assert.deepEqual(origin.commands.slice(before), ['connect:Cidr', 'publish:cam1']);
    inside.close();

    const outside = await RawRtmpClient.open(port, { localAddress: '127.0.0.2', proxyHeader: Buffer.from('PROXY TCP4 192.0.2.9 192.0.2.1 5000 1935\r\n') });
    connect(outside, 'Cidr');
    outside.command(['publish', 5, null, 'cam2', 'live'], 1);
    assert.ok(await outside.until(() => outside.closed, 2000));
    assert.match(outside.errorDescription() ?? '', /ip_not_allowed/);
  });

  test('PROXY headers from a peer that is not a configured balancer are not believed', async () => {
    const spoof = await RawRtmpClient.open(port, { handshake: false });
    spoof.write(Buffer.concat([Buffer.from('PROXY TCP4 10.1.2.3 192.0.2.1 5000 1935\r\n'), Buffer.from([3]), Buffer.alloc(1536)]));
    assert.ok(await spoof.until(() => spoof.closed, 1000));
    assert.equal(spoof.received.length, 0);
  });

  test('200 hostile clients at once: the gate survives with bounded memory and no leftover connection', async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const clients = await Promise.all([...Array(200)].map(() => RawRtmpClient.open(port)));
    clients.forEach((c, i) => c.write(i % 2 ? Buffer.alloc(50_000, 0xc3) : writeMessage(3, 20, 0, Buffer.alloc(7000, 0x02), 128)));
    await Promise.all(clients.map((c) => c.until(() => c.closed, 5000)));
    const grown = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
    assert.ok(clients.every((c) => c.closed));
    assert.ok(grown < 64, `heap grew ${grown.toFixed(1)} MiB`);
    assert.equal(gate.rtmpGate!.size, 0);
  });
});
