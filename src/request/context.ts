// Shared by the HTTP doors: who is the client and what X-Forwarded-* the origin gets. Each helper
// takes the trusted-proxy matcher it needs, not the runtime.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { normalizeIp, resolveClientIp, type IpMatcher } from './client-ip.js';

/** X-Forwarded-* values for the origin. */
export interface ForwardedFor {
  /** Value for X-Forwarded-For (already includes the client when the peer is trusted). */
  forwardedFor: string;
  proto: string;
  host: string | undefined;
  /** Value for X-Real-IP: the client IP streamgate decided on (a client's own copy never passes). */
  realIp?: string | undefined;
}

export function peerAddress(req: IncomingMessage): string {
  return normalizeIp(req.socket.remoteAddress ?? '');
}

/** The client IP: the socket peer, or the forwarded one only when the peer is a trusted proxy. */
export function clientIpOf(isTrustedProxy: IpMatcher, req: IncomingMessage): string {
  return resolveClientIp(peerAddress(req), req.headers, isTrustedProxy);
}

/**
 * The client IP a `/verify` caller reports: its X-Forwarded-For (walked right to left past hops that
 * are allowed callers or trusted proxies) or X-Real-IP. Only meaningful once the peer was checked
 * against `verify.allowedCallers`; never used by the proxy or WebSocket doors.
 */
export function verifyClientIpOf(isVerifyCaller: IpMatcher, isTrustedProxy: IpMatcher, req: IncomingMessage): string {
  return resolveClientIp(peerAddress(req), req.headers, (ip) => isVerifyCaller(ip) || isTrustedProxy(ip));
}

/** X-Forwarded-* for the origin: a trusted proxy's chain is extended, anyone else's is replaced. */
export function forwardedFor(isTrustedProxy: IpMatcher, req: IncomingMessage): ForwardedFor {
  const peer = peerAddress(req);
  const h: IncomingHttpHeaders = req.headers;
  const trusted = isTrustedProxy(peer);
  const prior = trusted ? h['x-forwarded-for'] : undefined;
  const priorText = Array.isArray(prior) ? prior.join(', ') : prior;
  const proto = trusted && typeof h['x-forwarded-proto'] === 'string' ? h['x-forwarded-proto'] : 'http';
  const host = trusted && typeof h['x-forwarded-host'] === 'string' ? h['x-forwarded-host'] : h.host;
  const realIp = trusted ? resolveClientIp(peer, h, isTrustedProxy) : peer;
  return { forwardedFor: priorText ? `${priorText}, ${peer}` : peer, proto, host, realIp };
}
