// Hash-based token (Ant Media "hash control", reference §3): token = hex(sha256(streamId + type + secret)).
// Unlike Ant Media we compare in constant time and never log the concatenation (it holds the secret).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { CheckResult, RequestContext, Role } from '../decision/types.js';
import { Reason } from '../errors.js';
import type { HashPolicy } from '../config/schema.js';

/** A sha256 digest in lowercase hex is always 64 ASCII characters. */
const HASH_HEX_LENGTH = 64;

/**
 * Ant Media compatible hash token: lowercase hex sha256 of the plain UTF-8 concatenation
 * streamId + role + secret (no separators, as Ant Media does).
 */
export function hashToken(streamId: string, role: Role, secret: string): string {
  return createHash('sha256').update(streamId + role + secret, 'utf8').digest('hex');
}

const INVALID: CheckResult = { ok: false, status: 401, reason: Reason.tokenInvalid };

/**
 * Valid when the token is the hash of any of the streams the requested file may belong to, under any
 * of the configured secrets (rotation: the first is current, the others are still accepted).
 */
export function checkHashToken(token: string, ctx: RequestContext, policy: HashPolicy): CheckResult {
  // An empty secret makes the hash computable by anyone: never used (validate.ts refuses one).
  const secrets = policy.secret?.filter((s) => s !== '') ?? [];
  if (secrets.length === 0) return INVALID;
  // Fail fast on shape: anything that is not 64 bytes cannot be a digest (and timingSafeEqual needs equal lengths).
  if (token.length !== HASH_HEX_LENGTH) return INVALID;
  const given = Buffer.from(token, 'utf8');
  if (given.length !== HASH_HEX_LENGTH) return INVALID;
  let matched: string | undefined;
  // Check every (secret, candidate) pair (no early exit) so timing reveals neither which stream nor
  // which secret matched.
  for (const secret of secrets) {
    for (const streamId of ctx.streamIds) {
      const expected = Buffer.from(hashToken(streamId, ctx.role, secret), 'utf8');
      if (timingSafeEqual(given, expected) && matched === undefined) matched = streamId;
    }
  }
  return matched !== undefined ? { ok: true, streamId: matched } : INVALID;
}
