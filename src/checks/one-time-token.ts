// One-time tokens (reference §2, improvements §13.5): the store consumes atomically across replicas;
// a mismatch never consumes, HEAD/probes (ctx.consume = false) never consume, room tokens are reusable.
// The client that spent a token may re-present it (live-playlist refresh, Range request, SDK
// re-publish): its tombstone remembers the client and the playback session it opened.
import { randomBytes } from 'node:crypto';
import type { CheckResult, RequestContext } from '../decision/types.js';
import { Reason, StoreUnavailableError } from '../errors.js';
import type { ReasonCode } from '../errors.js';
import type { ConsumeOutcome, Store } from '../store/store.js';

const REASONS: Record<Exclude<ConsumeOutcome, 'ok' | 'resumed'>, ReasonCode> = {
  missing: Reason.tokenInvalid,
  used: Reason.tokenUsed,
  expired: Reason.tokenExpired,
  wrong_stream: Reason.tokenWrongStream,
  wrong_role: Reason.tokenWrongRole,
};

/**
 * Checks (and on GET consumes) a one-time token. `reuse` enables re-presentation: `client` is
 * recorded at consumption, `seeds()` (streamId → session seed) the session it opens; the same client
 * presenting it again gets `{ ok, resumed: true, seed }`. Store down: 503 (fail closed).
 */
export async function checkOneTimeToken(
  token: string,
  ctx: RequestContext,
  store: Store,
  reuse?: { client: string; seeds: () => Promise<Readonly<Record<string, string>> | undefined> },
): Promise<CheckResult> {
  if (!token) return { ok: false, status: 401, reason: Reason.tokenInvalid };
  const roomId = ctx.credentials.roomId ? ctx.credentials.roomId : undefined;
  let result;
  let seeds: Readonly<Record<string, string>> | undefined;
  try {
    seeds = await reuse?.seeds();
    const probe = { tokenId: token, streamIds: ctx.streamIds, type: ctx.role, roomId, client: reuse?.client, seeds };
    result = await store.consumeToken(ctx.app, probe, ctx.now, ctx.consume);
  } catch (err) {
    // Fail closed: without the store we cannot know whether the token was already used.
    if (err instanceof StoreUnavailableError) return { ok: false, status: 503, reason: Reason.storeUnavailable };
    throw err;
  }
  const expiresAt = result.token ? result.token.expireDate * 1000 : undefined;
  const streamId = result.token?.streamId;
  if (result.outcome === 'resumed') return result.seed ? { ok: true, expiresAt, streamId, resumed: true, seed: result.seed } : { ok: true, expiresAt, streamId, resumed: true };
  if (result.outcome !== 'ok') return { ok: false, status: 401, reason: REASONS[result.outcome] ?? Reason.tokenInvalid };
  const seed = streamId !== undefined && ctx.consume && !roomId ? seeds?.[streamId] : undefined;
  return seed ? { ok: true, expiresAt, streamId, seed } : { ok: true, expiresAt, streamId };
}

/**
 * A fresh token id: 144 bits from the CSPRNG as 24 base64url characters. Never 64 hex characters
 * (that shape is a hash token) and never a dot (that shape is a JWT), so the three token kinds
 * that share the `token` parameter stay distinguishable. Ant Media used 24 non-crypto digits.
 */
export function newTokenId(): string {
  return randomBytes(18).toString('base64url');
}
