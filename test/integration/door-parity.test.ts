// Door parity: one table of requests run through every door — the reverse proxy, /verify in the
// nginx, Traefik, ingress-nginx and Envoy ext_authz (`/verify/<original path>`, original method)
// dialects, WHIP rows again with the token as `Authorization: Bearer`, and (for play and publish) the
// WebSocket gate — with the same decision expected everywhere. Each door only translates the answer:
//   proxy        status = REASONS[reason].status, body {"reason": …}; allow = the origin's 200
//   /verify      status = statusAt('verify', reason) (400/404/405 → 403), body {"reason": …}; allow = 200
//   WebSocket    error frame with REASONS[reason].definition; allow = the origin's answer
// The known drift this defends against: with play protected and publish open, `/verify` answered 200
// to `X-Original-Method: PUT` on a playlist that the proxy refuses with 405.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startTestGate, HASH_SECRET, JWT_SECRET, SESSION_SECRET } from '../helpers/gate.js';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { connectClient, startTestWsOrigin, type TestWsOrigin } from '../helpers/ws-origin.js';
import type { RunningGate } from '../../src/server.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { newTokenId } from '../../src/checks/one-time-token.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { REASONS, statusAt, type ReasonCode } from '../../src/decision/reasons.js';
import type { Role } from '../../src/decision/types.js';

const prefix = `sgparity-${process.pid}-${Date.now()}`;
const redisStore = { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } };
const tokens = { oneTimeToken: true, hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: JWT_SECRET } };
const apps = {
  // Ant Media's default shape: play protected, publish open.
  PlayApp: { play: tokens },
  BothApp: { play: tokens, publish: tokens },
};
const exp = () => Math.floor(Date.now() / 1000) + 600;

type Cred =
  | 'none'
  | 'hash'
  | 'hash-foreign'
  | 'hash-other-role'
  | 'jwt'
  | 'jwt-foreign'
  | 'jwt-other-role'
  | 'once'
  | 'once-spent'
  | 'once-foreign';

interface Row {
  method: string;
  /** Path without credentials; the stream is `stream1` unless the row says otherwise. */
  path: string;
  cred: Cred;
  /** The role the credential is minted for (defaults to the path's). */
  role: Role;
  want: 'allow' | ReasonCode;
  /** The WebSocket command that asks the same question, when there is one. */
  ws?: { command: 'play' | 'publish'; streamId: string };
}

