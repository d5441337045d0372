// One store interface, two implementations (memory-store.ts, redis-store.ts) run through the same
// test suite (test/store/). Every method may reject with StoreUnavailableError when the backing
// store cannot answer; callers turn that into 503 (fail closed).
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Role } from '../decision/types.js';

/** Ant Media's Token shape (REST and store). `expireDate` is unix *seconds*. */
export interface OneTimeToken {
  tokenId: string;
  streamId: string;
  type: Role;
  expireDate: number;
  roomId?: string | null;
}

export type BlockType = 'play' | 'publish' | 'publish_play';

/** Ant Media's Subscriber shape. The base32 secret is write-only on the API (never returned). */
export interface Subscriber {
  subscriberId: string;
  streamId: string;
  subscriberName?: string | null;
  type: Role;
  b32Secret?: string | null;
  totpExpiryPeriodSeconds?: number | null;
  concurrentConnectionsLimit: number;
  blockedType?: BlockType | null;
  /** ms since epoch; 0 = not blocked. 64-bit safe (JS number is exact to 2^53). */
  blockedUntilUnitTimeStampMs: number;
}

/**
 * 'used': consumed before (the store keeps a tombstone until the token's expiry for this answer).
 * 'resumed': consumed before by the same client (`probe.client`) for one of the probed streams: the
 * holder re-presents it (a live-playlist refresh, a Range request, an SDK re-publish).
 */
export type ConsumeOutcome = 'ok' | 'resumed' | 'missing' | 'used' | 'expired' | 'wrong_stream' | 'wrong_role';

export interface ConsumeProbe {
  tokenId: string;
  /** Every stream the requested file may belong to (see RequestContext.streamIds). */
  streamIds: readonly string[];
  type: Role;
  /** When set, the token is a room token: the stored roomId must equal it; it is not consumed. */
  roomId?: string | undefined;
  /**
   * Who presents the token (the client IP). A consume records it in the tombstone; a later probe
   * with the same client answers 'resumed' instead of 'used'. Absent: no re-presentation.
   */
  client?: string | undefined;
  /**
   * Opaque per-stream record (streamId → text, ≤ 1 KiB) kept in the tombstone for the stream the
   * token names, and handed back on 'resumed' (the playback session the token opened).
   */
  seeds?: Readonly<Record<string, string>> | undefined;
}

export interface ConsumeResult {
  outcome: ConsumeOutcome;
  /** The stored token (only when outcome is 'ok' or 'resumed'). */
  token?: OneTimeToken;
  /** The seed stored at consumption ('' when none was given; only when outcome is 'resumed'). */
  seed?: string;
}

/** What claimOnce answers: first claim, or the client and seed of the claim that was first. */
export type Claim = { first: true } | { first: false; client: string; seed: string };

/**
 * One revocation epoch: of a stream, of one subscriber of it (`subscriberId` set), or of that
 * subscriber's blocks for one role (`role` set too: a `play` or `publish` block ends only the
 * sessions of that role, as Ant Media's blockSubscriber does; `publish_play` bumps the subscriber's own).
 */
export interface EpochValue {
  app: string;
  streamId: string;
  subscriberId?: string | undefined;
  role?: Role | undefined;
  epoch: number;
}

/** The block type whose block epoch a block bumps: a role, or undefined for the subscriber's own epoch. */
export const blockEpochRole = (type: BlockType): Role | undefined => (type === 'publish_play' ? undefined : type);

/** Revocation epochs: bumping one ends every playback session minted before it. */
export interface Epochs {
  stream: number;
  subscriber: number;
}

export interface ConnectionEvent {
  timestamp: number; // ms
  eventType: 'connected' | 'disconnected';
  instanceIP: string;
  type: Role;
  eventProtocol: 'hls' | 'dash' | 'webrtc' | 'http';
  streamId: string;
  subscriberId?: string | null;
}

