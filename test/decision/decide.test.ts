// decide() as a table: app policy × request context × store state → allow (via, factors) or deny
// (status, reason). Each row is one rule of "The decision" in the README. The store is the embedded
// MemoryStore (the product's in-process store, not a stand-in).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/decision/decide.js';
import { compileApps } from '../../src/decision/policy.js';
import { parseConfig } from '../../src/config/load.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { totpCode, totpKeyFor } from '../../src/checks/totp-subscriber.js';
import { REASONS } from '../../src/decision/reasons.js';
import type { Credentials, RequestContext, Role } from '../../src/decision/types.js';
import { HASH_SECRET, JWT_SECRET, TOTP_SECRET } from '../helpers/gate.js';
import { testContext } from '../helpers/context.js';

const hash = { enabled: true, secret: HASH_SECRET };
const jwt = { enabled: true, secret: JWT_SECRET };
const totp = { enabled: true, secret: TOTP_SECRET };
const config = parseConfig(
  JSON.stringify({
    apps: {
      Open: {},
      Hash: { play: { hash }, publish: { hash, allowedCIDRs: ['10.0.0.0/8'] } },
      Multi: { play: { oneTimeToken: true, hash, jwt } },
      Totp: { play: { totp } },
      TotpJwt: { play: { totp, jwt } },
      Reg: { publish: { acceptUndefinedStreams: false } },
    },
  }),
  {},
);
const store = new MemoryStore();
after(() => store.close());
const apps = compileApps(config, store);
const exp = () => Math.floor(Date.now() / 1000) + 600;
const code = (subscriberId: string, streamId: string, type: Role) =>
  totpCode(totpKeyFor({ policy: { secret: TOTP_SECRET, derivation: 'antmedia', periodSeconds: 60 }, subscriberId, streamId, type })!.key, 60, Date.now());

interface Row {
  name: string;
  app: string;
  role?: Role;
  ctx?: Partial<RequestContext>;
  credentials: () => Promise<Credentials> | Credentials;
  /** 'allow:<via>' or the deny reason. */
  want: string;
  factors?: string[];
}

let onceSeq = 0;
async function onceToken(app: string, streamId: string, type: Role): Promise<string> {
  const tokenId = `once-${process.pid}-${++onceSeq}`;
  await store.saveToken(app, { tokenId, streamId, type, expireDate: exp() });
  return tokenId;
}

await store.blockSubscriber('Open', 'stream1', 'blocked-1', 'play', Date.now() + 60_000);
await store.blockSubscriber('Hash', 'stream1', 'blocked-1', 'play', Date.now() + 60_000);

