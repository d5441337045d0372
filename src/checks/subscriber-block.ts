// Subscriber blocking (reference §5.5). Ant Media applies it only to some HLS requests carrying a
// subscriberId query parameter; streamgate applies it to every request naming a subscriber, under any factor.
import type { CheckResult, RequestContext, Role } from '../decision/types.js';
import { Reason, StoreUnavailableError } from '../errors.js';
import type { Store, Subscriber } from '../store/store.js';

/** Ant Media `Subscriber.isBlocked`: blockedType is the role or publish_play, and the block has not ended. */
export function isBlocked(subscriber: Pick<Subscriber, 'blockedType' | 'blockedUntilUnitTimeStampMs'>, role: Role, nowMs: number): boolean {
  const type = subscriber.blockedType;
  if (type !== role && type !== 'publish_play') return false;
  const until = subscriber.blockedUntilUnitTimeStampMs;
  return until !== 0 && until >= nowMs;
}

export const BLOCKED: CheckResult = { ok: false, status: 403, reason: Reason.subscriberBlocked };
export const STORE_DOWN: CheckResult = { ok: false, status: 503, reason: Reason.storeUnavailable };

/**
 * Refuses a request whose subscriber is blocked on any stream the file may belong to (the
 * conservative reading of an ambiguous name). Requests without a subscriberId pass.
 */
export async function checkSubscriberNotBlocked(ctx: RequestContext, store: Store): Promise<CheckResult> {
  const subscriberId = ctx.credentials.subscriberId;
  if (!subscriberId) return { ok: true };
  try {
    const records = await Promise.all(ctx.streamIds.map((streamId) => store.getSubscriber(ctx.app, streamId, subscriberId)));
    if (records.some((s) => s !== null && isBlocked(s, ctx.role, ctx.now))) return BLOCKED;
  } catch (err) {
    if (err instanceof StoreUnavailableError) return STORE_DOWN;
    throw err;
  }
  return { ok: true, subscriberId };
}
