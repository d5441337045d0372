// Exact-length reads from a socket for the phases before relaying (PROXY header, RTMP handshake):
// bytes are collected as they arrive and handed out in the sizes a phase asks for. What is left when
// the phase ends is given to the relay, so no byte the peer sent is lost or reordered.
import type { Socket } from 'node:net';
import { ErrorCode, StreamgateError } from '../errors.js';

/** The peer closed, failed or was too slow while the gate waited for a fixed-size read. */
export class ReadTimeoutError extends StreamgateError {
  constructor(what: string) {
    super(ErrorCode.readTimeout, `timed out waiting for ${what}`);
  }
}

export class Inbox {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private ended = false;
  private readonly onData = (d: Buffer) => {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    this.waiter?.();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.waiter?.();
  };

  /** @param maxBytes bytes held at most; a peer sending more before it is read is cut off. */
  constructor(
    private readonly socket: Socket,
    private readonly maxBytes: number,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
  }

  /** The bytes received so far, without consuming them. */
  peek(): Buffer {
    return this.buf;
  }

  /**
   * Resolves with exactly `n` bytes, or rejects with ReadTimeoutError when the deadline (ms since
   * epoch) passes or the peer goes away first.
   */
  async read(n: number, deadline: number, what: string): Promise<Buffer> {
    await this.until(() => this.buf.length >= n, deadline, what);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Waits until `ready()` holds for the buffered bytes (a delimiter arrived, a length is known). */
  async until(ready: () => boolean, deadline: number, what: string): Promise<void> {
    while (!ready()) {
      if (this.buf.length > this.maxBytes) throw new ReadTimeoutError(`${what} (more than ${this.maxBytes} bytes before it)`);
      if (this.ended) throw new ReadTimeoutError(`${what} (the peer closed)`);
      const left = deadline - Date.now();
      if (left <= 0) throw new ReadTimeoutError(what);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  /** Stops collecting; returns what was received and not read. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }
}