const play = (app: string, streamId = 'stream1') => ({ ws: { command: 'play' as const, streamId }, role: 'play' as const, app });
const rows: Row[] = [
  // Playback, PlayApp.
  { method: 'GET', path: '/PlayApp/streams/stream1.m3u8', cred: 'none', want: 'token_missing', ...play('PlayApp') },
  { method: 'GET', path: '/PlayApp/streams/stream1.m3u8', cred: 'hash', want: 'allow', ...play('PlayApp') },
  { method: 'GET', path: '/PlayApp/streams/stream1.m3u8', cred: 'hash-foreign', want: 'token_invalid', ...play('PlayApp') },
  { method: 'GET', path: '/PlayApp/streams/stream1.m3u8', cred: 'jwt', want: 'allow', ...play('PlayApp') },
  { method: 'GET', path: '/PlayApp/streams/stream1.m3u8', cred: 'jwt-foreign', want: 'token_wrong_stream', ...play('PlayApp') },
  { method: 'GET', path: '/PlayApp/streams/stream1.m3u8', cred: 'jwt-other-role', want: 'token_wrong_role', ...play('PlayApp') },
  { method: 'GET', path: '/PlayApp/streams/stream1.m3u8', cred: 'once', want: 'allow', ...play('PlayApp') },
  { method: 'GET', path: '/PlayApp/streams/stream1.m3u8', cred: 'once-spent', want: 'token_used', ...play('PlayApp') },
  { method: 'GET', path: '/PlayApp/streams/stream1.m3u8', cred: 'once-foreign', want: 'token_wrong_stream', ...play('PlayApp') },
  { method: 'GET', path: '/PlayApp/streams/stream1000000001.ts', cred: 'hash', role: 'play', want: 'allow' },
  { method: 'GET', path: '/PlayApp/streams/stream1000000001.ts', cred: 'none', role: 'play', want: 'token_missing' },
  { method: 'HEAD', path: '/PlayApp/streams/stream1.mp4', cred: 'once', role: 'play', want: 'allow' },
  { method: 'GET', path: '/PlayApp/streams/stream1/stream1.mpd', cred: 'jwt', role: 'play', want: 'allow' },
  // Methods the table refuses on media files — the /verify drift.
  { method: 'PUT', path: '/PlayApp/streams/stream1.m3u8', cred: 'none', role: 'play', want: 'method_not_allowed' },
  { method: 'POST', path: '/PlayApp/streams/stream1.m3u8', cred: 'none', role: 'play', want: 'method_not_allowed' },
  { method: 'DELETE', path: '/PlayApp/streams/stream1000000001.ts', cred: 'hash', role: 'play', want: 'method_not_allowed' },
  { method: 'PATCH', path: '/BothApp/streams/stream1.m3u8', cred: 'hash', role: 'publish', want: 'method_not_allowed' },
  { method: 'PROPFIND', path: '/BothApp/whip/stream1', cred: 'hash', role: 'publish', want: 'method_not_allowed' },
  // Files and ids the grammar cannot attribute.
  { method: 'GET', path: '/PlayApp/streams/cover.jpg', cred: 'none', role: 'play', want: 'stream_unrecognized' },
  { method: 'GET', path: '/PlayApp/streams/..m3u8', cred: 'none', role: 'play', want: 'stream_unrecognized', ws: { command: 'play', streamId: '.' } },
  { method: 'POST', path: '/BothApp/whip/...', cred: 'none', role: 'publish', want: 'stream_unrecognized', ws: { command: 'publish', streamId: '..' } },
  // Reserved folders in another letter case are still the stream's files.
  { method: 'GET', path: '/PlayApp/Streams/stream1.m3u8', cred: 'none', role: 'play', want: 'token_missing' },
  { method: 'GET', path: '/PlayApp/STREAMS/stream1.m3u8', cred: 'hash', role: 'play', want: 'allow' },
  // Publishing: open on PlayApp, protected on BothApp.
  { method: 'POST', path: '/PlayApp/whip/stream1', cred: 'none', role: 'publish', want: 'allow', ws: { command: 'publish', streamId: 'stream1' } },
  { method: 'POST', path: '/BothApp/whip/stream1', cred: 'none', role: 'publish', want: 'token_missing', ws: { command: 'publish', streamId: 'stream1' } },
  { method: 'POST', path: '/BothApp/whip/stream1', cred: 'hash', role: 'publish', want: 'allow', ws: { command: 'publish', streamId: 'stream1' } },
  { method: 'POST', path: '/BothApp/whip/stream1', cred: 'hash-other-role', role: 'publish', want: 'token_invalid', ws: { command: 'publish', streamId: 'stream1' } },
  { method: 'POST', path: '/BothApp/whip/stream1', cred: 'jwt', role: 'publish', want: 'allow', ws: { command: 'publish', streamId: 'stream1' } },
  { method: 'POST', path: '/BothApp/whip/stream1', cred: 'jwt-other-role', role: 'publish', want: 'token_wrong_role', ws: { command: 'publish', streamId: 'stream1' } },
  { method: 'POST', path: '/BothApp/whip/stream1', cred: 'once', role: 'publish', want: 'allow', ws: { command: 'publish', streamId: 'stream1' } },
  { method: 'POST', path: '/BothApp/whip/stream1', cred: 'once-spent', role: 'publish', want: 'token_used', ws: { command: 'publish', streamId: 'stream1' } },
  { method: 'POST', path: '/BothApp/whip/stream1', cred: 'once-foreign', role: 'publish', want: 'token_wrong_stream', ws: { command: 'publish', streamId: 'stream1' } },
  { method: 'GET', path: '/BothApp/whip/stream1', cred: 'hash', role: 'publish', want: 'allow' },
  { method: 'GET', path: '/BothApp/whip/stream1', cred: 'hash-other-role', role: 'publish', want: 'token_invalid' },
  { method: 'PUT', path: '/BothApp/chunked/stream1/chunk1.ts', cred: 'jwt', role: 'publish', want: 'allow' },
  // Paths that are no stream at all.
  { method: 'GET', path: '/', cred: 'none', role: 'play', want: 'route_denied' },
  { method: 'GET', path: '/NoSuchApp/streams/stream1.m3u8', cred: 'hash', role: 'play', want: 'app_not_found' },
  { method: 'GET', path: '/PlayApp/websocket', cred: 'none', role: 'play', want: 'route_denied' },
  { method: 'GET', path: '/PlayApp/WebSocket', cred: 'none', role: 'play', want: 'route_denied' },
  { method: 'GET', path: '/PlayApp/play.html', cred: 'none', role: 'play', want: 'allow' },
];

const appOf = (row: Row) => row.path.split('/')[1] ?? '';

