// Rate limits and lockout for guessable credentials (a TOTP `subscriberCode` is a 6-digit PIN for
// the stream) and for refused WebSocket commands. Counted in the store, so every replica shares the
// counts (rate-limiter-flexible: one atomic INCR + expiry per attempt on Redis, an in-process
// counter while the store cannot answer).
//
// Each guess is counted *before* it is checked (consume first), so even a burst of concurrent
// guesses on many replicas gets at most `perSubscriber` evaluations per window per subscriber and
// `perIp` per client address; a guess that turns out correct is refunded. Past the limit the key is
// locked out for lockoutSeconds · 2^(n−1) (n = lockouts of that key in the last day, capped at
// maxLockoutSeconds), and every attempt during the lockout is refused unevaluated — a correct code
// too, so a lockout tells a guesser nothing.
import ipaddr from 'ipaddr.js';
import { Counter } from 'prom-client';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { Store } from '../store/store.js';

export type AttemptsConfig = Config['limits']['attempts'];
export type LockScope = 'subscriber' | 'ip' | 'upgrade';

/** Refused: locked out (or over the upgrade rate) for `retryAfterSeconds` more seconds. */
export interface Locked {
  ok: false;
  scope: LockScope;
  retryAfterSeconds: number;
}
/** Counted and allowed to be evaluated; `refund()` when the guess was right. */
export interface Admitted {
  ok: true;
  refund(): void;
}

const DAY_SECONDS = 24 * 3600;

/**
 * The key a client address is counted under: IPv4 as is, IPv6 by its /64 (one subscriber line
 * gets a whole /64, so counting single IPv6 addresses would count nothing).
 */
