// One RTMP client connection through the gate, after the handshake. The client's chunk stream is read
// (chunk-reader.ts) and relayed to the origin byte for byte, except that the bytes of a command
// naming a stream wait until that command is decided: an allowed command flows on unchanged, a
// refused one never reaches the origin and the client gets the error an encoder shows its user.
//
// Order of events on a connection:
//   client: connect(app)            → the app must be configured; only then is the origin dialled
//   client: releaseStream/FCPublish/publish(name?query) | FCSubscribe/play(name?query)
//                                   → decided once per (role, name) on this connection; the token in
//                                     the name (or in connect's app/tcUrl query) is consumed once
//   afterwards                      → bytes flow both ways with backpressure; expiry and revocation
//                                     end the connection (ExpiryWatch)
import net from 'node:net';
import type { Role } from '../decision/types.js';
import { ErrorCode, StreamgateError } from '../errors.js';
import { readCredentials } from '../request/credentials.js';
import { endReason, type StreamAuthorizer } from '../ingest/stream-authorizer.js';
import { ChunkReader, COMMAND_CARRIERS, MessageType, RtmpProtocolError, writeMessage, type RtmpMessage } from './chunk-reader.js';
import { readCommand, type ConnectCommand, type StreamCommand } from './commands.js';
import { encodeAmf0 } from './amf0.js';
import { Inbox } from './inbox.js';
import { initiateHandshake } from './handshake.js';

export interface ConnectionDeps {
  origin: { host: string; port: number; connectTimeoutMs: number };
  maxCommandBytes: number;
  commandTimeoutMs: number;
  /** May the connection name this app? */
  knowsApp(app: string): boolean;
  authorizer: StreamAuthorizer;
  grantParam: string;
  onClose(conn: RtmpConnection, summary: ConnectionSummary): void;
}

export interface ConnectionSummary {
  app: string | null;
  streamId: string | null;
  role: Role | null;
  outcome: 'allow' | 'deny' | 'error';
  reason: string;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
}

/** Bytes of client data held (unforwarded) before the client socket is paused. */
const HOLD_HIGH_WATER = 256 * 1024;
/**
 * Bytes queued in a socket's write buffer before its source is paused. Larger than Node's 16 KiB
 * default so a 64 KiB video message does not stop the relay after every write (measured: 0.14× of
 * direct throughput with the default, CPU mostly idle, waiting on 'drain').
 */
const WRITE_HIGH_WATER = 256 * 1024;
/** The chunk stream id the gate writes its own messages on (unused by Ant Media's and nginx's servers for commands). */
const GATE_CSID = 63;

export class RtmpConnection {
  private readonly reader: ChunkReader;
  private readonly originReader: ChunkReader;
  private origin: net.Socket | null = null;
  private queue: Buffer[] = [];
  /** Absolute offset of queue[0][0]. */
  private queuedFrom = 0;
  private queuedBytes = 0;
  private pending: RtmpMessage[] = [];
  private deciding = false;
  private connect: ConnectCommand | null = null;
  private readonly allowed = new Map<string, StreamCommand>();
  private readonly unwatch: (() => void)[] = [];
  private closed = false;
  private readonly startedAt = Date.now();
  private bytesIn = 0;
  private bytesOut = 0;
  private commandTimer: NodeJS.Timeout | null;
  private summary: Pick<ConnectionSummary, 'app' | 'streamId' | 'role' | 'outcome' | 'reason'> = { app: null, streamId: null, role: null, outcome: 'error', reason: 'closed_before_command' };

  constructor(
    readonly client: net.Socket,
    readonly clientIp: string,
    private readonly deps: ConnectionDeps,
  ) {
    // Every message an origin could act on as a command is assembled and held until it is read.
    this.reader = new ChunkReader(deps.maxCommandBytes, COMMAND_CARRIERS);
    this.originReader = new ChunkReader(deps.maxCommandBytes);
    this.commandTimer = setTimeout(() => this.fail('command_timeout', 'no stream command was authorized in time'), deps.commandTimeoutMs);
    client.on('data', (d: Buffer) => this.onClientData(d));
    client.on('drain', () => this.origin?.resume());
    client.on('error', () => this.close());
    client.on('close', () => this.close());
  }

  /** Starts reading; `leftover` is what arrived with the end of the handshake. Call once registered. */
  start(leftover: Buffer): void {
    if (leftover.length) this.onClientData(leftover);
  }

  get app(): string | null {
    return this.connect?.app ?? null;
  }

