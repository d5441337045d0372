// One-time tokens (reference §2, improvements §13.5): the store consumes atomically across replicas;
// a mismatch never consumes, HEAD/probes (ctx.consume = false) never consume, room tokens are reusable.
import { randomBytes } from 'node:crypto';
import type { CheckResult, RequestContext } from '../decision/types.js';
import { Reason, StoreUnavailableError } from '../errors.js';
import type { ReasonCode } from '../errors.js';
import type { ConsumeOutcome, Store } from '../store/store.js';

const REASONS: Record<Exclude<ConsumeOutcome, 'ok'>, ReasonCode> = {
  missing: Reason.tokenInvalid,
  used: Reason.tokenUsed,
  expired: Reason.tokenExpired,
  wrong_stream: Reason.tokenWrongStream,
  wrong_role: Reason.tokenWrongRole,
};

export async function checkOneTimeToken(token: string, ctx: RequestContext, store: Store): Promise<CheckResult> {
  if (!token) return { ok: false, status: 401, reason: Reason.tokenInvalid };
  const roomId = ctx.credentials.roomId ? ctx.credentials.roomId : undefined;
  let result;
  try {
    result = await store.consumeToken(ctx.app, { tokenId: token, streamIds: ctx.streamIds, type: ctx.role, roomId }, ctx.now, ctx.consume);
  } catch (err) {
    // Fail closed: without the store we cannot know whether the token was already used.
    if (err instanceof StoreUnavailableError) return { ok: false, status: 503, reason: Reason.storeUnavailable };
    throw err;
  }
  if (result.outcome !== 'ok') return { ok: false, status: 401, reason: REASONS[result.outcome] ?? Reason.tokenInvalid };
  return { ok: true, expiresAt: result.token ? result.token.expireDate * 1000 : undefined, streamId: result.token?.streamId };
}

/**
 * A fresh token id: 144 bits from the CSPRNG as 24 base64url characters. Never 64 hex characters
 * (that shape is a hash token) and never a dot (that shape is a JWT), so the three token kinds
 * that share the `token` parameter stay distinguishable. Ant Media used 24 non-crypto digits.
 */
export function newTokenId(): string {
  return randomBytes(18).toString('base64url');
}