async function credential(store: Store, row: Row): Promise<string | undefined> {
  const own = 'stream1'; // every row asks about stream1 (or about no valid stream at all)
  const other: Role = row.role === 'play' ? 'publish' : 'play';
  const once = async (streamId: string) => {
    const t = { tokenId: newTokenId(), streamId, type: row.role, expireDate: exp() };
    await store.saveToken(appOf(row), t);
    return t.tokenId;
  };
  switch (row.cred) {
    case 'none':
      return undefined;
    case 'hash':
      return hashToken(own, row.role, HASH_SECRET);
    case 'hash-foreign':
      return hashToken('stream2', row.role, HASH_SECRET);
    case 'hash-other-role':
      return hashToken(own, other, HASH_SECRET);
    case 'jwt':
      return mintStreamJwt(JWT_SECRET, { streamId: own, type: row.role, exp: exp() });
    case 'jwt-foreign':
      return mintStreamJwt(JWT_SECRET, { streamId: 'stream2', type: row.role, exp: exp() });
    case 'jwt-other-role':
      return mintStreamJwt(JWT_SECRET, { streamId: own, type: other, exp: exp() });
    case 'once':
      return once(own);
    case 'once-foreign':
      return once('stream2');
    case 'once-spent': {
      const id = await once(own);
      const spent = await store.consumeToken(appOf(row), { tokenId: id, streamIds: [own], type: row.role }, Date.now(), true);
      assert.equal(spent.outcome, 'ok');
      return id;
    }
  }
}

/** What a door said, reduced to the decision: 'allow' or the reason. */
interface Seen {
  decision: string;
  status?: number;
  definition?: string;
}

