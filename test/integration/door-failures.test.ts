// What a client and an operator see when the gate itself fails, at every door:
// - an unexpected exception (a bug, not an outage) is a 500 `internal_error`, logged at `error` with
//   its stack and counted as a denial — never a 503 `store_unavailable` with Retry-After, which
//   would send clients into retries and fire the store-outage alert for a code defect;
// - a 503 from the playback-session step (the store is down after decide() allowed) is recorded as
//   outcome="deny" reason="store_unavailable", not as an allow.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load.js';
import { startGate, type RunningGate } from '../../src/server.js';
import { createLogger } from '../../src/observability/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { ConsumeProbe, ConsumeResult, OneTimeToken, Store } from '../../src/store/store.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { newTokenId } from '../../src/checks/one-time-token.js';
import { HASH_SECRET, SESSION_SECRET } from '../helpers/gate.js';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { connectClient, startTestWsOrigin, type TestWsOrigin } from '../helpers/ws-origin.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/** A store with a programming error in two operations (what an unexpected exception looks like). */
class BrokenStore extends MemoryStore {
  override async consumeToken(_app: string, _probe: ConsumeProbe, _now: number, _consume: boolean): Promise<ConsumeResult> {
    throw new TypeError('simulated defect in consumeToken');
  }
  override async listTokens(): Promise<OneTimeToken[]> {
    throw new TypeError('simulated defect in listTokens');
  }
}

interface LogLine {
  level: number;
  msg: string;
  err?: { type: string; message: string; stack: string };
  reason?: string;
  outcome?: string;
}

async function gateWith(originUrl: string, store: Store, lines: LogLine[], extra: Record<string, unknown> = {}): Promise<RunningGate> {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  const config = parseConfig(
    JSON.stringify({
      listen: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      origin: { url: originUrl },
      session: { secrets: [SESSION_SECRET] },
      apps: { LiveApp: { play: { oneTimeToken: true, hash: { enabled: true, secret: HASH_SECRET } }, rest: { servePublic: true } } },
      ...extra,
    }),
    {},
  );
  return startGate(config, { store, log: createLogger('info', sink), defaultMetrics: false });
}

async function decisions(gate: RunningGate, labels: string): Promise<number> {
  const text = await gate.runtime.metrics.registry.metrics();
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('streamgate_decisions_total{') && labels.split(',').every((l) => line.includes(l))) n += Number(line.split(' ').at(-1));
  return n;
}

describe('an unexpected exception at each door', () => {
  let origin: TestOrigin;
  let wsOrigin: TestWsOrigin;
  let gate: RunningGate;
  let wsGate: RunningGate;
  const lines: LogLine[] = [];
  before(async () => {
    origin = await startTestOrigin();
    wsOrigin = await startTestWsOrigin();
    gate = await gateWith(origin.url, new BrokenStore(), lines);
    wsGate = await gateWith(wsOrigin.url, new BrokenStore(), lines);
  });
  after(async () => {
    await gate.close();
    await wsGate.close();
    await origin.close();
    await wsOrigin.close();
  });

  const assertLoggedWithStack = (message: string) => {
    const line = lines.find((l) => l.level === 50 && l.err?.message === message);
    assert.ok(line, `an error line for ${message}`);
    assert.match(line.err!.stack, /TypeError: simulated defect/);
    assert.match(line.err!.stack, /\n\s+at /);
  };

  test('proxy: 500 internal_error without Retry-After, logged at error with the stack, counted as a denial', async () => {
    const r = await request(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${newTokenId()}`);
    assert.equal(r.statusCode, 500);
    assert.equal(r.headers['retry-after'], undefined);
    assert.deepEqual(await r.body.json(), { error: 'internal_error', reason: 'internal_error' });
    assertLoggedWithStack('simulated defect in consumeToken');
    assert.equal(await decisions(gate, 'outcome="deny",reason="internal_error",via="none",door="proxy"'), 1);
    assert.ok(lines.some((l) => l.msg === 'decision' && l.level === 50 && l.reason === 'internal_error'));
  });

  test('/verify: 500 internal_error (nginx answers 500: fails closed)', async () => {
    const r = await request(`${gate.url}/verify`, { headers: { 'x-original-uri': `/LiveApp/streams/stream1.m3u8?token=${newTokenId()}` } });
    assert.equal(r.statusCode, 500);
    assert.equal(r.headers['retry-after'], undefined);
    assert.equal(((await r.body.json()) as { reason: string }).reason, 'internal_error');
    assert.equal(await decisions(gate, 'reason="internal_error",via="none",door="verify"'), 1);
  });

  test('WebSocket: the command is refused with an internal_error frame and never reaches the origin', async () => {
    const c = await connectClient(`${wsGate.url.replace('http', 'ws')}/LiveApp/websocket`);
    try {
      c.send({ command: 'play', streamId: 'stream1', token: newTokenId() });
      assert.deepEqual(await c.nextJson(), { command: 'error', definition: 'internal_error', streamId: 'stream1' });
      assert.equal(wsOrigin.framesOf('play').length, 0);
      assert.equal(await decisions(wsGate, 'reason="internal_error",via="none",door="websocket"'), 1);
    } finally {
      c.ws.terminate();
    }
  });

  test('an exception escaping a door (the REST API here) is a 500 internal_error, not a 503', async () => {
    const r = await request(`${gate.url}/LiveApp/rest/v2/broadcasts/stream1/tokens/list/0/10`);
    assert.equal(r.statusCode, 500);
    assert.equal(r.headers['retry-after'], undefined);
    assert.equal(((await r.body.json()) as { reason: string }).reason, 'internal_error');
    assertLoggedWithStack('simulated defect in listTokens');
  });
});

describe('a 503 from the session step is a recorded denial', () => {
  let redis: RedisServer;
  let origin: TestOrigin;
  let gate: RunningGate;
  let store: RedisStore;
  const lines: LogLine[] = [];
  before(async () => {
    redis = await startRedisServer();
    origin = await startTestOrigin();
    store = new RedisStore({ url: redis.url, keyPrefix: `sgfail-${process.pid}`, commandTimeoutMs: 300 });
    gate = await gateWith(origin.url, store, lines);
  });
  after(async () => {
    await gate.close();
    await origin.close();
    await redis.destroy();
  });

  test('hash token allowed by decide(), store down when the grant is minted: 503, outcome=deny reason=store_unavailable', async () => {
    await redis.stop();
    const r = await request(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${hashToken('stream1', 'play', HASH_SECRET)}`);
    assert.equal(r.statusCode, 503);
    assert.equal(r.headers['retry-after'], '2');
    assert.equal(((await r.body.json()) as { reason: string }).reason, 'store_unavailable');
    assert.equal(await decisions(gate, 'outcome="deny",reason="store_unavailable",door="proxy"'), 1);
    assert.equal(await decisions(gate, 'outcome="allow"'), 0);
    const line = lines.find((l) => l.msg === 'decision');
    assert.equal(line?.outcome, 'deny');
    assert.equal(line?.reason, 'store_unavailable');
  });
});