const rows: Row[] = [
  { name: 'open role, no credential', app: 'Open', credentials: () => ({}), want: 'allow:open', factors: [] },
  { name: 'open role, blocked named subscriber', app: 'Open', credentials: () => ({ subscriberId: 'blocked-1' }), want: 'subscriber_blocked' },
  { name: 'hash: missing token', app: 'Hash', credentials: () => ({}), want: 'token_missing' },
  { name: 'hash: right stream and role', app: 'Hash', credentials: () => ({ token: hashToken('stream1', 'play', HASH_SECRET) }), want: 'allow:hash', factors: ['hash'] },
  { name: 'hash: other stream', app: 'Hash', credentials: () => ({ token: hashToken('stream2', 'play', HASH_SECRET) }), want: 'token_invalid' },
  { name: 'hash: other role', app: 'Hash', credentials: () => ({ token: hashToken('stream1', 'publish', HASH_SECRET) }), want: 'token_invalid' },
  { name: 'hash: stream1 never opens stream10', app: 'Hash', ctx: { streamId: 'stream10', streamIds: ['stream10'] }, credentials: () => ({ token: hashToken('stream1', 'play', HASH_SECRET) }), want: 'token_invalid' },
  { name: 'hash: blocked subscriber is refused before the token', app: 'Hash', credentials: () => ({ token: hashToken('stream1', 'play', HASH_SECRET), subscriberId: 'blocked-1' }), want: 'subscriber_blocked' },
  { name: 'publish: address outside allowedCIDRs', app: 'Hash', role: 'publish', credentials: () => ({ token: hashToken('stream1', 'publish', HASH_SECRET) }), want: 'ip_not_allowed' },
  { name: 'publish: address inside allowedCIDRs', app: 'Hash', role: 'publish', ctx: { clientIp: '10.1.2.3' }, credentials: () => ({ token: hashToken('stream1', 'publish', HASH_SECRET) }), want: 'allow:hash' },
  { name: 'multi: a JWT is dispatched to the JWT check', app: 'Multi', credentials: async () => ({ token: await mintStreamJwt(JWT_SECRET, { streamId: 'stream1', type: 'play', exp: exp() }) }), want: 'allow:jwt', factors: ['jwt'] },
  { name: 'multi: a JWT for another stream', app: 'Multi', credentials: async () => ({ token: await mintStreamJwt(JWT_SECRET, { streamId: 'stream2', type: 'play', exp: exp() }) }), want: 'token_wrong_stream' },
  { name: 'multi: a hash', app: 'Multi', credentials: () => ({ token: hashToken('stream1', 'play', HASH_SECRET) }), want: 'allow:hash' },
  { name: 'multi: a one-time token', app: 'Multi', credentials: async () => ({ token: await onceToken('Multi', 'stream1', 'play') }), want: 'allow:oneTimeToken', factors: ['oneTimeToken'] },
  { name: 'multi: a one-time token for another role', app: 'Multi', credentials: async () => ({ token: await onceToken('Multi', 'stream1', 'publish') }), want: 'token_wrong_role' },
  { name: 'multi: an unknown token', app: 'Multi', credentials: () => ({ token: 'no-such-token' }), want: 'token_invalid' },
  { name: 'multi: an ambiguous file name is opened by a credential for either reading', app: 'Multi', ctx: { streamId: 's', streamIds: ['s', 's_240p'] }, credentials: () => ({ token: hashToken('s_240p', 'play', HASH_SECRET) }), want: 'allow:hash' },
  { name: 'totp: missing subscriber', app: 'Totp', credentials: () => ({}), want: 'subscriber_missing' },
  { name: 'totp: wrong code', app: 'Totp', credentials: () => ({ subscriberId: 'sub-1', subscriberCode: '000000' }), want: 'subscriber_code_invalid' },
  { name: 'totp: right code', app: 'Totp', credentials: () => ({ subscriberId: 'sub-1', subscriberCode: code('sub-1', 'stream1', 'play') }), want: 'allow:totp', factors: ['totp'] },
  { name: 'totp + jwt: both factors needed, token missing', app: 'TotpJwt', credentials: () => ({ subscriberId: 'sub-1', subscriberCode: code('sub-1', 'stream1', 'play') }), want: 'token_missing' },
  {
    name: 'totp + jwt: both present, factors in order',
    app: 'TotpJwt',
    credentials: async () => ({ subscriberId: 'sub-1', subscriberCode: code('sub-1', 'stream1', 'play'), token: await mintStreamJwt(JWT_SECRET, { streamId: 'stream1', type: 'play', exp: exp() }) }),
    want: 'allow:jwt',
    factors: ['jwt', 'totp'],
  },
  { name: 'publish to an unregistered stream', app: 'Reg', role: 'publish', credentials: () => ({}), want: 'stream_not_registered' },
];

test('decide() answers each row of the table', async () => {
  const failures: string[] = [];
  for (const row of rows) {
    const role = row.role ?? 'play';
    const ctx = testContext({ app: row.app, role, kind: role === 'play' ? 'manifest' : 'ingest', ...row.ctx, credentials: await row.credentials() });
    const d = await decide(ctx, apps.get(row.app)![role], { store });
    const got = d.allow ? `allow:${d.via}` : d.reason;
    if (got !== row.want) failures.push(`${row.name}: ${got}, want ${row.want}`);
    if (d.allow && row.factors && JSON.stringify(d.factors) !== JSON.stringify(row.factors)) failures.push(`${row.name}: factors ${JSON.stringify(d.factors)}`);
    if (!d.allow && d.status !== REASONS[d.reason].status) failures.push(`${row.name}: status ${d.status}, the reason table says ${REASONS[d.reason].status}`);
  }
  assert.deepEqual(failures, []);
});

test('HEAD checks a one-time token without consuming it; the next GET consumes it once', async () => {
  const multiToken = await onceToken('Multi', 'stream1', 'play');
  const head = testContext({ app: 'Multi', consume: false, credentials: { token: multiToken } });
  assert.equal((await decide(head, apps.get('Multi')!.play, { store })).allow, true, 'HEAD checks');
  const get = testContext({ app: 'Multi', credentials: { token: multiToken } });
  assert.equal((await decide(get, apps.get('Multi')!.play, { store })).allow, true, 'HEAD did not consume it');
  // Spent: another client is refused; the client that spent it may re-present it (same session).
  const again = await decide(testContext({ app: 'Multi', clientIp: '192.0.2.7', credentials: { token: multiToken } }), apps.get('Multi')!.play, { store });
  assert.equal(again.allow ? 'allow' : again.reason, 'token_used');
  const same = await decide(testContext({ app: 'Multi', credentials: { token: multiToken } }), apps.get('Multi')!.play, { store });
  assert.equal(same.allow && same.resumed, true);
});
