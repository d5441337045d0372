// Client → origin signalling frames (reference §8.2–§8.3): which commands start media and must be
// authorized, what credentials they carry, and the error frames the original answers with.
import type { Credentials, Role } from '../decision/types.js';
import { Definition, type DefinitionCode } from '../decision/reasons.js';
import { isStreamId } from '../request/stream-path.js';

// The definitions and the reason → definition mapping live in the one reason table.
export { Definition, definitionFor, type DefinitionCode } from '../decision/reasons.js';

/** `{"command":"error","definition":…,"streamId":…}` — key order as in the original's documentation. */
export function errorFrame(definition: DefinitionCode, streamId?: string): string {
  return streamId === undefined
    ? JSON.stringify({ command: 'error', definition })
    : JSON.stringify({ command: 'error', definition, streamId });
}

export type GatedCommandName = 'publish' | 'play' | 'join' | 'joinRoom' | 'getTrackList';

export interface GatedCommand {
  kind: 'gate';
  command: GatedCommandName;
  role: Role;
  streamId: string;
  credentials: Credentials;
  /** The parsed frame; what is forwarded is re-serialized from it (see inspectFrame). */
  message: Record<string, unknown>;
  /** Frame that ends what this command started, sent to the origin on expiry/revocation. */
  stopFrame: string | null;
}

export type Inspection =
  | { kind: 'pass' }
  /** A command that ends media the client started (stop/leave/leaveFromRoom): forwarded as is. */
  | { kind: 'release'; command: 'stop' | 'leave' | 'leaveFromRoom'; id: string }
  | { kind: 'refuse'; definition: DefinitionCode; streamId?: string }
  | GatedCommand;

const PASS: Inspection = { kind: 'pass' };

// A command name can only be decoded from a frame that spells it literally or uses a JSON escape.
const GATED_WORDS = ['publish', 'play', 'join', 'getTrackList'].map((w) => Buffer.from(w));
const RELEASE_WORDS = ['stop', 'leave'].map((w) => Buffer.from(w));
const BACKSLASH = 0x5c;

/**
 * Whether the frame could name a gated (or, with `releases`, a releasing) command. false is exact:
 * without a backslash, JSON (and any parser the origin might use) can only produce the string
 * "play" from the bytes `play`. Lets the hot path (ICE candidates, pings) skip JSON.parse.
 */
