// Playback grant codec: golden vectors pin the wire format (replicas of different versions must agree),
// then round trips, tampering, rotation, expiry edges, injection attempts and garbage.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createGrantCodec, GRANT_MAX_LENGTH, newSessionId, type Grant } from '../../src/session/grant.js';

const SECRET_A = 'streamgate-test-secret-A-0123456789abcdef';
const SECRET_B = 'streamgate-test-secret-B-fedcba9876543210';
const NOW = 1767225600; // 2026-01-01T00:00:00Z

const full: Grant = {
  app: 'LiveApp',
  streamId: 'stream1',
  role: 'play',
  subscriberId: 'viewer-42',
  sessionId: 'q5Jr1Yb3d0Fg8LmN',
  issuedAt: NOW,
  expiresAt: NOW + 60,
  sessionStartedAt: NOW - 3600,
  credentialExpiresAt: NOW + 3600,
  clientIp: '203.0.113.7',
  epochs: { stream: 3, subscriber: 1 },
  generation: 'G3n-1_x',
};
const minimal: Grant = {
  app: 'LiveApp',
  streamId: 'stream1',
  role: 'publish',
  sessionId: 'q5Jr1Yb3d0Fg8LmN',
  issuedAt: NOW,
  expiresAt: NOW + 60,
  sessionStartedAt: NOW,
  epochs: { stream: 0, subscriber: 0 },
  generation: 'g',
};

// Computed independently (Python hmac/base64) from the documented format; a change here breaks
// every grant in flight during a rolling deploy, so it needs a new version prefix instead.
const GOLDEN_FULL =
  'v2.TGl2ZUFwcHxzdHJlYW0xfHB8dmlld2VyLTQyfHE1SnIxWWIzZDBGZzhMbU58dDg1czAwfHQ4NXMxb3x0ODVwODB8dDg1dXMwfDIwMy4wLjExMy43fDN8MXxHM24tMV94.HGp1Q7ggOHTLeapXca-rgA';
const GOLDEN_MINIMAL =
  'v2.TGl2ZUFwcHxzdHJlYW0xfHV8fHE1SnIxWWIzZDBGZzhMbU58dDg1czAwfHQ4NXMxb3x0ODVzMDB8fHwwfDB8Zw.6ZpQYzIn4pr5Nu3TifvXNQ';

const codecA = createGrantCodec([SECRET_A]);

/** Signs an arbitrary payload text exactly as the codec would (to test what a valid MAC cannot excuse). */
function forge(secret: string, payloadText: string): string {
  const key = createHmac('sha256', secret).update('streamgate playback grant v1').digest();
  const signed = `v2.${Buffer.from(payloadText, 'utf8').toString('base64url')}`;
  return `${signed}.${createHmac('sha256', key).update(signed).digest().subarray(0, 16).toString('base64url')}`;
}

function payloadOf(value: string): string {
  return Buffer.from(value.split('.')[1] as string, 'base64url').toString('utf8');
}

describe('grant wire format', () => {
  it('signs the golden vectors byte for byte', () => {
    assert.equal(codecA.sign(full), GOLDEN_FULL);
    assert.equal(codecA.sign(minimal), GOLDEN_MINIMAL);
    assert.equal(
      payloadOf(GOLDEN_FULL),
      'LiveApp|stream1|p|viewer-42|q5Jr1Yb3d0Fg8LmN|t85s00|t85s1o|t85p80|t85us0|203.0.113.7|3|1|G3n-1_x',
    );
    assert.equal(payloadOf(GOLDEN_MINIMAL), 'LiveApp|stream1|u||q5Jr1Yb3d0Fg8LmN|t85s00|t85s1o|t85s00|||0|0|g');
  });

  it('verifies the golden vectors to the exact grants', () => {
    assert.deepEqual(codecA.verify(GOLDEN_FULL, NOW), { ok: true, grant: full });
    assert.deepEqual(codecA.verify(GOLDEN_MINIMAL, NOW), { ok: true, grant: minimal });
  });
});

