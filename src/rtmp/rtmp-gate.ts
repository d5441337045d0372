// Front door 4: RTMP ingest and playback (`rtmp.listen`), in front of the origin's RTMP port. Each
// connection: optional PROXY header (trusted load balancers only) → handshake → relay with the stream
// commands authorized by the same decision core and policy as every other door (connection.ts).
//
// Memory per connection is bounded: the handshake reads 3 KiB; held client bytes pause the socket
// past 256 KiB; a command message is assembled only up to `rtmp.maxCommandBytes`; media is never
// copied (the chunk reader counts over it). Timeouts: handshake, first authorized command, idle.
import net from 'node:net';
import { Counter, Gauge } from 'prom-client';
import type { Runtime } from '../runtime.js';
import { normalizeIp, compileCidrs } from '../request/client-ip.js';
import { createStreamAuthorizer } from '../ingest/stream-authorizer.js';
import { Inbox } from './inbox.js';
import { acceptHandshake } from './handshake.js';
import { readProxyHeader } from './proxy-header.js';
import { RtmpConnection, type ConnectionSummary } from './connection.js';

export interface RtmpGate {
  readonly server: net.Server;
  /** host:port the door listens on, once listening. */
  address(): string;
  readonly size: number;
  listen(): Promise<void>;
  /** Stops accepting; running connections continue until they end or `timeoutMs` passes. */
  shutdown(timeoutMs: number): Promise<void>;
}

function metricsFor(rt: Runtime) {
  const r = rt.metrics.registry;
  const get = <T>(name: string, make: () => T): T => (r.getSingleMetric(name) as T | undefined) ?? make();
  return {
    connections: get('streamgate_rtmp_connections', () => new Gauge({ name: 'streamgate_rtmp_connections', help: 'Open RTMP connections through the gate', registers: [r] })),
    closed: get('streamgate_rtmp_connections_closed_total', () => new Counter({ name: 'streamgate_rtmp_connections_closed_total', help: 'RTMP connections ended, by outcome and reason', labelNames: ['outcome', 'reason'], registers: [r] })),
    bytes: get('streamgate_rtmp_bytes_total', () => new Counter({ name: 'streamgate_rtmp_bytes_total', help: 'Bytes relayed by the RTMP door, by direction', labelNames: ['direction'], registers: [r] })),
  };
}

/** `rtmp://host:port` or `host:port` → host and port (default 1935). */
export function parseRtmpOrigin(value: string): { host: string; port: number } {
  const url = new URL(value.includes('://') ? value : `rtmp://${value}`);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : 1935 };
}

export function createRtmpGate(rt: Runtime): RtmpGate {
  const cfg = rt.config.rtmp;
  if (!cfg.origin) throw new TypeError('createRtmpGate: rtmp.origin is required');
  const m = metricsFor(rt);
  const origin = { ...parseRtmpOrigin(cfg.origin), connectTimeoutMs: cfg.originConnectTimeoutMs };
  const fromBalancer = compileCidrs(cfg.proxyProtocol.trustedCIDRs);
  const connections = new Set<RtmpConnection>();
  const sockets = new Set<net.Socket>();

  const deps = {
    origin,
    maxCommandBytes: cfg.maxCommandBytes,
    commandTimeoutMs: cfg.commandTimeoutMs,
    knowsApp: (app: string) => rt.apps.has(app),
    authorizer: createStreamAuthorizer(rt, 'rtmp'),
    grantParam: rt.config.session.param,
    onClose(conn: RtmpConnection, s: ConnectionSummary) {
      connections.delete(conn);
      m.connections.dec();
      m.closed.labels(s.outcome, s.reason).inc();
      m.bytes.labels('in').inc(s.bytesIn);
      m.bytes.labels('out').inc(s.bytesOut);
      rt.log.info({ door: 'rtmp', ip: conn.clientIp, app: s.app, stream: s.streamId, role: s.role, outcome: s.outcome, reason: s.reason, bytesIn: s.bytesIn, bytesOut: s.bytesOut, durationMs: s.durationMs }, 'rtmp connection closed');
    },
  };

  const onSocket = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    socket.setTimeout(cfg.idleTimeoutMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    void (async () => {
      const peer = normalizeIp(socket.remoteAddress ?? '');
      const inbox = new Inbox(socket, 64 * 1024);
      const deadline = Date.now() + cfg.handshakeTimeoutMs;
      let clientIp = peer;
      try {
        if (fromBalancer(peer)) clientIp = await readProxyHeader(inbox, peer, deadline);
        await acceptHandshake(socket, inbox, deadline);
      } catch (err) {
        rt.log.info({ door: 'rtmp', ip: peer, err: (err as Error).message }, 'rtmp handshake failed');
        m.closed.labels('deny', 'handshake_failed').inc();
        inbox.detach();
        socket.destroy();
        return;
      }
      if (socket.destroyed) return;
      m.connections.inc();
      const conn = new RtmpConnection(socket, clientIp, deps);
      connections.add(conn);
      conn.start(inbox.detach());
    })();
  };

  const server = net.createServer({ pauseOnConnect: false }, onSocket);
  server.maxConnections = cfg.maxConnections;

  return {
    server,
    get size() {
      return connections.size;
    },
    address() {
      const a = server.address() as net.AddressInfo | null;
      return a ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : '';
    },
    listen: () =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(cfg.listen.port, cfg.listen.host, () => {
          server.off('error', reject);
          resolve();
        });
      }),
    async shutdown(timeoutMs: number) {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Handshakes in progress have nothing to lose; running publishes may finish until the deadline.
      for (const s of sockets) if (![...connections].some((c) => c.client === s)) s.destroy();
      const timer = setTimeout(() => {
        for (const c of connections) c.end('NetConnection.Connect.AppShutdown', 'streamgate: shutting down', 'shutting_down');
        for (const s of sockets) s.destroy();
      }, timeoutMs);
      await stopped;
      clearTimeout(timer);
    },
  };
}
