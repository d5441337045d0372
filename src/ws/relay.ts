// Two WebSocket legs glued together: frames, pings and pongs both ways, backpressure, and close
// propagation. Knows nothing about signalling; the gate decides what a client frame becomes.
//
// The origin leg is opened lazily: only when the first frame is to be forwarded (`openOrigin`),
// so a client whose commands are all refused never costs an origin connection. Until it is open
// the client is not read and what is to be forwarded waits here.
//
// Backpressure: after every send the destination's bufferedAmount (its socket's write queue) is
// compared with `highWaterMark`; above it the source socket is paused (TCP then pushes back on the
// peer) until the destination socket drains. What a direction can still hold is bounded by the
// high-water mark plus what had been read when the pause took effect (see ws-gate.ts for totals).
import type { Duplex } from 'node:stream';
import type { WebSocket, RawData } from 'ws';

export type Side = 'client' | 'origin';

/** Why the client's socket is not being read (several may hold at once). */
export const Hold = { congested: 1, deciding: 2, connecting: 4 } as const;

export interface RelayOptions {
  highWaterMark: number;
  /** Client messages go here instead of straight to the origin (inspection). */
  onClientMessage(data: Buffer, isBinary: boolean): void;
  /** Both legs are closed (or being torn down); called once. */
  onEnd(info: { side: Side; code: number; reason: string }): void;
  /** Starts opening the origin leg; it calls attachOrigin() or originFailed(). Called at most once. */
  openOrigin(): void;
}

/** ws error codes → the close code ws itself sent for them (RFC 6455 §7.4.1). */
function codeForError(err: Error & { code?: string }): number {
  switch (err.code) {
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
      return 1009;
    case 'WS_ERR_INVALID_UTF8':
      return 1007;
    case undefined:
      return 1006; // network error: nothing was sent
    default:
      return err.code.startsWith('WS_ERR_') ? 1002 : 1006;
  }
}

/**
 * The code to close the other leg with. 1005 (no code) and 1006/1015 (abnormal) cannot be sent:
 * no code → close without one; a vanished client is "going away" (1001) for the origin; a vanished
 * origin is a server failure (1011) for the client.
 */
export function propagatedCode(code: number, from: Side): number | undefined {
  if (code === 1005) return undefined;
  if (code === 1006 || code === 1015) return from === 'client' ? 1001 : 1011;
  return code;
}

const socketOf = (ws: WebSocket) => (ws as unknown as { _socket: Duplex | null })._socket;

export class Relay {
  private clientHolds = 0;
  private originHeld = false;
  /** Code we closed a leg with (or ws closed it with on a protocol error): wins over the echo. */
  private readonly endedWith: Record<Side, number | undefined> = { client: undefined, origin: undefined };
  private readonly endedReason: Record<Side, string | undefined> = { client: undefined, origin: undefined };
  private ended = false;
  closed = false;

  /** null until the origin leg is open (see top). */
  origin: WebSocket | null = null;
  private originState: 'none' | 'connecting' | 'open' = 'none';
  private readonly pending: { data: Buffer | string; binary: boolean }[] = [];
  private pendingBytes = 0;

  constructor(
    readonly client: WebSocket,
    private readonly opts: RelayOptions,
  ) {
    client.on('message', (data: RawData, isBinary: boolean) => opts.onClientMessage(data as Buffer, isBinary));
    // Pings and pongs are relayed, not answered here (both legs have autoPong off) — except before
    // the origin leg exists, when the gate answers a ping itself.
    client.on('ping', (d: Buffer) => (this.origin ? this.control(this.origin, 'ping', d) : this.control(client, 'pong', d)));
    client.on('pong', (d: Buffer) => this.origin && this.control(this.origin, 'pong', d));
    client.on('error', (err) => this.failed('client', err));
    client.on('close', (code: number, reason: Buffer) => this.legClosed('client', code, reason));
  }

  /** The origin leg is open: relay it, and send what waited for it. */
  attachOrigin(origin: WebSocket): void {
    if (this.closed) return void origin.terminate();
    this.origin = origin;
    this.originState = 'open';
    origin.on('message', (data: RawData, isBinary: boolean) => this.toClient(data as Buffer, isBinary));
    origin.on('ping', (d: Buffer) => this.control(this.client, 'ping', d));
    origin.on('pong', (d: Buffer) => this.control(this.client, 'pong', d));
    origin.on('error', (err) => this.failed('origin', err));
    origin.on('close', (code: number, reason: Buffer) => this.legClosed('origin', code, reason));
    for (const p of this.pending.splice(0)) this.toOrigin(p.data, p.binary);
    this.pendingBytes = 0;
    this.releaseClient(Hold.connecting);
  }

