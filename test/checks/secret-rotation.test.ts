// Secret rotation without downtime for hash and JWT secrets: `secret` is a string or a list; the
// first signs, every entry verifies, anything else is refused; config errors name the entry.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { appSchema } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { checkHashToken, hashToken } from '../../src/checks/hash-token.js';
import { createJwtCheck } from '../../src/checks/jwt-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { testContext as ctx } from '../helpers/context.js';
import { HASH_SECRET, HASH_SECRET_NEXT, JWT_SECRET, JWT_SECRET_NEXT } from '../helpers/gate.js';

const nowS = () => Math.floor(Date.now() / 1000);
const store = new MemoryStore();
after(() => store.close());

function configIssues(apps: Record<string, unknown>): string[] {
  try {
    parseConfig(JSON.stringify({ apps }), {});
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

describe('secret lists in the config', () => {
  it('a plain string is a list of one (older configs keep working); a list keeps its order', () => {
    const app = appSchema.parse({ play: { hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: [JWT_SECRET_NEXT, JWT_SECRET] } }, rest: { jwt: { secret: JWT_SECRET } } });
    assert.deepEqual(app.play.hash.secret, [HASH_SECRET]);
    assert.deepEqual(app.play.jwt.secret, [JWT_SECRET_NEXT, JWT_SECRET]);
    assert.deepEqual(app.rest.jwt.secret, [JWT_SECRET]);
  });

  it('errors name the key of the bad entry', () => {
    assert.deepEqual(configIssues({ A: { play: { jwt: { enabled: true, secret: [JWT_SECRET, 'short'] } } } }), [
      'apps.A.play.jwt.secret[1]: must be at least 32 bytes (HS256 keys shorter than the hash are weak)',
    ]);
    assert.deepEqual(configIssues({ A: { publish: { jwt: { enabled: true, secret: 'short' } } } }), [
      'apps.A.publish.jwt.secret: must be at least 32 bytes (HS256 keys shorter than the hash are weak)',
    ]);
    assert.deepEqual(configIssues({ A: { rest: { jwt: { secret: [JWT_SECRET, 'y'] } } } }), [
      'apps.A.rest.jwt.secret[1]: must be at least 32 bytes (HS256 keys shorter than the hash are weak)',
    ]);
    assert.deepEqual(configIssues({ A: { play: { hash: { enabled: true, secret: [HASH_SECRET, ''] } } } }), ['apps.A.play.hash.secret[1]: must not be empty']);
    const empty = configIssues({ A: { play: { hash: { enabled: true, secret: [] } } } });
    assert.equal(empty.length, 1);
    assert.match(empty[0]!, /^apps\.A\.play\.hash\.secret: /);
  });
});

describe('hash tokens during a rotation', () => {
  const policy = { enabled: true, secret: [HASH_SECRET_NEXT, HASH_SECRET] };
  it('a hash made with the new or the old secret passes; any other secret does not', () => {
    assert.deepEqual(checkHashToken(hashToken('stream1', 'play', HASH_SECRET_NEXT), ctx(), policy), { ok: true, streamId: 'stream1' });
    assert.deepEqual(checkHashToken(hashToken('stream1', 'play', HASH_SECRET), ctx(), policy), { ok: true, streamId: 'stream1' });
    assert.equal(checkHashToken(hashToken('stream1', 'play', 'another-secret'), ctx(), policy).ok, false);
    // The stream and role bindings hold under every secret.
    assert.equal(checkHashToken(hashToken('stream10', 'play', HASH_SECRET), ctx(), policy).ok, false);
    assert.equal(checkHashToken(hashToken('stream1', 'publish', HASH_SECRET), ctx(), policy).ok, false);
  });
  it('after the old secret is dropped, its hashes stop passing', () => {
    assert.equal(checkHashToken(hashToken('stream1', 'play', HASH_SECRET), ctx(), { enabled: true, secret: [HASH_SECRET_NEXT] }).ok, false);
  });
});

describe('stream JWTs during a rotation', () => {
  const policy = (secret: string[]) => appSchema.parse({ play: { jwt: { enabled: true, secret } } }).play.jwt;
  const mint = (secret: string, exp = nowS() + 600) => mintStreamJwt(secret, { streamId: 'stream1', type: 'play', exp });

  it('tokens signed with any listed secret verify; others are token_invalid', async () => {
    const check = createJwtCheck(policy([JWT_SECRET_NEXT, JWT_SECRET]), store);
    for (const secret of [JWT_SECRET_NEXT, JWT_SECRET]) assert.equal((await check.check(await mint(secret), ctx())).ok, true, secret);
    assert.deepEqual(await check.check(await mint('a-third-secret-that-is-long-enough-0000'), ctx()), { ok: false, status: 401, reason: 'token_invalid' });
    assert.equal(check.keyResolver.stats().keyLookups, 3);
  });

  it('an expired token under the old secret is token_expired, not invalid; HS384 tries every secret too', async () => {
    const check = createJwtCheck({ ...policy([JWT_SECRET_NEXT, JWT_SECRET]), algorithms: ['HS256', 'HS384'], clockToleranceSeconds: 0 }, store);
    assert.deepEqual(await check.check(await mint(JWT_SECRET, nowS() - 5), ctx()), { ok: false, status: 401, reason: 'token_expired' });
    const hs384 = await new SignJWT({ streamId: 'stream1', type: 'play' }).setProtectedHeader({ alg: 'HS384' }).setExpirationTime(nowS() + 60).sign(new TextEncoder().encode(JWT_SECRET));
    assert.equal((await check.check(hs384, ctx())).ok, true);
  });

  it('a single-secret policy still verifies with one key and no retry', async () => {
    const check = createJwtCheck(policy([JWT_SECRET]), store);
    assert.equal((await check.check(await mint(JWT_SECRET), ctx())).ok, true);
    assert.equal((await check.check(await mint(JWT_SECRET_NEXT), ctx())).ok, false);
  });
});
