// The drain at the connection level, on an in-process gate: what a keep-alive client sees when the
// gate stops while it is mid-conversation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestOrigin } from '../helpers/origin.js';
import { startTestGate, HASH_SECRET, SESSION_SECRET } from '../helpers/gate.js';
import { hashToken } from '../../src/checks/hash-token.js';

/** A raw HTTP/1.1 keep-alive connection that reads one response at a time. */
function rawClient(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  let ended = false;
  const waiters: (() => void)[] = [];
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    waiters.splice(0).forEach((w) => w());
  });
  socket.on('end', () => {
    ended = true;
    waiters.splice(0).forEach((w) => w());
  });
  socket.on('error', () => undefined);
  const next = () => new Promise<void>((r) => waiters.push(r));
  return {
    connected: new Promise<void>((r) => socket.once('connect', () => r())),
    get ended() {
      return ended;
    },
    send: (path: string) => socket.write(`GET ${path} HTTP/1.1\r\nHost: gate\r\n\r\n`),
    /** The next complete response (Content-Length framed). */
    async response(): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end !== -1) {
          const [statusLine, ...lines] = buf.subarray(0, end).toString().split('\r\n');
          const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
          const len = Number(headers['content-length'] ?? 0);
          if (buf.length >= end + 4 + len) {
            const body = buf.subarray(end + 4, end + 4 + len);
            buf = buf.subarray(end + 4 + len);
            return { status: Number(statusLine!.split(' ')[1]), headers, body };
          }
        }
        if (ended) throw new Error('connection closed before a full response');
        await next();
      }
    },
    untilEnd: () => (ended ? Promise.resolve() : new Promise<void>((r) => socket.once('end', () => r()))),
    destroy: () => socket.destroy(),
  };
}

test('during the drain: a request on an open keep-alive connection is served with Connection: close, and so is one in flight', async () => {
  const origin = await startTestOrigin();
  origin.routes.set('/LiveApp/streams/slow000000001.ts', { body: Buffer.alloc(1000, 1), delayMs: 400 });
  const gate = await startTestGate({ origin: { url: origin.url }, session: { secrets: [SESSION_SECRET] }, shutdown: { drainTimeoutMs: 5000 }, apps: { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } } } } });
  const port = Number(new URL(gate.url).port);
  const seg = (s: string) => `/LiveApp/streams/${s}000000001.ts?token=${hashToken(s, 'play', HASH_SECRET)}`;
  try {
    const busy = rawClient(port);
    const inFlight = rawClient(port);
    await Promise.all([busy.connected, inFlight.connected]);
    busy.send(seg('stream1'));
    const first = await busy.response();
    assert.equal(first.status, 200);
    assert.notEqual(first.headers.connection, 'close');
    inFlight.send(seg('slow'));
    await new Promise((r) => setTimeout(r, 100)); // the slow request is at the origin
    const closing = gate.close();
    // The listener is closed for new connections…
    await assert.rejects(
      new Promise((resolve, reject) => net.connect(port, '127.0.0.1').once('connect', resolve).once('error', reject)),
      /ECONNREFUSED/,
    );
    // …but the open connection still gets its next request served, told to close afterwards.
    busy.send(seg('stream1'));
    const second = await busy.response();
    assert.equal(second.status, 200);
    assert.equal(second.body.length, 300_000);
    assert.equal(second.headers.connection, 'close');
    await busy.untilEnd();
    const slow = await inFlight.response();
    assert.equal(slow.status, 200);
    assert.equal(slow.headers.connection, 'close');
    await inFlight.untilEnd();
    const t = Date.now();
    await closing;
    assert.ok(Date.now() - t < 2500, 'the drain waited for the timeout although every connection had ended');
  } finally {
    await gate.close();
    await origin.close();
  }
});
