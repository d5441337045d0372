// Lua scripts of RedisStore, registered with ioredis `defineCommand` (EVALSHA, EVAL on NOSCRIPT).
// Cluster rule: every key a script touches — declared or built from ARGV — shares one hash tag,
// so each script runs on one slot. Token scripts touch only the token key.
//
// Token key: a HASH { s: streamId, t: type, e: expireDate (s), r: roomId?, j: token JSON } with a
// PXAT at expireDate. Consuming swaps the fields for { u: 1 } (the tombstone) keeping the TTL.

export interface ScriptDef {
  numberOfKeys: number;
  lua: string;
}

/** KEYS: token. ARGV: streamId, type, expireDate, roomId ('' = none), json, expireAtMs. */
const saveToken = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 's', ARGV[1], 't', ARGV[2], 'e', ARGV[3], 'j', ARGV[5])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'r', ARGV[4]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[6])
return 1`;

/**
 * KEYS: token. ARGV: nowMs, consume ('1'/'0'), type, roomId ('' = none), streamIds...
 * Returns { outcome, json? }. Checks in contract order; only a full match on a non-room probe
 * with consume=1 turns the token into its tombstone.
 */
const consumeToken = `
local f = redis.call('HMGET', KEYS[1], 'u', 't', 'e', 's', 'r', 'j')
if f[1] then return {'used'} end
if not f[6] then return {'missing'} end
if f[2] ~= ARGV[3] then return {'wrong_role'} end
if tonumber(ARGV[1]) / 1000 >= tonumber(f[3]) then return {'expired'} end
if ARGV[4] ~= '' then
  if f[5] == ARGV[4] then return {'ok', f[6]} end
  return {'wrong_stream'}
end
local match = false
for i = 5, #ARGV do
  if ARGV[i] == f[4] then match = true break end
end
if not match then return {'wrong_stream'} end
if ARGV[2] == '1' then
  -- tombstone first: emptying the hash would delete the key and its TTL
  redis.call('HSET', KEYS[1], 'u', '1')
  redis.call('HDEL', KEYS[1], 's', 't', 'e', 'r', 'j')
end
return {'ok', f[6]}`;

/** KEYS: token. ARGV: streamId. Deletes the token if it is a live token of that stream. */
const revokeToken = `
if redis.call('HGET', KEYS[1], 's') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** KEYS: token. ARGV: streamId. Returns the token JSON when live and of that stream, else false. */
const readToken = `
local f = redis.call('HMGET', KEYS[1], 's', 'j')
if f[1] == ARGV[1] and f[2] then return f[2] end
return false`;

/** KEYS: stream token index (ZSET). ARGV: expireDate, tokenId. Key lives as long as its latest token. */
const indexToken = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', math.ceil(tonumber(top[2]) * 1000)))
return 1`;

/** KEYS: epoch. ARGV: ttlMs. */
const bumpEpoch = `
local e = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return e`;

// Subscribers: HASH subs (id → JSON without block fields), HASH blk (id → JSON [type, untilMs]),
// ZSET idx (score 0: ordered by id bytes). Block fields live apart so a block never has to
// rewrite JSON in Lua (cjson would round numbers past 14 digits).

/** KEYS: subs, blk, idx. ARGV: id, baseJson, blockJson. */
const putSubscriber = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
return 1`;

/** KEYS: subs, blk. ARGV: id. Returns { base, block } or {}. */
const getSubscriber = `
local b = redis.call('HGET', KEYS[1], ARGV[1])
if not b then return {} end
return {b, redis.call('HGET', KEYS[2], ARGV[1]) or ''}`;

/** KEYS: subs, blk, idx. ARGV: start, stop. Returns base, block, base, block, … */
const listSubscribers = `
local ids = redis.call('ZRANGE', KEYS[3], ARGV[1], ARGV[2])
if #ids == 0 then return {} end
local base = redis.call('HMGET', KEYS[1], unpack(ids))
local blk = redis.call('HMGET', KEYS[2], unpack(ids))
local out = {}
for i = 1, #ids do
  if base[i] then
    out[#out + 1] = base[i]
    out[#out + 1] = blk[i] or ''
  end
end
return out`;

/** KEYS: subs, blk, idx, epoch. ARGV: id, epochTtlMs. Returns 1 when it existed. */
const deleteSubscriber = `
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('INCR', KEYS[4])
redis.call('PEXPIRE', KEYS[4], ARGV[2])
return n`;

/**
 * KEYS: subs, blk, idx. ARGV: subscriber epoch key prefix, epochTtlMs.
 * Epoch keys are prefix .. hex(subscriberId): same hash tag as KEYS, so same slot.
 */
const deleteSubscribers = `
local ids = redis.call('ZRANGE', KEYS[3], 0, -1)
for _, id in ipairs(ids) do
  local k = ARGV[1] .. (id:gsub('.', function(c) return string.format('%02x', c:byte()) end))
  redis.call('INCR', k)
  redis.call('PEXPIRE', k, ARGV[2])
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return #ids`;

