// resolveTarget as a table: canonical method + path + door → the one answer every door translates.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveTarget, type HttpDoor, type Target } from '../../src/authorize/target.js';
import { compileApps } from '../../src/decision/policy.js';
import { parseConfig } from '../../src/config/load.js';
import { canonicalizeUrl } from '../../src/request/canonical-path.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { HASH_SECRET } from '../helpers/gate.js';

const store = new MemoryStore();
after(() => store.close());
const apps = compileApps(parseConfig(JSON.stringify({ apps: { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } } }, OpenApp: {}, SigApp: { websocketPath: 'signal' } } }), {}), store);

/** A compact spelling of a target: `gated:play:manifest:stream1`, `refuse:method_not_allowed`, `pass:static`… */
function show(t: Target): string {
  switch (t.type) {
    case 'gated':
      return `gated:${t.role}:${t.kind}:${t.streamIds.join('|')}`;
    case 'refuse':
      return `refuse:${t.reason}${t.allow ? `(${t.allow})` : ''}`;
    case 'pass':
      return `pass:${t.why}`;
    default:
      return t.type;
  }
}

const rows: [HttpDoor, string, string, string, { role?: 'play' | 'publish' | null; panel?: boolean }?][] = [
  ['proxy', 'GET', '/LiveApp/streams/stream1.m3u8', 'gated:play:manifest:stream1'],
  ['verify', 'GET', '/LiveApp/streams/stream1.m3u8', 'gated:play:manifest:stream1'],
  ['proxy', 'HEAD', '/LiveApp/streams/stream1000000001.ts', 'gated:play:segment:stream1'],
  ['proxy', 'GET', '/LiveApp/streams/s_240p.m3u8', 'gated:play:manifest:s|s_240p'],
  // The drift: PUT/POST/DELETE of a media file is a 405 at every door (publish being open or not).
  ['proxy', 'PUT', '/OpenApp/streams/stream1.m3u8', 'refuse:method_not_allowed(GET, HEAD, OPTIONS)'],
  ['verify', 'PUT', '/OpenApp/streams/stream1.m3u8', 'refuse:method_not_allowed(GET, HEAD, OPTIONS)'],
  ['verify', 'DELETE', '/LiveApp/streams/stream1000000001.ts', 'refuse:method_not_allowed(GET, HEAD, OPTIONS)'],
  ['proxy', 'OPTIONS', '/LiveApp/streams/stream1.m3u8', 'pass:preflight'],
  ['verify', 'OPTIONS', '/LiveApp/whip/cam1', 'pass:preflight'],
  ['proxy', 'GET', '/LiveApp/streams/cover.jpg', 'refuse:stream_unrecognized'],
  ['proxy', 'GET', '/OpenApp/streams/cover.jpg', 'pass:open'],
  ['proxy', 'POST', '/LiveApp/whip/cam1', 'gated:publish:ingest:cam1'],
  ['proxy', 'GET', '/LiveApp/whip/cam1', 'gated:publish:ingest:cam1'],
  ['verify', 'GET', '/LiveApp/whip/cam1', 'gated:publish:ingest:cam1'],
  ['proxy', 'PATCH', '/LiveApp/whip/cam1/etag1', 'gated:publish:ingest:cam1'],
  ['proxy', 'TRACE', '/LiveApp/whip/cam1', 'refuse:method_not_allowed(GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)'],
  ['proxy', 'POST', '/LiveApp/whip', 'refuse:stream_unrecognized'],
  ['proxy', 'PUT', '/LiveApp/chunked/cam1/part1.ts', 'gated:publish:ingest:cam1'],
  ['proxy', 'PUT', '/LiveApp/hls-upload/cam1000000001.ts', 'gated:publish:ingest:cam1'],
  // Reserved folders in any case.
  ['proxy', 'GET', '/LiveApp/Streams/stream1.m3u8', 'gated:play:manifest:stream1'],
  ['verify', 'GET', '/LiveApp/STREAMS/stream1.m3u8', 'gated:play:manifest:stream1'],
  ['proxy', 'POST', '/LiveApp/WHIP/cam1', 'gated:publish:ingest:cam1'],
  ['proxy', 'GET', '/LiveApp/Rest/v2/broadcasts/x', 'rest'],
  ['proxy', 'GET', '/LiveApp/WebSocket', 'refuse:route_denied'],
  // Dot-only stream ids are no stream ids.
  ['proxy', 'GET', '/LiveApp/streams/..m3u8', 'refuse:stream_unrecognized'],
  ['proxy', 'POST', '/LiveApp/whip/...', 'refuse:stream_unrecognized'],
  ['proxy', 'GET', '/LiveApp/streams/.../x.mpd', 'refuse:stream_unrecognized'],
  // Signalling path: the WebSocket door's alone.
  ['websocket', 'GET', '/LiveApp/websocket', 'signalling'],
  ['websocket', 'GET', '/SigApp/signal', 'signalling'],
  ['websocket', 'GET', '/SigApp/websocket', 'refuse:route_denied'],
  ['websocket', 'GET', '/LiveApp/WEBSOCKET', 'refuse:route_denied'],
  ['websocket', 'GET', '/LiveApp/streams/stream1.m3u8', 'refuse:route_denied'],
  ['proxy', 'GET', '/LiveApp/websocket', 'refuse:route_denied'],
  ['verify', 'GET', '/SigApp/signal', 'refuse:route_denied'],
  ['proxy', 'GET', '/SigApp/websocket', 'pass:static'],
  ['proxy', 'GET', '/LiveApp/play.html', 'pass:static'],
  ['verify', 'GET', '/LiveApp/rest/v2/broadcasts/x', 'refuse:route_denied'],
  // Outside the apps.
  ['proxy', 'GET', '/', 'refuse:route_denied'],
  ['proxy', 'GET', '/', 'pass:panel', { panel: true }],
  ['verify', 'GET', '/', 'refuse:route_denied', { panel: true }],
  ['proxy', 'GET', '/Nope/streams/stream1.m3u8', 'refuse:app_not_found'],
  ['proxy', 'GET', '/Nope/streams/stream1.m3u8', 'pass:panel', { panel: true }],
  ['websocket', 'GET', '/Nope/websocket', 'refuse:app_not_found'],
  // /verify ?role=: the operator states the role; a target of the other role is refused.
  ['verify', 'GET', '/LiveApp/whip/cam1', 'gated:publish:ingest:cam1', { role: 'publish' }],
  ['verify', 'GET', '/LiveApp/whip/cam1', 'refuse:route_denied', { role: 'play' }],
  ['verify', 'GET', '/LiveApp/streams/stream1.m3u8', 'refuse:route_denied', { role: 'publish' }],
  ['verify', 'GET', '/LiveApp/streams/stream1.m3u8', 'refuse:route_denied', { role: null }],
];

test('resolveTarget answers each row of the table', () => {
  const failures: string[] = [];
  for (const [door, method, path, want, opts] of rows) {
    const c = canonicalizeUrl(path, 2048);
    assert.ok(c.ok, path);
    const got = show(resolveTarget(apps, { door, method, segments: c.segments, role: opts?.role, isPanelClient: () => opts?.panel ?? false }));
    if (got !== want) failures.push(`${door} ${method} ${path}: ${got}, want ${want}`);
  }
  assert.deepEqual(failures, []);
});
