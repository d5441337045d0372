// Front door 3: the signalling WebSocket (`/{app}/{websocketPath}`). The client is accepted after
// the gate's own checks (route, upgrade headers, the per-address attempt limits); the origin leg is
// opened only when a first frame is to be forwarded (relay.ts), so refused clients never cost an
// origin connection. An origin that then refuses or fails closes the client with 1014 (bad gateway)
// and the origin's status in the reason. Both legs are relayed with every client frame inspected
// (signalling.ts).
//
// Memory per connection (HWM = 64 KiB high-water mark, F = largest message in that direction):
//   idle: two ws objects and two sockets; no per-message deflate (a zlib context costs far more than
//   the 64 KiB per idle connection we aim for).
//   per busy direction: HWM + 64 KiB (rest of the read being parsed when the pause took effect) + F
//   in the destination's write queue, + 16 KiB + 64 KiB in the paused source's read buffer, + F of
//   a partial message = 208 KiB + 2F. Client → origin (F ≤ ws.maxFrameBytes = 64 KiB): 336 KiB, plus
//   up to 4 × maxFrameBytes (256 KiB) of frames queued behind a pending decision. Origin → client:
//   F is the origin's message size (capped at ORIGIN_MAX_FRAME), ≈ 240 KiB for Ant Media's ≤ 16 KiB
//   messages. Measured with 16 KiB frames: 166–176 KiB (test/ws/backpressure.test.ts).
//   Everything beyond waits in kernel buffers and in the peer that is not being read.
import { ServerResponse, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { Counter, Gauge } from 'prom-client';
import type { Runtime } from '../runtime.js';
import { Reason, type ReasonCode } from '../errors.js';
import { errorWord, statusAt } from '../decision/reasons.js';
import { canonicalizeUrl } from '../request/canonical-path.js';
import { stripCredentials } from '../request/credentials.js';
import { clientIpOf, forwardedFor } from '../request/context.js';
import { resolveTarget } from '../authorize/target.js';
import type { AppRuntime } from '../decision/policy.js';
import { Relay } from './relay.js';
import { Signalling } from './signalling.js';

export const HIGH_WATER_MARK = 64 * 1024;
/** Cap for origin → client messages (Ant Media's largest are room/subscriber lists, a few KiB). */
export const ORIGIN_MAX_FRAME = 1024 * 1024;

export interface WsGate {
  /** `server.on('upgrade', gate.handleUpgrade)` */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Open relays. */
  readonly size: number;
  /** Bytes all relays hold in process memory (tests assert the bound above). */
  footprint(): number;
  /** Refuse new upgrades, close every relay with 1001, terminate what is left after timeoutMs. */
  shutdown(timeoutMs: number): Promise<void>;
}

interface WsMetrics {
  connections: Gauge;
  handshakes: Counter<'outcome'>;
  refusals: Counter<'definition'>;
  ended: Counter<'cause'>;
}

function metricsFor(rt: Runtime): WsMetrics {
  const r = rt.metrics.registry;
  // One gate per runtime in production; tests may build several on one registry.
  const get = <T>(name: string, make: () => T): T => (r.getSingleMetric(name) as T | undefined) ?? make();
  return {
    connections: get('streamgate_ws_connections', () => new Gauge({ name: 'streamgate_ws_connections', help: 'Open signalling WebSocket relays', registers: [r] })),
    handshakes: get('streamgate_ws_handshakes_total', () => new Counter({ name: 'streamgate_ws_handshakes_total', help: 'Signalling upgrades by outcome (ok, refused by the gate, origin status class, origin error)', labelNames: ['outcome'], registers: [r] })),
    refusals: get('streamgate_ws_refusals_total', () => new Counter({ name: 'streamgate_ws_refusals_total', help: 'Signalling commands refused, by error definition', labelNames: ['definition'], registers: [r] })),
    ended: get('streamgate_ws_streams_ended_total', () => new Counter({ name: 'streamgate_ws_streams_ended_total', help: 'Running streams ended by the gate (expired, revoked, blocked)', labelNames: ['cause'], registers: [r] })),
  };
}

/** Answer an upgrade request with a plain HTTP response and close the socket. */
function respond(socket: Duplex, status: number, body: string, contentType = 'application/json; charset=utf-8', extra = ''): void {
  if (socket.destroyed) return;
  const len = Buffer.byteLength(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nCache-Control: no-store\r\n${extra}Content-Type: ${contentType}\r\nContent-Length: ${len}\r\n\r\n${body}`,
  );
}

/** A refused handshake: the reason table's status and the JSON deny body of the HTTP doors. */
function refuse(socket: Duplex, reason: ReasonCode, extra?: string): void {
  const status = statusAt('websocket', reason);
  respond(socket, status, JSON.stringify({ error: errorWord(status), reason }), undefined, extra ?? (status === 503 ? 'Retry-After: 2\r\n' : ''));
}

/** The checks ws.handleUpgrade would make, done before an origin connection is spent on them. */
function badUpgrade(req: IncomingMessage): boolean {
  const key = req.headers['sec-websocket-key'];
  return (
    req.method !== 'GET' ||
    String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket' ||
    typeof key !== 'string' ||
    !/^[+/0-9A-Za-z]{22}==$/.test(key) ||
    (req.headers['sec-websocket-version'] !== '13' && req.headers['sec-websocket-version'] !== '8')
  );
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The client's subprotocols, or null when the header is malformed (ws would throw on them). */
function offeredProtocols(req: IncomingMessage): string[] | null {
  const raw = req.headers['sec-websocket-protocol'];
  if (raw === undefined) return [];
  const list = String(raw).split(',').map((p) => p.trim());
  if (list.some((p) => !TOKEN.test(p)) || new Set(list).size !== list.length) return null;
  return list;
}

/** Cookies for the origin, without streamgate's own grant cookie. */
function originCookie(value: string | undefined, own: string): string | undefined {
  if (!value) return undefined;
  const kept = value.split(';').filter((c) => c.trim().split('=', 1)[0] !== own);
  return kept.length ? kept.join(';').trim() : undefined;
}

/**
 * `fallback` answers Upgrade requests that are not WebSocket ones (Node routes every request with an
 * Upgrade header to the 'upgrade' event once anyone listens to it) — only bodiless methods: the
 * body of an upgrade request is no longer parsed by Node.
 */
export function createWsGate(rt: Runtime, fallback?: (req: IncomingMessage, res: ServerResponse) => void): WsGate {
  const m = metricsFor(rt);
  const relays = new Set<Relay>();
  let draining = false;
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: rt.config.ws.maxFrameBytes,
    autoPong: false,
    // The origin is asked later, for the one protocol the client got (see openOrigin).
    handleProtocols: (offered) => offered.values().next().value ?? false,
  });

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    // An exception in an 'upgrade' listener would take the whole process down.
    try {
      upgrade(req, socket, head);
    } catch (err) {
      rt.log.error({ err }, 'signalling upgrade failed');
      refuse(socket, Reason.internalError);
    }
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const deny = (reason: ReasonCode) => {
      m.handshakes.labels('refused').inc();
      refuse(socket, reason);
    };
    if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket' && fallback && ['GET', 'HEAD', 'OPTIONS'].includes(req.method ?? '')) {
      return serveAsHttp(req, socket as Socket);
    }
    if (draining) return deny(Reason.shuttingDown);
    const canonical = canonicalizeUrl(req.url ?? '/', rt.config.limits.maxUriBytes);
    if (!canonical.ok) return deny(canonical.reason);
    const resolved = resolveTarget(rt.apps, { door: 'websocket', method: req.method ?? 'GET', segments: canonical.segments });
    if (resolved.type !== 'signalling') return deny(resolved.type === 'refuse' ? resolved.reason : Reason.routeDenied);
    const { app } = resolved;
    const offered = offeredProtocols(req);
    if (badUpgrade(req) || offered === null) return deny(Reason.upgradeInvalid);
    if (!rt.config.origin.url) return deny(Reason.originUnavailable);
    // Ant Media's credential parameters per origin.stripCredentials; the playback grant never.
    const query = stripCredentials(canonical.rawQuery, rt.config.session.param, !rt.config.origin.stripCredentials);
    const target = new URL(canonical.path + (query ? `?${query}` : ''), rt.config.origin.url.replace(/^http/, 'ws'));
    const clientIp = clientIpOf(rt.isTrustedProxy, req);
    if (!rt.attempts) return accept(app, req, socket, head, target.href, clientIp);
    // Locked-out addresses and upgrade floods are refused before anything is accepted.
    rt.attempts.upgrade(clientIp).then(
      (locked) => {
        if (socket.destroyed) return;
        if (!locked) return accept(app, req, socket, head, target.href, clientIp);
        m.handshakes.labels('limited').inc();
        refuse(socket, Reason.tooManyAttempts, `Retry-After: ${locked.retryAfterSeconds}\r\n`);
      },
      (err: unknown) => {
        rt.log.error({ err }, 'signalling attempt limiter failed');
        deny(Reason.storeUnavailable);
      },
    );
  }

  /** An ordinary HTTP exchange on the socket (the Upgrade header is ignored, as RFC 9110 allows). */
  function serveAsHttp(req: IncomingMessage, socket: Socket): void {
    if (!req.complete) req.push(null); // bodiless: end the request stream the parser left open
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.once('finish', () => socket.end());
    fallback!(req, res);
  }

  function accept(app: AppRuntime, req: IncomingMessage, socket: Duplex, head: Buffer, url: string, clientIp: string): void {
    if (draining) return refuse(socket, Reason.shuttingDown);
    wss.handleUpgrade(req, socket, head, (client) => start(app, req, client, url, clientIp));
  }

  /** Opens the origin leg for a relay whose client has something to forward. */
  function openOrigin(app: AppRuntime, req: IncomingMessage, relay: Relay, url: string): void {
    const fwd = forwardedFor(rt.isTrustedProxy, req);
    const headers: Record<string, string> = { 'x-forwarded-for': fwd.forwardedFor, 'x-forwarded-proto': fwd.proto };
    if (fwd.host) headers['x-forwarded-host'] = fwd.host;
    const cookie = originCookie(req.headers.cookie, rt.config.session.cookie.name);
    if (cookie) headers.cookie = cookie;
    if (typeof req.headers.origin === 'string') headers.origin = req.headers.origin;
    if (typeof req.headers['user-agent'] === 'string') headers['user-agent'] = req.headers['user-agent'];
    // Set by the server's access log (a trusted proxy's id, or a new one); W3C trace context passes through.
    for (const name of ['x-request-id', 'traceparent', 'tracestate']) {
      const v = req.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    const protocol = relay.client.protocol;
    const upstream = new WebSocket(url, protocol ? [protocol] : [], {
      headers,
      perMessageDeflate: false,
      maxPayload: Math.max(ORIGIN_MAX_FRAME, rt.config.ws.maxFrameBytes),
      handshakeTimeout: rt.config.origin.connectTimeoutMs + rt.config.origin.headersTimeoutMs,
      followRedirects: false,
      autoPong: false,
    });
    let settled = false;
    const fail = (outcome: string, reason: string) => {
      if (settled) return;
      settled = true;
      m.handshakes.labels(outcome).inc();
      upstream.terminate();
      // RFC 6455 registry: 1014 = the gateway got an invalid response from the upstream server.
      relay.originFailed(1014, reason);
    };
    upstream.once('unexpected-response', (creq, res) => {
      const status = res.statusCode ?? 502;
      res.resume();
      creq.destroy();
      fail(`origin_${Math.floor(status / 100)}xx`, `origin refused the WebSocket: HTTP ${status}`);
    });
    upstream.once('error', (err) => {
      const timeout = /timed out/i.test(err.message);
      rt.log.warn({ err: err.message, app: app.name }, 'signalling origin handshake failed');
      fail('origin_error', timeout ? Reason.originTimeout : Reason.originUnavailable);
    });
    upstream.once('open', () => {
      if (settled) return upstream.terminate();
      settled = true;
      if (draining) {
        upstream.terminate();
        return relay.originFailed(1001, 'server shutting down');
      }
      m.handshakes.labels('origin_ok').inc();
      relay.attachOrigin(upstream);
    });
  }

  function start(app: AppRuntime, req: IncomingMessage, client: WebSocket, url: string, clientIp: string): void {
    m.handshakes.labels('ok').inc();
    m.connections.inc();
    let signalling: Signalling | null = null;
    const relay: Relay = new Relay(client, {
      highWaterMark: HIGH_WATER_MARK,
      onClientMessage: (data, binary) => signalling!.onMessage(data, binary),
      openOrigin: () => openOrigin(app, req, relay, url),
      onEnd: ({ side, code }) => {
        relays.delete(relay);
        m.connections.dec();
        signalling?.close();
        rt.log.debug({ door: 'websocket', app: app.name, ip: clientIp, closedBy: side, code }, 'signalling closed');
      },
    });
    signalling = new Signalling(rt, app, clientIp, relay, {
      refused: (definition) => m.refusals.labels(definition).inc(),
      ended: (cause) => m.ended.labels(cause).inc(),
    });
    relays.add(relay);
  }

  async function shutdown(timeoutMs: number): Promise<void> {
    draining = true;
    const open = [...relays];
    for (const r of open) r.closeBoth(1001, 'server shutting down');
    const deadline = Date.now() + timeoutMs;
    // Both legs of every relay, so no close frame still in a write queue is cut by terminate().
    const lingering = () => open.some((r) => r.client.readyState !== WebSocket.CLOSED || (r.origin !== null && r.origin.readyState !== WebSocket.CLOSED));
    while (lingering() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const r of open) r.terminate();
    wss.close();
  }

  return {
    handleUpgrade,
    get size() {
      return relays.size;
    },
    footprint: () => [...relays].reduce((sum, r) => sum + r.footprint(), 0),
    shutdown,
  };
}
