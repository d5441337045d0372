// Incidents that show: a store, origin or JWKS outage is one error line naming the dependency, its
// end one warn line, however many requests fail in between; the *_up gauges follow.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startTestGate } from '../helpers/gate.js';
import { startTestOrigin } from '../helpers/origin.js';
import { freePort, startRedisServer } from '../helpers/redis-server.js';
import { captureLogs, sample, until } from '../helpers/logs.js';

const get = async (url: string, headers: Record<string, string> = {}) => {
  const r = await fetch(url, { headers });
  await r.arrayBuffer();
  return r.status;
};
const metrics = async (adminUrl: string | null) => (await fetch(`${adminUrl}/metrics`)).text();
const transitions = (logs: ReturnType<typeof captureLogs>, dependency: string) =>
  logs
    .lines()
    .filter((l) => l.dependency === dependency)
    .map((l) => `${l.level}:${l.state}`);

/** A plain HTTP server on a chosen port, to bring a dependency back where it was expected. */
async function serveOn(port: number, handler: http.RequestListener): Promise<() => Promise<void>> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
}

describe('dependency health', () => {
  test('Redis killed and restarted: one error line "store down", one warn line "store recovered", streamgate_store_up 1 → 0 → 1', async () => {
    const redis = await startRedisServer();
    const origin = await startTestOrigin();
    const logs = captureLogs();
    const gate = await startTestGate(
      { origin: { url: origin.url }, store: { type: 'redis', redis: { url: redis.url, commandTimeoutMs: 300, keyPrefix: `sg-health-${process.pid}` } }, apps: { LiveApp: { play: { oneTimeToken: true } } } },
      { log: logs.log },
    );
    try {
      assert.ok(await until(async () => sample(await metrics(gate.adminUrl), 'streamgate_store_up') === 1, 5000), 'store_up never became 1');
      await redis.stop();
      // Several failing requests during the outage: still one line for the transition.
      for (let i = 0; i < 5; i++) assert.equal(await get(`${gate.url}/LiveApp/streams/stream1.m3u8?token=abc${i}`), 503);
      assert.ok(await until(() => transitions(logs, 'store').includes('50:down'), 5000), 'no store-down line');
      assert.equal(sample(await metrics(gate.adminUrl), 'streamgate_store_up'), 0);
      await redis.start();
      assert.ok(await until(() => transitions(logs, 'store').includes('40:up'), 10_000), 'no store-recovered line');
      assert.deepEqual(transitions(logs, 'store'), ['30:up', '50:down', '40:up']);
      const down = logs.lines().find((l) => l.dependency === 'store' && l.state === 'down')!;
      assert.equal(down.msg, 'store down');
      assert.equal(down.target, redis.url);
      assert.equal(typeof down.detail, 'string');
      assert.equal(sample(await metrics(gate.adminUrl), 'streamgate_store_up'), 1);
    } finally {
      await gate.close();
      await origin.close();
      await redis.destroy();
    }
  });

  test('Redis hung (SIGSTOP, socket still open): "store down" after a few timeouts in a row, "store recovered" at the next answer', async () => {
    const redis = await startRedisServer();
    const origin = await startTestOrigin();
    const logs = captureLogs();
    const gate = await startTestGate(
      { origin: { url: origin.url }, store: { type: 'redis', redis: { url: redis.url, commandTimeoutMs: 200, keyPrefix: `sg-hung-${process.pid}` } }, apps: { LiveApp: { play: { oneTimeToken: true } } } },
      { log: logs.log },
    );
    try {
      assert.ok(await until(() => transitions(logs, 'store').includes('30:up'), 5000));
      redis.pause();
      // Three failures in a row make an outage. The gate's own background reads (the store generation
      // marker every second, epoch resyncs) count too, so the request that tips it is not fixed: what
      // is asserted is one "down" line for the whole run of timeouts, never one per request.
      for (let i = 0; i < 6; i++) assert.equal(await get(`${gate.url}/LiveApp/streams/stream1.m3u8?token=t${i}`), 503);
      assert.deepEqual(transitions(logs, 'store'), ['30:up', '50:down']);
      assert.match(String(logs.lines().find((l) => l.state === 'down')!.detail), /timed out|did not answer/);
      assert.equal(sample(await metrics(gate.adminUrl), 'streamgate_store_up'), 0);
      redis.resume();
      assert.ok(await until(async () => (await fetch(`${gate.adminUrl}/readyz`)).status === 200, 5000), 'not ready again');
      assert.deepEqual(transitions(logs, 'store'), ['30:up', '50:down', '40:up']);
      assert.equal(sample(await metrics(gate.adminUrl), 'streamgate_store_up'), 1);
    } finally {
      await gate.close();
      await origin.close();
      await redis.destroy();
    }
  });

  test('origin refusing connections: 502s, one "origin down" error line, then one "origin recovered" when it listens again', async () => {
    const port = await freePort();
    const logs = captureLogs();
    const gate = await startTestGate({ origin: { url: `http://127.0.0.1:${port}` }, apps: { LiveApp: {} } }, { log: logs.log });
    let stop: (() => Promise<void>) | undefined;
    try {
      assert.equal(sample(await metrics(gate.adminUrl), 'streamgate_origin_up'), 1);
      for (let i = 0; i < 4; i++) assert.equal(await get(`${gate.url}/LiveApp/streams/s${i}.mp4`), 502);
      assert.deepEqual(transitions(logs, 'origin'), ['50:down']);
      const down = logs.lines().find((l) => l.dependency === 'origin')!;
      assert.equal(down.msg, 'origin down');
      assert.equal(down.target, `http://127.0.0.1:${port}/`);
      assert.match(String(down.detail), /ECONNREFUSED/);
      assert.equal(sample(await metrics(gate.adminUrl), 'streamgate_origin_up'), 0);

      stop = await serveOn(port, (_req, res) => res.end('media'));
      assert.equal(await get(`${gate.url}/LiveApp/streams/s.mp4`), 200);
      assert.equal(await get(`${gate.url}/LiveApp/streams/s.mp4`), 200);
      assert.deepEqual(transitions(logs, 'origin'), ['50:down', '40:up']);
      assert.equal(sample(await metrics(gate.adminUrl), 'streamgate_origin_up'), 1);
    } finally {
      await gate.close();
      await stop?.();
    }
  });

  test('JWKS fetch failing: one "jwks down" error line naming the URL, streamgate_jwks_up 0; recovery after the cooldown is one warn line', async () => {
    const port = await freePort();
    const jwksUrl = `http://127.0.0.1:${port}/issuer/keys.json`;
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const token = await new SignJWT({ streamId: 'stream1', type: 'play' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setExpirationTime('10m').sign(privateKey);
    const logs = captureLogs();
    const origin = await startTestOrigin();
    const gate = await startTestGate(
      { origin: { url: origin.url }, apps: { LiveApp: { play: { jwt: { enabled: true, jwksUrl, algorithms: ['RS256'], jwksShared: false, jwksCooldownSeconds: 1, jwksTimeoutMs: 500 } } } } },
      { log: logs.log },
    );
    let stop: (() => Promise<void>) | undefined;
    try {
      assert.equal(await get(`${gate.url}/LiveApp/streams/stream1.mp4?token=${token}`), 401);
      assert.equal(await get(`${gate.url}/LiveApp/streams/stream1.mp4?token=${token}`), 401);
      assert.deepEqual(transitions(logs, 'jwks'), ['50:down']);
      assert.equal(logs.lines().find((l) => l.dependency === 'jwks')!.target, jwksUrl);
      assert.equal(sample(await metrics(gate.adminUrl), 'streamgate_jwks_up', { url: jwksUrl }), 0);

      stop = await serveOn(port, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: [jwk] }));
      });
      await new Promise((r) => setTimeout(r, 1100)); // the resolver's cooldown after a failure
      assert.equal(await get(`${gate.url}/LiveApp/streams/stream1.mp4?token=${token}`), 200);
      assert.deepEqual(transitions(logs, 'jwks'), ['50:down', '40:up']);
      assert.equal(sample(await metrics(gate.adminUrl), 'streamgate_jwks_up', { url: jwksUrl }), 1);
      assert.ok(!logs.text().includes(token.split('.')[2]!), 'a token reached the log');
    } finally {
      await gate.close();
      await origin.close();
      await stop?.();
    }
  });
});
