// The vocabulary of the decision core. Front doors (HTTP proxy, /verify, WebSocket gate) build a
// RequestContext; `decide()` answers with a Decision. Nothing here knows about HTTP.
import type { DenyStatus, ReasonCode } from './reasons.js';

export type { Door, DenyStatus, ReasonCode } from './reasons.js';

export type Role = 'play' | 'publish';

/** What a Ant Media file name says about the stream it belongs to (see request/stream-path.ts). */
export type FileKind =
  | 'manifest' // .m3u8 / .mpd: starts or refreshes a playback, may mint a grant
  | 'segment' // .ts / .fmp4 / .m4s / init / keys: hot path, authorized by grant when present
  | 'file' // whole-file VoD (.mp4 / .webm): one request is the playback
  | 'signalling' // a WebSocket command
  | 'ingest'; // HTTP publish paths (WHIP, chunked, hls-upload)

export interface Credentials {
  /** `token` parameter: one-time token, hash token or JWT. */
  token?: string | undefined;
  subscriberId?: string | undefined;
  subscriberCode?: string | undefined;
  /** Playback grant minted by streamgate itself (query parameter or cookie). */
  grant?: string | undefined;
  /** Conference room the token was minted for (one-time room tokens). */
  roomId?: string | undefined;
}

/** A canonical request: everything the decision needs, already parsed and validated. */
export interface RequestContext {
  app: string;
  /** The most likely stream the request is for (logs, metrics, response headers). */
  streamId: string;
  /**
   * Every stream the file may belong to by Ant Media's naming grammar, primary first. Usually one;
   * two when a name is ambiguous (`s_240p000000001.ts`: rendition of `s`, or stream `s_240p`).
   * A credential must name one of these; `stream1` never matches `stream10…` files.
   */
  streamIds: readonly string[];
  role: Role;
  kind: FileKind;
  /** Client IP after trusted-proxy resolution, normalized (IPv4-mapped IPv6 → IPv4). */
  clientIp: string;
  credentials: Credentials;
  /** false for HEAD and probes: a one-time token is checked but never consumed. */
  consume: boolean;
  /** Wall-clock now in ms; injected so checks are testable at edges. */
  now: number;
}

/** Which credential authorized an allowed request. */
export type Via = 'open' | 'oneTimeToken' | 'hash' | 'jwt' | 'totp' | 'grant';

export interface Allow {
  allow: true;
  via: Via;
  /** Factors that passed, in order (e.g. ['jwt', 'totp']). */
  factors: Via[];
  subscriberId?: string | undefined;
  /** Earliest expiry (ms) of the credentials used; undefined when none expires (hash, open). */
  expiresAt?: number | undefined;
  /**
   * The stream the credential authorized (one of ctx.streamIds). Grants are minted for this one,
   * not for the parser's first reading of an ambiguous file name.
   */
  streamId?: string | undefined;
  /**
   * The playback session a single-use credential opened (an opaque seed from PlaybackSessions):
   * minted into the grant on first use, and handed back when the same client re-presents it.
   */
  seed?: string | undefined;
  /** true: the credential was spent before by this client; this request continues its session. */
  resumed?: boolean | undefined;
  /**
   * With `resumed`: the credential is valid on its own right now (a TOTP code inside its window),
   * so when the session it opened was revoked meanwhile, a new session may start instead.
   */
  mayRestart?: boolean | undefined;
}

export interface Deny {
  allow: false;
  /**
   * 401 credential missing or bad, 403 good credential refused by policy, 429 locked out, 503 store
   * down, 500 the gate failed. Always `REASONS[reason].status`; a door answers `statusAt(door, reason)`.
   */
  status: DenyStatus;
  reason: ReasonCode;
  /** With 429: seconds until the lockout ends (HTTP `Retry-After`, RFC 9110 §10.2.3). */
  retryAfterSeconds?: number | undefined;
}

export type Decision = Allow | Deny;

/** Result of a single check: checks are small and one file each (src/checks/). */
export type CheckResult =
  | {
      ok: true;
      expiresAt?: number | undefined;
      subscriberId?: string | undefined;
      /** The stream the credential names (one of ctx.streamIds), when it names one. */
      streamId?: string | undefined;
      /** See Allow.seed / Allow.resumed / Allow.mayRestart. */
      seed?: string | undefined;
      resumed?: boolean | undefined;
      mayRestart?: boolean | undefined;
    }
  | { ok: false; status: DenyStatus; reason: ReasonCode; retryAfterSeconds?: number | undefined };