  /** The origin leg could not be opened: the client is closed with `code` (1014 bad gateway). */
  originFailed(code: number, reason: string): void {
    this.pending.length = 0;
    this.pendingBytes = 0;
    this.close('client', code, reason);
  }

  toOrigin(data: Buffer | string, binary: boolean): void {
    if (this.originState !== 'open') {
      if (this.closed) return;
      this.pending.push({ data, binary });
      this.pendingBytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      if (this.pendingBytes > 4 * this.opts.highWaterMark) return this.originFailed(1008, 'too many frames while connecting');
      if (this.originState === 'none') {
        this.originState = 'connecting';
        this.holdClient(Hold.connecting);
        this.opts.openOrigin();
      }
      return;
    }
    const origin = this.origin!;
    if (origin.readyState !== 1) return;
    origin.send(data, { binary, compress: false });
    if (!(this.clientHolds & Hold.congested) && origin.bufferedAmount > this.opts.highWaterMark) {
      this.holdClient(Hold.congested);
      this.onDrain(origin, () => this.releaseClient(Hold.congested));
    }
  }

  toClient(data: Buffer | string, binary: boolean): void {
    if (this.client.readyState !== 1) return;
    this.client.send(data, { binary, compress: false });
    const origin = this.origin;
    if (origin && !this.originHeld && this.client.bufferedAmount > this.opts.highWaterMark) {
      this.originHeld = true;
      origin.pause();
      this.onDrain(this.client, () => {
        this.originHeld = false;
        origin.resume();
      });
    }
  }

  holdClient(reason: number): void {
    if (this.clientHolds === 0) this.client.pause();
    this.clientHolds |= reason;
  }

  releaseClient(reason: number): void {
    if (!(this.clientHolds & reason)) return;
    this.clientHolds &= ~reason;
    if (this.clientHolds === 0) this.client.resume();
  }

  /** Close one leg with a code of ours; the other follows with the same code. */
  close(side: Side, code: number, reason: string): void {
    const ws = side === 'client' ? this.client : this.origin;
    if (this.endedWith[side] === undefined) {
      this.endedWith[side] = code;
      this.endedReason[side] = reason;
    }
    if (ws && (ws.readyState === 0 || ws.readyState === 1)) {
      ws.close(code, reason);
      ws.resume(); // a paused leg would never read the peer's close reply
    }
  }

  /** Both legs at once (server shutdown). */
  closeBoth(code: number, reason: string): void {
    this.close('client', code, reason);
    this.close('origin', code, reason);
  }

  terminate(): void {
    this.client.terminate();
    this.origin?.terminate();
  }

  /** Bytes this relay holds in process memory right now (tests, metrics). */
  footprint(): number {
    const leg = (ws: WebSocket) => {
      const s = socketOf(ws) as (Duplex & { readableLength?: number }) | null;
      const receiver = (ws as unknown as { _receiver?: { _bufferedBytes?: number } })._receiver;
      return ws.bufferedAmount + (s?.readableLength ?? 0) + (receiver?._bufferedBytes ?? 0);
    };
    return leg(this.client) + (this.origin ? leg(this.origin) : 0) + this.pendingBytes;
  }

  private control(to: WebSocket, kind: 'ping' | 'pong', data: Buffer): void {
    if (to.readyState === 1) to[kind](data);
  }

  private onDrain(ws: WebSocket, fn: () => void): void {
    const s = socketOf(ws);
    // A destroyed socket never drains; the close path releases everything anyway.
    if (s && !s.destroyed) s.once('drain', fn);
  }

  private failed(side: Side, err: Error & { code?: string }): void {
    this.endedWith[side] ??= codeForError(err);
  }

  private legClosed(side: Side, code: number, reasonBuffer: Buffer): void {
    const other = side === 'client' ? this.origin : this.client;
    if (!other) {
      // The origin leg was never opened (or is still opening: attachOrigin will drop it).
      this.endedWith[side] ??= code;
      this.pending.length = 0;
      this.pendingBytes = 0;
      if (!this.ended) {
        this.ended = true;
        this.closed = true;
        this.opts.onEnd({ side, code: this.endedWith[side], reason: this.endedReason[side] ?? reasonBuffer.toString('utf8') });
      }
      return;
    }
    const ended = this.endedWith[side] ?? code;
    // Our own reason when we closed this leg; else what the peer said.
    const reason = this.endedReason[side] ?? reasonBuffer.toString('utf8');
    this.endedWith[side] = ended;
    if (other.readyState === 0 || other.readyState === 1) {
      const mapped = propagatedCode(ended, side);
      this.endedWith[side === 'client' ? 'origin' : 'client'] ??= mapped ?? 1005;
      if (mapped === undefined) other.close();
      else other.close(mapped, reason);
      other.resume();
    }
    if (!this.ended) {
      this.ended = true;
      this.closed = true;
      this.opts.onEnd({ side, code: ended, reason });
    }
  }
}
