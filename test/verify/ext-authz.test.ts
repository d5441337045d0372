// Envoy / Istio external authorization (HTTP service) against the gate: check requests shaped the way
// Envoy's ext_authz filter builds them (ext_authz_http_impl.cc: the client's method, `path_prefix` +
// the client's :path with its query, Host, Authorization, Content-Length: 0, the allowed headers; the
// async client adds x-envoy-internal and appends Envoy's node address to X-Forwarded-For), and the
// shipped deploy/envoy and deploy/istio configurations parsed and checked for the fields this relies on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { startTestGate, HASH_SECRET, JWT_SECRET, SESSION_SECRET } from '../helpers/gate.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { newTokenId } from '../../src/checks/one-time-token.js';

const apps = {
  LiveApp: {
    play: { oneTimeToken: true, hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: JWT_SECRET } },
    publish: { hash: { enabled: true, secret: HASH_SECRET }, allowedCIDRs: ['10.0.0.0/8'] },
  },
  // Ant Media's default: play protected, publish open.
  OpenPublish: { play: { hash: { enabled: true, secret: HASH_SECRET } } },
};

interface Check {
  status: number;
  headers: http.IncomingHttpHeaders;
  reason?: string;
}

/**
 * One ext_authz check request. `xff` is what the client chain looked like after Envoy's connection
 * manager (use_remote_address appends the peer); Envoy's HTTP client then appends its node address.
 */
