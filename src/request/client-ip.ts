// Client IP resolution and CIDR matching (reference §6, §13.9). Ant Media trusts X-Forwarded-For from
// any private-range peer and X-Real-IP from anyone; here forwarding headers count only when the TCP
// peer is an explicitly trusted proxy, and an IPv4-mapped IPv6 address is always its IPv4 form, so
// `::ffff:10.0.0.1` cannot slip past an IPv4 rule.
import type { IncomingHttpHeaders } from 'node:http';
import ipaddr from 'ipaddr.js';

export type IpMatcher = (ip: string) => boolean;

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Strict dotted-quad parse to an unsigned 32-bit number. ipaddr.parse also accepts `127.1`, hex and
 * octal (`010.0.0.1` = 8.0.0.1); header values spelled like that are refused, not reinterpreted.
 */
function parseIPv4(s: string): number | null {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code === 0x2e) {
      if (digits === 0 || ++dots > 3) return null;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (code >= 0x30 && code <= 0x39) {
      if (digits === 1 && octet === 0) return null; // leading zero
      octet = octet * 10 + (code - 0x30);
      if (++digits > 3 || octet > 255) return null;
    } else {
      return null;
    }
  }
  if (dots !== 3 || digits === 0) return null;
  return value * 256 + octet;
}

function ipv4ToNumber(address: ipaddr.IPv4): number {
  const [a = 0, b = 0, c = 0, d = 0] = address.octets;
  return ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
}

/** Parse one address: IPv4-mapped IPv6 becomes IPv4, a `%zone` is dropped. null when not an IP. */
function parseAddress(raw: string): { v4: number } | { v6: ipaddr.IPv6 } | null {
  const zone = raw.indexOf('%');
  const s = zone >= 0 ? raw.slice(0, zone) : raw;
  if (s.indexOf(':') < 0) {
    const v4 = parseIPv4(s);
    return v4 === null ? null : { v4 };
  }
  if (!ipaddr.IPv6.isValid(s)) return null;
  const v6 = ipaddr.IPv6.parse(s);
  return v6.isIPv4MappedAddress() ? { v4: ipv4ToNumber(v6.toIPv4Address()) } : { v6 };
}

function v4String(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Canonical text of an address: IPv4-mapped → IPv4, zone id stripped, IPv6 in RFC 5952 form. */
export function normalizeIp(addr: string): string {
  const trimmed = addr.trim();
  const parsed = parseAddress(trimmed);
  if (parsed === null) {
    const zone = trimmed.indexOf('%');
    return zone >= 0 ? trimmed.slice(0, zone) : trimmed;
  }
  return 'v4' in parsed ? v4String(parsed.v4) : parsed.v6.toString();
}

interface V4Range {
  network: number;
  mask: number;
}

/**
 * Compile CIDR entries (`10.0.0.0/8`, `2001:db8::/32`, a bare address = /32 or /128) into a matcher.
 * Entries are parsed once here; an invalid entry throws (config validation should have caught it:
 * silently dropping it would widen or narrow a security list without anyone noticing).
 */
export function compileCidrs(list: readonly string[]): IpMatcher {
  const v4: V4Range[] = [];
  const v6: [ipaddr.IPv6, number][] = [];
  for (const entry of list) {
    const text = entry.trim();
    let address: Address;
    let prefix: number;
    try {
      if (text.includes('/')) {
        [address, prefix] = ipaddr.parseCIDR(text);
      } else {
        address = ipaddr.parse(text.split('%')[0] ?? text);
        prefix = address.kind() === 'ipv4' ? 32 : 128;
      }
    } catch (cause) {
      throw new Error(`not a valid IP address or CIDR: ${JSON.stringify(entry)}`, { cause });
    }
    // `::ffff:a.b.c.d/104` is an IPv4 rule in disguise: compare it with IPv4 clients.
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96) {
      address = (address as ipaddr.IPv6).toIPv4Address();
      prefix -= 96;
    }
    if (address.kind() === 'ipv4') {
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      v4.push({ network: (ipv4ToNumber(address as ipaddr.IPv4) & mask) >>> 0, mask });
    } else {
      v6.push([address as ipaddr.IPv6, prefix]);
    }
  }

  return (ip: string): boolean => {
    const parsed = parseAddress(ip.trim());
    if (parsed === null) return false;
    if ('v4' in parsed) {
      for (const range of v4) if (((parsed.v4 & range.mask) >>> 0) === range.network) return true;
      return false;
    }
    for (const [network, prefix] of v6) if (parsed.v6.match(network, prefix)) return true;
    return false;
  };
}

/** Whether the TCP peer is one of our trusted proxies. */
export function isTrustedPeer(peer: string, trusted: IpMatcher): boolean {
  return trusted(normalizeIp(peer));
}

/** One X-Forwarded-For / X-Real-IP entry, as a normalized IP, or null when malformed. */
function parseForwardedEntry(raw: string): string | null {
  let s = raw.trim();
  // Some proxies (Azure App Gateway) append a port: `1.2.3.4:5678`, `[2001:db8::1]:5678`.
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return null;
    const after = s.slice(close + 1);
    if (after !== '' && !/^:\d{1,5}$/.test(after)) return null;
    s = s.slice(1, close);
    if (!s.includes(':')) return null; // brackets wrap IPv6 only
  } else {
    const colon = s.indexOf(':');
    if (colon >= 0 && colon === s.lastIndexOf(':')) {
      if (!/^\d{1,5}$/.test(s.slice(colon + 1))) return null;
      s = s.slice(0, colon);
    }
  }
  return parseAddress(s) === null ? null : normalizeIp(s);
}

function headerText(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * The client address for policy and logs. Headers are believed only when the peer is trusted:
 * X-Forwarded-For is walked right-to-left past trusted hops, the first untrusted entry is the client
 * (all trusted: the leftmost). Without X-Forwarded-For, X-Real-IP. A malformed entry on the walk
 * means the chain cannot be trusted, so the answer falls back to the peer.
 */
export function resolveClientIp(peer: string, headers: IncomingHttpHeaders, trusted: IpMatcher): string {
  const peerIp = normalizeIp(peer);
  if (!trusted(peerIp)) return peerIp;

  const forwarded = headerText(headers['x-forwarded-for']);
  if (forwarded !== undefined && forwarded.trim() !== '') {
    const entries = forwarded.split(',');
    let leftmost: string | null = null;
    for (let i = entries.length - 1; i >= 0; i--) {
      const raw = entries[i] ?? '';
      if (raw.trim() === '') continue;
      const ip = parseForwardedEntry(raw);
      if (ip === null) return peerIp;
      if (!trusted(ip)) return ip;
      leftmost = ip;
    }
    return leftmost ?? peerIp;
  }

  const realIp = headerText(headers['x-real-ip']);
  if (realIp !== undefined) return parseForwardedEntry(realIp) ?? peerIp;
  return peerIp;
}
