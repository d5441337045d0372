// WHIP publishers authenticate with `Authorization: Bearer <token>` (RFC 9725 §4.5, HTTP bearer
// token authentication; Ant Media's WhipEndpoint reads its publish token there, OBS sends its
// "Bearer Token" field there). The full POST → PATCH → DELETE sequence is in test/proxy/whip.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { hashToken } from '../../src/checks/hash-token.js';
import type { RunningGate } from '../../src/server.js';

describe('WHIP with a bearer token', () => {
  let origin: TestOrigin;
  let gate: RunningGate;
  before(async () => {
    origin = await startTestOrigin();
    gate = await startTestGate({ origin: { url: origin.url }, apps: { LiveApp: { publish: { hash: { enabled: true, secret: HASH_SECRET } } } } });
  });
  after(async () => {
    await gate?.close();
    await origin?.close();
  });

  test('POST /{app}/whip/{id} with Authorization: Bearer <publish token> is allowed through the proxy', async () => {
    const r = await request(`${gate.url}/LiveApp/whip/cam1`, { method: 'POST', headers: { authorization: `Bearer ${hashToken('cam1', 'publish', HASH_SECRET)}`, 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
    await r.body.dump();
    assert.equal(r.statusCode, 200);
  });

  test('/verify allows the same request', async () => {
    const r = await request(`${gate.url}/verify`, { headers: { 'x-original-uri': '/LiveApp/whip/cam1', 'x-original-method': 'POST', authorization: `Bearer ${hashToken('cam1', 'publish', HASH_SECRET)}` } });
    await r.body.dump();
    assert.equal(r.statusCode, 200);
  });

  test('a wrong bearer token is still refused', async () => {
    const r = await request(`${gate.url}/LiveApp/whip/cam1`, { method: 'POST', headers: { authorization: 'Bearer nope' }, body: 'v=0\r\n' });
    await r.body.dump();
    assert.equal(r.statusCode, 401);
  });
});
