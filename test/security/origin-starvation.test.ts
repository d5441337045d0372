// Defends against: slow clients holding the gate's origin pool (`origin.connections`) so that
// every other viewer waits. Before: four clients reading a 20 MB file at ~1 KB/s held all four
// connections of `origin.connections: 4` and a fifth viewer got nothing; slow POST bodies on app
// paths pinned the pool the same way. Now responses are read ahead of slow clients (bounded), held
// connections are preempted for waiting requests, and request bodies are read before a connection
// is taken, with an idle timeout. Memory stays bounded in both cases.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startTestGate } from '../helpers/gate.js';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import type { RunningGate } from '../../src/server.js';
import { capacityOf } from '../../src/proxy/origin-capacity.js';

const BIG = 20 * 1024 * 1024;
const RESPONSE_BUFFER = 1024 * 1024;

/** A raw HTTP/1.1 client that reads `bytesPerSecond` (0: never reads after the headers). */
function slowReader(url: string, path: string, bytesPerSecond: number): { socket: Socket; received: () => number; headers: Promise<string> } {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  socket.setNoDelay(true);
  let received = 0;
  let head = '';
  let resolveHead!: (h: string) => void;
  const headers = new Promise<string>((r) => (resolveHead = r));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`);
  socket.once('readable', () => {
    const first = socket.read() as Buffer | null;
    if (first) {
      head = first.toString('latin1', 0, Math.min(first.length, 512));
      received += first.length;
    }
    resolveHead(head);
    socket.pause();
    if (bytesPerSecond > 0) {
      const timer = setInterval(() => {
        const c = socket.read(Math.min(bytesPerSecond / 10, socket.readableLength || 1)) as Buffer | null;
        if (c) received += c.length;
      }, 100);
      socket.once('close', () => clearInterval(timer));
    }
  });
  socket.on('error', () => undefined);
  return { socket, received: () => received, headers };
}

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap + array buffers (what the gate's queues allocate) after a full GC, in bytes. */
const memory = () => {
  gc();
  const m = process.memoryUsage();
  if (process.env.SG_MEM_DEBUG) console.log(`# heap ${(m.heapUsed / 1048576).toFixed(1)} MiB, arrayBuffers ${(m.arrayBuffers / 1048576).toFixed(1)} MiB`);
  return { heapAndBuffers: m.heapUsed + m.arrayBuffers, rss: m.rss };
};

async function timedGet(url: string, timeoutMs: number): Promise<{ status: number; bytes: number; ms: number }> {
  const t0 = Date.now();
  const r = await request(url, { signal: AbortSignal.timeout(timeoutMs), headers: { 'x-forwarded-for': '203.0.113.50' } });
  const body = Buffer.from(await r.body.arrayBuffer());
  return { status: r.statusCode, bytes: body.length, ms: Date.now() - t0 };
}