describe('round trip', () => {
  const variants: Array<[string, Grant]> = [
    ['every field set', full],
    ['only required fields', minimal],
    ['app', { ...full, app: 'WebRTCAppEE' }],
    ['streamId with Ant Media punctuation', { ...full, streamId: 'cam_01.front-door' }],
    ['role publish', { ...full, role: 'publish' }],
    ['subscriberId unicode', { ...full, subscriberId: 'zoë@example.com' }],
    ['sessionId', { ...full, sessionId: newSessionId() }],
    ['issuedAt 0', { ...full, issuedAt: 0 }],
    ['expiresAt max safe integer', { ...full, expiresAt: Number.MAX_SAFE_INTEGER }],
    ['sessionStartedAt', { ...full, sessionStartedAt: 1 }],
    ['credentialExpiresAt 0', { ...full, credentialExpiresAt: 0 }],
    ['clientIp IPv6', { ...full, clientIp: '2001:db8::ff00:42:8329' }],
    ['epochs large', { ...full, epochs: { stream: 2 ** 40, subscriber: 987654321 } }],
    ['session grant (scope manifest)', { ...full, scope: 'manifest' }],
  ];
  for (const [name, grant] of variants) {
    it(name, () => {
      const signed = codecA.sign(grant);
      assert.match(signed, /^v2\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
      assert.deepEqual(codecA.verify(signed, Math.min(grant.expiresAt - 1, NOW)), { ok: true, grant });
    });
  }

  it('a session grant is role code m; scope exists for play only', () => {
    assert.match(payloadOf(codecA.sign({ ...full, scope: 'manifest' })), /^LiveApp\|stream1\|m\|/);
    assert.throws(() => codecA.sign({ ...minimal, scope: 'manifest' }), /role or scope/);
  });

  it('treats an empty optional string as absent', () => {
    const r = codecA.verify(codecA.sign({ ...minimal, subscriberId: '', clientIp: '' }), NOW);
    assert.deepEqual(r, { ok: true, grant: minimal });
  });

  it('stays well under the length cap for realistic grants', () => {
    const big = { ...full, subscriberId: 'x'.repeat(128), clientIp: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' };
    assert.ok(codecA.sign(big).length < GRANT_MAX_LENGTH / 2);
  });
});

describe('injection attempts', () => {
  it('a delimiter in streamId or subscriberId cannot forge another field', () => {
    const evil: Grant = {
      ...full,
      streamId: 'stream1|u',
      // shaped like the rest of a payload, trying to push a far expiry into place
      subscriberId: 'x|q5Jr1Yb3d0Fg8LmN|0|zzzzzzzzzz|0||1.2.3.4|0|0',
    };
    const signed = codecA.sign(evil);
    assert.equal(payloadOf(signed).split('|').length, 13);
    assert.equal(
      payloadOf(signed),
      'LiveApp|stream1%7Cu|p|x%7Cq5Jr1Yb3d0Fg8LmN%7C0%7Czzzzzzzzzz%7C0%7C%7C1.2.3.4%7C0%7C0|q5Jr1Yb3d0Fg8LmN|t85s00|t85s1o|t85p80|t85us0|203.0.113.7|3|1|G3n-1_x',
    );
    assert.deepEqual(codecA.verify(signed, NOW), { ok: true, grant: evil });
  });

  it('escape sequences typed by a user come back literally', () => {
    const tricky: Grant = { ...full, streamId: 'a%7Cb%25c%', subscriberId: '%%|%7C' };
    assert.deepEqual(codecA.verify(codecA.sign(tricky), NOW), { ok: true, grant: tricky });
  });

  it('a correctly MACed but malformed payload is still rejected', () => {
    const bad = [
      'LiveApp|stream1|p||sess|t85s00|t85s1o|t85s00|||0|0', // 12 fields
      'LiveApp|stream1|p||sess|t85s00|t85s1o|t85s00|||0|0|g|extra', // 14 fields
      'LiveApp|stream1|x||sess|t85s00|t85s1o|t85s00|||0|0|g', // unknown role
      '|stream1|p||sess|t85s00|t85s1o|t85s00|||0|0|g', // empty app
      'LiveApp||p||sess|t85s00|t85s1o|t85s00|||0|0|g', // empty streamId
      'LiveApp|stream1|p|||t85s00|t85s1o|t85s00|||0|0|g', // empty sessionId
      'LiveApp|stream1|p||sess|T85S00|t85s1o|t85s00|||0|0|g', // upper-case base36
      'LiveApp|stream1|p||sess|-1|t85s1o|t85s00|||0|0|g', // negative
      'LiveApp|stream1|p||sess|t85s00||t85s00|||0|0|g', // missing expiresAt
      'LiveApp|stream1|p||sess|t85s00|zzzzzzzzzzz|t85s00|||0|0|g', // beyond 2^53
      'LiveApp|stream1|p||sess|t85s00|t85s1o|t85s00|||0| 1|g', // space
      'LiveApp|stream1%7|p||sess|t85s00|t85s1o|t85s00|||0|0|g', // escape we never write
      'LiveApp|stream1%41|p||sess|t85s00|t85s1o|t85s00|||0|0|g',
      'LiveApp|stream1|p||sess|t85s00|t85s1o|t85s00|||0|0|', // empty generation
    ];
    for (const payload of bad) assert.deepEqual(codecA.verify(forge(SECRET_A, payload), NOW), { ok: false, reason: 'grant_invalid' }, payload);
    // the forge helper itself is faithful:
    assert.equal(forge(SECRET_A, payloadOf(GOLDEN_FULL)), GOLDEN_FULL);
  });
});

describe('tampering, keys and expiry', () => {
  const invalid = { ok: false, reason: 'grant_invalid' };

  it('any changed payload character, MAC character or version is rejected', () => {
    const dot = GOLDEN_FULL.lastIndexOf('.');
    for (let i = 0; i < GOLDEN_FULL.length; i++) {
      if (i === 2 || i === dot) continue; // the separators themselves are covered below
      const c = GOLDEN_FULL[i] === 'A' ? 'B' : 'A';
      const tampered = GOLDEN_FULL.slice(0, i) + c + GOLDEN_FULL.slice(i + 1);
      assert.deepEqual(codecA.verify(tampered, NOW), invalid, `position ${i}`);
    }
    for (const v of ['v1', 'V2', 'v3']) assert.deepEqual(codecA.verify(v + GOLDEN_FULL.slice(2), NOW), invalid);
    assert.deepEqual(codecA.verify(GOLDEN_FULL.replace('.', '_'), NOW), invalid);
  });

  it('every truncation and any extension is rejected', () => {
    for (let n = 0; n < GOLDEN_FULL.length; n++) assert.deepEqual(codecA.verify(GOLDEN_FULL.slice(0, n), NOW), invalid, `length ${n}`);
    for (const suffix of ['A', '=', '==', ' ', '\n', '.']) assert.deepEqual(codecA.verify(GOLDEN_FULL + suffix, NOW), invalid);
  });

  it('rejects non-canonical spellings of the same MAC bytes', () => {
    // The last character carries 4 spare bits: `A` (0) and `B` (1) decode to the same 16 bytes.
    const mac = GOLDEN_FULL.slice(-22);
    assert.equal(mac.at(-1), 'A');
    const twin = `${GOLDEN_FULL.slice(0, -1)}B`;
    assert.deepEqual(Buffer.from(twin.slice(-22), 'base64url'), Buffer.from(mac, 'base64url'));
    assert.deepEqual(codecA.verify(twin, NOW), invalid);
  });

  it('a grant signed with another key is rejected', () => {
    const codecB = createGrantCodec([SECRET_B]);
    assert.deepEqual(codecB.verify(GOLDEN_FULL, NOW), invalid);
    assert.deepEqual(codecA.verify(codecB.sign(full), NOW), invalid);
  });

  it('rotation: the new key signs, old and new keys both verify', () => {
    const rotated = createGrantCodec([SECRET_B, SECRET_A]);
    assert.deepEqual(rotated.verify(GOLDEN_FULL, NOW), { ok: true, grant: full }); // minted before rotation
    const fresh = rotated.sign(full);
    assert.notEqual(fresh, GOLDEN_FULL);
    assert.deepEqual(createGrantCodec([SECRET_B]).verify(fresh, NOW), { ok: true, grant: full });
    assert.deepEqual(codecA.verify(fresh, NOW), invalid); // a replica still on the old key set
  });

  it('expires exactly at expiresAt (valid while now < expiresAt)', () => {
    const exp = full.expiresAt;
    assert.equal(codecA.verify(GOLDEN_FULL, exp - 1).ok, true);
    assert.deepEqual(codecA.verify(GOLDEN_FULL, exp), { ok: false, reason: 'grant_expired' });
    assert.deepEqual(codecA.verify(GOLDEN_FULL, exp + 1), { ok: false, reason: 'grant_expired' });
    assert.deepEqual(codecA.verify(GOLDEN_FULL, Number.NaN), { ok: false, reason: 'grant_expired' });
  });

  it('a tampered expired grant is invalid, not expired (the MAC is checked first)', () => {
    const tampered = GOLDEN_FULL.slice(0, 10) + (GOLDEN_FULL[10] === 'A' ? 'B' : 'A') + GOLDEN_FULL.slice(11);
    assert.deepEqual(codecA.verify(tampered, full.expiresAt + 100), invalid);
  });

  it('a grant verified (or signed) once still expires, and its neighbours still fail, on later checks', () => {
    const codec = createGrantCodec([SECRET_A]);
    const value = codec.sign(full); // signing remembers it as authentic
    assert.deepEqual(codec.verify(value, NOW), { ok: true, grant: full });
    assert.deepEqual(codec.verify(value, full.expiresAt), { ok: false, reason: 'grant_expired' });
    const flipped = value.slice(0, -2) + (value.at(-2) === 'A' ? 'B' : 'A') + value.at(-1);
    assert.deepEqual(codec.verify(flipped, NOW), invalid);
    // The grant handed out is shared between requests: changing it throws instead of leaking.
    const got = codec.verify(GOLDEN_FULL, NOW);
    assert.ok(got.ok);
    assert.throws(() => ((got.grant as { streamId: string }).streamId = 'other'), TypeError);
    assert.throws(() => ((got.grant.epochs as { stream: number }).stream = 9), TypeError);
    assert.deepEqual(codecA.verify(GOLDEN_FULL, NOW), { ok: true, grant: full });
  });

  it('garbage is rejected as grant_invalid', () => {
    const garbage: unknown[] = [
      '', 'v1', 'v1.', 'v1..', 'v1.a.b', '...', 'v1.' + '.'.repeat(23), `v1..${'A'.repeat(22)}`,
      `v1.${'A'.repeat(GRANT_MAX_LENGTH)}.${'A'.repeat(22)}`, `v1.abc.${'!'.repeat(22)}`, `v1.abc.${'A'.repeat(21)}=`,
      `v1.abc.${'A'.repeat(20)} A`, 'v1.é.ü', '\u0000'.repeat(40), 'null', 'undefined',
      undefined, null, 42, {}, [GOLDEN_FULL], Buffer.from(GOLDEN_FULL),
    ];
    for (const g of garbage) assert.deepEqual(codecA.verify(g as string, NOW), invalid, String(g));
  });
});

describe('construction and misuse', () => {
  it('needs at least one secret of 32+ characters', () => {
    assert.throws(() => createGrantCodec([]), TypeError);
    assert.throws(() => createGrantCodec(['too-short']), TypeError);
    assert.throws(() => createGrantCodec([SECRET_A, '']), TypeError);
  });

  it('sign() refuses grants it could not represent', () => {
    const bad: Array<Partial<Record<keyof Grant, unknown>>> = [
      { app: '' }, { streamId: '' }, { sessionId: '' }, { role: 'admin' }, { subscriberId: 7 },
      { issuedAt: -1 }, { expiresAt: 1.5 }, { sessionStartedAt: Number.NaN }, { credentialExpiresAt: 2 ** 53 },
      { epochs: { stream: -1, subscriber: 0 } }, { epochs: { stream: 0, subscriber: Infinity } },
    ];
    for (const patch of bad) assert.throws(() => codecA.sign({ ...full, ...patch } as Grant), TypeError, JSON.stringify(patch));
  });

  it('newSessionId gives 96 random bits, base64url, no repeats', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const id = newSessionId();
      assert.match(id, /^[A-Za-z0-9_-]{16}$/);
      seen.add(id);
    }
    assert.equal(seen.size, 10_000);
  });
});

