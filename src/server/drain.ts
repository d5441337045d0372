// Lossless shutdown of an HTTP/1.1 listener with keep-alive clients.
//
// Closing a keep-alive socket races with a request the client may already have sent on it
// (RFC 9112 §9.6: the client learns of the close only after writing). So the drain never cuts a
// socket that was just used; it makes each connection end itself at a response boundary:
//   1. the listening socket closes (a load balancer then connects elsewhere);
//   2. responses whose headers are not sent yet, and every request arriving on an open connection,
//      get `Connection: close`: Node ends the socket right after that response;
//   3. sockets with no request in progress that have been quiet for `idleGraceMs` (2 s) are ended
//      (FIN) — at once when already quiet, otherwise as soon as they have been quiet that long;
//   4. at `timeoutMs` whatever is left is destroyed.
// Upgraded sockets (WebSocket relays) are not tracked here: their gate closes them (1001).
import type http from 'node:http';
import net from 'node:net';

export interface ConnectionTracker {
  /** Runs steps 1–4; resolves when every tracked connection is gone. */
  drain(timeoutMs: number): Promise<void>;
  /** Open HTTP connections (not upgraded), for tests and metrics. */
  readonly size: number;
}

interface Conn {
  /**
   * Responses on this connection that have not finished (more than one only when the client
   * pipelines). An array per connection, not one process-wide Set: a Set that gains and loses an
   * entry per request is rehashed over and over, and each discarded table, once promoted, keeps
   * the next one (and the responses in it) alive through every young-generation collection — the
   * gate promoted ≈ 4 MB per scavenge that way and spent 15–20 ms in each.
   */
  responses: http.ServerResponse[];
  /** When the last response finished (or the connection opened), ms since epoch. */
  quietSince: number;
}

/** A socket with no request in progress for this long is not about to be used (ms). */
const DEFAULT_IDLE_GRACE_MS = 2000;
const SWEEP_MS = 50;

export function trackConnections(server: http.Server, opts: { idleGraceMs?: number } = {}): ConnectionTracker {
  const idleGraceMs = opts.idleGraceMs ?? DEFAULT_IDLE_GRACE_MS;
  const conns = new Map<net.Socket, Conn>();
  let draining = false;

  server.on('connection', (socket: net.Socket) => {
    conns.set(socket, { responses: [], quietSince: Date.now() });
    socket.once('close', () => conns.delete(socket));
  });
  // Before the gate's own handler: a request that arrives during the drain is served, then the
  // connection ends.
  server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (draining) res.setHeader('connection', 'close');
    const c = conns.get(req.socket);
    if (!c) return;
    c.responses.push(res);
    res.once('close', () => {
      const i = c.responses.indexOf(res);
      if (i !== -1) c.responses.splice(i, 1);
      c.quietSince = Date.now();
    });
  });
  server.on('upgrade', (req: http.IncomingMessage) => conns.delete(req.socket));

  // From a timer, look only after the next poll phase (setImmediate): a request already in the
  // kernel's buffer is parsed by then and marks its connection active.
  const endQuiet = () =>
    setImmediate(() => {
      const now = Date.now();
      for (const [socket, c] of conns) if (c.responses.length === 0 && now - c.quietSince >= idleGraceMs) socket.end();
    });

  return {
    get size() {
      return conns.size;
    },
    async drain(timeoutMs: number): Promise<void> {
      draining = true;
      // net.Server's close, not http.Server's: the latter also destroys idle keep-alive sockets at
      // once, which is exactly the race above.
      const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
      for (const c of conns.values()) for (const res of c.responses) if (!res.headersSent) res.setHeader('connection', 'close');
      endQuiet();
      const sweep = setInterval(endQuiet, SWEEP_MS);
      const deadline = setTimeout(() => {
        for (const socket of conns.keys()) socket.destroy();
        server.closeAllConnections();
      }, timeoutMs);
      await closed;
      clearInterval(sweep);
      clearTimeout(deadline);
    },
  };
}
