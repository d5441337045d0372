// Hash-based token (Ant Media "hash control", reference §3): token = hex(sha256(streamId + type + secret)).
// Unlike Ant Media we compare in constant time and never log the concatenation (it holds the secret).
import { createHash, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
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

/**
 * Expected digests per policy (`role \0 streamId \0 secret index` → 64 hex bytes): a hash token is the
 * same for every viewer of a stream and every refresh of a player, so the SHA-256 runs once per
 * stream, not per request. Bounded; a policy object (config reload) gets a cache of its own.
 */
const EXPECTED_CACHE_SIZE = 4096;
const expectedByPolicy = new WeakMap<HashPolicy, LRUCache<string, Buffer>>();

function expectedDigest(policy: HashPolicy, secret: string, index: number, streamId: string, role: Role): Buffer {
  let cache = expectedByPolicy.get(policy);
  if (!cache) expectedByPolicy.set(policy, (cache = new LRUCache({ max: EXPECTED_CACHE_SIZE })));
  const key = `${role}\u0000${streamId}\u0000${index}`;
  let digest = cache.get(key);
  if (!digest) cache.set(key, (digest = Buffer.from(hashToken(streamId, role, secret), 'utf8')));
  return digest;
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
  for (let i = 0; i < secrets.length; i++) {
    for (const streamId of ctx.streamIds) {
      const expected = expectedDigest(policy, secrets[i]!, i, streamId, ctx.role);
      if (timingSafeEqual(given, expected) && matched === undefined) matched = streamId;
    }
  }
  return matched !== undefined ? { ok: true, streamId: matched } : INVALID;
}
