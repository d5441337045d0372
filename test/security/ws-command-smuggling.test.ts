// Defends against: WebSocket frames the origin reads differently from the gate. A frame with two
// `command` keys is a `ping` to JSON.parse (last key wins) but a `publish` to a first-key parser,
// and a binary frame holding a JSON publish was never inspected: both reached the origin byte for
// byte. Also: every refused socket used to open an origin connection first.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import { connectClient, startTestWsOrigin, type TestWsOrigin } from '../helpers/ws-origin.js';
import type { RunningGate } from '../../src/server.js';

const err = (definition: string, streamId?: string) => JSON.stringify(streamId === undefined ? { command: 'error', definition } : { command: 'error', definition, streamId });

describe('websocket command smuggling', () => {
  let origin: TestWsOrigin;
  let gate: RunningGate;
  const url = (app = 'LiveApp') => `${gate.url.replace('http', 'ws')}/${app}/websocket`;

  before(async () => {
    origin = await startTestWsOrigin();
    gate = await startTestGate({
      origin: { url: origin.url },
      apps: { LiveApp: { publish: { hash: { enabled: true, secret: HASH_SECRET } }, play: { hash: { enabled: true, secret: HASH_SECRET } } } },
      limits: { attempts: { perIp: 100_000 } },
    });
  });
  after(async () => {
    await gate.close();
    await origin.close();
  });

  test('duplicate keys anywhere in a frame that could name a command are refused', async () => {
    const frames = [
      '{"command":"publish","streamId":"s","command":"ping"}',
      '{"command":"ping","streamId":"s","comm\\u0061nd":"publish"}',
      '{"command":"play","streamId":"a","streamId":"b"}',
      '{"command":"takeConfiguration","streamId":"s","inner":{"command":"play","command":"x"}}',
    ];
    for (const f of frames) {
      const c = await connectClient(url());
      c.send(f);
      assert.equal(await c.next(), err('unauthorized_access'), f);
      c.ws.close();
    }
    assert.equal(origin.frames.length, 0, 'nothing reached the origin');
  });

  test('a binary frame that holds a command is refused; other binary frames pass', async () => {
    const c = await connectClient(url());
    c.ws.send(Buffer.from(JSON.stringify({ command: 'publish', streamId: 's1' })), { binary: true });
    assert.equal(await c.next(), err('unauthorized_access', 's1'));
    c.ws.send(Buffer.from([1, 2, 3, 4]), { binary: true });
    await origin.until(() => origin.frames.some((f) => f.binary?.length === 4));
    assert.ok(!origin.frames.some((f) => f.binary && f.binary.toString().includes('publish')));
    c.ws.close();
  });

  test('refused sockets never open an origin connection', async () => {
    const before = origin.handshakes.length;
    for (let i = 0; i < 20; i++) {
      const c = await connectClient(url());
      c.send({ command: 'publish', streamId: 's1', token: 'wrong' });
      assert.equal(await c.next(), err('unauthorized_access', 's1'));
      c.ws.close();
    }
    assert.equal(origin.handshakes.length, before, '20 refused sockets, no origin handshake');
    // An allowed command opens the leg, and is what the origin sees first.
    const { hashToken } = await import('../../src/checks/hash-token.js');
    const c = await connectClient(url());
    c.send({ command: 'play', streamId: 's1', token: hashToken('s1', 'play', HASH_SECRET) });
    assert.equal((await c.nextJson()).definition, 'play_started');
    assert.equal(origin.handshakes.length, before + 1);
    c.ws.close();
  });
});