describe('door parity', () => {
  let origin: TestOrigin;
  let wsOrigin: TestWsOrigin;
  let gate: RunningGate;
  let wsGate: RunningGate;
  let store: Store;
  before(async () => {
    origin = await startTestOrigin();
    wsOrigin = await startTestWsOrigin();
    gate = await startTestGate({ origin: { url: origin.url }, store: redisStore, apps, session: { secrets: [SESSION_SECRET] } });
    // The WebSocket door relays to a signalling origin; same apps, same store.
    wsGate = await startTestGate({ origin: { url: wsOrigin.url }, store: redisStore, apps, ws: { maxRefusals: 1000 } });
    store = createStore({ type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix, commandTimeoutMs: 1000 } });
  });
  after(async () => {
    await store.close();
    await gate.close();
    await wsGate.close();
    await origin.close();
    await wsOrigin.close();
  });

  const withToken = (path: string, token: string | undefined) => (token === undefined ? path : `${path}?token=${encodeURIComponent(token)}`);

  async function viaProxy(row: Row, token: string | undefined): Promise<Seen> {
    const r = await request(`${gate.url}${withToken(row.path, token)}`, { method: row.method as 'GET', body: row.method === 'POST' || row.method === 'PUT' ? 'sdp' : undefined });
    const text = await r.body.text();
    if (r.statusCode === 200) return { decision: 'allow', status: 200 };
    return { decision: (JSON.parse(text) as { reason: string }).reason, status: r.statusCode };
  }

  /** Envoy's HTTP ext_authz check: the original method, path_prefix + the original path (no body). */
  async function viaEnvoy(row: Row, token: string | undefined, bearer = false): Promise<Seen> {
    const headers: Record<string, string> = { 'x-envoy-internal': 'true', 'x-forwarded-for': '203.0.113.7,127.0.0.1' };
    if (bearer && token !== undefined) headers.authorization = `Bearer ${token}`;
    const r = await request(`${gate.url}/verify${withToken(row.path, bearer ? undefined : token)}`, { method: row.method as 'GET', headers });
    // A HEAD check gets no body (RFC 9110 §9.3.2): the reason then rides in X-Streamgate-Reason.
    const text = await r.body.text();
    const reason = text ? (JSON.parse(text) as { reason?: string }).reason : String(r.headers['x-streamgate-reason']);
    return { decision: r.statusCode === 200 ? 'allow' : reason!, status: r.statusCode };
  }

  /** A WHIP client: the token as `Authorization: Bearer` (RFC 9725 §4.5) instead of `?token=`. */
  async function viaProxyBearer(row: Row, token: string | undefined): Promise<Seen> {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    const r = await request(`${gate.url}${row.path}`, { method: row.method as 'GET', headers, body: row.method === 'POST' || row.method === 'PUT' ? 'sdp' : undefined });
    const text = await r.body.text();
    if (r.statusCode === 200) return { decision: 'allow', status: 200 };
    return { decision: (JSON.parse(text) as { reason: string }).reason, status: r.statusCode };
  }

  async function viaVerify(dialect: 'nginx' | 'traefik' | 'ingress-nginx', row: Row, token: string | undefined): Promise<Seen> {
    const uri = withToken(row.path, token);
    const headers: Record<string, string> =
      dialect === 'nginx'
        ? { 'x-original-uri': uri, 'x-original-method': row.method }
        : dialect === 'traefik'
          ? { 'x-forwarded-uri': uri, 'x-forwarded-method': row.method }
          : { 'x-original-url': `https://cdn.example${uri}`, 'x-original-method': row.method };
    const r = await request(`${gate.url}/verify`, { headers });
    const body = (await r.body.json()) as { reason?: string };
    return { decision: r.statusCode === 200 ? 'allow' : body.reason!, status: r.statusCode };
  }

  async function viaWebSocket(row: Row, token: string | undefined): Promise<Seen> {
    const c = await connectClient(`${wsGate.url.replace('http', 'ws')}/${appOf(row)}/websocket`);
    try {
      c.send({ command: row.ws!.command, streamId: row.ws!.streamId, ...(token === undefined ? {} : { token }) });
      const first = await c.nextJson();
      if (first.command === 'error') return { decision: 'deny', definition: String(first.definition) };
      return { decision: 'allow' };
    } finally {
      c.ws.terminate();
    }
  }

  test('every door gives the same decision for every row of the table', async () => {
    const failures: string[] = [];
    for (const row of rows) {
      const label = `${row.method} ${row.path} [${row.cred}]`;
      const doors: [string, () => Promise<Seen>][] = [
        ['proxy', async () => viaProxy(row, await credential(store, row))],
        ['verify/nginx', async () => viaVerify('nginx', row, await credential(store, row))],
        ['verify/traefik', async () => viaVerify('traefik', row, await credential(store, row))],
        ['verify/ingress-nginx', async () => viaVerify('ingress-nginx', row, await credential(store, row))],
        ['verify/envoy', async () => viaEnvoy(row, await credential(store, row))],
      ];
      if (/^\/[^/]+\/whip\//i.test(row.path)) {
        doors.push(['proxy/bearer', async () => viaProxyBearer(row, await credential(store, row))]);
        doors.push(['verify/envoy/bearer', async () => viaEnvoy(row, await credential(store, row), true)]);
      }
      if (row.ws) doors.push(['websocket', async () => viaWebSocket(row, await credential(store, row))]);
      for (const [door, ask] of doors) {
        const seen = await ask();
        if (door === 'websocket') {
          const want = row.want === 'allow' ? 'allow' : `deny:${REASONS[row.want].definition}`;
          const got = seen.decision === 'allow' ? 'allow' : `deny:${seen.definition}`;
          if (got !== want) failures.push(`${label} via ${door}: ${got}, want ${want}`);
          continue;
        }
        const wantStatus = row.want === 'allow' ? 200 : statusAt(door.startsWith('proxy') ? 'proxy' : 'verify', row.want);
        if (seen.decision !== row.want || seen.status !== wantStatus) failures.push(`${label} via ${door}: ${seen.status} ${seen.decision}, want ${wantStatus} ${row.want}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  test('the drift that started this: PUT of a playlist with publish open is refused by /verify too', async () => {
    const r = await request(`${gate.url}/verify`, { headers: { 'x-original-uri': '/PlayApp/streams/stream1.m3u8', 'x-original-method': 'PUT' } });
    assert.equal(r.statusCode, 403);
    assert.deepEqual(await r.body.json(), { error: 'forbidden', reason: 'method_not_allowed' });
    const p = await request(`${gate.url}/PlayApp/streams/stream1.m3u8`, { method: 'PUT', body: 'x' });
    assert.equal(p.statusCode, 405);
    assert.equal(p.headers.allow, 'GET, HEAD, OPTIONS');
    await p.body.dump();
  });

  test('/verify ?role= states the location\'s role: a target of the other role is refused', async () => {
    const pub = hashToken('stream1', 'publish', HASH_SECRET);
    const ask = async (uri: string, role: string) => (await request(`${gate.url}/verify?role=${role}`, { headers: { 'x-original-uri': uri } })).statusCode;
    assert.equal(await ask(`/BothApp/whip/stream1?token=${pub}`, 'publish'), 200);
    assert.equal(await ask(`/BothApp/whip/stream1?token=${pub}`, 'play'), 403);
    assert.equal(await ask(`/BothApp/streams/stream1.m3u8?token=${pub}`, 'publish'), 403);
  });
});
