// Lossless drain: two real `streamgate serve` processes behind a round-robin TCP balancer that,
// like a Kubernetes Service, retries another backend when a connection is refused. 50 keep-alive
// clients download 300 KB segments while one replica gets SIGTERM: not one request may fail.
// Defends against a rollout or scale-down that cuts viewers' transfers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, request } from 'undici';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { HASH_SECRET, SESSION_SECRET } from '../helpers/gate.js';
import { hashToken } from '../../src/checks/hash-token.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

interface Replica {
  proc: ChildProcess;
  port: number;
  admin: number;
  exited: Promise<number | null>;
  log: string[];
}

async function startReplica(dir: string, name: string, originUrl: string): Promise<Replica> {
  const [port, admin] = [await freePort(), await freePort()];
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    JSON.stringify({
      listen: { host: '127.0.0.1', port },
      admin: { host: '127.0.0.1', port: admin },
      log: { level: 'warn' },
      session: { secrets: [SESSION_SECRET] },
      shutdown: { drainTimeoutMs: 8000 },
      // This machine may be loaded (parallel CI): origin slowness must not read as a drain failure.
      origin: { url: originUrl, connectTimeoutMs: 30_000, headersTimeoutMs: 30_000 },
      apps: { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } } } },
    }),
  );
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  proc.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
  proc.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  for (let i = 0; ; i++) {
    try {
      const r = await request(`http://127.0.0.1:${admin}/readyz`);
      await r.body.dump();
      if (r.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (i > 150) throw new Error(`replica ${name} did not start:\n${log.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, port, admin, exited, log };
}

/** A Service in miniature: one backend per client connection, round-robin; a refused connection is retried on the following backend. */
function startBalancer(backends: number[]): Promise<{ port: number; refused: () => number; close(): Promise<void> }> {
  let next = 0;
  let refused = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.pause();
    const attempt = (index: number, tries: number) => {
      const port = backends[index % backends.length]!;
      const upstream = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      sockets.add(upstream);
      upstream.once('close', () => sockets.delete(upstream));
      upstream.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED' && tries < backends.length * 2) {
          refused++;
          attempt(index + 1, tries + 1);
        } else client.destroy();
      });
      upstream.once('connect', () => {
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(next++, 0);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        refused: () => refused,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      }),
    ),
  );
}

describe('SIGTERM drain behind a load balancer', () => {
  let origin: TestOrigin;
  let dir: string;
  let a: Replica;
  let b: Replica;
  before(async () => {
    origin = await startTestOrigin();
    dir = mkdtempSync(join(tmpdir(), 'sg-drain-'));
    [a, b] = await Promise.all([startReplica(dir, 'a', origin.url), startReplica(dir, 'b', origin.url)]);
  });
  after(async () => {
    for (const r of [a, b]) if (r && r.proc.exitCode === null) r.proc.kill('SIGKILL');
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('50 keep-alive clients downloading 300 KB segments lose nothing; readiness flips at once; idle sockets close', async () => {
    const lb = await startBalancer([a.port, b.port]);
    const token = hashToken('stream1', 'play', HASH_SECRET);
    // 20 distinct 300 KB segments, precomputed (the origin shares this process with 50 clients).
    const segment = (n: number) => `/LiveApp/streams/stream1${String(n % 20).padStart(9, '0')}.ts`;
    for (let n = 0; n < 20; n++) origin.routes.set(segment(n), { body: origin.bodyFor(segment(n)) });
    const expected = 300_000;
    let ok = 0;
    let closeMarked = 0;
    const failures: string[] = [];
    let running = true;
    let termAt = 0;
    const clients = Array.from({ length: 50 }, () => new Client(`http://127.0.0.1:${lb.port}`, { pipelining: 1, keepAliveTimeout: 60_000 }));
    const loops = clients.map(async (c, i) => {
      let n = 0;
      while (running) {
        const path = `${segment(i + n++)}?token=${token}`;
        try {
          const r = await c.request({ method: 'GET', path });
          const body = Buffer.from(await r.body.arrayBuffer());
          if (r.statusCode !== 200 || body.length !== expected) failures.push(`${r.statusCode} ${body.length} bytes ${body.length < 200 ? body.toString() : ''}`);
          else ok++;
          if (r.headers.connection === 'close') closeMarked++;
        } catch (err) {
          failures.push(`${(err as Error).message} (${(err as NodeJS.ErrnoException).code}) at ${termAt ? Date.now() - termAt : '-'} ms`);
        }
      }
    });

    // An idle keep-alive connection straight to replica A, quiet for longer than the idle grace.
    const idle = net.connect(a.port, '127.0.0.1');
    await new Promise<void>((r) => idle.once('connect', () => r()));
    idle.write(`GET /LiveApp/streams/stream1000000001.ts?token=${token} HTTP/1.1\r\nHost: x\r\n\r\n`);
    let idleBytes = 0;
    idle.on('data', (d: Buffer) => (idleBytes += d.length));
    const idleEnded = new Promise<number>((r) => idle.once('end', () => r(Date.now())));
    idle.on('error', () => undefined);

    // Every client mid-download, and the idle socket quiet past the idle grace (2 s).
    const warmUntil = Date.now() + 30_000;
    await new Promise((r) => setTimeout(r, 2500));
    while (ok < 100 && Date.now() < warmUntil) await new Promise((r) => setTimeout(r, 50));
    const okBefore = ok;
    assert.ok(okBefore >= 100, `only ${okBefore} requests before SIGTERM`);
    assert.ok(idleBytes > expected, 'the idle connection got its response');
    termAt = Date.now();
    a.proc.kill('SIGTERM');

    // Readiness turns 503 at once (the kubelet stops routing), while the process still drains.
    let ready = 0;
    for (const until = Date.now() + 2000; ready !== 503 && Date.now() < until; ) {
      const r = await request(`http://127.0.0.1:${a.admin}/readyz`).catch(() => null);
      ready = r?.statusCode ?? 0;
      await r?.body.dump();
      if (ready !== 503) await new Promise((res) => setTimeout(res, 10));
    }
    assert.equal(ready, 503, 'readiness did not turn 503 during the drain');

    const code = await a.exited;
    const drainMs = Date.now() - termAt;
    const okAtExit = ok;
    // B alone serves everyone for a moment (reconnections through the balancer).
    for (const until = Date.now() + 30_000; ok - okAtExit < 50 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
    running = false;
    await Promise.all(loops);
    await Promise.all(clients.map((c) => c.close()));
    await lb.close();

    assert.equal(code, 0, a.log.join(''));
    assert.deepEqual(failures.slice(0, 8), [], `${failures.length} of ${ok + failures.length} requests failed; replica A exited after ${drainMs} ms, ${closeMarked} Connection: close, ${lb.refused()} refused`);
    const idleClosedAfter = (await idleEnded) - termAt;
    assert.ok(idleClosedAfter < 2000, `an idle keep-alive socket stayed open ${idleClosedAfter} ms into the drain`);
    assert.ok(ok - okAtExit >= 50, `only ${ok - okAtExit} requests after replica A exited`);
    assert.ok(closeMarked >= 1, 'no response during the drain carried Connection: close');
    assert.ok(lb.refused() >= 1, 'the balancer never hit the closed listener (the drain was not exercised)');
    assert.ok(drainMs < 8000, `drain took ${drainMs} ms: connections were cut at the timeout, not drained`);
    console.log(`# drain: ${ok} ok, ${failures.length} failed, ${closeMarked} Connection: close, ${lb.refused()} refused→retried, replica exited after ${drainMs} ms`);
  });
});
