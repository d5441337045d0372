// The parts of the SRT wire format the gate reads and writes (Haivision SRT, draft-sharabayko-srt
// §3 "Packet Structure" and §3.2.1 "Handshake"): the control-packet header, the handshake body and its
// extension blocks, the Stream ID extension (SRT_CMD_SID), and the handshake the gate sends to refuse
// a caller (ReqType = URQ_FAILURE_TYPES (1000) + rejection code).
import { ErrorCode, StreamgateError } from '../errors.js';

export const ControlType = { handshake: 0x0000, shutdown: 0x0005 } as const;
/** Handshake request types (srtcore/handshake.h UDTRequestType). */
export const RequestType = { induction: 1, waveahand: 0, conclusion: -1, agreement: -2, failureBase: 1000 } as const;
/** Handshake extension command types (SRT_CMD_*). */
export const ExtensionType = { hsreq: 1, hsrsp: 2, kmreq: 3, kmrsp: 4, sid: 5, congestion: 6, filter: 7, group: 8 } as const;
/** A Stream ID is at most 512 bytes (SRTO_STREAMID). */
export const MAX_STREAM_ID_BYTES = 512;

const HEADER_BYTES = 16;
const HANDSHAKE_BYTES = 48;

export class SrtPacketError extends StreamgateError {
  constructor(message: string) {
    super(ErrorCode.srtPacket, message);
  }
}

export interface Handshake {
  /** Destination socket id from the packet header (0 on an induction request). */
  destinationSocketId: number;
  timestamp: number;
  version: number;
  /** Encryption flags (upper 16 bits) and extension flags (lower 16 bits). */
  type: number;
  initialSequence: number;
  mss: number;
  flightFlagSize: number;
  /** Signed: 1 induction, 0 wave-a-hand, -1 conclusion, -2 agreement, ≥ 1000 a rejection. */
  requestType: number;
  /** The sender's own socket id. */
  socketId: number;
  cookie: number;
  peerIp: Buffer;
  /** Extension blocks (HSv5 conclusion): type and raw content. */
  extensions: { type: number; content: Buffer }[];
}

/** True for control packets (first bit set, draft-sharabayko-srt §3). */
export const isControl = (p: Buffer): boolean => p.length >= HEADER_BYTES && (p[0]! & 0x80) !== 0;

/** The control type of a control packet (15 bits after the flag). */
export const controlType = (p: Buffer): number => p.readUInt16BE(0) & 0x7fff;

/**
 * Reads a handshake control packet.
 * @throws SrtPacketError when it is not one, is truncated, or an extension block overruns the packet.
 */
export function readHandshake(p: Buffer): Handshake {
  if (!isControl(p) || controlType(p) !== ControlType.handshake) throw new SrtPacketError('not a handshake control packet');
  if (p.length < HEADER_BYTES + HANDSHAKE_BYTES) throw new SrtPacketError(`handshake of ${p.length} bytes is truncated`);
  const b = HEADER_BYTES;
  const hs: Handshake = {
    timestamp: p.readUInt32BE(8),
    destinationSocketId: p.readUInt32BE(12),
    version: p.readUInt32BE(b),
    type: p.readUInt32BE(b + 4),
    initialSequence: p.readUInt32BE(b + 8),
    mss: p.readUInt32BE(b + 12),
    flightFlagSize: p.readUInt32BE(b + 16),
    requestType: p.readInt32BE(b + 20),
    socketId: p.readUInt32BE(b + 24),
    cookie: p.readUInt32BE(b + 28),
    peerIp: Buffer.from(p.subarray(b + 32, b + 48)),
    extensions: [],
  };
  let at = HEADER_BYTES + HANDSHAKE_BYTES;
  if (hs.version >= 5 && hs.requestType === RequestType.conclusion) {
    while (at + 4 <= p.length) {
      const type = p.readUInt16BE(at);
      const words = p.readUInt16BE(at + 2);
      const end = at + 4 + words * 4;
      if (end > p.length) throw new SrtPacketError(`extension ${type} overruns the packet`);
      hs.extensions.push({ type, content: p.subarray(at + 4, end) });
      at = end;
      if (hs.extensions.length > 16) throw new SrtPacketError('more than 16 handshake extensions');
    }
  }
  return hs;
}

