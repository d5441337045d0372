// Answers written together (respond.ts `answer`): the status and headers are fixed at once, the
// bodies of every answer finished in one event-loop turn go out together right after it, and an
// answer whose client left in between is dropped without an error. Real sockets on loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { answer, sendJson } from '../../src/proxy/respond.js';

describe('answer: bodies written with the rest of the event-loop turn', () => {
  let server: http.Server;
  let url: string;
  const seen: { headersSentAtOnce: boolean; endedAtOnce: boolean }[] = [];
  const agent = new Agent({ connections: 8 });

  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/gone') {
        // The client is gone before the batch is written: no throw, nothing written.
        answer(res, 200, { 'content-type': 'text/plain' }, 'late');
        res.destroy();
        return;
      }
      if (req.url === '/json') return sendJson(res, 418, { reason: 'teapot' });
      answer(res, 200, { 'content-type': 'text/plain', 'content-length': 5 }, req.method === 'HEAD' ? undefined : 'hello');
      seen.push({ headersSentAtOnce: res.headersSent, endedAtOnce: res.writableEnded });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await agent.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('the status line is fixed at once, the body follows in the same turn', async () => {
    const r = await request(`${url}/x`, { dispatcher: agent });
    assert.equal(r.statusCode, 200);
    assert.equal(await r.body.text(), 'hello');
    assert.deepEqual(seen.at(-1), { headersSentAtOnce: true, endedAtOnce: false });
  });

  test('many answers in one turn all arrive, each with its own body; HEAD has none', async () => {
    const all = await Promise.all(Array.from({ length: 32 }, (_, i) => request(`${url}/x${i}`, { dispatcher: agent, method: i % 4 ? 'GET' : 'HEAD' })));
    for (const [i, r] of all.entries()) {
      assert.equal(r.statusCode, 200);
      assert.equal(await r.body.text(), i % 4 ? 'hello' : '');
    }
  });

  test('sendJson answers the same way', async () => {
    const r = await request(`${url}/json`, { dispatcher: agent });
    assert.equal(r.statusCode, 418);
    assert.deepEqual(await r.body.json(), { reason: 'teapot' });
  });

  test('a client gone before the batch is written costs nothing but its answer', async () => {
    await assert.rejects(request(`${url}/gone`, { dispatcher: agent }));
    const r = await request(`${url}/after`, { dispatcher: agent });
    assert.equal(r.statusCode, 200);
    assert.equal(await r.body.text(), 'hello');
  });
});
