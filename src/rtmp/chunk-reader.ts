// One direction of an RTMP chunk stream (RTMP specification §5.3), read incrementally and without
// copying media: the reader tracks chunk headers and the chunk size, assembles only the messages the
// gate must understand (protocol control and commands) and counts its way over everything else. It
// reports byte offsets so the relay can forward the exact bytes it received, holding back those of a
// command until that command has been decided.
import { ErrorCode, StreamgateError } from '../errors.js';

/** RTMP message type ids (RTMP specification §5.4, §7.1). */
export const MessageType = {
  setChunkSize: 1,
  abort: 2,
  acknowledgement: 3,
  userControl: 4,
  windowAckSize: 5,
  setPeerBandwidth: 6,
  audio: 8,
  video: 9,
  dataAmf3: 15,
  sharedObjectAmf3: 16,
  commandAmf3: 17,
  dataAmf0: 18,
  sharedObjectAmf0: 19,
  commandAmf0: 20,
  aggregate: 22,
} as const;

/** What a reader assembles by default: the protocol control it must follow and command messages. */
export const CONTROL_AND_COMMANDS: ReadonlySet<number> = new Set<number>([MessageType.setChunkSize, MessageType.abort, MessageType.commandAmf0, MessageType.commandAmf3]);
/**
 * Every message type an origin may dispatch as a command: besides types 17 and 20, nginx-rtmp looks
 * the name of AMF0 data (18) and shared-object (19) messages up in its command table, Red5 does the
 * same for their AMF3 forms (15, 16), and both split an aggregate (22) into sub-messages dispatched
 * by their own type (RTMP specification §7.1.6).
 */
export const COMMAND_CARRIERS: ReadonlySet<number> = new Set<number>([
  ...CONTROL_AND_COMMANDS,
  MessageType.dataAmf3,
  MessageType.sharedObjectAmf3,
  MessageType.dataAmf0,
  MessageType.sharedObjectAmf0,
  MessageType.aggregate,
]);

/** The chunk stream broke the protocol; the connection cannot continue. */
export class RtmpProtocolError extends StreamgateError {
  constructor(message: string) {
    super(ErrorCode.rtmpProtocol, message);
  }
}

export interface RtmpMessage {
  typeId: number;
  /** Message stream id (little-endian on the wire, §5.3.1.2.1). */
  streamId: number;
  csid: number;
  payload: Buffer;
  /** Absolute offset (bytes since the reader started) of this message's first chunk header. */
  startOffset: number;
}

interface ChunkStreamState {
  csid: number;
  length: number;
  typeId: number;
  streamId: number;
  extended: boolean;
  received: number;
  /** Collected payload parts; null for messages the reader only counts over. */
  parts: Buffer[] | null;
  startOffset: number;
}

/**
 * Smallest chunk size we accept. Below 4 bytes a Set Chunk Size or Abort Message spans several
 * chunks, and nginx-rtmp reads those only from their first chunk's buffer (it ignores a split one):
 * the origin would go on cutting chunks at the old size while this reader used the new one, and
 * media bytes here could be a command there. Real encoders use 128 bytes or more.
 */
const MIN_CHUNK_SIZE = 4;
/** Largest chunk size we accept (the field is 31 bits; real encoders use ≤ 64 KiB). */
const MAX_CHUNK_SIZE = 0xffffff;
/** Distinct chunk stream ids one connection may use (each costs a small state record). */
const MAX_CHUNK_STREAMS = 64;
const MESSAGE_HEADER_BYTES = [11, 7, 3, 0] as const;

export class ChunkReader {
  /** Current chunk size for this direction (default 128, §5.4.1). */
  chunkSize = 128;
  private offset = 0;
  private pending: Buffer = Buffer.alloc(0);
  private readonly streams = new Map<number, ChunkStreamState>();
  private current: { state: ChunkStreamState; remaining: number } | null = null;

  /**
   * @param maxMessageBytes largest assembled message; larger ones are refused.
   * @param collected message types assembled and returned by feed(); others are only counted over.
   *   Set Chunk Size and Abort are always followed.
   */
  constructor(
    private readonly maxMessageBytes: number,
    private readonly collected: ReadonlySet<number> = CONTROL_AND_COMMANDS,
  ) {}

  /** Bytes parsed so far: everything before this offset belongs to a known chunk. */
  get frontier(): number {
    return this.offset;
  }

  /** True when the reader stands between two chunks (a message may still be open on a chunk stream). */
  get atChunkBoundary(): boolean {
    return this.current === null && this.pending.length === 0;
  }

  /** The earliest start offset of a command message still being assembled, or Infinity. */
  get openCommandStart(): number {
    let min = Infinity;
    for (const s of this.streams.values()) if (s.parts !== null && s.received < s.length && s.startOffset < min) min = s.startOffset;
    return min;
  }

  /**
   * Reads more bytes; returns the collected messages completed by them, in completion order.
   * @throws RtmpProtocolError on a malformed or over-limit chunk stream.
   */
  feed(data: Buffer): RtmpMessage[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    const out: RtmpMessage[] = [];
    for (;;) {
      if (this.current) {
        const n = Math.min(this.current.remaining, this.pending.length);
        if (n === 0) break;
        const s = this.current.state;
        if (s.parts) s.parts.push(Buffer.from(this.pending.subarray(0, n)));
        s.received += n;
        this.current.remaining -= n;
        this.consume(n);
        if (this.current.remaining === 0) {
          this.current = null;
          if (s.received === s.length) this.complete(s, out);
        }
        continue;
      }
      if (!this.readChunkHeader(out)) break;
    }
    return out;
  }

