// The fleet store: Redis standalone, Sentinel or Cluster through ioredis.
//
// Key layout (P = keyPrefix; ids URI-encoded so no id can forge a brace or a separator):
//   {P:app/stream}:…          everything about one stream shares this hash tag (one cluster slot),
//                             so multi-key scripts and MGET never cross slots
//   {P:app:t:tokenId}         a token, looked up by id alone (the probe may name the wrong stream)
//   {P:app/stream}:tokens     ZSET tokenId by expireDate: list and revoke (pipelined single-key ops)
//   P:once:key, P:shared:key  replay guard and shared cache, one slot each
//   P:claim:key               re-presentable claims (client + seed), one slot each
//   P:generation              the generation marker (no TTL): missing or changed = data lost
//   channel P:epochs          every epoch bump is published here (see redis-scripts.ts)
//   {P:live}, {P:live}:d      live HTTP playbacks: ZSET app/sessionId by deadline + payload HASH
//                             (one slot, so a sweep claims atomically across the fleet)
//
// Failure model: no offline queue, a commandTimeout, few retries and a capped reconnect backoff, so
// while Redis is down every call rejects fast with StoreUnavailableError (callers fail closed) and
// the same instance recovers on its own when Redis is back. No raw ioredis error escapes.
import { randomBytes } from 'node:crypto';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config/schema.js';
import { StoreUnavailableError } from '../errors.js';
import { blockRole, clampPage, MAX_EVENTS_PER_STREAM } from './memory-store.js';
import { SCRIPTS, type ScriptCommands } from './redis-scripts.js';
import { EpochChannel } from './redis-epochs.js';
import { enc, hex, playbackMember } from './ids.js';
import { RedisAvailability, redisTarget, type AvailabilityListener } from './redis-availability.js';
import type {
  BlockType,
  CounterOptions,
  ConnectionEvent,
  ConsumeOutcome,
  ConsumeProbe,
  ConsumeResult,
  Claim,
  Epochs,
  EpochValue,
  OneTimeToken,
  RegisteredStream,
  Store,
  Subscriber,
  TrackedPlayback,
} from './store.js';
import { blockEpochRole } from './store.js';
import type { Role } from '../decision/types.js';

type RedisSection = Config['store']['redis'];
/** The `store.redis` section; the WAIT settings may be left out (no waiting). */
export type RedisStoreConfig = Omit<RedisSection, 'waitReplicas' | 'waitTimeoutMs'> & Partial<Pick<RedisSection, 'waitReplicas' | 'waitTimeoutMs'>>;
type Client = (Redis | Cluster) & ScriptCommands;

/**
 * Epoch keys outlive any grant: a bumped epoch that lapsed back to 0 could only revive grants
 * older than this, and grants never live that long (session.maxLifetimeSeconds). A subscriber's
 * own and block epoch keys (sessions compare their sum) are refreshed together on every bump, so
 * they lapse together (redis-scripts.ts).
 */
