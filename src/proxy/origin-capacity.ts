// Keeps slow clients from holding the origin pool (`origin.connections`), nginx-style:
//
// * Request bodies up to `origin.requestBufferBytes` are read completely, with an idle timeout,
//   before an origin connection is taken (nginx `proxy_request_buffering on`): a client that trickles
//   a POST body holds only its own socket. Larger bodies stream, each chunk within the idle timeout,
//   and the whole request within `limits.requestTimeoutMs` (server.requestTimeout).
// * Responses are read ahead of the client into a per-response buffer of `origin.responseBufferBytes`
//   (all responses together at most `origin.bufferBudgetBytes`), so a response that fits — every
//   HLS/DASH segment — releases its origin connection at the origin's speed however slowly the
//   client reads.
// * A response that does not fit holds its connection only while its buffer is full ("held"). When
//   another request is waiting for a connection, the response held longest (at least
//   `origin.slowClientGraceMs`) is preempted: its origin request is aborted, which frees the
//   connection, the client still gets everything already buffered, and then its connection is
//   closed (a player resumes with a Range request).
//
// Memory: per response ≤ responseBufferBytes + one origin chunk (≤ 64 KiB) in our queue plus the
// socket's writable high-water mark; all read-ahead together ≤ bufferBudgetBytes + one chunk per
// response (past the budget a response streams with plain backpressure).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher, Pool } from 'undici';

export interface CapacityOptions {
  responseBufferBytes: number;
  bufferBudgetBytes: number;
  slowClientGraceMs: number;
  requestBufferBytes: number;
  requestBodyIdleTimeoutMs: number;
}

/** A response whose read-ahead buffer is full: it is holding an origin connection for its client. */
interface Held {
  since: number;
  preempt(): void;
}

/** Shared state of one origin pool: the read-ahead budget and the responses holding connections. */
export class OriginCapacity {
  /** Bytes read ahead of clients, all responses together. */
  buffered = 0;
  /** Responses preempted so far (tests, metrics). */
  preempted = 0;
  /**
   * Oldest first. An array, not a Set: a Set gaining and losing an entry per held response is
   * rehashed again and again, and discarded tables that reach the old generation keep the newer
   * ones, and their responses, alive through young-generation collections (see server/drain.ts).
   */
  private readonly held: Held[] = [];

  constructor(
    readonly pool: Pool,
    readonly opts: CapacityOptions,
  ) {}

  hold(h: Held): void {
    this.held.push(h);
  }

  release(h: Held): void {
    const i = this.held.indexOf(h);
    if (i !== -1) this.held.splice(i, 1);
  }

  get holding(): number {
    return this.held.length;
  }

  /** Called after a dispatch: when requests wait for a connection, free one held by a slow client. */
  relieve(now = Date.now()): void {
    let queued = this.pool.stats.queued;
    if (queued === 0 || this.held.length === 0) return;
    // Oldest first, one per waiting request.
    while (queued-- > 0 && this.held.length > 0) {
      const h = this.held[0]!;
      if (now - h.since < this.opts.slowClientGraceMs) {
        // Not yet past its grace: look again when it is.
        setTimeout(() => this.relieve(), this.opts.slowClientGraceMs - (now - h.since) + 5).unref();
        break;
      }
      this.held.shift();
      this.preempted++;
      h.preempt();
    }
  }
}

const capacities = new WeakMap<Dispatcher, OriginCapacity>();

export function registerCapacity(pool: Pool, opts: CapacityOptions): OriginCapacity {
  const c = new OriginCapacity(pool, opts);
  capacities.set(pool, c);
  return c;
}

export function capacityOf(pool: Dispatcher): OriginCapacity | undefined {
  return capacities.get(pool);
}

export class BodyTimeoutError extends Error {
  readonly code = 'SG_ERR_BODY_TIMEOUT';
}

/**
 * Reads a request body ahead of dispatch: the whole body when it is at most `limit` bytes, else the
 * first `limit` bytes followed by the rest as it arrives. Rejects with BodyTimeoutError when the
 * client sends nothing for `idleMs`.
 */
export function readRequestBody(req: IncomingMessage, limit: number, idleMs: number): Promise<Buffer | Readable> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer = setTimeout(() => fail(new BodyTimeoutError(`no request body data for ${idleMs} ms`)), idleMs);
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', fail);
      req.off('aborted', onAborted);
    };
    function fail(err: Error): void {
      cleanup();
      reject(err);
    }
    const onAborted = () => fail(new Error('client aborted the request body'));
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    function onData(chunk: Buffer): void {
      chunks.push(chunk);
      size += chunk.length;
      timer.refresh();
      if (size > limit) {
        cleanup();
        req.pause();
        resolve(Readable.from(rest(chunks, req, idleMs), { objectMode: false }));
      }
    }
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', fail);
    req.once('aborted', onAborted);
  });
}

