// A real WebSocket origin on loopback that answers signalling the way Ant Media does for the
// commands the gate cares about: `publish` → `start` + `notification publish_started`, `play` →
// `notification play_started`, `stop` echoed, `ping` → `pong`, `join`/`joinRoom`/`getTrackList`
// answered. It records every frame and handshake, can refuse handshakes with a status, close with
// a code, and serves `GET /{app}/rest/v2/broadcasts/{id}` (200 when known, 404 not).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

export interface SeenFrame {
  /** Which origin-side connection (1-based, in accept order). */
  conn: number;
  text: string | null;
  binary: Buffer | null;
}

export interface TestWsOrigin {
  /** http://127.0.0.1:port — the gate's origin.url. */
  url: string;
  port: number;
  frames: SeenFrame[];
  /** Request headers and URL of every accepted or refused handshake. */
  handshakes: { url: string; headers: http.IncomingHttpHeaders }[];
  /** Origin-side sockets, in accept order. */
  sockets: WebSocket[];
  /** Pings received (payload as text), per connection. */
  pings: { conn: number; data: string }[];
  /** Close codes/reasons the origin saw, per connection. */
  closes: { conn: number; code: number; reason: string }[];
  /** Answer the next handshakes with this status (null: accept). */
  refuseWith: { status: number; body?: string } | null;
  /** Known broadcasts for the REST registry, `${app}/${id}`. */
  broadcasts: Set<string>;
  restCalls: string[];
  /** Frames of a command seen so far (parsed), e.g. framesOf('stop'). */
  framesOf(command: string): Record<string, unknown>[];
  /** Resolves when `pred` holds (polls every 10 ms, rejects after `ms`). */
  until(pred: () => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startTestWsOrigin(): Promise<TestWsOrigin> {
  const o = {
    frames: [] as SeenFrame[],
    handshakes: [] as TestWsOrigin['handshakes'],
    sockets: [] as WebSocket[],
    pings: [] as TestWsOrigin['pings'],
    closes: [] as TestWsOrigin['closes'],
    refuseWith: null as TestWsOrigin['refuseWith'],
    broadcasts: new Set<string>(),
    restCalls: [] as string[],
  };
  const server = http.createServer((req, res) => {
    const m = /^\/([^/]+)\/rest\/v2\/broadcasts\/([^/?]+)$/.exec(req.url ?? '');
    if (m) {
      o.restCalls.push(req.url ?? '');
      const known = o.broadcasts.has(`${m[1]}/${decodeURIComponent(m[2]!)}`);
      res.writeHead(known ? 200 : 404, { 'content-type': 'application/json' });
      return res.end(known ? JSON.stringify({ streamId: decodeURIComponent(m[2]!) }) : '{"success":false}');
    }
    // Any other path (WHIP, HLS): a plain 200 so tests can tell "forwarded" from a gate refusal.
    res.writeHead(200, { 'content-type': 'text/plain' }).end('origin');
  });
  const wss = new WebSocketServer({ noServer: true, autoPong: false, handleProtocols: (p) => [...p][0] ?? false });
  server.on('upgrade', (req, socket, head) => {
    o.handshakes.push({ url: req.url ?? '', headers: req.headers });
    if (o.refuseWith) {
      const body = o.refuseWith.body ?? 'refused';
      socket.end(`HTTP/1.1 ${o.refuseWith.status} ${http.STATUS_CODES[o.refuseWith.status]}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws));
  });

  function accept(ws: WebSocket): void {
    o.sockets.push(ws);
    const conn = o.sockets.length;
    const send = (msg: Record<string, unknown>) => ws.readyState === 1 && ws.send(JSON.stringify(msg));
    ws.on('ping', (d: Buffer) => {
      o.pings.push({ conn, data: d.toString() });
      ws.pong(d);
    });
    ws.on('close', (code: number, reason: Buffer) => o.closes.push({ conn, code, reason: reason.toString() }));
    ws.on('error', () => undefined);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = data as Buffer;
      if (isBinary) {
        o.frames.push({ conn, text: null, binary: buf });
        return ws.send(buf, { binary: true });
      }
      const text = buf.toString();
      if (text === WARM_UP) return; // opens the gate's origin leg; not part of any test's traffic
      o.frames.push({ conn, text, binary: null });
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return; // the original ignores what it cannot parse
      }
      const streamId = msg.streamId;
      switch (msg.command) {
        case 'publish':
          send({ command: 'start', streamId });
          return send({ command: 'notification', definition: 'publish_started', streamId });
        case 'play':
          return send({ command: 'notification', definition: 'play_started', streamId });
        case 'stop':
          return send({ command: 'stop', streamId });
        case 'ping':
          return send({ command: 'pong' });
        case 'join':
          return send({ command: 'notification', definition: 'joined', streamId });
        case 'joinRoom':
          return send({ command: 'notification', definition: 'joinedTheRoom', room: msg.room, streamId });
        case 'getTrackList':
          return send({ command: 'trackList', streamId, trackList: [] });
        case 'echo':
          return ws.send(buf, { binary: false });
        case 'closeMe':
          return ws.close(Number(msg.code), String(msg.reason ?? ''));
        case 'dropMe':
          return ws.terminate();
      }
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin: TestWsOrigin = {
    ...o,
    url: `http://127.0.0.1:${port}`,
    port,
    get refuseWith() {
      return o.refuseWith;
    },
    set refuseWith(v) {
      o.refuseWith = v;
    },
    framesOf: (command) =>
      o.frames
        .filter((f) => f.text !== null)
        .map((f) => {
          try {
            return JSON.parse(f.text!) as Record<string, unknown>;
          } catch {
            return {};
          }
        })
        .filter((m) => m.command === command),
    until: async (pred, ms = 3000) => {
      const t0 = Date.now();
      while (!pred()) {
        if (Date.now() - t0 > ms) throw new Error('condition not met in time');
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of o.sockets) ws.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return origin;
}

export interface TestWsClient {
  ws: WebSocket;
  /** Text frames received, in order. */
  texts: string[];
  binaryBytes: number;
  /** The next text frame not yet returned by next() (waits up to `ms`). */
  next(ms?: number): Promise<string>;
  /** Parsed next(). */
  nextJson(ms?: number): Promise<Record<string, unknown>>;
  send(msg: Record<string, unknown> | string): void;
  closed: Promise<{ code: number; reason: string }>;
}

export class HandshakeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`handshake refused with ${status}`);
  }
}

/** A `ws` client of the gate; rejects with HandshakeRefused when the upgrade is answered with a status. */
export function connectClient(
  url: string,
  opts: { headers?: Record<string, string>; protocols?: string[]; maxPayload?: number; localAddress?: string } = {},
): Promise<TestWsClient> {
  // localAddress: another loopback source (127.0.0.0/8 is all local on Linux) = another client IP.
  const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers, perMessageDeflate: false, maxPayload: opts.maxPayload, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  const texts: string[] = [];
  let cursor = 0;
  let binaryBytes = 0;
  const client: TestWsClient = {
    ws,
    texts,
    get binaryBytes() {
      return binaryBytes;
    },
    async next(ms = 3000) {
      const t0 = Date.now();
      while (texts.length <= cursor) {
        if (Date.now() - t0 > ms) throw new Error(`no frame within ${ms} ms (have: ${texts.join(' | ')})`);
        await new Promise((r) => setTimeout(r, 5));
      }
      return texts[cursor++]!;
    },
    async nextJson(ms) {
      return JSON.parse(await client.next(ms)) as Record<string, unknown>;
    },
    send: (msg) => ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg)),
    closed: new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }))),
  };
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) binaryBytes += (data as Buffer).length;
    else texts.push((data as Buffer).toString());
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(new HandshakeRefused(res.statusCode ?? 0, body)));
    });
    ws.on('error', (err) => reject(err)); // also keeps later errors from being unhandled
  });
}

/**
 * The gate opens its origin leg only when a first frame is forwarded. Tests about the relay send
 * this frame (which the test origin neither records nor answers) to get the leg; resolves with its
 * connection number (index + 1 in origin.sockets).
 */
export const WARM_UP = '{"command":"warmUp"}';
export async function openOriginLeg(c: TestWsClient, origin: TestWsOrigin): Promise<number> {
  c.send(WARM_UP);
  // The gate has attached this client's origin socket once a ping gets relayed (before that the gate
  // answers pings itself). The mark is unique per client, so concurrent clients each find their own
  // socket: counting origin sockets would pick another client's when several connect at once.
  const mark = `warm-${randomUUID()}`;
  const deadline = Date.now() + 5000;
  for (;;) {
    const seen = origin.pings.find((p) => p.data === mark);
    if (seen) return seen.conn;
    if (Date.now() > deadline) throw new Error('the origin leg did not open within 5 s');
    c.ws.ping(mark);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