export function ipBucket(ip: string): string {
  try {
    const a = ipaddr.process(ip);
    if (a.kind() === 'ipv4') return a.toString();
    const parts = (a as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
    return `${parts.join(':')}::/64`;
  } catch {
    return ip;
  }
}

const enc = (s: string): string => encodeURIComponent(s);

/** One counted key family with exponential lockout. */
class LockingCounter {
  private readonly fails: RateLimiterAbstract;
  private readonly lockouts: RateLimiterAbstract;

  constructor(
    store: Store,
    private readonly scope: LockScope,
    private readonly points: number,
    windowSeconds: number,
    private readonly cfg: AttemptsConfig,
    private readonly onLockout: (scope: LockScope) => void,
  ) {
    this.fails = store.createCounter({ name: `fail:${scope}`, points, durationSeconds: windowSeconds });
    // Remembers how many lockouts a key had today, to double the next one.
    this.lockouts = store.createCounter({ name: `lockouts:${scope}`, points: 1_000_000, durationSeconds: DAY_SECONDS });
  }

  /** Counts one attempt; null when admitted, else seconds until the key may try again. */
  async take(key: string): Promise<number | null> {
    try {
      await this.fails.consume(key);
      return null;
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      // Exactly one caller sees the first attempt over the limit: it starts (and sizes) the lockout.
      if (res.consumedPoints === this.points + 1) return this.lockOut(key);
      return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    }
  }

  /** Seconds left of the key's lockout, or null when it is not locked out (nothing counted). */
  async lockedFor(key: string): Promise<number | null> {
    const res = await this.fails.get(key);
    if (res === null || res.consumedPoints <= this.points) return null;
    return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  }

  refund(key: string): void {
    this.fails.reward(key).catch(() => undefined);
  }

  private async lockOut(key: string): Promise<number> {
    const n = await this.lockouts.consume(key).then(
      (r) => r.consumedPoints,
      (r: unknown) => (r instanceof RateLimiterRes ? r.consumedPoints : 1),
    );
    const seconds = Math.min(this.cfg.maxLockoutSeconds, this.cfg.lockoutSeconds * 2 ** Math.min(n - 1, 30));
    await this.fails.block(key, seconds);
    this.onLockout(this.scope);
    return seconds;
  }
}

/**
 * Attempts of guessable credentials, per (app, subscriber) and per client address, shared by every
 * replica on the store. `null` from createAttemptLimiter when `limits.attempts.enabled` is false.
 */
export class AttemptLimiter {
  private readonly subscriber: LockingCounter;
  private readonly ip: LockingCounter;
  private readonly upgrades: RateLimiterAbstract;
  private readonly refused: Counter<'scope'>;
  private readonly lockouts: Counter<'scope'>;

  constructor(store: Store, cfg: AttemptsConfig, registry: Registry) {
    const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
    this.refused = get('streamgate_attempts_refused_total', () => new Counter({ name: 'streamgate_attempts_refused_total', help: 'Attempts refused unevaluated: locked out (subscriber, ip) or over the WebSocket upgrade rate (upgrade)', labelNames: ['scope'], registers: [registry] }));
    this.lockouts = get('streamgate_lockouts_total', () => new Counter({ name: 'streamgate_lockouts_total', help: 'Lockouts started, by what was locked out (subscriber, ip)', labelNames: ['scope'], registers: [registry] }));
    const onLockout = (scope: LockScope) => this.lockouts.labels(scope).inc();
    this.subscriber = new LockingCounter(store, 'subscriber', cfg.perSubscriber, cfg.windowSeconds, cfg, onLockout);
    this.ip = new LockingCounter(store, 'ip', cfg.perIp, cfg.windowSeconds, cfg, onLockout);
    this.upgrades = store.createCounter({ name: 'upgrade', points: cfg.wsUpgradesPerIpPerMinute, durationSeconds: 60 });
  }

  /**
   * Counts one guess of a subscriber's code from `clientIp`, before the code is checked.
   * Admitted: evaluate it, and `refund()` when it was right. Locked: refuse it unevaluated.
   */
  async guess(app: string, subscriberId: string, clientIp: string): Promise<Admitted | Locked> {
    const ipKey = ipBucket(clientIp);
    const ipWait = await this.ip.take(ipKey);
    if (ipWait !== null) return this.locked('ip', ipWait);
    const subKey = `${enc(app)}/${enc(subscriberId)}`;
    const subWait = await this.subscriber.take(subKey);
    if (subWait !== null) {
      this.ip.refund(ipKey); // refused unevaluated: not a guess from this address
      return this.locked('subscriber', subWait);
    }
    return {
      ok: true,
      refund: () => {
        this.ip.refund(ipKey);
        this.subscriber.refund(subKey);
      },
    };
  }

  /** A refused command (WebSocket) counts as a failed attempt of its client address. */
  async failure(clientIp: string): Promise<Locked | null> {
    const wait = await this.ip.take(ipBucket(clientIp));
    return wait === null ? null : { ok: false, scope: 'ip', retryAfterSeconds: wait };
  }

  /** A WebSocket upgrade: refused while the address is locked out or over the upgrade rate. */
  async upgrade(clientIp: string): Promise<Locked | null> {
    const key = ipBucket(clientIp);
    const [state, rate] = await Promise.all([
      this.ip.lockedFor(key),
      this.upgrades.consume(key).then(
        () => null,
        (r: unknown) => (r instanceof RateLimiterRes ? r : Promise.reject(r)),
      ),
    ]);
    if (state !== null) return this.locked('ip', state);
    if (rate !== null) return this.locked('upgrade', Math.max(1, Math.ceil(rate.msBeforeNext / 1000)));
    return null;
  }

  private locked(scope: LockScope, seconds: number): Locked {
    this.refused.labels(scope).inc();
    return { ok: false, scope, retryAfterSeconds: seconds };
  }
}

export function createAttemptLimiter(store: Store, cfg: AttemptsConfig, registry: Registry): AttemptLimiter | null {
  return cfg.enabled ? new AttemptLimiter(store, cfg, registry) : null;
}