  /**
   * Ends the connection from outside (drain, expiry, revocation), telling the client why; `reason`
   * is what the close log line and metric report (e.g. `token_expired`, `shutting_down`).
   */
  end(code: string, description: string, reason: string): void {
    if (this.closed) return;
    this.summary = { ...this.summary, reason };
    this.sendStatus(0, 'error', code, description);
    this.finish();
  }

  private onClientData(data: Buffer): void {
    if (this.closed) return;
    this.bytesIn += data.length;
    this.queue.push(data);
    this.queuedBytes += data.length;
    let messages: RtmpMessage[];
    try {
      messages = this.reader.feed(data);
    } catch (err) {
      return this.protocolError(err);
    }
    for (const m of messages) if (m.typeId !== MessageType.setChunkSize && m.typeId !== MessageType.abort) this.pending.push(m);
    if (this.queuedBytes > HOLD_HIGH_WATER) this.client.pause();
    this.pump();
  }

  /** Evaluates waiting commands in order, then forwards every byte before the first undecided one. */
  private pump(): void {
    while (!this.deciding && !this.closed && this.pending.length > 0) {
      const m = this.pending[0]!;
      let cmd;
      try {
        cmd = readCommand(m);
      } catch (err) {
        return this.protocolError(err);
      }
      if (cmd.kind === 'connect') {
        if (this.connect) return this.refuseConnect(cmd.transactionId, 'a second connect on one connection');
        this.connect = cmd;
        this.summary.app = cmd.app;
        if (!this.deps.knowsApp(cmd.app)) {
          this.summary = { ...this.summary, outcome: 'deny', reason: 'app_not_found' };
          return this.refuseConnect(cmd.transactionId, `application "${cmd.app}" is not served here`);
        }
        this.deciding = true;
        void this.dialOrigin().then((ok) => {
          this.deciding = false;
          if (!ok) return;
          this.pending.shift();
          this.pump();
        });
        break;
      }
      if (!this.connect) return this.protocolError(new RtmpProtocolError(`${cmd.kind === 'other' ? cmd.name : cmd.name} before connect`));
      if (cmd.kind === 'other' || this.allowed.has(`${cmd.role}\0${cmd.rawName}`)) {
        this.pending.shift();
        continue;
      }
      this.deciding = true;
      void this.decide(cmd).then((ok) => {
        this.deciding = false;
        if (!ok) return;
        this.pending.shift();
        this.pump();
      });
      break;
    }
    this.forward();
  }

