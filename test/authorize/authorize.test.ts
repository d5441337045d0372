// authorize() as a non-HTTP door calls it (RTMP/SRT build their own target) and as the HTTP doors
// do: decide, then the playback-session step, then one recorded outcome.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize } from '../../src/authorize/authorize.js';
import { gatedTarget } from '../../src/authorize/target.js';
import { createRuntime } from '../../src/runtime.js';
import { parseConfig } from '../../src/config/load.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { HASH_SECRET, SESSION_SECRET } from '../helpers/gate.js';

const hash = { enabled: true, secret: HASH_SECRET };
const store = new MemoryStore();
after(() => store.close());
const rt = createRuntime(
  parseConfig(JSON.stringify({ session: { secrets: [SESSION_SECRET] }, apps: { LiveApp: { play: { hash }, publish: { hash } } } }), {}),
  { store, log: createLogger('silent'), metrics: createMetrics(false) },
);
const app = rt.apps.get('LiveApp')!;
const client = { clientIp: '192.0.2.7', consume: true };

async function counted(labels: string): Promise<number> {
  const text = await rt.metrics.registry.metrics();
  return text.split('\n').filter((l) => l.startsWith('streamgate_decisions_total{') && l.includes(labels)).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
}

test('a door that builds its own target (an RTMP publish) gets a decision, recorded under its door', async () => {
  const target = gatedTarget(app, 'publish', 'ingest', ['cam1']);
  const ok = await authorize(rt, 'rtmp', target, { ...client, credentials: { token: hashToken('cam1', 'publish', HASH_SECRET) } });
  assert.equal(ok.decision.allow, true);
  assert.equal(ok.grant, undefined, 'publishing opens no playback session');
  const no = await authorize(rt, 'rtmp', target, { ...client, credentials: { token: hashToken('cam1', 'play', HASH_SECRET) } });
  assert.deepEqual(no.decision, { allow: false, status: 401, reason: 'token_invalid' });
  assert.equal(await counted('outcome="allow",reason="ok",via="hash",door="rtmp"'), 1);
  assert.equal(await counted('outcome="deny",reason="token_invalid",via="none",door="rtmp"'), 1);
});

test('a playlist GET opens a playback session: the grant and its cookie come back with the decision', async () => {
  const r = await authorize(rt, 'proxy', gatedTarget(app, 'play', 'manifest', ['stream1']), { ...client, credentials: { token: hashToken('stream1', 'play', HASH_SECRET) }, path: '/LiveApp/streams/stream1.m3u8' });
  assert.equal(r.decision.allow, true);
  assert.ok(r.grant?.value);
  // One cookie per stream: sg_grant_<hash of the stream id>.
  assert.match(r.grant.setCookie ?? '', /^sg_grant_[A-Za-z0-9_-]{11}=.*Path=\/LiveApp\/streams\//);
  const cookie = (r.grant.setCookie ?? '').split(';')[0]!;
  // The grant alone then opens a segment of that stream, as a cookie or a parameter.
  const seg = await authorize(rt, 'verify', gatedTarget(app, 'play', 'segment', ['stream1']), { ...client, credentials: {}, cookieHeader: `a=1; ${cookie}` });
  assert.equal(seg.decision.allow && seg.decision.via, 'grant');
  const other = await authorize(rt, 'proxy', gatedTarget(app, 'play', 'segment', ['stream2']), { ...client, credentials: { grant: r.grant.value } });
  assert.equal(!other.decision.allow && other.decision.reason, 'token_wrong_stream');
});

test('HEAD, segments and signalling open no session', async () => {
  const token = hashToken('stream1', 'play', HASH_SECRET);
  for (const [kind, consume] of [['manifest', false], ['segment', true], ['signalling', true]] as const) {
    const r = await authorize(rt, 'proxy', gatedTarget(app, 'play', kind, ['stream1']), { ...client, consume, credentials: { token } });
    assert.equal(r.decision.allow, true, kind);
    assert.equal(r.grant, undefined, `${kind} consume=${consume}`);
  }
});
