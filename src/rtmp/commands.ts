// The RTMP command grammar the gate needs (RTMP specification §7.2): `connect` names the application,
// the stream commands name the stream with its `?query`. Ant Media's publish URL
// `rtmp://host/{app}/{streamId}?token=…` reaches us as app `{app}` and stream name
// `{streamId}?token=…`; encoders that put the query on the server URL send it in `app`/`tcUrl`.
import type { Role } from '../decision/types.js';
import { isStreamId } from '../request/stream-path.js';
import { decodeAmf0, type AmfObject, type AmfValue } from './amf0.js';
import { MessageType, RtmpProtocolError, type RtmpMessage } from './chunk-reader.js';

export interface ConnectCommand {
  kind: 'connect';
  transactionId: number;
  /** Application name without any query. */
  app: string;
  /** Query carried by `app` or, failing that, by `tcUrl` (credentials some encoders put there). */
  query: string;
}

export interface StreamCommand {
  kind: 'stream';
  name: string;
  transactionId: number;
  /** Message stream id the command arrived on (onStatus replies go there). */
  messageStreamId: number;
  role: Role;
  /** The stream id, or null when the name is not a valid stream id. */
  streamId: string | null;
  /** The raw name as sent (cache key for decisions on one connection). */
  rawName: string;
  query: string;
}

export type RtmpCommand = ConnectCommand | StreamCommand | { kind: 'other'; name: string };

/** Commands that name a stream, with the role they ask for, by their normalized name (see commandKey). */
const STREAM_COMMANDS: Record<string, Role> = {
  releasestream: 'publish',
  fcpublish: 'publish',
  publish: 'publish',
  play: 'play',
  play2: 'play',
  fcsubscribe: 'play',
  getstreamlength: 'play',
};

/**
 * A command name as origins match it: nginx-rtmp copies it into a C string (so it ends at the first
 * NUL) and looks it up lower-cased (ngx_rtmp_receive.c), so `Publish` and `publish\0x` are a publish
 * there. The gate decides on the same key.
 */
export function commandKey(name: string): string {
  const nul = name.indexOf('\0');
  return (nul === -1 ? name : name.slice(0, nul)).toLowerCase();
}

/** Names an origin acts on as a connection or stream command. */
const isGatedName = (key: string): boolean => key === 'connect' || Object.hasOwn(STREAM_COMMANDS, key);

/** Reads the leading name of a data or shared-object message (typed AMF0 string, or typeless), or null. */
function leadingName(body: Buffer, typeless: boolean): string | null {
  if (typeless) return body.length >= 2 ? body.toString('latin1', 2, 2 + body.readUInt16BE(0)) : null;
  if (body[0] === 0x02 && body.length >= 3) return body.toString('latin1', 3, 3 + body.readUInt16BE(1));
  if (body[0] === 0x0c && body.length >= 5) return body.toString('latin1', 5, 5 + Math.min(body.readUInt32BE(1), 1024));
  return null;
}

/**
 * Refuses a data (15, 18), shared-object (16, 19) or aggregate (22) message that an origin would act
 * on as a command: one named like a gated command, or an aggregate carrying anything but audio,
 * video and such data messages (RTMP specification §7.1.6: sub-messages are FLV tags with a back
 * pointer).
 * @throws RtmpProtocolError naming what was smuggled.
 */