  private forward(): void {
    if (!this.origin || this.closed) return;
    const limit = Math.min(this.reader.frontier, this.reader.openCommandStart, this.pending[0]?.startOffset ?? Infinity);
    while (this.queue.length > 0 && this.queuedFrom < limit) {
      const head = this.queue[0]!;
      const take = Math.min(head.length, limit - this.queuedFrom);
      const chunk = take === head.length ? head : head.subarray(0, take);
      if (take === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(take);
      this.queuedFrom += take;
      this.queuedBytes -= take;
      this.origin.write(chunk);
    }
    // Backpressure: a slow origin or a long hold pauses the client; 'drain' calls forward() again.
    if (this.queuedBytes > HOLD_HIGH_WATER || this.origin.writableLength > WRITE_HIGH_WATER) this.client.pause();
    else this.client.resume();
  }

  private async dialOrigin(): Promise<boolean> {
    const { host, port, connectTimeoutMs } = this.deps.origin;
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const inbox = new Inbox(socket, 16 * 1024);
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new StreamgateError(ErrorCode.originTimeout, 'origin connect timed out')), connectTimeoutMs);
        socket.once('connect', () => {
          clearTimeout(t);
          resolve();
        });
        socket.once('error', (err) => {
          clearTimeout(t);
          reject(err);
        });
      });
      await initiateHandshake(socket, inbox, Date.now() + connectTimeoutMs);
    } catch {
      socket.destroy();
      inbox.detach();
      if (this.closed) return false;
      this.summary = { ...this.summary, outcome: 'error', reason: 'origin_unavailable' };
      this.sendCommand(0, '_error', this.connect?.transactionId ?? 1, 'NetConnection.Connect.Failed', 'streamgate: origin_unavailable');
      this.finish();
      return false;
    }
    if (this.closed) {
      socket.destroy();
      return false;
    }
    const rest = inbox.detach();
    this.origin = socket;
    socket.on('data', (d: Buffer) => this.onOriginData(d));
    socket.on('drain', () => this.forward());
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    if (rest.length) this.onOriginData(rest);
    return true;
  }

  private onOriginData(data: Buffer): void {
    if (this.closed) return;
    try {
      this.originReader.feed(data); // tracks the chunk size and boundaries the client reads with
    } catch {
      return this.close(); // the origin broke its own protocol: nothing sensible to tell the client
    }
    this.bytesOut += data.length;
    this.client.write(data);
    if (this.client.writableLength > WRITE_HIGH_WATER) this.origin?.pause();
  }

  private async decide(cmd: StreamCommand): Promise<boolean> {
    const app = this.connect!.app;
    this.summary = { ...this.summary, streamId: cmd.streamId, role: cmd.role };
    if (cmd.streamId === null) return this.refuse(cmd, 'invalid_stream_name');
    const ask = { app, role: cmd.role, streamId: cmd.streamId, credentials: credentialsOf(cmd.query, this.connect!.query, this.deps.grantParam), clientIp: this.clientIp };
    const v = await this.deps.authorizer.decide(ask);
    if (this.closed) return false;
    if (!v.allow) return this.refuse(cmd, v.reason);
    this.allowed.set(`${cmd.role}\0${cmd.rawName}`, cmd);
    this.summary = { ...this.summary, outcome: 'allow', reason: 'ok' };
    if (this.commandTimer) clearTimeout(this.commandTimer);
    this.commandTimer = null;
    this.unwatch.push(this.deps.authorizer.watch(ask, v, (cause) => this.end('NetConnection.Connect.Closed', `streamgate: ${endReason(cause)}`, endReason(cause))));
    return true;
  }

  private refuse(cmd: StreamCommand, reason: string): false {
    this.summary = { ...this.summary, outcome: 'deny', reason };
    const code = cmd.role === 'publish' ? 'NetStream.Publish.BadName' : 'NetStream.Play.Failed';
    const description = `streamgate: ${reason}`;
    // `_error` answers the command's transaction; onStatus on its stream is what players and
    // encoders (ffmpeg: "Server error: …") report. The origin never sees the command.
    if (cmd.name !== 'publish' && cmd.name !== 'play' && cmd.name !== 'play2') this.sendCommand(0, '_error', cmd.transactionId, code, description);
    this.sendStatus(cmd.messageStreamId, 'error', code, description);
    this.finish();
    return false;
  }

  private refuseConnect(transactionId: number, description: string): void {
    this.sendCommand(0, '_error', transactionId, 'NetConnection.Connect.Rejected', `streamgate: ${description}`);
    this.finish();
  }

  private protocolError(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.summary = { ...this.summary, outcome: 'deny', reason: 'protocol_error' };
    this.sendCommand(0, '_error', 0, 'NetConnection.Connect.Rejected', `streamgate: protocol_error: ${message.slice(0, 200)}`);
    this.finish();
  }

  private fail(reason: string, description: string): void {
    if (this.closed) return;
    this.summary = { ...this.summary, outcome: 'deny', reason };
    this.sendCommand(0, '_error', 0, 'NetConnection.Connect.Rejected', `streamgate: ${description}`);
    this.finish();
  }

  private sendCommand(streamId: number, name: string, transactionId: number, code: string, description: string): void {
    this.writeToClient(streamId, encodeAmf0([name, transactionId, null, { level: 'error', code, description }]));
  }

  private sendStatus(streamId: number, level: string, code: string, description: string): void {
    this.writeToClient(streamId, encodeAmf0(['onStatus', 0, null, { level, code, description }]));
  }

  /**
   * Writes a gate message into the origin → client chunk stream. Only between two chunks (otherwise
   * the client would read our bytes as the rest of the origin's chunk) and with the chunk size the
   * client reads with.
   */
  private writeToClient(streamId: number, body: Buffer): void {
    if (this.closed || this.client.destroyed || !this.originReader.atChunkBoundary) return;
    this.client.write(writeMessage(GATE_CSID, MessageType.commandAmf0, streamId, body, this.originReader.chunkSize));
  }

  /** Stops relaying: the origin leg is cut at once, the client's gets what was written, then FIN. */
  private finish(): void {
    if (this.closed) return;
    this.origin?.destroy();
    this.client.end();
    setTimeout(() => this.client.destroy(), 2000).unref();
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.commandTimer) clearTimeout(this.commandTimer);
    this.origin?.destroy();
    if (!this.client.writableEnded) this.client.destroy();
    this.queue = [];
    this.pending = [];
    for (const stop of this.unwatch) stop();
    this.deps.onClose(this, { ...this.summary, bytesIn: this.bytesIn, bytesOut: this.bytesOut, durationMs: Date.now() - this.startedAt });
  }
}

/** Credentials of a stream command: the stream name's query first, then connect's. */
function credentialsOf(query: string, connectQuery: string, grantParam: string) {
  const own = readCredentials(query, grantParam);
  const fromConnect = readCredentials(connectQuery, grantParam);
  return { ...fromConnect, ...own, grant: undefined };
}
