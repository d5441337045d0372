// AMF0 (Adobe "Action Message Format" version 0, amf0-file-format-specification §2), only as far as
// RTMP command messages need it. Hostile input is the normal case here: every length is checked
// against the buffer, nesting and item counts are bounded, and the markers a command never carries
// (reference, movieclip, typed object, XML, AVM+) are refused instead of interpreted, so a client
// cannot make the decoder allocate, recurse or alias without bound.
//
// Why not a library: the AMF0 packages on the npm registry are single-author projects that turn
// every buffer into a number[], give objects a normal prototype (`__proto__` keys re-parent them) and
// do not read strict arrays. Command grammar is small; this decoder is fuzzed in test/rtmp/.
import { ErrorCode, StreamgateError } from '../errors.js';

/** An AMF0 value as decoded: objects and ECMA arrays become null-prototype records. */
export type AmfValue = number | boolean | string | null | undefined | Date | AmfObject | AmfValue[];
export interface AmfObject {
  [key: string]: AmfValue;
}

/** The bytes are not a well-formed (or not an accepted) AMF0 sequence. */
export class AmfError extends StreamgateError {
  constructor(message: string) {
    super(ErrorCode.amf, message);
  }
}

const enum Marker {
  Number = 0x00,
  Boolean = 0x01,
  String = 0x02,
  Object = 0x03,
  Null = 0x05,
  Undefined = 0x06,
  EcmaArray = 0x08,
  ObjectEnd = 0x09,
  StrictArray = 0x0a,
  Date = 0x0b,
  LongString = 0x0c,
}

export interface DecodeLimits {
  /** Deepest object/array nesting accepted (commands use 2). */
  maxDepth: number;
  /** Values decoded in total, nested ones included. */
  maxItems: number;
}

const DEFAULT_LIMITS: DecodeLimits = { maxDepth: 8, maxItems: 1024 };

class Reader {
  pos = 0;
  items = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly limits: DecodeLimits,
  ) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new AmfError(`truncated: ${n} bytes needed at offset ${this.pos}`);
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  private u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  private u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  private utf8(len: number): string {
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  value(depth: number): AmfValue {
    if (++this.items > this.limits.maxItems) throw new AmfError(`more than ${this.limits.maxItems} values`);
    const marker = this.u8();
    switch (marker) {
      case Marker.Number: {
        this.need(8);
        const v = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return v;
      }
      case Marker.Boolean:
        return this.u8() !== 0;
      case Marker.String:
        return this.utf8(this.u16());
      case Marker.LongString:
        return this.utf8(this.u32());
      case Marker.Null:
        return null;
      case Marker.Undefined:
        return undefined;
      case Marker.Date: {
        this.need(10);
        const ms = this.buf.readDoubleBE(this.pos);
        this.pos += 10; // the 2-byte time zone is reserved and ignored (§2.13)
        return new Date(ms);
      }
      case Marker.Object:
        return this.properties(depth);
      case Marker.EcmaArray:
        this.u32(); // the count is advisory: the properties end with the object-end marker (§2.10)
        return this.properties(depth);
      case Marker.StrictArray: {
        const count = this.u32();
        if (count > this.limits.maxItems) throw new AmfError(`strict array of ${count} values`);
        if (depth + 1 > this.limits.maxDepth) throw new AmfError('nested too deeply');
        const out: AmfValue[] = [];
        for (let i = 0; i < count; i++) out.push(this.value(depth + 1));
        return out;
      }
      default:
        throw new AmfError(`marker 0x${marker.toString(16).padStart(2, '0')} is not accepted in a command`);
    }
  }

  private properties(depth: number): AmfObject {
    if (depth + 1 > this.limits.maxDepth) throw new AmfError('nested too deeply');
    const out = Object.create(null) as AmfObject;
    for (;;) {
      const key = this.utf8(this.u16());
      if (key === '') {
        if (this.u8() !== Marker.ObjectEnd) throw new AmfError('empty property name without object-end marker');
        return out;
      }
      if (Object.hasOwn(out, key)) throw new AmfError(`duplicate property ${JSON.stringify(key)}`);
      out[key] = this.value(depth + 1);
    }
  }
}

/**
 * Decodes a sequence of AMF0 values (an RTMP command message body: name, transaction id, command
 * object, arguments — RTMP specification §7.1.1).
 * @throws AmfError on truncation, an unaccepted marker, a duplicate property, or a limit exceeded.
 */
export function decodeAmf0(buf: Buffer, limits: DecodeLimits = DEFAULT_LIMITS): AmfValue[] {
  const r = new Reader(buf, limits);
  const out: AmfValue[] = [];
  while (!r.done) out.push(r.value(0));
  return out;
}

/** Encodes values for the messages the gate itself sends (`_error`, `onStatus`). */
export function encodeAmf0(values: readonly AmfValue[]): Buffer {
  const parts: Buffer[] = [];
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(2);
    h.writeUInt16BE(Math.min(b.length, 0xffff));
    parts.push(h, b.subarray(0, 0xffff));
  };
  const write = (v: AmfValue): void => {
    if (typeof v === 'number') {
      const b = Buffer.alloc(9);
      b[0] = Marker.Number;
      b.writeDoubleBE(v, 1);
      parts.push(b);
    } else if (typeof v === 'boolean') parts.push(Buffer.from([Marker.Boolean, v ? 1 : 0]));
    else if (typeof v === 'string') {
      parts.push(Buffer.from([Marker.String]));
      str(v);
    } else if (v === null) parts.push(Buffer.from([Marker.Null]));
    else if (v === undefined) parts.push(Buffer.from([Marker.Undefined]));
    else if (v instanceof Date || Array.isArray(v)) throw new TypeError('encodeAmf0: dates and arrays are not sent by the gate');
    else {
      parts.push(Buffer.from([Marker.Object]));
      for (const [k, val] of Object.entries(v)) {
        str(k);
        write(val);
      }
      parts.push(Buffer.from([0, 0, Marker.ObjectEnd]));
    }
  };
  for (const v of values) write(v);
  return Buffer.concat(parts);
}
