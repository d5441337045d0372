import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Credentials } from '../../src/decision/types.js';
import { bearerToken, readCredentials, stripCredentials } from '../../src/request/credentials.js';

const GRANT = 'sg';

describe('readCredentials', () => {
  const cases: [rawQuery: string, expected: Credentials][] = [
    ['', {}],
    ['a=1&b=2', {}],
    ['token=abc', { token: 'abc' }],
    ['token=abc&subscriberId=u1&subscriberCode=123456&roomId=r1&sg=g.sig', {
      token: 'abc', subscriberId: 'u1', subscriberCode: '123456', roomId: 'r1', grant: 'g.sig',
    }],
    // first occurrence wins
    ['token=first&token=second', { token: 'first' }],
    ['subscriberId=a&x=1&subscriberId=b', { subscriberId: 'a' }],
    // an empty first occurrence still wins, and counts as absent
    ['token=&token=abc', {}],
    ['token&token=abc', {}],
    // values are decoded (form rules: '+' is a space)
    ['subscriberId=user%40example.com', { subscriberId: 'user@example.com' }],
    ['subscriberId=a+b', { subscriberId: 'a b' }],
    ['token=eyJhbGciOiJIUzI1NiJ9.eyJzIjoxfQ.sig-_', { token: 'eyJhbGciOiJIUzI1NiJ9.eyJzIjoxfQ.sig-_' }],
    ['token=a%3Db%3D', { token: 'a=b=' }],
    // undecodable values are kept raw so they fail verification, not vanish
    ['token=100%', { token: '100%' }],
    ['token=%E0%A4%A', { token: '%E0%A4%A' }],
    // names are compared decoded, like the servlet API does
    ['%74oken=abc', { token: 'abc' }],
    ['subscriber%49d=u1', { subscriberId: 'u1' }],
    // but not case-folded, and near-misses are not credentials
    ['Token=abc&TOKEN=def&tokens=x&xtoken=y&token_=z', {}],
    ['subscriber=u1&subscriberIds=u2', {}],
    // the grant parameter name is configurable and matched exactly
    ['sg=g1&sg=g2', { grant: 'g1' }],
    ['sgx=g1&xsg=g2', {}],
    // '=' inside values
    ['token=a=b', { token: 'a=b' }],
    ['&&token=abc&&', { token: 'abc' }],
  ];
  for (const [rawQuery, expected] of cases) {
    it(JSON.stringify(rawQuery), () => assert.deepEqual(readCredentials(rawQuery, GRANT), expected));
  }

  it('uses the configured grant parameter name', () => {
    assert.deepEqual(readCredentials('sg_grant=x&sg=y', 'sg_grant'), { grant: 'x' });
  });
});

describe('stripCredentials', () => {
  const cases: [rawQuery: string, expected: string][] = [
    ['', ''],
    ['a=1&b=2', 'a=1&b=2'],
    ['token=abc', ''],
    ['token=abc&subscriberId=u&subscriberCode=1&roomId=r&sg=g', ''],
    ['a=1&token=abc&b=2', 'a=1&b=2'],
    ['token=abc&a=1', 'a=1'],
    ['a=1&token=abc', 'a=1'],
    // every occurrence goes, not only the one that was read
    ['token=a&x=1&token=b', 'x=1'],
    ['%74oken=hidden&x=1', 'x=1'],
    ['token&x=1', 'x=1'],
    // other parameters byte-for-byte, including odd encodings and order
    ['z=%2F%2f&token=t&a=+&b=%zz&c', 'z=%2F%2f&a=+&b=%zz&c'],
    ['b=2&a=1&sg=g&c=3', 'b=2&a=1&c=3'],
    // near-misses stay
    ['Token=abc&tokens=x&sgx=1', 'Token=abc&tokens=x&sgx=1'],
    // nothing stripped: the input comes back as is, empty pairs included
    ['a=1&&b=2', 'a=1&&b=2'],
    ['a=%41', 'a=%41'],
  ];
  for (const [rawQuery, expected] of cases) {
    it(JSON.stringify(rawQuery), () => assert.equal(stripCredentials(rawQuery, GRANT), expected));
  }

  it('agrees with readCredentials: what is read is exactly what is stripped', () => {
    const queries = ['token=a&b=1', '%74oken=a&b=1', 'x=1&subscriberCode=2&sg=3', 'Token=a'];
    for (const q of queries) {
      const read = readCredentials(q, GRANT);
      const left = stripCredentials(q, GRANT);
      assert.deepEqual(readCredentials(left, GRANT), {}, q);
      assert.equal(Object.keys(read).length > 0, left !== q, q);
    }
  });

  it('keepAntMedia (origin.stripCredentials: false) keeps Ant Media parameters but never the grant', () => {
    const cases: [string, string][] = [
      ['token=abc&subscriberId=u&subscriberCode=1&roomId=r&sg=g', 'token=abc&subscriberId=u&subscriberCode=1&roomId=r'],
      ['sg=g', ''],
      ['a=1&%73g=g&token=t', 'a=1&token=t'],
      ['token=t&a=1', 'token=t&a=1'],
    ];
    for (const [q, expected] of cases) assert.equal(stripCredentials(q, GRANT, true), expected, q);
  });

  it('returns the very same string on the fast path', () => {
    const q = 'a=1&b=2&c=3';
    assert.equal(stripCredentials(q, GRANT), q);
  });
});

describe('bearerToken (RFC 6750 §2.1)', () => {
  const cases: [string | string[] | undefined, string | undefined][] = [
    ['Bearer abc.def-ghi_jkl~m+n/o==', 'abc.def-ghi_jkl~m+n/o=='],
    ['bearer tok', 'tok'], // the scheme is case-insensitive (RFC 9110 §11.1)
    ['BEARER  tok', 'tok'],
    ['Basic dXNlcjpwYXNz', undefined],
    ['Bearer', undefined],
    ['Bearer ', undefined],
    ['Bearer a b', undefined],
    ['Bearer a=b', undefined], // '=' only as padding at the end
    ['Bearer tok%20', undefined],
    ['tok', undefined], // a bare token is not the Bearer scheme
    [['Bearer a', 'Bearer b'], undefined], // several header lines
    [undefined, undefined],
  ];
  for (const [header, expected] of cases) {
    it(`${JSON.stringify(header)} → ${String(expected)}`, () => assert.equal(bearerToken(header), expected));
  }
});