function checkCarrier(msg: RtmpMessage): void {
  if (msg.typeId === MessageType.aggregate) {
    const p = msg.payload;
    for (let at = 0; at < p.length; ) {
      if (p.length - at < 11) throw new RtmpProtocolError('a truncated aggregate sub-message');
      const type = p[at]!;
      const size = p.readUIntBE(at + 1, 3);
      if (at + 11 + size > p.length) throw new RtmpProtocolError('a truncated aggregate sub-message');
      const body = p.subarray(at + 11, at + 11 + size);
      if (type === MessageType.dataAmf0 || type === MessageType.dataAmf3) checkCarrier({ ...msg, typeId: type, payload: body });
      else if (type !== MessageType.audio && type !== MessageType.video) throw new RtmpProtocolError(`an aggregate carrying a message of type ${type}`);
      at += 11 + size + 4;
    }
    return;
  }
  const amf3 = msg.typeId === MessageType.dataAmf3 || msg.typeId === MessageType.sharedObjectAmf3;
  const body = amf3 && msg.payload[0] === 0 ? msg.payload.subarray(1) : msg.payload;
  const name = leadingName(body, msg.typeId === MessageType.sharedObjectAmf0 || msg.typeId === MessageType.sharedObjectAmf3);
  if (name !== null && isGatedName(commandKey(name))) throw new RtmpProtocolError(`a "${commandKey(name)}" command in a message of type ${msg.typeId}`);
}

/** `mp4:name` / `flv:name` / `mp3:name` prefixes select a container, not a stream (Adobe FMS naming). */
const CONTAINER_PREFIX = /^(?:mp4|flv|mp3|f4v):/;

function splitQuery(s: string): [string, string] {
  const q = s.indexOf('?');
  return q === -1 ? [s, ''] : [s.slice(0, q), s.slice(q + 1)];
}

const isObject = (v: AmfValue): v is AmfObject => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/**
 * Reads a command message (type 20, or 17 with its leading AMF3-switch byte); any other
 * collected message is checked for a command in disguise (checkCarrier) and is `other` otherwise.
 * Stream command names are returned normalized (commandKey).
 * @throws AmfError / RtmpProtocolError when the body is not a command.
 */
export function readCommand(msg: RtmpMessage): RtmpCommand {
  if (msg.typeId !== MessageType.commandAmf0 && msg.typeId !== MessageType.commandAmf3) {
    checkCarrier(msg);
    return { kind: 'other', name: `message type ${msg.typeId}` };
  }
  const body = msg.typeId === MessageType.commandAmf3 ? msg.payload.subarray(1) : msg.payload;
  const values = decodeAmf0(body);
  const [rawCommand, txn] = values;
  if (typeof rawCommand !== 'string' || typeof txn !== 'number') throw new RtmpProtocolError('a command starts with its name and transaction id');
  const name = commandKey(rawCommand);
  if (name === 'connect') {
    const obj = values[2];
    if (!isObject(obj) || typeof obj.app !== 'string') throw new RtmpProtocolError('connect without an app');
    const [app, appQuery] = splitQuery(obj.app.replace(/\/+$/, ''));
    const tcUrl = typeof obj.tcUrl === 'string' ? obj.tcUrl : '';
    return { kind: 'connect', transactionId: txn, app, query: appQuery || splitQuery(tcUrl)[1] };
  }
  const role = Object.hasOwn(STREAM_COMMANDS, name) ? STREAM_COMMANDS[name] : undefined;
  if (role === undefined) return { kind: 'other', name };
  // The stream name is the first argument after the (null) command object; play2 passes an object.
  let raw = values[3];
  if (name === 'play2' && isObject(raw)) raw = raw.streamName;
  if (typeof raw !== 'string') return { kind: 'stream', name, transactionId: txn, messageStreamId: msg.streamId, role, streamId: null, rawName: '', query: '' };
  const [path, query] = splitQuery(raw);
  // A container prefix selects a recorded file to play (`mp4:m1` plays m1.mp4); a publish keeps the
  // name as sent (nginx-rtmp publishes `mp4:m1` as that name), which is no stream id and is refused.
  const id = role === 'play' ? path.replace(CONTAINER_PREFIX, '') : path;
  const streamId = isStreamId(id) && id !== '.' && id !== '..' && id.length <= 256 ? id : null;
  return { kind: 'stream', name, transactionId: txn, messageStreamId: msg.streamId, role, streamId, rawName: raw, query };
}