/**
 * The Stream ID of a conclusion handshake, or undefined when it has none. The string is padded with
 * NULs to whole 32-bit words and each word's bytes are reversed on the wire (handshake.md, "Congestion
 * controller" and "Stream ID").
 * @throws SrtPacketError for an over-long or non-UTF-8 Stream ID.
 */
export function streamIdOf(hs: Handshake): string | undefined {
  const sid = hs.extensions.find((e) => e.type === ExtensionType.sid);
  if (!sid) return undefined;
  if (sid.content.length > MAX_STREAM_ID_BYTES) throw new SrtPacketError(`Stream ID of ${sid.content.length} bytes exceeds ${MAX_STREAM_ID_BYTES}`);
  const bytes = Buffer.from(sid.content);
  for (let i = 0; i + 4 <= bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  const text = new TextDecoder('utf-8', { fatal: true });
  try {
    return text.decode(bytes.subarray(0, end));
  } catch {
    throw new SrtPacketError('Stream ID is not UTF-8');
  }
}

/** Encodes a Stream ID extension's content (the inverse of streamIdOf). */
export function encodeStreamId(value: string): Buffer {
  const raw = Buffer.from(value, 'utf8');
  const out = Buffer.alloc(Math.ceil(raw.length / 4) * 4);
  raw.copy(out);
  for (let i = 0; i < out.length; i += 4) out.subarray(i, i + 4).reverse();
  return out;
}

/** Serializes a handshake control packet (header + body + extension blocks). */
export function writeHandshake(hs: Handshake): Buffer {
  const ext = hs.extensions.map((e) => {
    const head = Buffer.alloc(4);
    head.writeUInt16BE(e.type, 0);
    head.writeUInt16BE(Math.ceil(e.content.length / 4), 2);
    const padded = Buffer.alloc(Math.ceil(e.content.length / 4) * 4);
    e.content.copy(padded);
    return Buffer.concat([head, padded]);
  });
  const p = Buffer.alloc(HEADER_BYTES + HANDSHAKE_BYTES);
  p.writeUInt16BE(0x8000 | ControlType.handshake, 0);
  p.writeUInt32BE(hs.timestamp >>> 0, 8);
  p.writeUInt32BE(hs.destinationSocketId >>> 0, 12);
  const b = HEADER_BYTES;
  p.writeUInt32BE(hs.version >>> 0, b);
  p.writeUInt32BE(hs.type >>> 0, b + 4);
  p.writeUInt32BE(hs.initialSequence >>> 0, b + 8);
  p.writeUInt32BE(hs.mss >>> 0, b + 12);
  p.writeUInt32BE(hs.flightFlagSize >>> 0, b + 16);
  p.writeInt32BE(hs.requestType, b + 20);
  p.writeUInt32BE(hs.socketId >>> 0, b + 24);
  p.writeUInt32BE(hs.cookie >>> 0, b + 28);
  hs.peerIp.copy(p, b + 32, 0, 16);
  return Buffer.concat([p, ...ext]);
}

/**
 * The handshake that refuses a caller's conclusion: addressed to the caller's socket, ReqType
 * `1000 + code` where code is an SRT_REJ_* value (< 1000) or an access-control SRT_REJX_* value
 * (1400 unauthorized-style codes, srtcore/access_control.h). libsrt reports it to the application as
 * the rejection reason (ffmpeg: "Connection setup failure: connection rejected").
 */
export function rejection(conclusion: Handshake, code: number, listenerSocketId: number): Buffer {
  return writeHandshake({
    ...conclusion,
    destinationSocketId: conclusion.socketId,
    requestType: RequestType.failureBase + code,
    socketId: listenerSocketId,
    type: 0,
    extensions: [],
  });
}

/** A shutdown control packet (draft-sharabayko-srt §3.2.8) for the socket `destinationSocketId`. */
export function shutdown(destinationSocketId: number): Buffer {
  const p = Buffer.alloc(HEADER_BYTES + 4);
  p.writeUInt16BE(0x8000 | ControlType.shutdown, 0);
  p.writeUInt32BE(destinationSocketId >>> 0, 12);
  return p;
}