  private consume(n: number): void {
    this.pending = this.pending.subarray(n);
    this.offset += n;
  }

  /** Parses one chunk header when it is complete; false when more bytes are needed. */
  private readChunkHeader(out: RtmpMessage[]): boolean {
    const p = this.pending;
    if (p.length < 1) return false;
    const fmt = p[0]! >> 6;
    let csid = p[0]! & 0x3f;
    let at = 1;
    if (csid === 0) {
      if (p.length < 2) return false;
      csid = 64 + p[1]!;
      at = 2;
    } else if (csid === 1) {
      if (p.length < 3) return false;
      csid = 64 + p[1]! + p[2]! * 256;
      at = 3;
    }
    const headerBytes = MESSAGE_HEADER_BYTES[fmt as 0 | 1 | 2 | 3];
    if (p.length < at + headerBytes) return false;
    const prev = this.streams.get(csid);
    if (fmt !== 0 && !prev) throw new RtmpProtocolError(`chunk stream ${csid} continues a message it never started`);
    const tsField = fmt < 3 ? p.readUIntBE(at, 3) : 0;
    const extended = fmt < 3 ? tsField === 0xffffff : prev!.extended;
    if (p.length < at + headerBytes + (extended ? 4 : 0)) return false;

    const state: ChunkStreamState = prev ?? { csid, length: 0, typeId: 0, streamId: 0, extended: false, received: 0, parts: null, startOffset: 0 };
    const continuing = fmt === 3 && state.received > 0 && state.received < state.length;
    if (fmt < 3 && state.received > 0 && state.received < state.length) {
      throw new RtmpProtocolError(`chunk stream ${csid} starts a new message inside an unfinished one`);
    }
    if (fmt <= 1) {
      state.length = p.readUIntBE(at + 3, 3);
      state.typeId = p[at + 6]!;
    }
    if (fmt === 0) state.streamId = p.readUInt32LE(at + 7);
    state.extended = extended;
    if (!continuing) {
      state.received = 0;
      state.startOffset = this.offset;
      state.parts = this.collected.has(state.typeId) || state.typeId === MessageType.setChunkSize || state.typeId === MessageType.abort ? [] : null;
      if (state.parts && state.length > this.maxMessageBytes) {
        throw new RtmpProtocolError(`message type ${state.typeId} of ${state.length} bytes exceeds ${this.maxMessageBytes}`);
      }
    }
    if (!prev) {
      if (this.streams.size >= MAX_CHUNK_STREAMS) throw new RtmpProtocolError(`more than ${MAX_CHUNK_STREAMS} chunk streams`);
      this.streams.set(csid, state);
    }
    this.consume(at + headerBytes + (extended ? 4 : 0));
    const size = Math.min(this.chunkSize, state.length - state.received);
    if (size === 0) this.complete(state, out);
    else this.current = { state, remaining: size };
    return true;
  }

  private complete(s: ChunkStreamState, out: RtmpMessage[]): void {
    if (!s.parts) return;
    const payload = s.parts.length === 1 ? s.parts[0]! : Buffer.concat(s.parts);
    s.parts = null;
    if (s.typeId === MessageType.setChunkSize) {
      if (payload.length < 4) throw new RtmpProtocolError('short Set Chunk Size');
      const size = payload.readUInt32BE(0) & 0x7fffffff;
      if (size < MIN_CHUNK_SIZE || size > MAX_CHUNK_SIZE) throw new RtmpProtocolError(`chunk size ${size} out of range (${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE})`);
      this.chunkSize = size;
    } else if (s.typeId === MessageType.abort) {
      if (payload.length < 4) throw new RtmpProtocolError('short Abort Message');
      // §5.4.2 says the partial message is dropped, but nginx-rtmp ignores Abort and goes on
      // assembling it: the two sides would then cut the following chunks at different places, and
      // bytes this reader takes for media could be a command at the origin. An Abort that would
      // change anything is refused; one for an idle chunk stream is a no-op on both sides.
      const target = this.streams.get(payload.readUInt32BE(0));
      if (target && target.received < target.length) {
        throw new RtmpProtocolError(`Abort Message for the unfinished message on chunk stream ${target.csid} (origins disagree on it)`);
      }
    }
    out.push({ typeId: s.typeId, streamId: s.streamId, csid: s.csid, payload, startOffset: s.startOffset });
  }
}

/**
 * Serializes one message as chunks with a type-0 header on `csid` (for the few messages the gate
 * writes itself: refusals). `chunkSize` must be the size the receiving side reads with.
 */
export function writeMessage(csid: number, typeId: number, streamId: number, payload: Buffer, chunkSize: number): Buffer {
  if (csid < 2 || csid > 63) throw new RangeError('writeMessage: csid must be 2..63');
  const header = Buffer.alloc(12);
  header[0] = csid; // fmt 0
  header.writeUIntBE(0, 1, 3);
  header.writeUIntBE(payload.length, 4, 3);
  header[7] = typeId;
  header.writeUInt32LE(streamId, 8);
  const parts: Buffer[] = [header];
  for (let i = 0; i < payload.length; i += chunkSize) {
    if (i > 0) parts.push(Buffer.from([0xc0 | csid])); // fmt 3 continuation
    parts.push(payload.subarray(i, i + chunkSize));
  }
  return Buffer.concat(parts);
}
