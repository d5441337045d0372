// Operating the gate: Redis outages fail closed and heal, health/readiness, SIGTERM drain,
// credentials never in logs, config errors that name their keys.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import { request } from 'undici';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { startTestGate, HASH_SECRET, JWT_SECRET, SESSION_SECRET } from '../helpers/gate.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { newTokenId } from '../../src/checks/one-time-token.js';
import { parseConfig } from '../../src/config/load.js';
import { startGate, type RunningGate } from '../../src/server.js';
import { createLogger } from '../../src/observability/logger.js';

const apps = { LiveApp: { play: { oneTimeToken: true, hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: JWT_SECRET } } } };
const status = async (url: string) => {
  const r = await request(url);
  const text = await r.body.text();
  return { status: r.statusCode, reason: text.startsWith('{') ? (JSON.parse(text) as { reason?: string }).reason : undefined, retryAfter: r.headers['retry-after'] };
};
const until = async (fn: () => Promise<boolean>, ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
};

describe('operability', () => {
  let origin: TestOrigin;
  before(async () => {
    origin = await startTestOrigin();
  });
  after(async () => origin.close());

  test('Redis stopped mid-run: one-time tokens 503 (fail closed), hash/JWT keep working, readiness reports degraded, recovery is automatic', async () => {
    const redis: RedisServer = await startRedisServer();
    const gate = await startTestGate({ origin: { url: origin.url }, store: { type: 'redis', redis: { url: redis.url, commandTimeoutMs: 300 } }, apps });
    try {
      const save = async () => {
        const t = { tokenId: newTokenId(), streamId: 'stream1', type: 'play' as const, expireDate: Math.floor(Date.now() / 1000) + 60 };
        await gate.runtime.store.saveToken('LiveApp', t);
        return t.tokenId;
      };
      const first = await save();
      assert.equal((await status(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${first}`)).status, 200);
      assert.equal((await status(`${gate.adminUrl}/readyz`)).status, 200);

      await redis.stop();
      const down = await status(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${newTokenId()}`);
      assert.equal(down.status, 503);
      assert.equal(down.reason, 'store_unavailable');
      assert.ok(down.retryAfter);
      // Hash and JWT segments need no store.
      assert.equal((await status(`${gate.url}/LiveApp/streams/stream1000000001.ts?token=${hashToken('stream1', 'play', HASH_SECRET)}`)).status, 200);
      const jwt = await mintStreamJwt(JWT_SECRET, { streamId: 'stream1', type: 'play', exp: Math.floor(Date.now() / 1000) + 60 });
      assert.equal((await status(`${gate.url}/LiveApp/streams/stream1000000001.ts?token=${jwt}`)).status, 200);
      // Degraded, not unready: this replica serves hash/JWT/grant playback on its last-known epochs.
      const ready = await request(`${gate.adminUrl}/readyz`);
      assert.equal(ready.statusCode, 200);
      assert.deepEqual(((await ready.body.json()) as { status: string; store: string }).status, 'degraded');
      assert.equal((await status(`${gate.adminUrl}/healthz`)).status, 200);

      await redis.start();
      assert.ok(await until(async () => (await status(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${await save().catch(() => 'x')}`)).status === 200, 10_000), 'gate did not recover');
      const after = await save();
      assert.equal((await status(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${after}`)).status, 200);
    } finally {
      await gate.close();
      await redis.destroy();
    }
  });

  test('logs carry one line per decision and never a credential', async () => {
    const lines: string[] = [];
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
    const config = parseConfig(JSON.stringify({ listen: { host: '127.0.0.1', port: 0 }, admin: { enabled: false }, origin: { url: origin.url }, apps }), {});
    const gate: RunningGate = await startGate(config, { log: createLogger('info', sink), defaultMetrics: false });
    try {
      const hash = hashToken('stream1', 'play', HASH_SECRET);
      const jwt = await mintStreamJwt(JWT_SECRET, { streamId: 'stream1', type: 'play', exp: Math.floor(Date.now() / 1000) + 60 });
      await status(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${hash}`);
      await status(`${gate.url}/LiveApp/streams/stream10.m3u8?token=${jwt}&subscriberCode=123456`);
      await new Promise((r) => setTimeout(r, 50));
      const decisions = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'decision');
      assert.equal(decisions.length, 2);
      assert.deepEqual(
        decisions.map((d) => [d.app, d.stream, d.role, d.outcome, d.reason, d.via]),
        [
          ['LiveApp', 'stream1', 'play', 'allow', 'ok', 'hash'],
          ['LiveApp', 'stream10', 'play', 'deny', 'token_wrong_stream', 'none'],
        ],
      );
      assert.ok(decisions.every((d) => typeof d.latencyMs === 'number'));
      const all = lines.join('\n');
      for (const secret of [hash, jwt, jwt.split('.')[2]!, '123456', HASH_SECRET, JWT_SECRET]) assert.ok(!all.includes(secret), 'a credential reached the log');
    } finally {
      await gate.close();
    }
  });

  test('SIGTERM: the server stops accepting, finishes in-flight requests, then exits 0', async () => {
    origin.routes.set('/LiveApp/streams/slow.mp4', { delayMs: 700 });
    const dir = mkdtempSync(join(tmpdir(), 'sg-serve-'));
    const cfg = join(dir, 'config.yaml');
    writeFileSync(cfg, `listen: { host: 127.0.0.1, port: 0 }\nadmin: { enabled: false }\norigin: { url: ${origin.url} }\napps: { LiveApp: {} }\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      assert.ok(await until(async () => out.includes('streamgate listening'), 15_000), `no start: ${out}`);
      const url = (JSON.parse(out.split('\n').find((l) => l.includes('streamgate listening'))!) as { url: string }).url;
      const inflight = request(`${url}/LiveApp/streams/slow.mp4`);
      await new Promise((r) => setTimeout(r, 200));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const r = await inflight;
      assert.equal(r.statusCode, 200);
      assert.equal((await r.body.arrayBuffer()).byteLength, 300_000);
      assert.equal(await exited, 0);
      await assert.rejects(request(`${url}/LiveApp/streams/stream1.m3u8`));
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('serve exits 1 when its port is taken (no half-started process for Kubernetes to keep)', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'sg-busy-'));
    const cfg = join(dir, 'config.yaml');
    writeFileSync(cfg, `listen: { host: 127.0.0.1, port: ${port} }\nadmin: { enabled: false }\norigin: { url: ${origin.url} }\nstore: { type: redis, redis: { url: "redis://127.0.0.1:6379" } }\napps: { LiveApp: {} }\n`);
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c));
      const code = await new Promise<number | null>((resolve) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(-1);
        }, 15_000);
        child.once('exit', (c) => {
          clearTimeout(t);
          resolve(c);
        });
      });
      assert.equal(code, 1, err);
      assert.match(err, /EADDRINUSE/);
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('check-config exits 0 on a valid file and 1 listing every error with its key path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-cfg-'));
    const run = (file: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        // config.example.yaml's secrets are placeholders the guardrail refuses: supply real ones.
        const env = { ...process.env, SESSION_SECRET, HASH_SECRET };
        const c = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'check-config', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env });
        let out = '';
        c.stdout.on('data', (d: Buffer) => (out += d));
        c.stderr.on('data', (d: Buffer) => (out += d));
        c.on('exit', (code) => resolve({ code, out }));
      });
    try {
      const ok = await run('config.example.yaml');
      assert.equal(ok.code, 0, ok.out);
      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, 'listen: { port: 99999 }\nstore: { type: redis }\napps:\n  LiveApp:\n    play: { hash: true, jwt: { enabled: true, secret: short } }\n    publish: { allowedCIDRs: [10.0.0.0/33] }\n    typo: 1\n');
      const r = await run(bad);
      assert.equal(r.code, 1);
      for (const key of ['listen.port', 'apps.LiveApp.publish.allowedCIDRs[0]', 'apps.LiveApp']) assert.ok(r.out.includes(key), `${key} not named in:\n${r.out}`);
      const bad2 = join(dir, 'bad2.yaml');
      writeFileSync(bad2, 'store: { type: redis }\napps:\n  LiveApp:\n    play: { hash: true, jwt: { enabled: true, secret: short } }\n');
      const r2 = await run(bad2);
      for (const key of ['apps.LiveApp.play.hash.secret', 'apps.LiveApp.play.jwt.secret', 'store.redis']) assert.ok(r2.out.includes(key), `${key} not named in:\n${r2.out}`);
      const missing = await run(join(dir, 'nope.yaml'));
      assert.equal(missing.code, 1);
      assert.match(missing.out, /cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
