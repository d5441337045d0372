// The origin's panel (root area: dashboard, root REST API) and apps the gate does not know are
// reachable only from panel.allowedCIDRs — nobody by default. Client addresses come through
// trusted proxies only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { startTestGate } from '../helpers/gate.js';
import type { RunningGate } from '../../src/server.js';

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; json: () => any }> {
  const r = await request(url, { headers });
  const text = await r.body.text();
  return { status: r.statusCode, json: () => JSON.parse(text) };
}
const from = (ip: string) => ({ 'x-forwarded-for': ip });

describe('panel allowlist', () => {
  let origin: TestOrigin;
  let closed: RunningGate;
  let panel: RunningGate;
  let noProxies: RunningGate;

  before(async () => {
    origin = await startTestOrigin();
    const base = { origin: { url: origin.url }, apps: { LiveApp: {} } };
    closed = await startTestGate(base);
    panel = await startTestGate({ ...base, trustedProxies: ['127.0.0.1/32'], panel: { allowedCIDRs: ['10.5.0.0/16', '2001:db8::/32'] } });
    noProxies = await startTestGate({ ...base, trustedProxies: [], panel: { allowedCIDRs: ['10.5.0.0/16'] } });
  });
  after(async () => {
    await Promise.all([closed.close(), panel.close(), noProxies.close()]);
    await origin.close();
  });

  test('default: nobody reaches the root area; unknown apps are 404, nothing forwarded', async () => {
    const seen = origin.seen.length;
    for (const path of ['/', '/index.html', '/favicon.ico']) {
      const r = await get(`${closed.url}${path}`);
      assert.equal(r.status, 403, path);
      assert.equal(r.json().reason, 'route_denied', path);
    }
    // The root REST API (`/rest/…`) and apps without a config are "unknown apps".
    for (const path of ['/rest/v2/applications', '/WebRTCAppEE/rest/v2/broadcasts/list/0/10']) {
      const r = await get(`${closed.url}${path}`);
      assert.equal(r.status, 404, path);
      assert.equal(r.json().reason, 'app_not_found', path);
    }
    assert.equal(origin.seen.length, seen);
  });

  test('panel clients (through a trusted proxy) reach the root area and unknown apps', async () => {
    const root = await get(`${panel.url}/rest/v2/applications`, from('10.5.7.7'));
    assert.equal(root.status, 200);
    assert.equal(origin.seen.at(-1)!.url, '/rest/v2/applications');
    assert.equal((await get(`${panel.url}/`, from('2001:db8::42'))).status, 200);
    assert.equal((await get(`${panel.url}/OtherApp/index.html`, from('10.5.0.1'))).status, 200);
    assert.equal(origin.seen.at(-1)!.url, '/OtherApp/index.html');
  });

  test('everyone else is refused, and spoofed X-Forwarded-For is ignored without trusted proxies', async () => {
    for (const ip of ['10.6.0.1', '2001:db9::1', '127.0.0.1']) {
      assert.equal((await get(`${panel.url}/`, from(ip))).status, 403, ip);
      assert.equal((await get(`${panel.url}/OtherApp/index.html`, from(ip))).status, 404, ip);
    }
    assert.equal((await get(`${panel.url}/`, from('10.5.0.1, 10.6.0.1'))).status, 403, 'prepending an allowed address does not help');
    assert.equal((await get(`${noProxies.url}/`, from('10.5.0.1'))).status, 403);
    assert.equal((await get(`${noProxies.url}/OtherApp/x`, from('10.5.0.1'))).status, 404);
  });

  test('the panel allowlist does not open app REST APIs (they have their own filter)', async () => {
    const r = await get(`${panel.url}/LiveApp/rest/v2/broadcasts/list/0/10`, from('10.5.0.1'));
    assert.equal(r.status, 403);
    assert.equal(r.json().reason, 'ip_not_allowed');
  });
});
