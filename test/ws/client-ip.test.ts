// Publisher IP allowlists over the signalling WebSocket, IPv4 and IPv6: the client IP is the
// socket's address (IPv4-mapped IPv6 read as IPv4), or the forwarded one only from a trusted proxy.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGate } from '../helpers/gate.js';
import { connectClient, startTestWsOrigin, type TestWsClient, type TestWsOrigin } from '../helpers/ws-origin.js';
import type { RunningGate } from '../../src/server.js';

const apps = {
  V4Only: { publish: { allowedCIDRs: ['127.0.0.1/32'] } },
  V6Only: { publish: { allowedCIDRs: ['::1/128'] } },
  Net10: { publish: { allowedCIDRs: ['10.0.0.0/8'] } },
  Doc6: { publish: { allowedCIDRs: ['2001:db8::/32'] } },
  AnyV6: { publish: { allowedCIDRs: ['::/0'] } },
};
const refused = (streamId: string) => JSON.stringify({ command: 'error', definition: 'unauthorized_access', streamId });

describe('websocket gate: publisher IP allowlists', () => {
  let origin: TestWsOrigin;
  let direct: RunningGate; // listens on [::] and trusts nobody: the socket address decides
  let behindProxy: RunningGate; // listens on 127.0.0.1 and trusts it as a proxy: X-Forwarded-For decides
  const open: TestWsClient[] = [];

  /** Publishes `streamId` on `app` and returns the first answer frame. */
  async function publish(base: string, app: string, streamId: string, headers?: Record<string, string>): Promise<string> {
    const c = await connectClient(`${base.replace('http', 'ws')}/${app}/websocket`, { headers });
    open.push(c);
    c.send({ command: 'publish', streamId });
    const first = await c.next();
    c.ws.close();
    return first;
  }
  const started = JSON.stringify({ command: 'start', streamId: 'cam' });

  before(async () => {
    origin = await startTestWsOrigin();
    direct = await startTestGate({ listen: { host: '::', port: 0 }, trustedProxies: [], origin: { url: origin.url }, apps });
    behindProxy = await startTestGate({ trustedProxies: ['127.0.0.1/32'], origin: { url: origin.url }, apps });
  });
  after(async () => {
    for (const c of open) c.ws.terminate();
    await direct.close();
    await behindProxy.close();
    await origin.close();
  });

  test('IPv4 client (an IPv4-mapped peer on a dual-stack listener) matches IPv4 rules only', async () => {
    const port = new URL(direct.url).port;
    const v4 = `http://127.0.0.1:${port}`;
    assert.equal(await publish(v4, 'V4Only', 'cam'), started);
    assert.equal(await publish(v4, 'V6Only', 'cam'), refused('cam'));
    assert.equal(await publish(v4, 'AnyV6', 'cam'), refused('cam'));
  });

  test('IPv6 client matches IPv6 rules, ::/0 allows any IPv6 address', async () => {
    const v6 = `http://[::1]:${new URL(direct.url).port}`;
    assert.equal(await publish(v6, 'V6Only', 'cam'), started);
    assert.equal(await publish(v6, 'AnyV6', 'cam'), started);
    assert.equal(await publish(v6, 'V4Only', 'cam'), refused('cam'));
    assert.equal(await publish(v6, 'Doc6', 'cam'), refused('cam'));
  });

  test('a spoofed X-Forwarded-For from an untrusted peer is ignored, and replaced towards the origin', async () => {
    const v4 = `http://127.0.0.1:${new URL(direct.url).port}`;
    assert.equal(await publish(v4, 'Net10', 'cam', { 'x-forwarded-for': '10.1.2.3', 'x-real-ip': '10.1.2.3' }), refused('cam'));
    // Play is not subject to the publisher allowlist.
    const c = await connectClient(`${v4.replace('http', 'ws')}/Net10/websocket`, { headers: { 'x-forwarded-for': '10.1.2.3' } });
    open.push(c);
    c.send({ command: 'play', streamId: 'cam' });
    assert.equal((await c.nextJson()).definition, 'play_started');
    assert.equal(origin.handshakes.at(-1)!.headers['x-forwarded-for'], '127.0.0.1');
  });

  test('behind a trusted proxy the forwarded address decides, IPv4 and IPv6', async () => {
    const base = behindProxy.url;
    assert.equal(await publish(base, 'Net10', 'cam', { 'x-forwarded-for': '10.1.2.3' }), started);
    assert.equal(origin.handshakes.at(-1)!.headers['x-forwarded-for'], '10.1.2.3, 127.0.0.1');
    assert.equal(await publish(base, 'Net10', 'cam', { 'x-forwarded-for': '192.0.2.7' }), refused('cam'));
    assert.equal(await publish(base, 'Doc6', 'cam', { 'x-forwarded-for': '2001:db8::5' }), started);
    assert.equal(await publish(base, 'Doc6', 'cam', { 'x-forwarded-for': '2001:db9::1' }), refused('cam'));
    assert.equal(await publish(base, 'V4Only', 'cam', { 'x-forwarded-for': '::ffff:127.0.0.1' }), started);
    // Spoofing the leftmost entry does not help: the chain is walked from the right.
    assert.equal(await publish(base, 'Net10', 'cam', { 'x-forwarded-for': '10.0.0.1, 192.0.2.7' }), refused('cam'));
  });
});
