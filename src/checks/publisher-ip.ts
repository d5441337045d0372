// Publisher IP allowlist (Ant Media `allowedPublisherCIDR`, here for WebSocket, WHIP and HTTP ingest
// too, IPv4 and IPv6). The client IP is already trusted-proxy resolved by the front door.
import { Reason } from '../errors.js';
import type { CheckResult, RequestContext } from '../decision/types.js';

export function checkPublisherIp(ctx: RequestContext, allowed: (ip: string) => boolean): CheckResult {
  return allowed(ctx.clientIp) ? { ok: true } : { ok: false, status: 403, reason: Reason.ipNotAllowed };
}
