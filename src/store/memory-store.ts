// The embedded default store: everything in process memory. Semantics mirror RedisStore exactly
// (same ordering, same expiry rules, same JSON round-trip of stored objects) so both run the same
// contract suite (test/store/store-contract.ts).
import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Role } from '../decision/types.js';
import { randomBytes } from 'node:crypto';
import type {
  BlockType,
  Claim,
  CounterOptions,
  ConnectionEvent,
  ConsumeProbe,
  ConsumeResult,
  Epochs,
  EpochValue,
  OneTimeToken,
  RegisteredStream,
  Store,
  Subscriber,
  TrackedPlayback,
} from './store.js';
import { blockEpochRole } from './store.js';
import { LivePlaybacks } from './memory-playbacks.js';

/** Largest page any list method returns, whatever the caller asks for. */
export const MAX_PAGE_SIZE = 250;
/** Connection events kept per stream (the oldest by timestamp are dropped first). */
export const MAX_EVENTS_PER_STREAM = 10_000;
const EVENT_TRIM_BATCH = 1_000;

/** Normalizes offset/size: integers, offset ≥ 0, 0 ≤ size ≤ MAX_PAGE_SIZE. */
export function clampPage(offset: number, size: number): { offset: number; size: number } {
  const o = Number.isFinite(offset) ? Math.max(0, Math.floor(offset)) : 0;
  const s = Number.isFinite(size) ? Math.min(MAX_PAGE_SIZE, Math.max(0, Math.floor(size))) : 0;
  return { offset: o, size: s };
}

