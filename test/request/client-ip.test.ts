import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { compileCidrs, isTrustedPeer, normalizeIp, resolveClientIp } from '../../src/request/client-ip.js';

describe('normalizeIp', () => {
  const cases: [input: string, expected: string][] = [
    ['1.2.3.4', '1.2.3.4'],
    [' 1.2.3.4 ', '1.2.3.4'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:1.2.3.4', '1.2.3.4'],
    ['::ffff:0102:0304', '1.2.3.4'],
    ['0:0:0:0:0:ffff:7f00:1', '127.0.0.1'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['fe80::1%25eth0', 'fe80::1'],
    ['not-an-ip', 'not-an-ip'],
    ['', ''],
  ];
  for (const [input, expected] of cases) {
    it(JSON.stringify(input), () => assert.equal(normalizeIp(input), expected));
  }
});

describe('compileCidrs', () => {
  const cases: [cidrs: string[], ip: string, expected: boolean][] = [
    [['10.0.0.0/8'], '10.1.2.3', true],
    [['10.0.0.0/8'], '11.0.0.0', false],
    [['10.0.0.0/8'], '::ffff:10.1.2.3', true], // IPv4-mapped matches its IPv4 form
    [['10.0.0.0/8'], '::ffff:0a01:0203', true],
    [['192.168.1.7'], '192.168.1.7', true], // bare address = /32
    [['192.168.1.7'], '192.168.1.8', false],
    [['192.168.1.0/24'], '192.168.1.255', true],
    [['192.168.1.0/24'], '192.168.2.0', false],
    [['0.0.0.0/0'], '203.0.113.9', true],
    [['0.0.0.0/0'], '::ffff:203.0.113.9', true],
    [['0.0.0.0/0'], '2001:db8::1', false], // IPv4 rules never match IPv6
    [['::/0'], '2001:db8::1', true],
    [['::/0'], '::1', true],
    [['::/0'], '1.2.3.4', false], // IPv6 rules never match IPv4
    [['::/0'], '::ffff:1.2.3.4', false], // a mapped address is IPv4
    [['::1'], '::1', true], // bare address = /128
    [['::1'], '::2', false],
    [['2001:db8::/32'], '2001:db8:ffff::1', true],
    [['2001:db8::/32'], '2001:db9::1', false],
    [['fe80::/10'], 'fe80::1%eth0', true],
    [['::ffff:10.0.0.0/104'], '10.9.9.9', true], // mapped CIDR behaves as 10.0.0.0/8
    [['::ffff:10.0.0.0/104'], '11.0.0.1', false],
    [['127.0.0.1/32', '::1/128'], '::1', true],
    [['127.0.0.1/32', '::1/128'], '127.0.0.1', true],
    [['127.0.0.1/32', '::1/128'], '127.0.0.2', false],
    [[], '127.0.0.1', false], // empty list matches nothing
    // malformed candidates never match, even against match-all rules
    [['0.0.0.0/0', '::/0'], '', false],
    [['0.0.0.0/0', '::/0'], 'localhost', false],
    [['0.0.0.0/0', '::/0'], '127.1', false],
    [['0.0.0.0/0', '::/0'], '010.0.0.1', false],
    [['0.0.0.0/0', '::/0'], '0x7f.0.0.1', false],
    [['0.0.0.0/0', '::/0'], '1.2.3.4.5', false],
    [['0.0.0.0/0', '::/0'], '256.0.0.1', false],
    [['0.0.0.0/0', '::/0'], '1.2.3.4:80', false],
    [['0.0.0.0/0', '::/0'], '1..3.4', false],
  ];
  for (const [cidrs, ip, expected] of cases) {
    it(`${JSON.stringify(cidrs)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(ip)}`, () => {
      assert.equal(compileCidrs(cidrs)(ip), expected);
    });
  }

  for (const bad of ['10.0.0.0/33', 'not-a-cidr', '::/129', '1.2.3.4/']) {
    it(`throws on ${JSON.stringify(bad)} instead of dropping it`, () => {
      assert.throws(() => compileCidrs(['10.0.0.0/8', bad]), /not a valid IP address or CIDR/);
    });
  }
});

describe('isTrustedPeer', () => {
  const trusted = compileCidrs(['10.0.0.0/8', '::1']);
  it('normalizes the peer before matching', () => {
    assert.equal(isTrustedPeer('::ffff:10.0.0.5', trusted), true);
    assert.equal(isTrustedPeer('0:0:0:0:0:0:0:1', trusted), true);
    assert.equal(isTrustedPeer('203.0.113.1', trusted), false);
  });
});

describe('resolveClientIp', () => {
  const trusted = compileCidrs(['10.0.0.0/8', '::1', '2001:db8:aaaa::/48']);
  const cases: [label: string, peer: string, headers: IncomingHttpHeaders, expected: string][] = [
    // untrusted peers: headers are ignored whatever they say (reference §6.3 spoofing)
    ['untrusted peer, no headers', '203.0.113.7', {}, '203.0.113.7'],
    ['untrusted peer spoofs XFF', '203.0.113.7', { 'x-forwarded-for': '127.0.0.1' }, '203.0.113.7'],
    ['untrusted peer spoofs X-Real-IP', '203.0.113.7', { 'x-real-ip': '10.0.0.1' }, '203.0.113.7'],
    ['untrusted IPv4-mapped peer is reported as IPv4', '::ffff:203.0.113.7', { 'x-forwarded-for': '1.1.1.1' }, '203.0.113.7'],
    ['untrusted IPv6 peer', '2001:db8:bbbb::5', { 'x-forwarded-for': '1.1.1.1' }, '2001:db8:bbbb::5'],
    // trusted peers: walk XFF right-to-left past trusted hops
    ['trusted peer, single hop', '10.0.0.2', { 'x-forwarded-for': '198.51.100.4' }, '198.51.100.4'],
    ['trusted mapped peer', '::ffff:10.0.0.2', { 'x-forwarded-for': '198.51.100.4' }, '198.51.100.4'],
    ['client-forged entries left of the real client are ignored', '10.0.0.2', { 'x-forwarded-for': '127.0.0.1, 10.9.9.9, 198.51.100.4, 10.0.0.3' }, '198.51.100.4'],
    ['spaces and no spaces', '10.0.0.2', { 'x-forwarded-for': '198.51.100.4,10.0.0.3 ,  10.0.0.4' }, '198.51.100.4'],
    ['all hops trusted → leftmost', '10.0.0.2', { 'x-forwarded-for': '10.1.1.1, 10.0.0.3' }, '10.1.1.1'],
    ['empty entries are skipped', '10.0.0.2', { 'x-forwarded-for': ', 198.51.100.4,, ' }, '198.51.100.4'],
    ['IPv6 client through an IPv6 proxy', '::1', { 'x-forwarded-for': '2001:db8:cccc::9, 2001:db8:aaaa::1' }, '2001:db8:cccc::9'],
    ['IPv4-mapped client entry', '10.0.0.2', { 'x-forwarded-for': '::ffff:198.51.100.4' }, '198.51.100.4'],
    ['mapped trusted hop is skipped', '10.0.0.2', { 'x-forwarded-for': '198.51.100.4, ::ffff:10.0.0.3' }, '198.51.100.4'],
    ['IPv4 with port (Azure style)', '10.0.0.2', { 'x-forwarded-for': '198.51.100.4:5678' }, '198.51.100.4'],
    ['bracketed IPv6 with port', '10.0.0.2', { 'x-forwarded-for': '[2001:db8:cccc::9]:443' }, '2001:db8:cccc::9'],
    ['zone id stripped', '10.0.0.2', { 'x-forwarded-for': 'fe80::1%eth0' }, 'fe80::1'],
    ['repeated header lines (array form)', '10.0.0.2', { 'x-forwarded-for': ['198.51.100.4', '10.0.0.3'] as unknown as string }, '198.51.100.4'],
    // malformed entries on the walk: the chain cannot be trusted, fall back to the peer
    ['malformed rightmost entry', '10.0.0.2', { 'x-forwarded-for': '198.51.100.4, unknown' }, '10.0.0.2'],
    ['malformed only entry', '10.0.0.2', { 'x-forwarded-for': 'garbage' }, '10.0.0.2'],
    ['obfuscated loopback 127.1', '10.0.0.2', { 'x-forwarded-for': '127.1' }, '10.0.0.2'],
    ['octal-looking address', '10.0.0.2', { 'x-forwarded-for': '010.0.0.1' }, '10.0.0.2'],
    ['bad port', '10.0.0.2', { 'x-forwarded-for': '198.51.100.4:http' }, '10.0.0.2'],
    ['unterminated bracket', '10.0.0.2', { 'x-forwarded-for': '[2001:db8::1' }, '10.0.0.2'],
    ['malformed entry left of the client is never reached', '10.0.0.2', { 'x-forwarded-for': 'junk, 198.51.100.4' }, '198.51.100.4'],
    // X-Real-IP only without X-Forwarded-For
    ['X-Real-IP from a trusted peer', '10.0.0.2', { 'x-real-ip': '198.51.100.4' }, '198.51.100.4'],
    ['X-Forwarded-For wins over X-Real-IP', '10.0.0.2', { 'x-forwarded-for': '198.51.100.4', 'x-real-ip': '198.51.100.9' }, '198.51.100.4'],
    ['blank XFF falls through to X-Real-IP', '10.0.0.2', { 'x-forwarded-for': ' ', 'x-real-ip': '198.51.100.9' }, '198.51.100.9'],
    ['malformed X-Real-IP', '10.0.0.2', { 'x-real-ip': '[1.2.3.4]' }, '10.0.0.2'],
    ['X-Real-IP list', '10.0.0.2', { 'x-real-ip': '1.2.3.4, 5.6.7.8' }, '10.0.0.2'],
    ['trusted peer, no headers', '10.0.0.2', {}, '10.0.0.2'],
  ];
  for (const [label, peer, headers, expected] of cases) {
    it(label, () => assert.equal(resolveClientIp(peer, headers, trusted), expected));
  }

  it('with no trusted proxies, headers never count', () => {
    const none = compileCidrs([]);
    assert.equal(resolveClientIp('127.0.0.1', { 'x-forwarded-for': '1.2.3.4', 'x-real-ip': '5.6.7.8' }, none), '127.0.0.1');
  });
});
