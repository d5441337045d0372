// Assembles a running gate from a validated config: store, runtime, public and admin listeners,
// and a graceful stop (stop accepting, drain in-flight requests, then close the store).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema.js';
import { createStore } from './store/index.js';
import type { Store } from './store/store.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { createRuntime, type Runtime } from './runtime.js';
import { createPublicRouter } from './server/router.js';
import { createAdminHandler } from './admin/admin-server.js';
import { createWsGate, type WsGate } from './ws/ws-gate.js';
import { managementRoute } from './api/router.js';
import { trackConnections } from './server/drain.js';
import { createRtmpGate, type RtmpGate } from './rtmp/rtmp-gate.js';
import { createSrtGate, type SrtGate } from './srt/srt-gate.js';
import { withAccessLog, withUpgradeLog } from './server/access-log.js';

export interface RunningGate {
  runtime: Runtime;
  /** http://host:port of the public listener. */
  url: string;
  adminUrl: string | null;
  publicServer: http.Server;
  adminServer: http.Server | null;
  /** The signalling WebSocket gate on the public listener. */
  wsGate: WsGate;
  /** The RTMP door, when `rtmp.enabled`. */
  rtmpGate: RtmpGate | null;
  /** The SRT door, when `srt.enabled`. */
  srtGate: SrtGate | null;
  /** Stops accepting, waits for in-flight requests (up to drainTimeoutMs), closes everything. */
  close(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  store?: Store;
  /** Default metrics include process collectors; tests starting many gates turn them off. */
  defaultMetrics?: boolean;
}

function listen(server: http.Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
    });
  });
}

export async function startGate(config: Config, opts: StartOptions = {}): Promise<RunningGate> {
  const log = opts.log ?? createLogger(config.log.level);
  const store = opts.store ?? createStore(config.store);
  const runtime = createRuntime(config, { store, log, metrics: createMetrics(opts.defaultMetrics ?? true) });
  const state = { draining: false };

  // Every public request: an access log line, RED metrics per door and a request id.
  const httpGate = withAccessLog(runtime, createPublicRouter(runtime));
  const requestTimeoutMs = config.limits.requestTimeoutMs;
  const publicServer = http.createServer(
    // A request (headers and body) must arrive within requestTimeoutMs; Node wants headersTimeout ≤ it.
    { keepAliveTimeout: 65_000, requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs ? Math.min(30_000, requestTimeoutMs) : 30_000 },
    httpGate,
  );
  const connections = trackConnections(publicServer);
  // With an 'upgrade' listener Node sends every Upgrade request there (e.g. curl's `h2c`): the
  // WebSocket gate hands the non-WebSocket ones back to the HTTP gate.
  const wsGate = createWsGate(runtime, httpGate);
  publicServer.on('upgrade', withUpgradeLog(runtime, wsGate.handleUpgrade));
  // The management API is always served on the admin listener (still behind the REST filter).
  const adminServer = config.admin.enabled ? http.createServer(createAdminHandler(runtime, state, [managementRoute(runtime)])) : null;
  const url = await listen(publicServer, config.listen.host, config.listen.port);
  const adminUrl = adminServer ? await listen(adminServer, config.admin.host, config.admin.port) : null;
  const rtmpGate = config.rtmp.enabled ? createRtmpGate(runtime) : null;
  await rtmpGate?.listen();
  const srtGate = config.srt.enabled ? createSrtGate(runtime) : null;
  await srtGate?.listen();
  runtime.playbackEnds.start();
  log.info({ url, adminUrl, rtmp: rtmpGate?.address() ?? null, srt: srtGate?.address() ?? null, store: store.kind, apps: [...runtime.apps.keys()], origin: config.origin.url ?? null }, 'streamgate listening');

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      state.draining = true;
      // Upgraded sockets count as open connections: close the relays (1001) or close() never returns.
      const wsClosed = wsGate.shutdown(config.shutdown.drainTimeoutMs);
      const rtmpClosed = rtmpGate?.shutdown(config.shutdown.drainTimeoutMs);
      const srtClosed = srtGate?.shutdown(config.shutdown.drainTimeoutMs);
      // Keep-alive connections end at a response boundary (Connection: close), never mid-request.
      const drained = connections.drain(config.shutdown.drainTimeoutMs);
      await wsClosed;
      await rtmpClosed;
      await srtClosed;
      await drained;
      if (adminServer) {
        adminServer.closeAllConnections();
        await new Promise<void>((resolve) => adminServer.close(() => resolve()));
      }
      await runtime.pool?.close().catch(() => undefined);
      // Hand this replica's live sessions to the store, so any replica reports their end.
      await runtime.playbackEnds.stop().catch(() => undefined);
      runtime.revocations.close();
      await store.close().catch(() => undefined);
      log.info('streamgate stopped');
    })());

  return { runtime, url, adminUrl, publicServer, adminServer, wsGate, rtmpGate, srtGate, close };
}
