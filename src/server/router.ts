// The public listener's router, above the doors: canonicalize the request-target once, then hand
// the request to /verify, to the management API / REST filter, or to the proxy door. The gate owns
// CORS on app paths, so every answer below (forwarded, rewritten or a deny) carries the app's CORS
// headers and no one else's. An exception that escapes a door is a 500 `internal_error`, logged at
// `error` with its stack — never a 503 that would tell the client to retry.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Reason } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { canonicalizeUrl } from '../request/canonical-path.js';
import { clientIpOf } from '../request/context.js';
import { resolveTarget } from '../authorize/target.js';
import { forwardUnchecked, proxyTarget } from '../proxy/http-gate.js';
import { sendReason } from '../proxy/respond.js';
import { answerPreflight, bindCors } from '../proxy/cors.js';
import { handleVerify, isVerifyTarget } from '../verify/verify-endpoint.js';
import { handleRest } from '../api/router.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createPublicRouter(rt: Runtime): RequestHandler {
  return (req, res) => {
    route(rt, req, res).catch((err: unknown) => {
      rt.log.error({ err, method: req.method }, 'request failed');
      if (!res.headersSent) sendReason(res, 'proxy', Reason.internalError);
      else res.destroy();
    });
  };
}

async function route(rt: Runtime, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // `/verify` and Envoy's `/verify/<original path>` answer 401/403, never 400: matched before the path
  // is canonicalized (the original path inside is canonicalized by /verify itself).
  if (isVerifyTarget(req.url ?? '/')) return handleVerify(rt, req, res);
  const canonical = canonicalizeUrl(req.url ?? '/', rt.config.limits.maxUriBytes);
  if (!canonical.ok) return sendReason(res, 'proxy', canonical.reason);

  const target = resolveTarget(rt.apps, {
    door: 'proxy',
    method: req.method ?? 'GET',
    segments: canonical.segments,
    isPanelClient: () => rt.isPanelClient(clientIpOf(rt.isTrustedProxy, req)),
  });
  const app = 'app' in target ? (target.app ?? null) : null;
  if (app) {
    const cors = rt.cors.get(app.name)!;
    if (answerPreflight(cors, req, res)) return;
    bindCors(res, cors, req);
  }
  if (target.type === 'rest') {
    // REST filter first; then the management API answers, or the origin's REST API gets it.
    if ((await handleRest(rt, target.app, req, res, canonical, target.rest, 'public')) === 'forward') forwardUnchecked(rt, req, res, canonical);
    return;
  }
  return proxyTarget(rt, req, res, canonical, target);
}