/** UTF-8 byte order: what Redis uses for equal-score ZSET members, so both stores list alike. */
export function byteCompare(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The role of a subscriber created by a block (a combined block is filed as a player). */
export function blockRole(type: BlockType): Role {
  return type === 'publish' ? 'publish' : 'play';
}

/** Stored objects go through JSON like in Redis: callers get copies, undefined fields vanish. */
const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** `used` set = tombstone: who consumed it, and the seed of the stream it named. */
type TokenEntry = { app: string; token: OneTimeToken; used: { client: string; seed: string } | null; expiresAtMs: number };

const SWEEP_INTERVAL_MS = 30_000;

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;

  // Keys are k(app, tokenId), k(app, streamId) or k(app, streamId, subscriberId).
  private readonly tokens = new Map<string, TokenEntry>();
  // stream → tokenIds (may hold stale ids; filtered on read)
  private readonly tokenIndex = new Map<string, { app: string; ids: Set<string> }>();
  private readonly subscribers = new Map<string, Map<string, Subscriber>>();
  private readonly epochs = new Map<string, EpochValue>();
  private readonly epochWatchers = new Set<(e: EpochValue) => void>();
  private readonly claims = new Map<string, { client: string; seed: string; expiresAtMs: number }>();
  /** A process-memory store loses everything with the process: each instance is its own generation. */
  private readonly gen = randomBytes(9).toString('base64url');
  // subscriber → sessionId → expiresAt (caller's clock)
  private readonly sessions = new Map<string, Map<string, number>>();
  private readonly once = new Map<string, number>();
  private readonly streams = new Map<string, RegisteredStream>();
  // live HTTP playbacks by deadline (memory-playbacks.ts)
  private readonly live: LivePlaybacks;
  private readonly events = new Map<string, ConnectionEvent[]>();
  private readonly shared = new Map<string, { value: string; expiresAtMs: number }>();
  private readonly sweeper: NodeJS.Timeout;

  /**
   * `maxTrackedPlaybacks`: live HTTP playback sessions tracked at once for their `disconnected`
   * events (default DEFAULT_MAX_TRACKED_PLAYBACKS); past it new sessions wait for room (LivePlaybacks.track).
   */
  constructor(opts: { maxTrackedPlaybacks?: number } = {}) {
    this.live = new LivePlaybacks(opts.maxTrackedPlaybacks);
    // Lazy checks keep answers right; the sweep only bounds memory. unref: never keeps node alive.
    this.sweeper = setInterval(() => this.sweep(Date.now()), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  // --- one-time tokens -------------------------------------------------------------------

  async saveToken(app: string, token: OneTimeToken): Promise<void> {
    const key = k(app, token.tokenId);
    const expiresAtMs = token.expireDate * 1000;
    if (!(expiresAtMs > Date.now())) {
      // Already expired: the store would forget it at once (as Redis does with a past PXAT).
      this.tokens.delete(key);
      return;
    }
    this.tokens.set(key, { app, token: copy(token), used: null, expiresAtMs });
    const sk = k(app, token.streamId);
    let idx = this.tokenIndex.get(sk);
    if (!idx) this.tokenIndex.set(sk, (idx = { app, ids: new Set() }));
    idx.ids.add(token.tokenId);
  }

  async consumeToken(app: string, probe: ConsumeProbe, nowMs: number, consume: boolean): Promise<ConsumeResult> {
    const key = k(app, probe.tokenId);
    const entry = this.liveToken(key);
    if (!entry) return { outcome: 'missing' };
    const t = entry.token;
    const room = probe.roomId !== undefined && probe.roomId !== null && probe.roomId !== '';
    if (entry.used) {
      // Re-presentation by the client that consumed it, for the same role and stream.
      const same = !room && probe.client !== undefined && probe.client !== '' && entry.used.client === probe.client;
      if (same && t.type === probe.type && nowMs / 1000 < t.expireDate && probe.streamIds.includes(t.streamId)) {
        return { outcome: 'resumed', token: copy(t), seed: entry.used.seed };
      }
      return { outcome: 'used' };
    }
    if (t.type !== probe.type) return { outcome: 'wrong_role' };
    if (nowMs / 1000 >= t.expireDate) return { outcome: 'expired' };
    if (room) {
      // Room tokens are reusable for the room: checked, never consumed.
      return t.roomId === probe.roomId ? { outcome: 'ok', token: copy(t) } : { outcome: 'wrong_stream' };
    }
    if (!probe.streamIds.includes(t.streamId)) return { outcome: 'wrong_stream' };
    // Keep a tombstone until the token's own expiry so a replay answers 'used' (or 'resumed').
    if (consume) entry.used = { client: probe.client ?? '', seed: probe.seeds?.[t.streamId] ?? '' };
    return { outcome: 'ok', token: copy(t) };
  }

  async listTokens(app: string, streamId: string, offset: number, size: number): Promise<OneTimeToken[]> {
    const page = clampPage(offset, size);
    if (page.size === 0) return [];
    const live = this.streamTokens(app, streamId);
    live.sort((a, b) => a.expireDate - b.expireDate || byteCompare(a.tokenId, b.tokenId));
    return live.slice(page.offset, page.offset + page.size).map(copy);
  }

  async revokeTokens(app: string, streamId: string): Promise<number> {
    const live = this.streamTokens(app, streamId);
    // Tombstones go too: a revoked token can no longer be re-presented.
    for (const id of this.tokenIndex.get(k(app, streamId))?.ids ?? []) {
      const e = this.tokens.get(k(app, id));
      if (e && e.token.streamId === streamId) this.tokens.delete(k(app, id));
    }
    this.tokenIndex.delete(k(app, streamId));
    this.bump(app, streamId);
    return live.length;
  }

  // --- subscribers ---------------------------------------------------------------------

  async putSubscriber(app: string, subscriber: Subscriber): Promise<void> {
    this.subsOf(app, subscriber.streamId, true).set(subscriber.subscriberId, copy(subscriber));
  }

  async getSubscriber(app: string, streamId: string, subscriberId: string): Promise<Subscriber | null> {
    const s = this.subsOf(app, streamId, false)?.get(subscriberId);
    return s ? copy(s) : null;
  }

  async listSubscribers(app: string, streamId: string, offset: number, size: number): Promise<Subscriber[]> {
    const page = clampPage(offset, size);
    const subs = this.subsOf(app, streamId, false);
    if (!subs || page.size === 0) return [];
    const ids = [...subs.keys()].sort(byteCompare).slice(page.offset, page.offset + page.size);
    return ids.map((id) => copy(subs.get(id)!));
  }

  async deleteSubscriber(app: string, streamId: string, subscriberId: string): Promise<boolean> {
    const existed = this.subsOf(app, streamId, false)?.delete(subscriberId) ?? false;
    this.bump(app, streamId, subscriberId);
    return existed;
  }

  async deleteSubscribers(app: string, streamId: string): Promise<number> {
    const subs = this.subsOf(app, streamId, false);
    if (!subs) return 0;
    for (const id of subs.keys()) this.bump(app, streamId, id);
    this.subscribers.delete(k(app, streamId));
    return subs.size;
  }

  async blockSubscriber(app: string, streamId: string, subscriberId: string, type: BlockType, untilMs: number): Promise<void> {
    const subs = this.subsOf(app, streamId, true);
    const s: Subscriber = subs.get(subscriberId) ?? {
      subscriberId,
      streamId,
      type: blockRole(type),
      concurrentConnectionsLimit: 1,
      blockedUntilUnitTimeStampMs: 0,
    };
    const unblock = !(untilMs > 0);
    s.blockedType = unblock ? null : type;
    s.blockedUntilUnitTimeStampMs = unblock ? 0 : untilMs;
    subs.set(subscriberId, s);
    if (!unblock) this.bump(app, streamId, subscriberId, blockEpochRole(type));
  }

  // --- revocation and sessions ----------------------------------------------------------

  async getEpochs(app: string, streamId: string, subscriberId?: string, role?: Role): Promise<Epochs> {
    const of = (key: string) => this.epochs.get(key)?.epoch ?? 0;
    if (subscriberId === undefined) return { stream: of(k(app, streamId)), subscriber: 0 };
    return { stream: of(k(app, streamId)), subscriber: of(k(app, streamId, subscriberId)) + (role === undefined ? 0 : of(k(app, streamId, subscriberId, role))) };
  }

  async listEpochs(): Promise<EpochValue[]> {
    return [...this.epochs.values()].map(copy);
  }

  watchEpochs(onBump: (e: EpochValue) => void, onSync: () => void): () => void {
    const w = (e: EpochValue) => onBump(copy(e));
    this.epochWatchers.add(w);
    queueMicrotask(onSync);
    return () => void this.epochWatchers.delete(w);
  }

  async generation(): Promise<string> {
    return this.gen;
  }

  async touchSession(app: string, streamId: string, subscriberId: string, sessionId: string, ttlMs: number, limit: number, nowMs: number): Promise<boolean> {
    const key = k(app, streamId, subscriberId);
    let live = this.sessions.get(key);
    if (!live) this.sessions.set(key, (live = new Map()));
    for (const [id, exp] of live) if (exp <= nowMs) live.delete(id);
    // limit ≤ 0 means "no limit" (same in the Redis script).
    if (!live.has(sessionId) && limit > 0 && live.size >= limit) return false;
    live.set(sessionId, nowMs + ttlMs);
    return true;
  }

  async endSession(app: string, streamId: string, subscriberId: string, sessionId: string): Promise<void> {
    const key = k(app, streamId, subscriberId);
    const live = this.sessions.get(key);
    if (!live) return;
    live.delete(sessionId);
    if (live.size === 0) this.sessions.delete(key);
  }

  // --- replay guard ---------------------------------------------------------------------

  async markOnce(key: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const exp = this.once.get(key);
    if (exp !== undefined && exp > now) return false;
    this.once.set(key, now + ttlMs);
    return true;
  }

  async claimOnce(key: string, client: string, seed: string, ttlMs: number): Promise<Claim> {
    const now = Date.now();
    const c = this.claims.get(key);
    if (c && c.expiresAtMs > now) return { first: false, client: c.client, seed: c.seed };
    this.claims.set(key, { client, seed, expiresAtMs: now + ttlMs });
    return { first: true };
  }

  async peekClaim(key: string): Promise<{ client: string; seed: string } | null> {
    const c = this.claims.get(key);
    return c && c.expiresAtMs > Date.now() ? { client: c.client, seed: c.seed } : null;
  }

  // --- stream registry --------------------------------------------------------------------

  async registerStream(app: string, stream: RegisteredStream): Promise<void> {
    this.streams.set(k(app, stream.streamId), copy(stream));
  }

  async getStream(app: string, streamId: string): Promise<RegisteredStream | null> {
    const s = this.streams.get(k(app, streamId));
    return s ? copy(s) : null;
  }

  async unregisterStream(app: string, streamId: string): Promise<boolean> {
    return this.streams.delete(k(app, streamId));
  }

  // --- statistics -----------------------------------------------------------------------

  async trackPlaybacks(entries: readonly TrackedPlayback[]): Promise<number[]> {
    return this.live.track(entries);
  }

  async claimEndedPlaybacks(nowMs: number, limit: number): Promise<TrackedPlayback[]> {
    // Synchronous: in one process this is as atomic as the Redis script.
    return this.live.claim(nowMs, limit);
  }

  async addConnectionEvent(app: string, event: ConnectionEvent): Promise<void> {
    const key = k(app, event.streamId);
    let list = this.events.get(key);
    if (!list) this.events.set(key, (list = []));
    // Sorted by timestamp, ties in arrival order. Events arrive in time order almost always: append;
    // otherwise insert after the last event with ts ≤ this one.
    const stored = { ...event }; // flat object of primitives: a spread is a full copy
    if (list.length === 0 || list[list.length - 1]!.timestamp <= event.timestamp) list.push(stored);
    else {
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (list[mid]!.timestamp <= event.timestamp) lo = mid + 1;
        else hi = mid;
      }
      list.splice(lo, 0, stored);
    }
    // Trim in batches (one splice per ~1,000 inserts, not one 10k-element move per insert); readers
    // only ever see the newest MAX_EVENTS_PER_STREAM.
    if (list.length > MAX_EVENTS_PER_STREAM + EVENT_TRIM_BATCH) list.splice(0, list.length - MAX_EVENTS_PER_STREAM);
  }

  async listConnectionEvents(app: string, streamId: string, offset: number, size: number, subscriberId?: string): Promise<ConnectionEvent[]> {
    const page = clampPage(offset, size);
    const all = this.events.get(k(app, streamId));
    if (!all || page.size === 0) return [];
    const list = all.length > MAX_EVENTS_PER_STREAM ? all.slice(all.length - MAX_EVENTS_PER_STREAM) : all;
    const matching = subscriberId === undefined ? list : list.filter((e) => e.subscriberId === subscriberId);
    return matching.slice(page.offset, page.offset + page.size).map(copy);
  }

  // --- shared cache ---------------------------------------------------------------------

  async getShared(key: string): Promise<string | null> {
    const e = this.shared.get(key);
    if (!e) return null;
    if (e.expiresAtMs <= Date.now()) {
      this.shared.delete(key);
      return null;
    }
    return e.value;
  }

  async setShared(key: string, value: string, ttlMs: number): Promise<void> {
    this.shared.set(key, { value, expiresAtMs: Date.now() + ttlMs });
  }

  // --- lifecycle ------------------------------------------------------------------------

  createCounter(opts: CounterOptions): RateLimiterAbstract {
    return new RateLimiterMemory({ keyPrefix: opts.name, points: opts.points, duration: opts.durationSeconds });
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  // --- internals ------------------------------------------------------------------------

  private liveToken(key: string): TokenEntry | undefined {
    const e = this.tokens.get(key);
    if (e && e.expiresAtMs <= Date.now()) {
      this.tokens.delete(key);
      return undefined;
    }
    return e;
  }

  /** Live (unexpired, unconsumed) tokens of a stream; drops stale index entries on the way. */
  private streamTokens(app: string, streamId: string): OneTimeToken[] {
    const sk = k(app, streamId);
    const ids = this.tokenIndex.get(sk)?.ids;
    if (!ids) return [];
    const out: OneTimeToken[] = [];
    for (const id of ids) {
      const e = this.liveToken(k(app, id));
      // A token id re-saved for another stream leaves a stale entry here; tombstones stay indexed
      // (revokeTokens deletes them) but are not listed.
      if (e && e.token.streamId === streamId) {
        if (!e.used) out.push(e.token);
      } else ids.delete(id);
    }
    if (ids.size === 0) this.tokenIndex.delete(sk);
    return out;
  }

  private subsOf(app: string, streamId: string, create: true): Map<string, Subscriber>;
  private subsOf(app: string, streamId: string, create: false): Map<string, Subscriber> | undefined;
  private subsOf(app: string, streamId: string, create: boolean): Map<string, Subscriber> | undefined {
    const key = k(app, streamId);
    let subs = this.subscribers.get(key);
    if (!subs && create) this.subscribers.set(key, (subs = new Map()));
    return subs;
  }

  private bump(app: string, streamId: string, subscriberId?: string, role?: Role): void {
    const key = subscriberId === undefined ? k(app, streamId) : role === undefined ? k(app, streamId, subscriberId) : k(app, streamId, subscriberId, role);
    const e: EpochValue = { app, streamId, epoch: (this.epochs.get(key)?.epoch ?? 0) + 1 };
    if (subscriberId !== undefined) e.subscriberId = subscriberId;
    if (subscriberId !== undefined && role !== undefined) e.role = role;
    this.epochs.set(key, e);
    for (const w of this.epochWatchers) w(e);
  }

  private sweep(now: number): void {
    for (const [key, e] of this.tokens) if (e.expiresAtMs <= now) this.tokens.delete(key);
    for (const [key, { app, ids }] of this.tokenIndex) {
      for (const id of ids) if (!this.tokens.has(k(app, id))) ids.delete(id);
      if (ids.size === 0) this.tokenIndex.delete(key);
    }
    for (const [key, live] of this.sessions) {
      for (const [id, exp] of live) if (exp <= now) live.delete(id);
      if (live.size === 0) this.sessions.delete(key);
    }
    for (const [key, exp] of this.once) if (exp <= now) this.once.delete(key);
    for (const [key, c] of this.claims) if (c.expiresAtMs <= now) this.claims.delete(key);
    for (const [key, e] of this.shared) if (e.expiresAtMs <= now) this.shared.delete(key);
  }
}

/** Composite map key, length-prefixed so no choice of ids can make two keys collide. */
function k(...parts: string[]): string {
  let out = '';
  for (const p of parts) out += `${p.length}:${p}`;
  return out;
}