async function* rest(head: Buffer[], req: IncomingMessage, idleMs: number): AsyncIterable<Buffer> {
  yield* head;
  const it = req[Symbol.asyncIterator]();
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      it.next(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new BodyTimeoutError(`no request body data for ${idleMs} ms`)), idleMs))),
    ]).finally(() => clearTimeout(timer));
    if (next.done) return;
    yield next.value as Buffer;
  }
}

export interface ReadAheadTarget {
  /** Writes the response head; called once, before any body byte. */
  head(statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void;
  /** The origin failed before or during the body; `sent`: body bytes already reached the client. */
  failed(err: Error, headersSent: boolean): void;
  /** The response is complete (or cut after preemption); called once. */
  done(truncated: boolean): void;
}

/**
 * An undici dispatch handler that reads the origin response ahead of a slow client (see top).
 * Without a budget (`capacity` undefined) it is a plain backpressured stream.
 */
export class ReadAheadHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private readonly queue: Buffer[] = [];
  private queued = 0;
  /** Bytes of this response counted against the shared budget. */
  private charged = 0;
  private upstreamEnded = false;
  private truncated = false;
  private finished = false;
  private held: Held | null = null;
  private paused = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly target: ReadAheadTarget,
    private readonly capacity: OriginCapacity | undefined,
  ) {
    res.once('close', this.onClientClose);
    res.on('drain', this.flush);
  }

  private readonly onClientClose = () => {
    if (!this.res.writableFinished && this.controller && !this.controller.aborted && !this.upstreamEnded) {
      this.controller.abort(new Error('client closed the connection'));
    }
    this.cleanup();
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.res.destroyed) controller.abort(new Error('client closed the connection'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.controller = controller;
    if (statusCode < 200) return;
    this.target.head(statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.res.destroyed) return;
    if (this.queued === 0 && !this.res.writableNeedDrain) {
      if (this.res.write(chunk)) return;
      // Written, but the socket is congested: what follows is read ahead into our queue.
    } else {
      this.queue.push(chunk);
      this.queued += chunk.length;
      this.charge(chunk.length);
    }
    const cap = this.capacity;
    const full = !cap || this.queued >= cap.opts.responseBufferBytes || cap.buffered > cap.opts.bufferBudgetBytes;
    if (full && !this.paused) {
      this.paused = true;
      controller.pause();
      if (cap) {
        this.held = { since: Date.now(), preempt: () => this.preempt() };
        cap.hold(this.held);
      }
    }
  }

  onResponseEnd(): void {
    this.upstreamEnded = true;
    this.unhold();
    this.flush();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.upstreamEnded = true;
    this.unhold();
    if (this.truncated) return this.flush(); // our own preemption: drain the buffer, then cut
    this.dropQueue();
    this.target.failed(err, this.res.headersSent);
    this.finish(true);
  }

  private preempt(): void {
    this.held = null;
    this.truncated = true;
    this.controller?.abort(new Error('origin connection preempted for a waiting request'));
  }

  private readonly flush = (): void => {
    while (this.queue.length > 0 && !this.res.writableNeedDrain && !this.res.destroyed) {
      const c = this.queue.shift()!;
      this.queued -= c.length;
      this.uncharge(c.length);
      this.res.write(c);
    }
    if (this.queue.length === 0 && this.upstreamEnded) {
      if (this.truncated) {
        // Everything buffered is in the socket: let it go out, then close without completing the
        // message (no last chunk, short of Content-Length), so the client knows it is cut.
        const socket = this.res.socket;
        if (socket) socket.end();
        else this.res.destroy();
      } else this.res.end();
      return this.finish(this.truncated);
    }
    const cap = this.capacity;
    if (this.paused && !this.upstreamEnded && cap && this.queued <= cap.opts.responseBufferBytes / 2 && cap.buffered <= cap.opts.bufferBudgetBytes) {
      this.paused = false;
      this.unhold();
      this.controller?.resume();
    } else if (this.paused && !cap && !this.res.writableNeedDrain && !this.upstreamEnded) {
      this.paused = false;
      this.controller?.resume();
    }
  };

  private charge(n: number): void {
    if (!this.capacity) return;
    this.charged += n;
    this.capacity.buffered += n;
  }

  private uncharge(n: number): void {
    if (!this.capacity) return;
    const m = Math.min(n, this.charged);
    this.charged -= m;
    this.capacity.buffered -= m;
  }

  private unhold(): void {
    if (this.held && this.capacity) this.capacity.release(this.held);
    this.held = null;
  }

  private dropQueue(): void {
    this.queue.length = 0;
    this.queued = 0;
    this.uncharge(this.charged);
  }

  private cleanup(): void {
    this.unhold();
    this.dropQueue();
  }

  private finish(truncated: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.cleanup();
    this.res.off('close', this.onClientClose);
    this.res.off('drain', this.flush);
    this.target.done(truncated);
  }
}