/** A live HTTP playback session, as its `disconnected` connection event will need it. */
export interface LivePlayback {
  app: string;
  /** The grant's session id: unique per playback. */
  sessionId: string;
  streamId: string;
  subscriberId: string | null;
  type: Role;
  eventProtocol: ConnectionEvent['eventProtocol'];
}

export interface TrackedPlayback {
  playback: LivePlayback;
  /** ms; the session is over when it is not extended before this. */
  deadlineMs: number;
}

export interface RegisteredStream {
  streamId: string;
  name?: string | null;
  registeredAt: number; // ms
}

/** A fixed-window counter: `points` per `durationSeconds` per key (rate limits and lockouts). */
export interface CounterOptions {
  /** Distinguishes counters sharing one store (e.g. 'fail:sub', 'lockouts:ip'). */
  name: string;
  points: number;
  durationSeconds: number;
}

export interface Store {
  readonly kind: 'memory' | 'redis';

  // --- one-time tokens -------------------------------------------------------------------
  /** Saves a token; the store forgets it at `expireDate`. */
  saveToken(app: string, token: OneTimeToken): Promise<void>;
  /**
   * Checks a token and, when `consume` is true and it matches, deletes it — atomically: among
   * any number of concurrent callers on any number of replicas exactly one gets 'ok'.
   * A mismatch (stream, role) never consumes. Room tokens (probe.roomId) are never consumed.
   */
  consumeToken(app: string, probe: ConsumeProbe, nowMs: number, consume: boolean): Promise<ConsumeResult>;
  listTokens(app: string, streamId: string, offset: number, size: number): Promise<OneTimeToken[]>;
  /**
   * Deletes every token of a stream (tombstones too, so none can be re-presented) and bumps the
   * stream's revocation epoch. Returns how many unused tokens were deleted.
   */
  revokeTokens(app: string, streamId: string): Promise<number>;

  // --- subscribers ---------------------------------------------------------------------
  putSubscriber(app: string, subscriber: Subscriber): Promise<void>;
  getSubscriber(app: string, streamId: string, subscriberId: string): Promise<Subscriber | null>;
  listSubscribers(app: string, streamId: string, offset: number, size: number): Promise<Subscriber[]>;
  /** Deletes one subscriber and bumps its revocation epoch. */
  deleteSubscriber(app: string, streamId: string, subscriberId: string): Promise<boolean>;
  /** Deletes all subscribers of a stream and bumps each one's epoch. Returns how many. */
  deleteSubscribers(app: string, streamId: string): Promise<number>;
  /**
   * Blocks (or with untilMs = 0 unblocks); creates the subscriber if absent. A block bumps the
   * block epoch of its role (`play`, `publish`) or, for `publish_play`, the subscriber's own epoch;
   * unblocking bumps nothing (no session has to end).
   */
  blockSubscriber(app: string, streamId: string, subscriberId: string, type: BlockType, untilMs: number): Promise<void>;

  // --- revocation and sessions ----------------------------------------------------------
  /**
   * One cheap read: current revocation epochs of a stream and (optionally) a subscriber; with
   * `role`, `subscriber` is the subscriber's epoch plus its block epoch for that role.
   */
  getEpochs(app: string, streamId: string, subscriberId?: string, role?: Role): Promise<Epochs>;
  /**
   * Registers or refreshes a live playback session of a subscriber; sessions not refreshed within
   * `ttlMs` expire. Returns false (and registers nothing) when `limit` other sessions are live.
   */
  touchSession(app: string, streamId: string, subscriberId: string, sessionId: string, ttlMs: number, limit: number, nowMs: number): Promise<boolean>;
  endSession(app: string, streamId: string, subscriberId: string, sessionId: string): Promise<void>;
  /** Every non-zero revocation epoch, for a full resync of a per-process cache. */
  listEpochs(): Promise<EpochValue[]>;
  /**
   * Pushes every epoch bump (from any replica) to `onBump`, at most a few ms after it. `onSync`
   * runs once the push channel is up and again after every reconnection (bumps may have been
   * missed meanwhile: resync with listEpochs). Never throws; returns the function that stops it.
   */
  watchEpochs(onBump: (e: EpochValue) => void, onSync: () => void): () => void;
  /**
   * The store's generation marker, written at first use. A different value later means the store
   * lost its data (a restart without persistence, FLUSHALL): revocations and tombstones are gone.
   */
  generation(): Promise<string>;

