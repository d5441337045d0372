// Defends against client-chosen client IPs through forwarding headers (X-Forwarded-For, X-Real-IP,
// X-Forwarded-Proto / -Host). Ant Media believes X-Forwarded-For from any private-range peer and
// X-Real-IP from anyone; a gate that trusted loopback by default let a co-located proxy that passes
// the client's own X-Forwarded-For through (nginx `proxy_pass` without `proxy_set_header`, HAProxy
// without `option forwardfor`) hand every client the choice of its IP — and with it publisher
// allowlists, panel access and IP-bound grants. Like nginx `set_real_ip_from`, Traefik
// `forwardedHeaders.trustedIPs` and Envoy `xff_num_trusted_hops`, nothing is trusted until configured:
// `trustedProxies` (proxy and WebSocket doors) defaults to none, and `/verify` callers come from their
// own list, `verify.allowedCallers` (default loopback), believed on /verify only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { connectClient, startTestWsOrigin, type TestWsClient, type TestWsOrigin } from '../helpers/ws-origin.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';

const apps = { Net10: { publish: { hash: { enabled: true, secret: HASH_SECRET }, allowedCIDRs: ['10.0.0.0/8'] } } };
const spoof = { 'x-forwarded-for': '10.1.2.3', 'x-real-ip': '10.1.2.3', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' };
const token = hashToken('cam', 'publish', HASH_SECRET);

async function send(url: string, method: 'GET' | 'POST', headers: Record<string, string> = {}) {
  const r = await request(url, { method, headers, body: method === 'POST' ? 'v=0' : undefined });
  const text = await r.body.text();
  return { status: r.statusCode, reason: text.startsWith('{') ? (JSON.parse(text) as { reason?: string }).reason : undefined };
}

describe('forwarded headers from an untrusted loopback peer', () => {
  let origin: TestOrigin;
  let wsOrigin: TestWsOrigin;
  let byDefault: RunningGate; // nothing configured: what a co-located proxy gets out of the box
  let configured: RunningGate; // trustedProxies: loopback, explicitly (the control: headers then count)
  let wsByDefault: RunningGate;
  const open: TestWsClient[] = [];

  before(async () => {
    origin = await startTestOrigin();
    wsOrigin = await startTestWsOrigin();
    byDefault = await startTestGate({ origin: { url: origin.url }, panel: { allowedCIDRs: ['10.0.0.0/8'] }, apps });
    configured = await startTestGate({ origin: { url: origin.url }, trustedProxies: ['127.0.0.1/32'], panel: { allowedCIDRs: ['10.0.0.0/8'] }, apps });
    wsByDefault = await startTestGate({ origin: { url: wsOrigin.url }, apps });
  });
  after(async () => {
    for (const c of open) c.ws.terminate();
    await byDefault.close();
    await configured.close();
    await wsByDefault.close();
    await origin.close();
    await wsOrigin.close();
  });

  test('proxy door: the publisher allowlist and the panel see the socket address, not the headers', async () => {
    const seen = origin.seen.length;
    const pub = await send(`${byDefault.url}/Net10/whip/cam?token=${token}`, 'POST', spoof);
    assert.equal(pub.status, 403);
    assert.equal(pub.reason, 'ip_not_allowed');
    assert.equal((await send(`${byDefault.url}/`, 'GET', spoof)).status, 403, 'panel');
    assert.equal(origin.seen.length, seen, 'nothing reached the origin');
    // Control: the same requests pass once loopback is configured as a proxy.
    assert.notEqual((await send(`${configured.url}/Net10/whip/cam?token=${token}`, 'POST', spoof)).status, 403);
    assert.equal((await send(`${configured.url}/`, 'GET', spoof)).status, 200);
  });

  test('proxy door: the origin gets X-Forwarded-* of the gate own making, not the client copies', async () => {
    await send(`${byDefault.url}/Net10/index.html`, 'GET', spoof);
    const h = origin.seen.at(-1)!.headers;
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.notEqual(h['x-forwarded-host'], 'evil.example');
    // Ant Media believes X-Real-IP from anyone: the client's copy is replaced by the address decided on.
    assert.equal(h['x-real-ip'], '127.0.0.1');
  });

  test('proxy door, configured proxy: its chain is extended and the client it names reaches the origin', async () => {
    await send(`${configured.url}/Net10/index.html`, 'GET', { 'x-forwarded-for': '10.1.2.3', forwarded: 'for=10.9.9.9' });
    const h = origin.seen.at(-1)!.headers;
    assert.equal(h['x-forwarded-for'], '10.1.2.3, 127.0.0.1');
    assert.equal(h['x-real-ip'], '10.1.2.3');
    assert.equal(h.forwarded, undefined);
  });

  test('WebSocket door: a publish frame is judged by the socket address', async () => {
    const c = await connectClient(`${wsByDefault.url.replace('http', 'ws')}/Net10/websocket`, { headers: spoof });
    open.push(c);
    c.send({ command: 'publish', streamId: 'cam', token });
    assert.deepEqual(await c.nextJson(), { command: 'error', definition: 'unauthorized_access', streamId: 'cam' });
    // Play is open: it opens the origin leg, whose forwarding headers are the gate's own.
    c.send({ command: 'play', streamId: 'cam' });
    assert.equal((await c.nextJson()).definition, 'play_started');
    assert.equal(wsOrigin.handshakes.at(-1)!.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(wsOrigin.handshakes.at(-1)!.headers['x-forwarded-proto'], 'http');
  });

  test('/verify: an allowed caller (loopback by default) is believed there, and only there', async () => {
    const uri = { 'x-original-uri': `/Net10/whip/cam?token=${token}`, 'x-original-method': 'POST' };
    assert.equal((await send(`${byDefault.url}/verify`, 'GET', { ...uri, 'x-real-ip': '10.1.2.3' })).status, 200);
    assert.equal((await send(`${byDefault.url}/verify`, 'GET', { ...uri, 'x-forwarded-for': '10.1.2.3, 192.0.2.1' })).reason, 'ip_not_allowed');
  });

  test('/verify: a caller outside verify.allowedCallers is refused, whatever trustedProxies says', async () => {
    const gate = await startTestGate({ trustedProxies: ['127.0.0.1/32', '::1/128'], verify: { allowedCallers: ['10.0.0.0/8'] }, apps });
    try {
      const r = await send(`${gate.url}/verify`, 'GET', { 'x-original-uri': `/Net10/whip/cam?token=${token}`, 'x-original-method': 'POST', 'x-real-ip': '10.1.2.3' });
      assert.equal(r.status, 403);
      assert.equal(r.reason, 'route_denied');
    } finally {
      await gate.close();
    }
  });
});
