// Shared by the front doors: who is the client, what did it send, what role does it ask for.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Runtime } from '../runtime.js';
import type { Credentials, FileKind, RequestContext, Role } from '../decision/types.js';
import { normalizeIp, resolveClientIp } from './client-ip.js';
import type { ForwardedFor } from '../proxy/forward.js';

export function peerAddress(req: IncomingMessage): string {
  return normalizeIp(req.socket.remoteAddress ?? '');
}

/** The client IP: the socket peer, or the forwarded one only when the peer is a trusted proxy. */
export function clientIpOf(rt: Runtime, req: IncomingMessage): string {
  return resolveClientIp(peerAddress(req), req.headers, rt.isTrustedProxy);
}

/**
 * The client IP a `/verify` caller reports: its X-Forwarded-For (walked right to left past hops that
 * are allowed callers or trusted proxies) or X-Real-IP. Only meaningful once the peer was checked
 * against `verify.allowedCallers`; never used by the proxy or WebSocket doors.
 */
export function verifyClientIpOf(rt: Pick<Runtime, 'isVerifyCaller' | 'isTrustedProxy'>, req: IncomingMessage): string {
  return resolveClientIp(peerAddress(req), req.headers, (ip) => rt.isVerifyCaller(ip) || rt.isTrustedProxy(ip));
}

/** X-Forwarded-* for the origin: a trusted proxy's chain is extended, anyone else's is replaced. */
export function forwardedFor(rt: Runtime, req: IncomingMessage): ForwardedFor {
  const peer = peerAddress(req);
  const h: IncomingHttpHeaders = req.headers;
  const trusted = rt.isTrustedProxy(peer);
  const prior = trusted ? h['x-forwarded-for'] : undefined;
  const priorText = Array.isArray(prior) ? prior.join(', ') : prior;
  const proto = trusted && typeof h['x-forwarded-proto'] === 'string' ? h['x-forwarded-proto'] : 'http';
  const host = trusted && typeof h['x-forwarded-host'] === 'string' ? h['x-forwarded-host'] : h.host;
  const realIp = trusted ? resolveClientIp(peer, h, rt.isTrustedProxy) : peer;
  return { forwardedFor: priorText ? `${priorText}, ${peer}` : peer, proto, host, realIp };
}

export function roleForMethod(method: string): Role | null {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return 'play';
    case 'POST':
    case 'PUT':
    case 'PATCH':
    case 'DELETE':
      return 'publish';
    default:
      return null;
  }
}

export function buildContext(a: {
  app: string;
  streamIds: readonly string[];
  role: Role;
  kind: FileKind;
  clientIp: string;
  credentials: Credentials;
  method: string;
}): RequestContext {
  return {
    app: a.app,
    streamId: a.streamIds[0] ?? '',
    streamIds: a.streamIds,
    role: a.role,
    kind: a.kind,
    clientIp: a.clientIp,
    credentials: a.credentials,
    // HEAD checks but never consumes (a player probing a URL must not burn its one-time token).
    consume: a.method !== 'HEAD',
    now: Date.now(),
  };
}