export function mayNeedInspection(frame: Buffer, releases: boolean): boolean {
  if (frame.indexOf(BACKSLASH) !== -1) return true;
  for (const w of GATED_WORDS) if (frame.indexOf(w) !== -1) return true;
  if (releases) for (const w of RELEASE_WORDS) if (frame.indexOf(w) !== -1) return true;
  return false;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** Play unless the client says it will send media (P2P `join` mode `both`, conference roles). */
function joinRole(m: Record<string, unknown>): Role {
  return m.mode === 'play' ? 'play' : 'publish';
}
function joinRoomRole(m: Record<string, unknown>): Role {
  // joinRoom itself carries no media; a participant that publishes sends a gated `publish` next.
  return m.mode === 'play' || m.role === 'play' || m.role === 'listener' || m.role === 'viewer' ? 'play' : 'publish';
}

/**
 * Classify one client text frame. Malformed JSON passes unchanged (the origin answers it as it
 * always has) — unless it could name a gated command: the origin's JSON parser (json-simple) is more
 * lenient than JSON.parse (it accepts `{"command":"play",}`), so such a frame is refused rather than
 * forwarded unauthorized.
 */
export function inspectFrame(frame: Buffer, releases: boolean): Inspection {
  if (!mayNeedInspection(frame, releases)) return PASS;
  let parsed: unknown;
  const text = frame.toString('utf8');
  try {
    parsed = JSON.parse(text);
  } catch {
    return mayNeedInspection(frame, false) ? { kind: 'refuse', definition: Definition.unauthorized } : PASS;
  }
  // JSON.parse keeps the last of duplicate keys, json-simple and others the first: a frame that two
  // parsers could read as two different commands (or streams) is refused, at any depth.
  if (hasDuplicateKey(text)) return { kind: 'refuse', definition: Definition.unauthorized };
  // The origin casts the frame to an object and `command` to a string: anything else never starts media.
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return PASS;
  const m = parsed as Record<string, unknown>;
  const command = m.command;
  switch (command) {
    case 'publish':
    case 'play':
    case 'getTrackList':
    case 'join':
      return gated(m, command);
    case 'joinRoom':
      return gated(m, command);
    case 'stop':
    case 'leave': {
      const id = str(m.streamId);
      return id ? { kind: 'release', command, id } : PASS;
    }
    case 'leaveFromRoom': {
      const id = str(m.room) ?? str(m.streamId);
      return id ? { kind: 'release', command, id } : PASS;
    }
    default:
      return PASS;
  }
}

/**
 * Whether any object in a valid JSON text (RFC 8259) has two members with the same name after
 * unescaping (`"command"` and `"comm\u0061nd"` are the same name). Linear scan; call only on text
 * JSON.parse accepted.
 */
export function hasDuplicateKey(json: string): boolean {
  // One entry per open container: the member names seen so far (objects) or null (arrays).
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      for (; j < json.length; j++) {
        const d = json.charCodeAt(j);
        if (d === 0x5c) {
          j++;
          escaped = true;
        } else if (d === 0x22) break;
      }
      if (expectKey) {
        const raw = json.slice(i, j + 1);
        const name = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        const names = stack[stack.length - 1]!;
        if (names.has(name)) return true;
        names.add(name);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return false;
}

function gated(m: Record<string, unknown>, command: GatedCommandName): Inspection {
  // Validation order of the original's handler: missing id, then the id alphabet.
  const id = command === 'joinRoom' ? str(m.room) ?? str(m.streamId) : str(m.streamId);
  if (id === undefined) return { kind: 'refuse', definition: command === 'joinRoom' ? Definition.noRoom : Definition.noStreamName };
  if (!isStreamId(id)) return { kind: 'refuse', definition: Definition.invalidStreamName, streamId: id };

  let role: Role;
  let roomId: string | undefined;
  let stopFrame: string | null;
  switch (command) {
    case 'publish':
      role = 'publish';
      roomId = str(m.mainTrack);
      stopFrame = JSON.stringify({ command: 'stop', streamId: id });
      break;
    case 'play':
      role = 'play';
      roomId = str(m.room);
      stopFrame = JSON.stringify({ command: 'stop', streamId: id });
      break;
    case 'join':
      role = joinRole(m);
      stopFrame = JSON.stringify({ command: 'leave', streamId: id });
      break;
    case 'joinRoom':
      role = joinRoomRole(m);
      roomId = id;
      stopFrame = JSON.stringify({ command: 'leaveFromRoom', room: id });
      break;
    case 'getTrackList':
      // A query, not a stream: authorized once, nothing to stop later.
      role = 'play';
      stopFrame = null;
      break;
  }
  const credentials: Credentials = { token: str(m.token), subscriberId: str(m.subscriberId), subscriberCode: str(m.subscriberCode), roomId };
  return { kind: 'gate', command, role, streamId: id, credentials, message: m, stopFrame };
}

/**
 * The frame forwarded for an allowed command: always re-serialized from what was authorized, so a
 * duplicate key or odd spacing cannot make the origin read a different stream than we checked.
 * `strip` removes the secrets (token, subscriberCode); subscriberId stays: it is an identity the
 * origin uses for statistics and its own blocking, not a credential.
 */
export function forwardedFrame(cmd: GatedCommand, strip: boolean): string {
  if (!strip) return JSON.stringify(cmd.message);
  const { token: _t, subscriberCode: _c, ...rest } = cmd.message;
  return JSON.stringify(rest);
}
