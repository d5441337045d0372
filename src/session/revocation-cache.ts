// Revocation epochs held in process memory, kept current by push, so that authorizing a manifest
// (a first playlist with a hash or JWT token, a refresh with a grant) needs no store round trip
// and keeps working while the store is down.
//
// - Push: Store.watchEpochs delivers every bump from any replica (Redis pub/sub) within ms.
// - Resync: a full Store.listEpochs whenever the push channel (re)connects, whenever the store
//   answers again after failing, and every `resyncMs` (bounded staleness if a message is lost).
// - Generation: a heartbeat reads the store's generation marker every HEARTBEAT_MS. A changed
//   marker means the store lost its data (revocations and tombstones are gone): logged at error,
//   counted, and every grant minted under the old generation stops verifying (see PlaybackSessions).
//
// While the store is down the last-known epochs stay in force. Nothing is lost by that: a
// revocation is a store write, so none can happen while the store is unreachable, and the resync
// on reconnection applies any made elsewhere before this replica saw them.
import type { Role } from '../decision/types.js';
import type { Logger } from '../observability/logger.js';
import type { EpochValue, Epochs, Store } from '../store/store.js';

/** How often the generation marker is read (also: how fast a returning store triggers a resync). */
export const HEARTBEAT_MS = 1000;

export interface RevocationView {
  epochs: Epochs;
  /** The store generation the epochs belong to. */
  generation: string;
}

export interface RevocationCacheOptions {
  /** Full resync period while the store is up, ms. */
  resyncMs: number;
  log: Logger;
  /** Called once per detected data loss (a changed generation marker). */
  onDataLoss?: (() => void) | undefined;
}

/** Composite key, length-prefixed so no choice of ids can make two keys collide. */
function key(app: string, streamId: string, subscriberId?: string, role?: Role): string {
  const base = `${app.length}:${app}${streamId.length}:${streamId}`;
  return subscriberId === undefined ? base : `${base}${subscriberId.length}:${subscriberId}${role ?? ''}`;
}

export class RevocationCache {
  private values = new Map<string, number>();
  private gen: string | null = null;
  private synced = false;
  private storeUp = false;
  private lastResync = 0;
  /** Bumps pushed while a resync is reading: re-applied on top of its snapshot. */
  private pending: Map<string, number> | null = null;
  private resyncing: Promise<void> | null = null;
  private again = false;
  private stopWatch: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly listeners = new Set<(e: EpochValue) => void>();

  constructor(
    private readonly store: Store,
    private readonly o: RevocationCacheOptions,
  ) {}

  /** Subscribes and starts the heartbeat. Never throws; the first sync happens in the background. */
  start(): void {
    if (this.timer || this.closed) return;
    this.stopWatch = this.store.watchEpochs(
      (e) => this.apply(e),
      () => void this.resync(),
    );
    this.timer = setInterval(() => void this.heartbeat(), HEARTBEAT_MS);
    this.timer.unref();
    void this.resync();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopWatch?.();
    this.stopWatch = null;
  }

  /**
   * Calls `listener` with every bump pushed to this replica (after the cache applied it), so that
   * live sessions (WebSocket streams) can end at once. Returns the function that removes it.
   */
  onBump(listener: (e: EpochValue) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** True once one full sync succeeded: from then on get() answers without the store. */
  get ready(): boolean {
    return this.synced;
  }

  /**
   * Last-known epochs and generation, or null before the first successful sync. Pure memory.
   * `subscriber` is the subscriber's epoch plus its block epoch for `role` (Store.getEpochs).
   */
  get(app: string, streamId: string, subscriberId: string | undefined, role: Role): RevocationView | null {
    if (!this.synced || this.gen === null) return null;
    return {
      epochs: {
        stream: this.epochOf(key(app, streamId)),
        subscriber: subscriberId === undefined ? 0 : this.epochOf(key(app, streamId, subscriberId)) + this.epochOf(key(app, streamId, subscriberId, role)),
      },
      generation: this.gen,
    };
  }

  private epochOf(k: string): number {
    return this.values.get(k) ?? 0;
  }

  /** Reads everything from the store (concurrent calls share one run; one more follows if asked meanwhile). */
  resync(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.resyncing) {
      this.again = true;
      return this.resyncing;
    }
    this.resyncing = (async () => {
      do {
        this.again = false;
        await this.resyncOnce();
      } while (this.again && !this.closed);
    })().finally(() => (this.resyncing = null));
    return this.resyncing;
  }

  private async resyncOnce(): Promise<void> {
    this.pending = new Map();
    try {
      const gen = await this.store.generation();
      const list = await this.store.listEpochs();
      const next = new Map<string, number>();
      for (const e of list) next.set(key(e.app, e.streamId, e.subscriberId, e.role), e.epoch);
      const lost = this.adoptGeneration(gen);
      // Epochs only grow within a generation: a bump pushed during the read wins over the snapshot.
      if (!lost) for (const [k, v] of this.pending) if (v > (next.get(k) ?? 0)) next.set(k, v);
      this.values = next;
      this.synced = true;
      this.storeUp = true;
      this.lastResync = Date.now();
    } catch (err) {
      this.storeUp = false;
      this.o.log.warn({ err, dependency: this.store.kind }, 'revocation resync failed; serving last-known epochs');
    } finally {
      this.pending = null;
    }
  }

  private apply(e: EpochValue): void {
    const k = key(e.app, e.streamId, e.subscriberId, e.role);
    if (e.epoch > (this.values.get(k) ?? 0)) this.values.set(k, e.epoch);
    if (this.pending && e.epoch > (this.pending.get(k) ?? 0)) this.pending.set(k, e.epoch);
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.o.log.error({ err }, 'revocation listener failed');
      }
    }
  }

  /** True when the marker changed (data loss). */
  private adoptGeneration(gen: string): boolean {
    const lost = this.gen !== null && gen !== this.gen;
    if (lost) {
      this.o.log.error(
        { dependency: this.store.kind, previousGeneration: this.gen, generation: gen },
        'store data loss detected: the generation marker changed (restart without persistence or FLUSHALL); sessions minted before it end',
      );
      this.o.onDataLoss?.();
    }
    this.gen = gen;
    return lost;
  }

  private async heartbeat(): Promise<void> {
    if (this.closed || this.resyncing) return;
    let gen: string;
    try {
      gen = await this.store.generation();
    } catch {
      this.storeUp = false;
      return;
    }
    const cameBack = !this.storeUp;
    this.storeUp = true;
    if (cameBack || !this.synced || gen !== this.gen || Date.now() - this.lastResync >= this.o.resyncMs) await this.resync();
  }
}