function check(gate: RunningGate, method: string, originalPath: string, opts: { xff?: string; node?: string; headers?: Record<string, string> } = {}): Promise<Check> {
  const u = new URL(gate.url);
  const headers: Record<string, string> = {
    host: 'media.example.com',
    'content-length': '0',
    'x-envoy-internal': 'true',
    'x-request-id': randomUUID(),
    'x-envoy-expected-rq-timeout-ms': '2000',
    'x-forwarded-for': [opts.xff ?? '203.0.113.7', opts.node ?? '127.0.0.1'].join(','),
    ...opts.headers,
  };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: `/verify${originalPath}`, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, reason: text ? (JSON.parse(text) as { reason?: string }).reason : undefined });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Envoy ext_authz (HTTP service, path_prefix: /verify)', () => {
  let gate: RunningGate;
  const play = hashToken('stream1', 'play', HASH_SECRET);
  const pub = hashToken('cam1', 'publish', HASH_SECRET);

  before(async () => {
    gate = await startTestGate({ session: { secrets: [SESSION_SECRET], resumeSpentCredentials: false }, verify: { allowedCallers: ['127.0.0.1/32', '::1/128'] }, apps });
  });
  after(async () => gate.close());

  test('GET of a manifest: the original path and query decide; identity and the grant cookie come back', async () => {
    const r = await check(gate, 'GET', `/LiveApp/streams/stream1.m3u8?token=${play}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-streamgate-app'], 'LiveApp');
    assert.equal(r.headers['x-streamgate-stream'], 'stream1');
    assert.equal(r.headers['x-streamgate-role'], 'play');
    const cookie = String(r.headers['set-cookie']).split(';')[0]!;
    assert.match(cookie, /^sg_grant(_[^=]+)?=v2\./);
    // The cookie (an allowed header) then opens segments without a token.
    assert.equal((await check(gate, 'GET', '/LiveApp/streams/stream1000000002.ts', { headers: { cookie } })).status, 200);
    // Grant cookies are per stream: stream1's is not even looked at for a stream10 file.
    assert.equal((await check(gate, 'GET', '/LiveApp/streams/stream10000000002.ts', { headers: { cookie } })).reason, 'token_missing');
  });

  test('the method is the original one: HEAD probes without consuming, GET consumes once', async () => {
    const t = { tokenId: newTokenId(), streamId: 'stream1', type: 'play' as const, expireDate: Math.floor(Date.now() / 1000) + 60 };
    await gate.runtime.store.saveToken('LiveApp', t);
    const path = `/LiveApp/streams/stream1.m3u8?token=${t.tokenId}`;
    assert.equal((await check(gate, 'HEAD', path)).status, 200);
    assert.equal((await check(gate, 'GET', path)).status, 200);
    const replay = await check(gate, 'GET', path);
    assert.equal(replay.status, 401);
    assert.equal(replay.reason, 'token_used');
    assert.equal(replay.headers['www-authenticate'], 'Bearer realm="LiveApp", error="invalid_token", error_description="token_used"');
  });

  test('a PUT to a playlist is refused even where publish is open (as the proxy refuses it)', async () => {
    const r = await check(gate, 'PUT', `/OpenPublish/streams/stream1.m3u8?token=${hashToken('stream1', 'play', HASH_SECRET)}`);
    assert.equal(r.status, 403);
    assert.equal(r.reason, 'method_not_allowed');
    assert.equal((await check(gate, 'DELETE', '/OpenPublish/streams/stream1.m3u8')).status, 403);
  });

  test('WHIP POST with a Bearer token; the client IP is the entry before Envoy node address', async () => {
    const bearer = { authorization: `Bearer ${pub}` };
    const ok = await check(gate, 'POST', '/LiveApp/whip/cam1', { xff: '10.1.2.3', headers: bearer });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-streamgate-role'], 'publish');
    // A client-prepended entry is never the client: the peer Envoy appended is.
    const spoofed = await check(gate, 'POST', '/LiveApp/whip/cam1', { xff: '10.9.9.9, 192.0.2.50', headers: bearer });
    assert.equal(spoofed.status, 403);
    assert.equal(spoofed.reason, 'ip_not_allowed');
    // `role` in the client's own query is never read: a play role cannot turn a publish into a play.
    assert.equal((await check(gate, 'POST', '/LiveApp/whip/cam1?role=play', { xff: '10.1.2.3', headers: bearer })).status, 200);
    const noToken = await check(gate, 'POST', '/LiveApp/whip/cam1', { xff: '10.1.2.3' });
    assert.equal(noToken.status, 401);
    assert.equal(noToken.headers['www-authenticate'], 'Bearer realm="LiveApp"');
  });

  test('an Envoy node address outside verify.allowedCallers is taken for the client (fail closed)', async () => {
    // Documented requirement: list the address Envoy appends. Here it is not listed, so the publisher
    // allowlist sees 198.51.100.9 (Envoy's node), never the forwarded client.
    const r = await check(gate, 'POST', '/LiveApp/whip/cam1', { xff: '10.1.2.3', node: '198.51.100.9', headers: { authorization: `Bearer ${pub}` } });
    assert.equal(r.reason, 'ip_not_allowed');
  });

  test('headers a client smuggled through the allowlist cannot change the target or method', async () => {
    const uri = await check(gate, 'GET', '/LiveApp/streams/stream10.m3u8', { headers: { 'x-original-uri': `/LiveApp/streams/stream1.m3u8?token=${play}` } });
    assert.equal(uri.status, 403);
    assert.equal(uri.reason, 'route_denied');
    const method = await check(gate, 'POST', '/OpenPublish/whip/cam1', { headers: { 'x-forwarded-method': 'GET' } });
    assert.equal(method.status, 403);
    // x-envoy-original-path is a router rewrite marker, not part of a check: it is not read.
    const marker = await check(gate, 'GET', '/LiveApp/streams/stream10.m3u8', { headers: { 'x-envoy-original-path': `/LiveApp/streams/stream1.m3u8?token=${play}` } });
    assert.equal(marker.status, 401);
    assert.equal(marker.reason, 'token_missing');
  });

  test('never 400: a traversal in the original path is 403 path_invalid; CORS preflights pass', async () => {
    const r = await check(gate, 'GET', '/LiveApp/streams/stream1__/../stream2.m3u8');
    assert.equal(r.status, 403);
    assert.equal(r.reason, 'path_invalid');
    assert.equal((await check(gate, 'OPTIONS', '/LiveApp/streams/stream1.m3u8')).status, 200);
  });

  test('a caller outside verify.allowedCallers is refused before anything is read', async () => {
    const strict = await startTestGate({ trustedProxies: ['127.0.0.1/32'], verify: { allowedCallers: ['10.0.0.0/8'] }, apps });
    try {
      const r = await check(strict, 'GET', `/LiveApp/streams/stream1.m3u8?token=${play}`);
      assert.equal(r.status, 403);
      assert.equal(r.reason, 'route_denied');
    } finally {
      await strict.close();
    }
  });
});

describe('shipped Envoy and Istio configurations', () => {
  const docs = (file: string) => {
    const parsed = parseAllDocuments(readFileSync(file, 'utf8'));
    for (const d of parsed) assert.deepEqual(d.errors, [], `${file}: ${d.errors.join('; ')}`);
    return parsed.map((d) => d.toJS() as Record<string, any>);
  };

  test('deploy/envoy/ext_authz.yaml: native ext_authz with path_prefix /verify, no Lua', () => {
    const [boot] = docs('deploy/envoy/ext_authz.yaml');
    const text = JSON.stringify(boot);
    assert.ok(!text.includes('envoy.filters.http.lua'), 'no Lua filter');
    const hcm = boot!.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    assert.equal(hcm.use_remote_address, true);
    const authz = hcm.http_filters.find((f: { name: string }) => f.name === 'envoy.filters.http.ext_authz').typed_config;
    assert.equal(authz.http_service.path_prefix, '/verify');
    assert.equal(authz.failure_mode_allow, false);
    const allowed = authz.allowed_headers.patterns.map((p: { exact: string }) => p.exact);
    assert.deepEqual(allowed.sort(), ['cookie', 'x-forwarded-for']);
    assert.ok(authz.http_service.authorization_response.allowed_client_headers_on_success.patterns.some((p: { exact: string }) => p.exact === 'set-cookie'));
    const clusters = boot!.static_resources.clusters.map((c: { name: string }) => c.name);
    assert.ok(clusters.includes(authz.http_service.server_uri.cluster));
    // The check path is never reachable from outside.
    const routes = hcm.route_config.virtual_hosts[0].routes;
    assert.equal(routes[0].match.prefix, '/verify');
    assert.equal(routes[0].direct_response.status, 404);
  });

  test('deploy/istio: a CUSTOM AuthorizationPolicy naming an envoyExtAuthzHttp provider with pathPrefix /verify', () => {
    const files = readdirSync('deploy/istio').filter((f) => f.endsWith('.yaml'));
    const all = files.flatMap((f) => docs(`deploy/istio/${f}`));
    const mesh = all.find((d) => d.kind === 'IstioOperator')!;
    const provider = mesh.spec.meshConfig.extensionProviders[0];
    assert.equal(provider.envoyExtAuthzHttp.pathPrefix, '/verify');
    for (const h of ['authorization', 'cookie', 'x-forwarded-for']) assert.ok(provider.envoyExtAuthzHttp.includeRequestHeadersInCheck.includes(h), h);
    assert.ok(provider.envoyExtAuthzHttp.headersToDownstreamOnDeny.includes('www-authenticate'));
    const policy = all.find((d) => d.kind === 'AuthorizationPolicy')!;
    assert.equal(policy.spec.action, 'CUSTOM');
    assert.equal(policy.spec.provider.name, provider.name);
    assert.ok(policy.spec.rules[0].to[0].operation.paths.includes('/LiveApp/whip/*'));
  });
});