/** KEYS: subs, blk, idx, epoch. ARGV: id, defaultBaseJson, blockJson, epochTtlMs. */
const blockSubscriber = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then redis.call('ZADD', KEYS[3], 0, ARGV[1]) end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('INCR', KEYS[4])
redis.call('PEXPIRE', KEYS[4], ARGV[4])
return 1`;

/**
 * KEYS: sessions ZSET (member sessionId, score expiresAt). ARGV: sessionId, nowMs, ttlMs, limit.
 * limit ≤ 0 = unlimited. Returns 1 (registered/refreshed) or 0 (refused, nothing written).
 */
const touchSession = `
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and limit > 0 and redis.call('ZCARD', KEYS[1]) >= limit then
  return 0
end
redis.call('ZADD', KEYS[1], string.format('%.0f', now + ttl), ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`;

/**
 * KEYS: events ZSET, sequence counter. ARGV: timestamp, hex(subscriberId) or '', json, cap.
 * Member = 16-digit sequence | hex subscriber | json: equal timestamps list in arrival order.
 */
const addEvent = `
local n = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], ARGV[1], string.format('%016d', n) .. '|' .. ARGV[2] .. '|' .. ARGV[3])
local c = redis.call('ZCARD', KEYS[1])
local cap = tonumber(ARGV[4])
if c > cap then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, string.format('%d', c - cap - 1)) end
return 1`;

/** KEYS: events ZSET. ARGV: offset, size, filter ('1'/'0'), hex(subscriberId). Returns members. */
const listEvents = `
local off = tonumber(ARGV[1])
local size = tonumber(ARGV[2])
if ARGV[3] == '0' then return redis.call('ZRANGE', KEYS[1], ARGV[1], string.format('%d', off + size - 1)) end
local want = '|' .. ARGV[4] .. '|'
local out = {}
local skipped = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(m, 17, 16 + #want) == want then
    if skipped < off then skipped = skipped + 1 else
      out[#out + 1] = m
      if #out >= size then break end
    end
  end
end
return out`;

/**
 * KEYS: live-playback ZSET (member → deadline), payload HASH. ARGV: member, deadline, json, … (triples).
 * A deadline only moves forward (ZADD GT).
 */
const trackPlaybacks = `
for i = 1, #ARGV, 3 do
  redis.call('ZADD', KEYS[1], 'GT', ARGV[i + 1], ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
end
return 1`;

/**
 * KEYS: live-playback ZSET, payload HASH. ARGV: now, limit. Removes and returns the due members as
 * member, deadline, json, … — in one script, so each member goes to exactly one caller.
 */
const claimPlaybacks = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #due, 2 do
  if redis.call('ZREM', KEYS[1], due[i]) == 1 then
    out[#out + 1] = due[i]
    out[#out + 1] = due[i + 1]
    out[#out + 1] = redis.call('HGET', KEYS[2], due[i]) or ''
    redis.call('HDEL', KEYS[2], due[i])
  end
end
return out`;

export const SCRIPTS = {
  sgSaveToken: { numberOfKeys: 1, lua: saveToken },
  sgConsumeToken: { numberOfKeys: 1, lua: consumeToken },
  sgRevokeToken: { numberOfKeys: 1, lua: revokeToken },
  sgReadToken: { numberOfKeys: 1, lua: readToken },
  sgIndexToken: { numberOfKeys: 1, lua: indexToken },
  sgBumpEpoch: { numberOfKeys: 1, lua: bumpEpoch },
  sgPutSubscriber: { numberOfKeys: 3, lua: putSubscriber },
  sgGetSubscriber: { numberOfKeys: 2, lua: getSubscriber },
  sgListSubscribers: { numberOfKeys: 3, lua: listSubscribers },
  sgDeleteSubscriber: { numberOfKeys: 4, lua: deleteSubscriber },
  sgDeleteSubscribers: { numberOfKeys: 3, lua: deleteSubscribers },
  sgBlockSubscriber: { numberOfKeys: 4, lua: blockSubscriber },
  sgTouchSession: { numberOfKeys: 1, lua: touchSession },
  sgAddEvent: { numberOfKeys: 2, lua: addEvent },
  sgListEvents: { numberOfKeys: 1, lua: listEvents },
  sgTrackPlaybacks: { numberOfKeys: 2, lua: trackPlaybacks },
  sgClaimPlaybacks: { numberOfKeys: 2, lua: claimPlaybacks },
} satisfies Record<string, ScriptDef>;

type Arg = string | number;
/** The client surface the scripts add (ioredis defines one method per script). */
export type ScriptCommands = { [K in keyof typeof SCRIPTS]: (...args: Arg[]) => Promise<unknown> };