  // --- replay guard ---------------------------------------------------------------------
  /** Atomically records `key`; false when it was already recorded within `ttlMs`. */
  markOnce(key: string, ttlMs: number): Promise<boolean>;
  /**
   * Atomically records `key` for `client` with an opaque `seed` (≤ 1 KiB) for `ttlMs`; when it
   * was recorded before, answers who recorded it and with what seed (nothing is overwritten).
   */
  claimOnce(key: string, client: string, seed: string, ttlMs: number): Promise<Claim>;
  /** The live claim of `key` (client and seed), or null; never writes. */
  peekClaim(key: string): Promise<{ client: string; seed: string } | null>;

  // --- stream registry ("accept undefined streams") ---------------------------------------
  registerStream(app: string, stream: RegisteredStream): Promise<void>;
  getStream(app: string, streamId: string): Promise<RegisteredStream | null>;
  unregisterStream(app: string, streamId: string): Promise<boolean>;

  // --- statistics -----------------------------------------------------------------------
  /**
   * Registers or extends live playback sessions (one call for a batch): each is over at its
   * deadline unless extended again. A deadline never moves backwards (deadlines are whole ms:
   * floored); the payload is the latest given. MemoryStore caps the sessions tracked at once:
   * past the cap a session not tracked yet is skipped (LivePlaybacks.track in memory-playbacks.ts).
   * Resolves with the indices (into `entries`, ascending) of the sessions that were not live before:
   * the ones this call started, fleet-wide — one replica learns each start (its `connected` event).
   */
  trackPlaybacks(entries: readonly TrackedPlayback[]): Promise<number[]>;
  /**
   * Removes and returns up to `limit` sessions whose deadline is ≤ nowMs, earliest first (equal
   * deadlines in the byte order of `enc(app)/enc(sessionId)`, ids.ts playbackMember). Atomic:
   * among any number of concurrent callers on any number of replicas, each ended session is returned
   * to exactly one of them (so its `disconnected` event is written once).
   */
  claimEndedPlaybacks(nowMs: number, limit: number): Promise<TrackedPlayback[]>;
  addConnectionEvent(app: string, event: ConnectionEvent): Promise<void>;
  listConnectionEvents(app: string, streamId: string, offset: number, size: number, subscriberId?: string): Promise<ConnectionEvent[]>;

  // --- shared cache (e.g. a JWKS fetched by one replica, reused by the fleet) --------------
  getShared(key: string): Promise<string | null>;
  setShared(key: string, value: string, ttlMs: number): Promise<void>;

  // --- counters (rate limits, lockouts) --------------------------------------------------
  /**
   * A rate-limiter-flexible counter kept where this store keeps its state, so every replica on
   * the store shares it (atomic INCR + expiry in one Lua script on Redis). While the store cannot
   * answer it counts in process memory instead (rate-limiter-flexible's insurance limiter).
   */
  createCounter(opts: CounterOptions): RateLimiterAbstract;

  // --- lifecycle ------------------------------------------------------------------------
  /** Resolves when the store answers; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * Stores behind a connection call `listener(up, detail)` on every connect and connection loss
   * (repeats included; the listener deduplicates). Absent on stores that cannot go away (memory).
   */
  watchAvailability?(listener: (up: boolean, detail?: string) => void): void;
  /** Where the store lives, without credentials (e.g. `redis://10.0.0.5:6379`), for logs. */
  readonly target?: string;
}
