// When HTTP playback sessions start and end. A player never says goodbye: it just stops refreshing its
// manifest. So every start and renewal moves the session's deadline to its grant's expiry plus a
// grace; a session whose deadline passes has ended, and exactly one replica of the fleet writes its
// `disconnected` connection event (Ant Media's ViewerStats does the same per node, after a timeout
// without requests).
//
// Cost: no store call on the request path. Starts and renewals are collected in memory and written
// in one batch per flush interval; any replica's sweep claims ended sessions atomically from the
// store (Store.claimEndedPlaybacks), so a session is reported once however many replicas sweep.
// Starts the same way round: the batch write tells which sessions the store was not tracking, and
// only the replica whose write registered one reports its `connected` event — once per session
// fleet-wide, however many replicas a player's refreshes reach.
import type { Store, TrackedPlayback } from '../store/store.js';
import type { Grant } from './grant.js';
import type { PlaybackProtocol } from './playback-sessions.js';

export interface PlaybackEndsOptions {
  /** ms added to a grant's expiry before its session counts as ended (a slow refresh is not a leave). */
  graceMs: number;
  /** ms between batched writes of starts and renewals. Must be well below graceMs. */
  flushIntervalMs: number;
  /** ms between sweeps for ended sessions (each replica sweeps; a random phase spreads them). */
  sweepIntervalMs: number;
  /** Sessions claimed per store call. */
  claimBatch?: number;
  /** Pending renewals kept while the store is unreachable; beyond it new sessions are not tracked. */
  maxPending?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** An ended session, with the time its last grant lapsed (ms) — the `disconnected` event's timestamp. */
export type EndedListener = (ended: TrackedPlayback, lapsedAtMs: number) => void;
/** A session no replica was tracking, with the time this replica first saw it (ms) — the `connected` event's timestamp. */
export type StartedListener = (started: TrackedPlayback, firstSeenMs: number) => void;

interface Pending extends TrackedPlayback {
  /** When this replica first saw the session since its last successful flush (ms). */
  firstSeenMs: number;
}

export class PlaybackEnds {
  private readonly pending = new Map<string, Pending>();
  private flushTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | null = null;
  private sweeping: Promise<number> | null = null;
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    private readonly onEnded: EndedListener,
    private readonly opts: PlaybackEndsOptions,
    /** Told about store failures (never throws them at the request path). */
    private readonly onError: (err: unknown, what: 'flush' | 'sweep') => void = () => undefined,
    /**
     * Told once per session the fleet was not tracking, after the flush that registered it: the store
     * says which sessions a batch started, so a playback reaching several replicas starts once.
     */
    private readonly onStarted: StartedListener = () => undefined,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * A session started or was renewed with `grant` (expiresAt in unix seconds). Pure CPU: recorded for
   * the next batched write. Never throws.
   */
  seen(app: string, grant: Grant, protocol: PlaybackProtocol): void {
    const key = `${app}\u0000${grant.sessionId}`;
    const known = this.pending.get(key);
    if (!known && this.pending.size >= (this.opts.maxPending ?? 100_000)) return;
    this.pending.set(key, {
      playback: { app, sessionId: grant.sessionId, streamId: grant.streamId, subscriberId: grant.subscriberId ?? null, type: grant.role, eventProtocol: protocol },
      deadlineMs: grant.expiresAt * 1000 + this.opts.graceMs,
      firstSeenMs: known?.firstSeenMs ?? this.now(),
    });
  }

  /** Starts the flush and sweep timers (unref'd: they never keep the process alive). */
  start(): void {
    if (this.flushTimer) return;
    this.flushTimer = setInterval(() => void this.flush(), this.opts.flushIntervalMs).unref();
    // A random first delay so replicas started together do not sweep in lockstep.
    const phase = Math.floor(Math.random() * this.opts.sweepIntervalMs);
    this.sweepTimer = setTimeout(() => {
      void this.sweep();
      this.sweepTimer = setInterval(() => void this.sweep(), this.opts.sweepIntervalMs).unref();
    }, phase).unref();
  }

  /** Writes pending starts and renewals now. On a store failure they are kept for the next flush. */
  flush(): Promise<void> {
    this.flushing ??= this.writePending().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending.clear();
    let started: number[];
    try {
      // A Pending is a TrackedPlayback: the stores read only `playback` and `deadlineMs`.
      started = await this.store.trackPlaybacks(batch);
    } catch (err) {
      // Put them back unless a newer renewal arrived meanwhile (deadlines only move forward); the
      // first sighting stays the earliest.
      for (const e of batch) {
        const key = `${e.playback.app}\u0000${e.playback.sessionId}`;
        const newer = this.pending.get(key);
        if (!newer || newer.deadlineMs < e.deadlineMs) this.pending.set(key, { ...e, firstSeenMs: Math.min(e.firstSeenMs, newer?.firstSeenMs ?? Infinity) });
        else newer.firstSeenMs = Math.min(newer.firstSeenMs, e.firstSeenMs);
      }
      this.onError(err, 'flush');
      return;
    }
    for (const i of started) {
      const e = batch[i];
      if (e) this.onStarted(e, e.firstSeenMs);
    }
  }

  /**
   * Claims the sessions ended by `nowMs` (default: now) and reports each through onEnded. Resolves
   * with how many were reported; a store failure is reported to onError and retried next sweep.
   */
  sweep(nowMs?: number): Promise<number> {
    this.sweeping ??= this.claimEnded(nowMs ?? this.now()).finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  private async claimEnded(nowMs: number): Promise<number> {
    const batch = this.opts.claimBatch ?? 500;
    let reported = 0;
    try {
      for (;;) {
        const ended = await this.store.claimEndedPlaybacks(nowMs, batch);
        for (const e of ended) {
          reported++;
          this.onEnded(e, e.deadlineMs - this.opts.graceMs);
        }
        if (ended.length < batch) return reported;
      }
    } catch (err) {
      this.onError(err, 'sweep');
      return reported;
    }
  }

  /** Stops the timers and writes what is pending, so the fleet can report this replica's sessions. */
  async stop(): Promise<void> {
    clearInterval(this.flushTimer);
    clearTimeout(this.sweepTimer);
    clearInterval(this.sweepTimer);
    this.flushTimer = this.sweepTimer = undefined;
    await this.sweeping?.catch(() => undefined);
    await this.flush();
  }
}