describe('hot path', () => {
  it('100k verifies of a valid grant (ops/s in the diagnostics)', (t) => {
    const rotated = createGrantCodec([SECRET_B, SECRET_A]);
    const current = rotated.sign(full);
    const measure = (codec: typeof rotated, value: string): number => {
      for (let i = 0; i < 10_000; i++) codec.verify(value, NOW); // warm-up: JIT
      const started = process.hrtime.bigint();
      let ok = 0;
      for (let i = 0; i < 100_000; i++) if (codec.verify(value, NOW).ok) ok++;
      const ns = Number(process.hrtime.bigint() - started);
      assert.equal(ok, 100_000);
      return 100_000 / (ns / 1e9);
    };
    const first = measure(rotated, current);
    const second = measure(rotated, GOLDEN_FULL);
    const garbage = (() => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < 100_000; i++) rotated.verify('v1.not-a-grant', NOW);
      return 100_000 / (Number(process.hrtime.bigint() - started) / 1e9);
    })();
    t.diagnostic(`grant verify, current key: ${Math.round(first)} ops/s (${(1e6 / first).toFixed(2)} µs/op)`);
    t.diagnostic(`grant verify, previous key (2 HMACs): ${Math.round(second)} ops/s (${(1e6 / second).toFixed(2)} µs/op)`);
    t.diagnostic(`grant verify, malformed input: ${Math.round(garbage)} ops/s`);
  });
});
