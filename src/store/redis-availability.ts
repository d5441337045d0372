// Up/down of a Redis client for the operator (logs and streamgate_store_up), from two sources:
// ioredis connection events (ready, close, failed connect attempts) and the outcome of operations,
// because a connected Redis that stops answering (hung, overloaded) closes no socket.
import type { EventEmitter } from 'node:events';
import type { Config } from '../config/schema.js';

/** Failed operations in a row on a connection that looks ready before the store counts as down. */
export const HUNG_AFTER_FAILURES = 3;

export type AvailabilityListener = (up: boolean, detail?: string) => void;

export class RedisAvailability {
  private readonly listeners: AvailabilityListener[] = [];
  private failuresInARow = 0;
  private lastError: unknown;

  /** `isClosed`: true after our own close(), which is not an outage. */
  constructor(
    private readonly client: EventEmitter & { status: string },
    private readonly isClosed: () => boolean,
  ) {
    client.on('error', (err: unknown) => {
      this.lastError = err;
      // A failed (re)connect attempt; errors while connected are answered to the caller instead.
      if (client.status !== 'ready') this.emit(false);
    });
    client.on('ready', () => this.emit(true));
    client.on('close', () => this.emit(false));
  }

  /** Adds a listener; it hears `true` at once when the client is already connected. */
  watch(listener: AvailabilityListener): void {
    this.listeners.push(listener);
    if (this.client.status === 'ready') listener(true);
  }

  /** An operation succeeded: up again if failures had marked the store down. */
  succeeded(): void {
    if (this.failuresInARow >= HUNG_AFTER_FAILURES) this.emit(true);
    this.failuresInARow = 0;
  }

  /** An operation failed with `message` (a timeout, a refused command). */
  failed(message: string): void {
    if (++this.failuresInARow === HUNG_AFTER_FAILURES && this.client.status === 'ready') this.emit(false, message);
  }

  private emit(up: boolean, why?: string): void {
    if (this.isClosed()) return;
    const err = this.lastError as { message?: unknown; code?: unknown } | undefined;
    const detail = up ? undefined : why || (err && String(err.message || err.code || '')) || 'connection closed';
    for (const l of this.listeners) l(up, detail);
  }
}

/** The configured Redis without credentials: standalone URL, sentinel group or cluster seeds. */
export function redisTarget(cfg: Pick<Config['store']['redis'], 'url' | 'sentinels' | 'sentinelName' | 'cluster'>): string {
  const nodes = (list: { host: string; port: number }[]) => list.map((n) => `${n.host}:${n.port}`).join(',');
  if (cfg.cluster) return `redis-cluster://${nodes(cfg.cluster)}`;
  if (cfg.sentinels) return `redis-sentinel://${nodes(cfg.sentinels)}/${cfg.sentinelName ?? 'mymaster'}`;
  try {
    const u = new URL(cfg.url ?? 'redis://127.0.0.1:6379');
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'redis';
  }
}
