// Defends against: guessing over WebSocket by reconnecting (before: 5 refusals per socket, then a new
// socket, forever). Refusals count against the client address across sockets and both replicas;
// past limits.attempts.perIp the socket is closed and new upgrades get 429 with Retry-After.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGate, HASH_SECRET, TOTP_SECRET } from '../helpers/gate.js';
import { connectClient, HandshakeRefused, startTestWsOrigin, type TestWsOrigin } from '../helpers/ws-origin.js';
import type { RunningGate } from '../../src/server.js';

const prefix = `sgwsatt-${process.pid}-${Date.now()}`;
const PER_IP = 10;

describe('websocket attempts per client address, across replicas', () => {
  let origin: TestWsOrigin;
  let gates: RunningGate[];

  before(async () => {
    origin = await startTestWsOrigin();
    const cfg = {
      origin: { url: origin.url },
      // The test plays client addresses through X-Forwarded-For, so loopback is a configured proxy.
      trustedProxies: ['127.0.0.1/32'],
      store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } },
      limits: { attempts: { perIp: PER_IP, lockoutSeconds: 30 } },
      ws: { maxRefusals: 5 },
      apps: { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } } }, TotpApp: { play: { totp: { enabled: true, secret: TOTP_SECRET } } } },
    };
    gates = [await startTestGate(cfg), await startTestGate(cfg)];
  });
  after(async () => {
    await Promise.all(gates.map((g) => g.close()));
    await origin.close();
  });

  test('reconnecting does not reset the count: at most perIp refusals, then 429 upgrades', async () => {
    let evaluated = 0;
    let limited = 0;
    let lastClose: { code: number; reason: string } | undefined;
    for (let i = 0; i < 12 && limited === 0; i++) {
      const g = gates[i % 2]!;
      let c;
      try {
        c = await connectClient(`${g.url.replace('http', 'ws')}/LiveApp/websocket`, { headers: { 'x-forwarded-for': '198.51.100.9' } });
      } catch (e) {
        assert.ok(e instanceof HandshakeRefused && e.status === 429, String(e));
        assert.match(e.body, /too_many_attempts/);
        limited++;
        break;
      }
      for (let k = 0; k < 5; k++) c.send({ command: 'play', streamId: 's1', token: `guess-${i}-${k}` });
      for (;;) {
        const f = await c.next().catch(() => null);
        if (f === null) break;
        if (f.includes('unauthorized_access')) evaluated++;
        if (f.includes('too_many_attempts')) break;
      }
      lastClose = await c.closed;
    }
    console.log(`# ${evaluated} refused commands evaluated before the address was locked out`);
    // Refusals are counted as they happen: the socket that crosses the limit may finish the commands
    // it already sent (at most ws.maxRefusals).
    assert.ok(evaluated <= PER_IP + 5, `evaluated ${evaluated}`);
    assert.equal(lastClose?.code, 1008);
    assert.equal(limited, 1, 'the next upgrade was refused with 429');
    // Another address is not affected.
    const other = await connectClient(`${gates[1]!.url.replace('http', 'ws')}/LiveApp/websocket`, { headers: { 'x-forwarded-for': '198.51.100.10' } });
    other.ws.close();
  });
});
