// Streams a WebSocket client started, watched until they end: a timer at the credential's expiry
// and revocation checks — at once when a bump of one of its streams is pushed (`subscribe`), and
// every `revocationCheckSeconds` as a fallback — comparing the current epochs (`epochs`: the
// replica's in-memory revocation cache, or the store before its first sync) with the epochs read
// when the command was allowed. A bump (tokens revoked, subscriber blocked, unblocked or deleted)
// ends the stream, as it ends HTTP playback sessions.
//
// Store errors while polling are fail-open for streams already running: a Redis blip must not cut
// every live broadcast, and nothing is lost by waiting — epochs only grow, so a revocation made
// during the outage is seen by the first poll that succeeds. Expiry needs no store and is always
// enforced. New commands still fail closed (decide() answers data_store_not_available).
import type { Role } from '../decision/types.js';
import type { Epochs, EpochValue, Store } from '../store/store.js';
import { isBlocked } from '../checks/subscriber-block.js';
import type { Logger } from '../observability/logger.js';
import { Definition, type DefinitionCode } from './frames.js';

export interface WatchedStream {
  /** `${command}:${id}`: a new command for the same stream replaces the entry. */
  key: string;
  command: string;
  streamId: string;
  role: Role;
  subscriberId: string | undefined;
  /** ms; undefined: the credential does not expire (or expiry is not enforced). */
  expiresAt: number | undefined;
  /** Epochs read before the command was allowed; undefined: the read failed, the next poll sets them. */
  epochs: Epochs | undefined;
  /** false for open roles without a subscriber: nothing there can be revoked. */
  revocable: boolean;
  /** Sent to the origin when the stream is ended (stop / leave / leaveFromRoom). */
  stopFrame: string;
}

export type EndCause = 'expired' | 'revoked' | 'blocked';

export interface ExpiryWatchOptions {
  app: string;
  /** For the block state behind a subscriber bump (which error frame to send). */
  store: Pick<Store, 'getSubscriber'>;
  /**
   * Current epochs of a stream (and subscriber, as seen by streams of `role`: PlaybackSessions.current);
   * rejects when they cannot be known.
   */
  epochs(app: string, streamId: string, subscriberId: string | undefined, role: Role): Promise<Epochs>;
  /** Pushed bumps (any app); returns the unsubscribe function. */
  subscribe?: ((onBump: (e: EpochValue) => void) => () => void) | undefined;
  intervalMs: number;
  log: Logger;
  onEnd(stream: WatchedStream, cause: EndCause, definition: DefinitionCode): void;
}

// setTimeout takes a signed 32-bit delay; longer expiries re-arm.
const MAX_DELAY = 2 ** 31 - 1;

export class ExpiryWatch {
  private readonly streams = new Map<string, WatchedStream>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private poller: NodeJS.Timeout | null = null;
  private polling = false;
  private closed = false;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly o: ExpiryWatchOptions) {}

  get size(): number {
    return this.streams.size;
  }

  add(s: WatchedStream): void {
    if (this.closed) return;
    this.remove(s.key);
    this.streams.set(s.key, s);
    if (s.expiresAt !== undefined) this.arm(s);
    if (s.revocable && this.unsubscribe === null && this.o.subscribe) {
      this.unsubscribe = this.o.subscribe((e) => this.pushed(e));
    }
    if (s.revocable && this.poller === null) {
      // Sockets opened together should not poll together: first tick at a random point of the period.
      const first = Math.floor(Math.random() * this.o.intervalMs);
      this.poller = setTimeout(() => {
        this.poller = setInterval(() => void this.poll(), this.o.intervalMs);
        this.poller.unref();
        void this.poll();
      }, first);
      this.poller.unref();
    }
  }

  remove(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
    this.streams.delete(key);
    if (this.poller !== null && ![...this.streams.values()].some((s) => s.revocable)) {
      clearTimeout(this.poller);
      clearInterval(this.poller);
      this.poller = null;
      this.unsubscribe?.();
      this.unsubscribe = null;
    }
  }

  /** Every entry a client command ended (stop of a stream, leave of a P2P id, leaveFromRoom). */
  release(command: 'stop' | 'leave' | 'leaveFromRoom', id: string): void {
    const commands = command === 'stop' ? ['publish', 'play'] : command === 'leave' ? ['join'] : ['joinRoom'];
    for (const c of commands) if (this.streams.has(`${c}:${id}`)) this.remove(`${c}:${id}`);
  }

  close(): void {
    this.closed = true;
    for (const key of [...this.streams.keys()]) this.remove(key);
  }

  private arm(s: WatchedStream): void {
    const delay = Math.max(0, (s.expiresAt ?? 0) - Date.now());
    const t = setTimeout(() => {
      if (this.streams.get(s.key) !== s) return;
      if (delay > MAX_DELAY) return this.arm(s);
      this.end(s, 'expired', Definition.tokenExpired);
    }, Math.min(delay, MAX_DELAY));
    t.unref();
    this.timers.set(s.key, t);
  }

  private end(s: WatchedStream, cause: EndCause, definition: DefinitionCode): void {
    this.remove(s.key);
    this.o.onEnd(s, cause, definition);
  }

  /** A bump was pushed: check the streams it concerns now (the poll is the fallback). */
  private pushed(e: EpochValue): void {
    if (e.app !== this.o.app || this.closed) return;
    for (const s of this.streams.values()) {
      // A subscriber's block of one role (e.role) concerns only that role's streams.
      if (!s.revocable || s.streamId !== e.streamId || (e.role !== undefined && e.role !== s.role)) continue;
      if (e.subscriberId === undefined || e.subscriberId === s.subscriberId) void this.check(s);
    }
  }

  /** One round: one epochs read per revocable stream, in parallel; overlapping rounds are skipped. */
  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const due = [...this.streams.values()].filter((s) => s.revocable);
      await Promise.all(due.map((s) => this.check(s)));
    } finally {
      this.polling = false;
    }
  }

  private async check(s: WatchedStream): Promise<void> {
    let now: Epochs;
    try {
      now = await this.o.epochs(this.o.app, s.streamId, s.subscriberId, s.role);
    } catch (err) {
      this.o.log.warn({ err, app: this.o.app, stream: s.streamId }, 'revocation check failed; stream continues (fail-open)');
      return;
    }
    if (this.streams.get(s.key) !== s) return; // ended meanwhile
    if (s.epochs === undefined) {
      s.epochs = now;
      return;
    }
    if (now.stream === s.epochs.stream && now.subscriber === s.epochs.subscriber) return;
    let definition: DefinitionCode = Definition.unauthorized;
    let cause: EndCause = 'revoked';
    if (now.subscriber !== s.epochs.subscriber && s.subscriberId !== undefined) {
      // Only to choose the error frame; a failure here still ends the stream as revoked.
      const sub = await this.o.store.getSubscriber(this.o.app, s.streamId, s.subscriberId).catch(() => null);
      if (sub && isBlocked(sub, s.role, Date.now())) {
        definition = Definition.blocked;
        cause = 'blocked';
      }
    }
    if (this.streams.get(s.key) === s) this.end(s, cause, definition);
  }
}
