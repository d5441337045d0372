// The admin listener: liveness, readiness (store reachable or revocations synced, config loaded) and Prometheus metrics,
// kept off the public port. The management API (issue 5) mounts here too.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Runtime } from '../runtime.js';
import { Reason } from '../errors.js';
import { sendJson, sendReason } from '../proxy/respond.js';

export type AdminRoute = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export function createAdminHandler(rt: Runtime, state: { draining: boolean }, extra: AdminRoute[] = []) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?', 1)[0];
    try {
      if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (path === '/readyz') {
        if (state.draining) return sendJson(res, 503, { status: 'draining' });
        try {
          await rt.store.ping();
          return sendJson(res, 200, { status: 'ready', store: rt.store.kind, apps: [...rt.apps.keys()] });
        } catch {
          // Hash, JWT and grant playback run on the last-known revocation epochs: a replica that has
          // synced them once stays in the Service while the store is down (else a store outage
          // would take every replica out at once). Single-use credentials still answer 503.
          if (rt.revocations.ready) return sendJson(res, 200, { status: 'degraded', store: 'unavailable', apps: [...rt.apps.keys()] });
          return sendJson(res, 503, { status: 'not_ready', reason: 'store_unavailable' });
        }
      }
      if (path === '/metrics') {
        const body = await rt.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': rt.metrics.registry.contentType, 'cache-control': 'no-store' });
        res.end(body);
        return;
      }
      for (const route of extra) if (await route(req, res)) return;
      sendReason(res, 'proxy', Reason.routeUnknown);
    } catch (err) {
      rt.log.error({ err }, 'admin request failed');
      if (!res.headersSent) sendReason(res, 'proxy', Reason.internalError);
      else res.destroy();
    }
  };
}