describe('slow clients cannot hold the origin pool', () => {
  let origin: TestOrigin;
  let gate: RunningGate;

  before(async () => {
    origin = await startTestOrigin();
    origin.routes.set('/live/files/big.mp4', { body: Buffer.alloc(BIG, 7), headers: { 'content-type': 'video/mp4' } });
    gate = await startTestGate({
      origin: { url: origin.url, connections: 4, responseBufferBytes: RESPONSE_BUFFER, slowClientGraceMs: 500, requestBodyIdleTimeoutMs: 1500 },
      apps: { live: {} },
      // Requests carry X-Forwarded-For as a proxy's would: loopback is configured as that proxy.
      trustedProxies: ['127.0.0.1/32'],
    });
  });
  after(async () => {
    await gate.close();
    await origin.close();
  });

  it('serves a fifth viewer promptly while four clients read a 20 MB file at 1 KB/s (and one not at all)', async () => {
    const base = memory();
    const readers = [0, 1024, 1024, 1024].map((rate) => slowReader(gate.url, '/live/files/big.mp4', rate));
    try {
      for (const r of readers) assert.match(await r.headers, /^HTTP\/1\.1 200/);
      await sleep(300); // every reader's read-ahead is full now
      const fifth = await timedGet(`${gate.url}/live/streams/stream1_000.ts`, 5000);
      console.log(`# fifth viewer: ${fifth.status}, ${fifth.bytes} bytes in ${fifth.ms} ms`);
      assert.equal(fifth.status, 200);
      assert.equal(fifth.bytes, 300_000);
      assert.ok(fifth.ms < 2500, `served in ${fifth.ms} ms`);
      // More viewers keep coming: each gets served, none waits behind the slow readers.
      const more = await Promise.all(Array.from({ length: 8 }, (_, i) => timedGet(`${gate.url}/live/streams/stream1_00${i}.ts`, 5000)));
      assert.ok(more.every((m) => m.status === 200 && m.bytes === 300_000), 'eight more viewers served');
      const cap = capacityOf(gate.runtime.pool!)!;
      const used = memory();
      console.log(`# read-ahead ${cap.buffered} bytes, preempted ${cap.preempted}, heap+buffers +${((used.heapAndBuffers - base.heapAndBuffers) / 1048576).toFixed(1)} MiB, rss +${((used.rss - base.rss) / 1048576).toFixed(1)} MiB`);
      assert.ok(cap.preempted >= 1, 'a held connection was preempted');
      assert.ok(cap.buffered <= 4 * (RESPONSE_BUFFER + 64 * 1024), `read-ahead ${cap.buffered} bytes`);
      assert.ok(used.heapAndBuffers - base.heapAndBuffers < 24 * 1024 * 1024, 'heap and buffers grew less than 24 MiB');
    } finally {
      for (const r of readers) r.socket.destroy();
    }
  });

  it('cuts a preempted slow reader short of Content-Length, after what was buffered', async () => {
    const r = slowReader(gate.url, '/live/files/big.mp4', 0);
    assert.match(await r.headers, /content-length: 20971520/i);
    await sleep(700);
    // Four more requests wait for connections: the held one must go.
    const others = await Promise.all(Array.from({ length: 4 }, (_, i) => timedGet(`${gate.url}/live/streams/stream2_00${i}.ts`, 5000)));
    assert.ok(others.every((o) => o.status === 200));
    r.socket.resume();
    let got = 0;
    r.socket.on('data', (c: Buffer) => (got += c.length));
    await new Promise((resolve) => r.socket.once('close', resolve));
    assert.ok(got > 0 && got < BIG, `received ${got} of ${BIG} bytes, then the connection closed`);
  });

  it('never lets slow request bodies take origin connections', async () => {
    const base = memory();
    const writers: Socket[] = [];
    const u = new URL(gate.url);
    for (let i = 0; i < 16; i++) {
      const s = connect(Number(u.port), u.hostname);
      s.on('error', () => undefined);
      s.write(`POST /live/upload/part${i} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`);
      writers.push(s);
    }
    const drip = setInterval(() => writers.forEach((s) => s.writable && s.write('x')), 200);
    try {
      await sleep(300);
      const seenBefore = origin.seen.length;
      const viewer = await timedGet(`${gate.url}/live/streams/stream3_000.ts`, 5000);
      console.log(`# viewer during 16 slow bodies: ${viewer.status} in ${viewer.ms} ms`);
      assert.equal(viewer.status, 200);
      assert.ok(viewer.ms < 1000, `served in ${viewer.ms} ms`);
      assert.equal(origin.seen.length, seenBefore + 1, 'no incomplete body reached the origin');
      const grown = memory().heapAndBuffers - base.heapAndBuffers;
      assert.ok(grown < 16 * 1024 * 1024, `heap and buffers grew ${grown} bytes`);
    } finally {
      clearInterval(drip);
    }
    // A body that stops is answered 408 after requestBodyIdleTimeoutMs.
    const silent = connect(Number(u.port), u.hostname);
    let answer = '';
    silent.on('data', (d) => (answer += d.toString()));
    silent.write(`POST /live/upload/silent HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc`);
    await new Promise((resolve) => silent.once('close', resolve));
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /"reason":"body_timeout"/);
    for (const s of writers) s.destroy();
  });
});
