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

/** Commands that name a stream, with the role they ask for. */
const STREAM_COMMANDS: Record<string, Role> = {
  releaseStream: 'publish',
  FCPublish: 'publish',
  publish: 'publish',
  play: 'play',
  play2: 'play',
  FCSubscribe: 'play',
  getStreamLength: 'play',
};

/** `mp4:name` / `flv:name` / `mp3:name` prefixes select a container, not a stream (Adobe FMS naming). */
const CONTAINER_PREFIX = /^(?:mp4|flv|mp3|f4v):/;

function splitQuery(s: string): [string, string] {
  const q = s.indexOf('?');
  return q === -1 ? [s, ''] : [s.slice(0, q), s.slice(q + 1)];
}

const isObject = (v: AmfValue): v is AmfObject => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/**
 * Reads a command message (type 20, or 17 with its leading AMF3-switch byte).
 * @throws AmfError / RtmpProtocolError when the body is not a command.
 */
export function readCommand(msg: RtmpMessage): RtmpCommand {
  const body = msg.typeId === MessageType.commandAmf3 ? msg.payload.subarray(1) : msg.payload;
  const values = decodeAmf0(body);
  const [name, txn] = values;
  if (typeof name !== 'string' || typeof txn !== 'number') throw new RtmpProtocolError('a command starts with its name and transaction id');
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
  const id = path.replace(CONTAINER_PREFIX, '');
  const streamId = isStreamId(id) && id !== '.' && id !== '..' && id.length <= 256 ? id : null;
  return { kind: 'stream', name, transactionId: txn, messageStreamId: msg.streamId, role, streamId, rawName: raw, query };
}