const EPOCH_TTL_MS = 30 * 24 * 3600 * 1000;
/** Reconnect backoff: fast first retries, then at most one attempt per second. */
const retryDelay = (times: number): number => Math.min(50 * 2 ** Math.min(times, 5), 1000);
const ZREM_CHUNK = 500;
/** Playbacks per trackPlaybacks script call (keeps each script short). */
const TRACK_CHUNK = 500;

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  private readonly client: Client;
  private readonly p: string;
  private readonly timeoutMs: number;
  private everReady = false;
  private closed = false;
  private lastError: unknown;
  private readonly firstReady: Promise<void>;
  private readonly epochChannel: EpochChannel;
  private readonly watchers = new Set<() => void>();
  /** Replicas that must acknowledge a consume (Redis WAIT); 0 = none. */
  private readonly waitReplicas: number;
  private readonly waitTimeoutMs: number;
  /** Sentinel: consecutive command timeouts, and when the master was last re-resolved. */
  private timeouts = 0;
  private lastReresolve = 0;
  private readonly sentinel: boolean;
  private readonly availability: RedisAvailability;
  readonly target: string;

  constructor(cfg: RedisStoreConfig) {
    this.p = cfg.keyPrefix;
    this.epochChannel = new EpochChannel(cfg.keyPrefix);
    this.timeoutMs = cfg.commandTimeoutMs;
    this.waitReplicas = cfg.cluster ? 0 : (cfg.waitReplicas ?? 0);
    this.waitTimeoutMs = cfg.waitTimeoutMs ?? 200;
    this.sentinel = cfg.sentinels !== undefined && cfg.cluster === undefined;
    const auth = cfg.password !== undefined ? { password: cfg.password } : {};
    const conn: RedisOptions = {
      ...auth,
      commandTimeout: cfg.commandTimeoutMs,
      connectTimeout: Math.max(1000, cfg.commandTimeoutMs),
      maxRetriesPerRequest: 1,
      // how long disconnect() waits for a socket to close before destroying it
      disconnectTimeout: 200,
    };
    const behaviour = { enableOfflineQueue: false, enableAutoPipelining: true };
    let client: Redis | Cluster;
    if (cfg.cluster) {
      const opts: ClusterOptions = {
        ...behaviour,
        clusterRetryStrategy: retryDelay,
        slotsRefreshTimeout: Math.max(1000, cfg.commandTimeoutMs),
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        redisOptions: conn,
      };
      client = new Cluster(cfg.cluster, opts);
    } else if (cfg.sentinels) {
      client = new Redis({
        ...conn,
        ...behaviour,
        retryStrategy: retryDelay,
        sentinelRetryStrategy: retryDelay,
        sentinels: cfg.sentinels,
        name: cfg.sentinelName ?? 'mymaster',
        // Follow a promotion at once (Sentinel's +switch-master), even when the old master hangs
        // and the connection to it never breaks; a demoted master's READONLY also re-resolves.
        failoverDetector: true,
        reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
      });
    } else {
      client = new Redis(cfg.url ?? 'redis://127.0.0.1:6379', { ...conn, ...behaviour, retryStrategy: retryDelay });
    }
    for (const [name, def] of Object.entries(SCRIPTS)) client.defineCommand(name, def);
    // Without a listener ioredis prints every connection error; the error reaches callers instead.
    client.on('error', (err: unknown) => (this.lastError = err));
    client.on('ready', () => (this.everReady = true));
    this.availability = new RedisAvailability(client, () => this.closed);
    this.target = redisTarget(cfg);
    this.firstReady = new Promise((resolve) => client.once('ready', () => resolve()));
    this.client = client as Client;
  }

  // --- keys ---------------------------------------------------------------------------

  private stream(app: string, streamId: string): string {
    return `{${this.p}:${enc(app)}/${enc(streamId)}}`;
  }
  private tokenKey(app: string, tokenId: string): string {
    return `{${this.p}:${enc(app)}:t:${enc(tokenId)}}`;
  }
  private subKeys(app: string, streamId: string): [subs: string, blk: string, idx: string] {
    const s = this.stream(app, streamId);
    return [`${s}:subs`, `${s}:blk`, `${s}:subidx`];
  }
  /** Subscriber epoch keys are this prefix + hex(subscriberId) (the Lua side builds them too). */
  private subEpochPrefix(app: string, streamId: string): string {
    return `${this.stream(app, streamId)}:ep:`;
  }
  /** A subscriber's epoch key, or with `role` its block epoch key for that role (`…:ep:<hex>:play`). */
  private subEpochKey(app: string, streamId: string, subscriberId: string, role?: Role): string {
    return `${this.subEpochPrefix(app, streamId)}${hex(subscriberId)}${role === undefined ? '' : `:${role}`}`;
  }

  // --- one-time tokens -------------------------------------------------------------------

  async saveToken(app: string, token: OneTimeToken): Promise<void> {
    const key = this.tokenKey(app, token.tokenId);
    const expireAtMs = Math.ceil(token.expireDate * 1000);
    await this.run('saveToken', async (c) => {
      // Already expired: forget it (and any tombstone), like the memory store.
      if (!(expireAtMs > Date.now())) return void (await c.del(key));
      const e = String(token.expireDate);
      await Promise.all([
        c.sgSaveToken(key, token.streamId, token.type, e, token.roomId ?? '', JSON.stringify(token), expireAtMs),
        c.sgIndexToken(`${this.stream(app, token.streamId)}:tokens`, e, token.tokenId),
      ]);
    });
  }

  async consumeToken(app: string, probe: ConsumeProbe, nowMs: number, consume: boolean): Promise<ConsumeResult> {
    const pairs: string[] = [];
    for (const id of probe.streamIds) pairs.push(id, probe.seeds?.[id] ?? '');
    const res = (await this.run('consumeToken', (c) =>
      c.sgConsumeToken(this.tokenKey(app, probe.tokenId), nowMs, consume ? '1' : '0', probe.type, probe.roomId ?? '', probe.client ?? '', ...pairs),
    )) as [ConsumeOutcome, string?, string?];
    const [outcome, json, seed] = res;
    if ((outcome !== 'ok' && outcome !== 'resumed') || json === undefined) return { outcome };
    // A first consumption is a write: wait for the replicas when configured (a resumption wrote nothing).
    if (outcome === 'ok' && consume && !probe.roomId) await this.replicated('consumeToken');
    // The tombstone stays in the stream's index (revokeTokens deletes it; lists skip it).
    const token = JSON.parse(json) as OneTimeToken;
    return outcome === 'resumed' ? { outcome, token, seed: seed ?? '' } : { outcome, token };
  }

  async listTokens(app: string, streamId: string, offset: number, size: number): Promise<OneTimeToken[]> {
    const page = clampPage(offset, size);
    if (page.size === 0) return [];
    const idx = `${this.stream(app, streamId)}:tokens`;
    return this.run(
      'listTokens',
      async (c) => {
        await c.zremrangebyscore(idx, '-inf', String(Date.now() / 1000));
        // Consumed, revoked or moved tokens may linger in the index: drop them and re-read the
        // window so pages stay contiguous.
        for (let attempt = 0; ; attempt++) {
          const ids = await c.zrange(idx, page.offset, page.offset + page.size - 1);
          const found = (await Promise.all(ids.map((id) => c.sgReadToken(this.tokenKey(app, id), streamId)))) as (string | null)[];
          const stale = ids.filter((_, i) => found[i] === null);
          if (stale.length === 0 || attempt >= 4) {
            // '' is a tombstone: indexed, not listed
            return found.filter((j): j is string => j !== null && j !== '').map((j) => JSON.parse(j) as OneTimeToken);
          }
          await c.zrem(idx, ...stale);
        }
      },
      4,
    );
  }

  async revokeTokens(app: string, streamId: string): Promise<number> {
    const s = this.stream(app, streamId);
    return this.run(
      'revokeTokens',
      async (c) => {
        const ids = await c.zrange(`${s}:tokens`, 0, -1);
        // Single-key deletes (pipelined by ioredis): tokens live in their own slots.
        const deleted = (await Promise.all(ids.map((id) => c.sgRevokeToken(this.tokenKey(app, id), streamId)))) as number[];
        for (let i = 0; i < ids.length; i += ZREM_CHUNK) await c.zrem(`${s}:tokens`, ...ids.slice(i, i + ZREM_CHUNK));
        // Bump after deleting: a playback minted from a token consumed before this point is revoked.
        await c.sgBumpEpoch(`${s}:ep`, EPOCH_TTL_MS, this.epochChannel.channel, this.epochChannel.prefix(app, streamId));
        return deleted.reduce((a, b) => a + b, 0);
      },
      4,
    );
  }

  // --- subscribers ---------------------------------------------------------------------

  async putSubscriber(app: string, subscriber: Subscriber): Promise<void> {
    const { blockedType, blockedUntilUnitTimeStampMs, ...base } = subscriber;
    const block = JSON.stringify({ blockedType, blockedUntilUnitTimeStampMs });
    await this.run('putSubscriber', (c) =>
      c.sgPutSubscriber(...this.subKeys(app, subscriber.streamId), subscriber.subscriberId, JSON.stringify(base), block),
    );
  }

  async getSubscriber(app: string, streamId: string, subscriberId: string): Promise<Subscriber | null> {
    const [subs, blk] = this.subKeys(app, streamId);
    const r = (await this.run('getSubscriber', (c) => c.sgGetSubscriber(subs, blk, subscriberId))) as string[];
    return r.length === 2 ? mergeSubscriber(r[0]!, r[1]!) : null;
  }

  async listSubscribers(app: string, streamId: string, offset: number, size: number): Promise<Subscriber[]> {
    const page = clampPage(offset, size);
    if (page.size === 0) return [];
    const r = (await this.run('listSubscribers', (c) =>
      c.sgListSubscribers(...this.subKeys(app, streamId), page.offset, page.offset + page.size - 1),
    )) as string[];
    const out: Subscriber[] = [];
    for (let i = 0; i + 1 < r.length; i += 2) out.push(mergeSubscriber(r[i]!, r[i + 1]!));
    return out;
  }

  async deleteSubscriber(app: string, streamId: string, subscriberId: string): Promise<boolean> {
    const epoch = this.subEpochPrefix(app, streamId) + hex(subscriberId);
    const n = await this.run('deleteSubscriber', (c) =>
      c.sgDeleteSubscriber(...this.subKeys(app, streamId), epoch, subscriberId, EPOCH_TTL_MS, this.epochChannel.channel, this.epochChannel.prefix(app, streamId, subscriberId)),
    );
    return n === 1;
  }

  async deleteSubscribers(app: string, streamId: string): Promise<number> {
    const prefix = this.subEpochPrefix(app, streamId);
    return (await this.run('deleteSubscribers', (c) =>
      c.sgDeleteSubscribers(...this.subKeys(app, streamId), prefix, EPOCH_TTL_MS, this.epochChannel.channel, this.epochChannel.streamPrefix(app, streamId)),
    )) as number;
  }

  async blockSubscriber(app: string, streamId: string, subscriberId: string, type: BlockType, untilMs: number): Promise<void> {
    const unblock = !(untilMs > 0);
    const created = { subscriberId, streamId, type: blockRole(type), concurrentConnectionsLimit: 1 };
    const block = JSON.stringify({ blockedType: unblock ? null : type, blockedUntilUnitTimeStampMs: unblock ? 0 : untilMs });
    const role = blockEpochRole(type);
    const epoch = this.subEpochKey(app, streamId, subscriberId, role);
    await this.run('blockSubscriber', (c) =>
      c.sgBlockSubscriber(
        ...this.subKeys(app, streamId),
        epoch,
        subscriberId,
        JSON.stringify(created),
        block,
        EPOCH_TTL_MS,
        this.epochChannel.channel,
        this.epochChannel.prefix(app, streamId, subscriberId, role),
        unblock ? '0' : '1',
        this.subEpochKey(app, streamId, subscriberId),
      ),
    );
  }

  // --- revocation and sessions ----------------------------------------------------------

  async getEpochs(app: string, streamId: string, subscriberId?: string, role?: Role): Promise<Epochs> {
    const streamKey = `${this.stream(app, streamId)}:ep`;
    if (subscriberId === undefined) {
      const v = await this.run('getEpochs', (c) => c.get(streamKey));
      return { stream: Number(v ?? 0), subscriber: 0 };
    }
    const keys = [streamKey, this.subEpochKey(app, streamId, subscriberId)];
    if (role !== undefined) keys.push(this.subEpochKey(app, streamId, subscriberId, role));
    const [s, u, r] = await this.run('getEpochs', (c) => c.mget(...keys));
    return { stream: Number(s ?? 0), subscriber: Number(u ?? 0) + Number(r ?? 0) };
  }

  async listEpochs(): Promise<EpochValue[]> {
    // One SCAN page and one GET batch per round; bounded so a huge keyspace cannot hang a resync.
    return this.run('listEpochs', (c) => this.epochChannel.list(c), 64);
  }

  watchEpochs(onBump: (e: EpochValue) => void, onSync: () => void): () => void {
    if (this.closed) return () => {};
    const stop = this.epochChannel.watch(this.client, onBump, onSync, () => this.watchers.delete(stop));
    this.watchers.add(stop);
    return stop;
  }

  async generation(): Promise<string> {
    return (await this.run('generation', (c) => c.sgGeneration(`${this.p}:generation`, randomBytes(9).toString('base64url')))) as string;
  }

  async touchSession(app: string, streamId: string, subscriberId: string, sessionId: string, ttlMs: number, limit: number, nowMs: number): Promise<boolean> {
    const key = `${this.stream(app, streamId)}:sess:${hex(subscriberId)}`;
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const r = await this.run('touchSession', (c) => c.sgTouchSession(key, sessionId, Math.floor(nowMs), ttl, Math.floor(limit)));
    return r === 1;
  }

  async endSession(app: string, streamId: string, subscriberId: string, sessionId: string): Promise<void> {
    const key = `${this.stream(app, streamId)}:sess:${hex(subscriberId)}`;
    await this.run('endSession', (c) => c.zrem(key, sessionId));
  }

  // --- replay guard ---------------------------------------------------------------------

  async markOnce(key: string, ttlMs: number): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const r = await this.run('markOnce', (c) => c.set(`${this.p}:once:${enc(key)}`, '1', 'PX', ttl, 'NX'));
    if (r === 'OK') await this.replicated('markOnce');
    return r === 'OK';
  }

  async claimOnce(key: string, client: string, seed: string, ttlMs: number): Promise<Claim> {
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const r = (await this.run('claimOnce', (c) => c.sgClaimOnce(`${this.p}:claim:${enc(key)}`, client, seed, ttl))) as [number, string?, string?];
    return r[0] === 1 ? { first: true } : { first: false, client: r[1] ?? '', seed: r[2] ?? '' };
  }

  async peekClaim(key: string): Promise<{ client: string; seed: string } | null> {
    const [client, seed] = await this.run('peekClaim', (c) => c.hmget(`${this.p}:claim:${enc(key)}`, 'c', 'z'));
    return client === null || client === undefined ? null : { client, seed: seed ?? '' };
  }

  // --- stream registry --------------------------------------------------------------------

  async registerStream(app: string, stream: RegisteredStream): Promise<void> {
    await this.run('registerStream', (c) => c.set(`${this.stream(app, stream.streamId)}:reg`, JSON.stringify(stream)));
  }

  async getStream(app: string, streamId: string): Promise<RegisteredStream | null> {
    const v = await this.run('getStream', (c) => c.get(`${this.stream(app, streamId)}:reg`));
    return v === null ? null : (JSON.parse(v) as RegisteredStream);
  }

  async unregisterStream(app: string, streamId: string): Promise<boolean> {
    return (await this.run('unregisterStream', (c) => c.del(`${this.stream(app, streamId)}:reg`))) === 1;
  }

  // --- statistics -----------------------------------------------------------------------

  private liveKeys(): [zset: string, payload: string] {
    return [`{${this.p}:live}`, `{${this.p}:live}:d`];
  }

  async trackPlaybacks(entries: readonly TrackedPlayback[]): Promise<number[]> {
    const [zset, payload] = this.liveKeys();
    const chunks: string[][] = [];
    for (let i = 0; i < entries.length; i += TRACK_CHUNK) {
      chunks.push(entries.slice(i, i + TRACK_CHUNK).flatMap((e) => [playbackMember(e.playback.app, e.playback.sessionId), String(Math.floor(e.deadlineMs)), JSON.stringify(e.playback)]));
    }
    const started = await this.run('trackPlaybacks', (c) => Promise.all(chunks.map((args) => c.sgTrackPlaybacks(zset, payload, ...args))), Math.max(1, chunks.length));
    return started.flatMap((indices, chunk) => (indices as number[]).map((i) => chunk * TRACK_CHUNK + Number(i)));
  }

  async claimEndedPlaybacks(nowMs: number, limit: number): Promise<TrackedPlayback[]> {
    const n = Math.max(0, Math.floor(limit));
    if (n === 0) return [];
    const [zset, payload] = this.liveKeys();
    const flat = (await this.run('claimEndedPlaybacks', (c) => c.sgClaimPlaybacks(zset, payload, String(Math.floor(nowMs)), n))) as string[];
    const out: TrackedPlayback[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      // A member without a readable payload cannot become an event: it is dropped, not retried forever.
      try {
        out.push({ playback: JSON.parse(flat[i + 2]!) as TrackedPlayback['playback'], deadlineMs: Number(flat[i + 1]) });
      } catch {
        continue;
      }
    }
    return out;
  }

  async addConnectionEvent(app: string, event: ConnectionEvent): Promise<void> {
    const s = this.stream(app, event.streamId);
    // '-' (not a hex digit) marks "no subscriber", so no subscriber filter can match it.
    const sub = typeof event.subscriberId === 'string' ? hex(event.subscriberId) : '-';
    await this.run('addConnectionEvent', (c) => c.sgAddEvent(`${s}:ev`, `${s}:evseq`, String(event.timestamp), sub, JSON.stringify(event), MAX_EVENTS_PER_STREAM));
  }

  async listConnectionEvents(app: string, streamId: string, offset: number, size: number, subscriberId?: string): Promise<ConnectionEvent[]> {
    const page = clampPage(offset, size);
    if (page.size === 0) return [];
    const filter = subscriberId === undefined ? ['0', ''] : ['1', hex(subscriberId)];
    const members = (await this.run('listConnectionEvents', (c) => c.sgListEvents(`${this.stream(app, streamId)}:ev`, page.offset, page.size, ...filter))) as string[];
    // member = 16-digit sequence | hex subscriber | json
    return members.map((m) => JSON.parse(m.slice(m.indexOf('|', 17) + 1)) as ConnectionEvent);
  }

  // --- shared cache ---------------------------------------------------------------------

  async getShared(key: string): Promise<string | null> {
    return this.run('getShared', (c) => c.get(`${this.p}:shared:${enc(key)}`));
  }

  async setShared(key: string, value: string, ttlMs: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(ttlMs));
    await this.run('setShared', (c) => c.set(`${this.p}:shared:${enc(key)}`, value, 'PX', ttl));
  }

  // --- counters ---------------------------------------------------------------------------

  createCounter(opts: CounterOptions): RateLimiterAbstract {
    const shape = { points: opts.points, duration: opts.durationSeconds };
    const limiter = new RateLimiterRedis({
      ...shape,
      storeClient: this.client,
      keyPrefix: `${this.p}:rl:${opts.name}`,
      // Not connected: count in memory at once instead of waiting for a command timeout.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ ...shape, keyPrefix: opts.name }),
    });
    // Until the first connection, wait for it (within the command timeout) like every other call,
    // so a fresh replica does not count its first attempts in memory only.
    return new Proxy(limiter, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function' || this.everReady) return value;
        return async (...args: unknown[]) => {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([this.firstReady, new Promise((r) => (timer = setTimeout(r, this.timeoutMs)))]);
          clearTimeout(timer);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  // --- lifecycle ------------------------------------------------------------------------

  async ping(): Promise<void> {
    await this.run('ping', (c) => c.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stop of [...this.watchers]) stop();
    let timer: NodeJS.Timeout | undefined;
    let quit = false;
    try {
      // QUIT lets in-flight replies arrive; bounded, then the socket is dropped.
      await Promise.race([this.client.quit().then(() => (quit = true)), new Promise((r) => (timer = setTimeout(r, this.timeoutMs)))]);
    } catch {
      // not connected: nothing to say goodbye to
    } finally {
      clearTimeout(timer);
      // Not after a clean QUIT: ioredis would arm a timer waiting for an already closed socket —
      // except with Sentinel, where only disconnect() also closes the failover detector's
      // subscriptions to the sentinels.
      if (!quit || this.sentinel) this.client.disconnect();
    }
  }

  watchAvailability(listener: AvailabilityListener): void {
    this.availability.watch(listener);
  }

  // --- internals ------------------------------------------------------------------------

  /**
   * With waitReplicas: WAIT until that many replicas have every write of this connection so far,
   * else StoreUnavailableError — the caller fails closed rather than accept a consume a failover
   * could undo (the master that took it may be demoted and resynced without it).
   */
  private async replicated(what: string): Promise<void> {
    if (this.waitReplicas === 0) return;
    const acked = await this.run(`${what}:wait`, (c) => (c as Redis).wait(this.waitReplicas, this.waitTimeoutMs));
    if (acked < this.waitReplicas) {
      throw new StoreUnavailableError(`${what} acknowledged by ${acked} of ${this.waitReplicas} replicas within ${this.waitTimeoutMs} ms`);
    }
  }

  /**
   * Sentinel: a master that hangs keeps its TCP connection, so ioredis never reconnects by itself.
   * After two consecutive command timeouts the connection is dropped (at most once a second) and
   * the master is asked of Sentinel again.
   */
  private onTimeout(): void {
    if (!this.sentinel || ++this.timeouts < 2) return;
    const now = Date.now();
    if (now - this.lastReresolve < 1000) return;
    this.lastReresolve = now;
    this.timeouts = 0;
    (this.client as Redis).disconnect(true);
  }

  /**
   * Runs one store operation of at most `rounds` sequential round trips under a deadline, and
   * turns every failure into StoreUnavailableError. Before the first connection it waits for
   * it (within the deadline); after a connection loss it fails at once until ioredis reconnects.
   */
  private async run<T>(what: string, op: (c: Client) => Promise<T>, rounds = 1): Promise<T> {
    if (this.closed) throw new StoreUnavailableError('the Redis store is closed');
    let timer: NodeJS.Timeout | undefined;
    const budget = this.timeoutMs * rounds + 50;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(`Redis did not answer ${what} within ${budget} ms`)), budget);
    });
    try {
      const out = await Promise.race([this.whenReady().then(() => op(this.client)), deadline]);
      this.timeouts = 0;
      this.availability.succeeded();
      return out;
    } catch (err) {
      if (isTimeout(err)) this.onTimeout();
      const failure = err instanceof StoreUnavailableError ? err : new StoreUnavailableError(`Redis ${what} failed: ${describe(err)}`, { cause: err });
      this.availability.failed(failure.message);
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }

  private whenReady(): Promise<void> {
    const status = this.client.status;
    if (status === 'ready') return Promise.resolve();
    if (!this.everReady && (status === 'wait' || status === 'connecting' || status === 'connect' || status === 'reconnecting')) {
      return this.firstReady;
    }
    const why = this.lastError === undefined ? '' : `: ${describe(this.lastError)}`;
    return Promise.reject(new StoreUnavailableError(`Redis is not connected (${status})${why}`));
  }
}

function mergeSubscriber(base: string, block: string): Subscriber {
  return { ...(JSON.parse(base) as Subscriber), ...(block ? (JSON.parse(block) as Partial<Subscriber>) : {}) };
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && /did not answer|timed out/i.test(err.message);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
