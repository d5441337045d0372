// Lua scripts of RedisStore, registered with ioredis `defineCommand` (EVALSHA, EVAL on NOSCRIPT).
// Cluster rule: every key a script touches — declared or built from ARGV — shares one hash tag,
// so each script runs on one slot. Token scripts touch only the token key.
//
// Token key: a HASH { s: streamId, t: type, e: expireDate (s), r: roomId?, j: token JSON } with a
// PXAT at expireDate. Consuming adds { u: 1, c: client, z: seed } (the tombstone) keeping the TTL and
// the fields, so the consuming client can re-present it and revokeTokens still finds it.
//
// Epoch bumps PUBLISH `<prefix>/<stream>|<hex subscriber or empty>|<new epoch>` on the epoch channel
// (classic pub/sub: Cluster forwards it to every node, so a subscriber on any node hears it).

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
 * KEYS: token. ARGV: nowMs, consume ('1'/'0'), type, roomId ('' = none), client ('' = none),
 * then pairs streamId, seed. Returns { outcome, json?, seed? }. Checks in contract order; only a
 * full match on a non-room probe with consume=1 turns the token into its tombstone. A tombstone
 * answers 'resumed' (with the seed) to the client that made it, for its role and stream.
 */
const consumeToken = `
local f = redis.call('HMGET', KEYS[1], 'u', 't', 'e', 's', 'r', 'j', 'c', 'z')
if f[1] then
  if ARGV[5] == '' or f[7] ~= ARGV[5] or not f[6] or ARGV[4] ~= '' or f[2] ~= ARGV[3] then return {'used'} end
  if tonumber(ARGV[1]) / 1000 >= tonumber(f[3]) then return {'used'} end
  for i = 6, #ARGV, 2 do
    if ARGV[i] == f[4] then return {'resumed', f[6], f[8] or ''} end
  end
  return {'used'}
end
if not f[6] then return {'missing'} end
if f[2] ~= ARGV[3] then return {'wrong_role'} end
if tonumber(ARGV[1]) / 1000 >= tonumber(f[3]) then return {'expired'} end
if ARGV[4] ~= '' then
  if f[5] == ARGV[4] then return {'ok', f[6]} end
  return {'wrong_stream'}
end
local seed = nil
for i = 6, #ARGV, 2 do
  if ARGV[i] == f[4] then seed = ARGV[i + 1] or '' break end
end
if not seed then return {'wrong_stream'} end
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'u', '1', 'c', ARGV[5], 'z', seed)
end
return {'ok', f[6]}`;

/** KEYS: token. ARGV: streamId. Deletes the token (or tombstone) of that stream; 1 when it was unused. */
const revokeToken = `
local f = redis.call('HMGET', KEYS[1], 's', 'u')
if f[1] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if f[2] then return 0 end
return 1`;

/**
 * KEYS: token. ARGV: streamId. Returns the token JSON when live and of that stream, '' for its
 * tombstone (indexed until revoked or expired, never listed), else false (a stale index entry).
 */
const readToken = `
local f = redis.call('HMGET', KEYS[1], 's', 'j', 'u')
if f[1] ~= ARGV[1] then return false end
if f[3] then return '' end
if f[2] then return f[2] end
return false`;

/** KEYS: stream token index (ZSET). ARGV: expireDate, tokenId. Key lives as long as its latest token. */
const indexToken = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', math.ceil(tonumber(top[2]) * 1000)))
return 1`;

/** KEYS: epoch. ARGV: ttlMs, channel, message prefix (the epoch is appended). */
const bumpEpoch = `
local e = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3] .. e)
return e`;

/** KEYS: generation marker. ARGV: a fresh value, used only when the marker is missing. */
const generation = `
local g = redis.call('GET', KEYS[1])
if g then return g end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]`;

/** KEYS: claim HASH. ARGV: client, seed, ttlMs. Returns {1} or {0, client, seed}. */
const claimOnce = `
local v = redis.call('HMGET', KEYS[1], 'c', 'z')
if v[1] then return {0, v[1], v[2] or ''} end
redis.call('HSET', KEYS[1], 'c', ARGV[1], 'z', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1}`;

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

/**
 * A subscriber's epoch keys expire together: sessions compare the sum of its own epoch and its
 * role's block epoch, so one key lapsing alone would take the sum back to a value a revoked grant
 * carries. Every bump refreshes the TTL of all three (own, :play, :publish; absent ones stay absent).
 * Same hash tag as the bumped key, so same slot.
 */
const touchSubscriberEpochs = `
local function touchSubscriberEpochs(own, ttl)
  for _, k in ipairs({own, own .. ':play', own .. ':publish'}) do redis.call('PEXPIRE', k, ttl) end
end
`;

/** KEYS: subs, blk, idx, epoch. ARGV: id, epochTtlMs, channel, message prefix. Returns 1 when it existed. */
const deleteSubscriber = `${touchSubscriberEpochs}
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local e = redis.call('INCR', KEYS[4])
touchSubscriberEpochs(KEYS[4], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4] .. e)
return n`;

/**
 * KEYS: subs, blk, idx. ARGV: subscriber epoch key prefix, epochTtlMs, channel, message prefix.
 * Epoch keys are prefix .. hex(subscriberId): same hash tag as KEYS, so same slot.
 */
const deleteSubscribers = `${touchSubscriberEpochs}
local ids = redis.call('ZRANGE', KEYS[3], 0, -1)
for _, id in ipairs(ids) do
  local h = id:gsub('.', function(c) return string.format('%02x', c:byte()) end)
  local k = ARGV[1] .. h
  local e = redis.call('INCR', k)
  touchSubscriberEpochs(k, ARGV[2])
  redis.call('PUBLISH', ARGV[3], ARGV[4] .. h .. '|' .. e)
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return #ids`;

/**
 * KEYS: subs, blk, idx, epoch (the block's: its role's block epoch, or the subscriber's own).
 * ARGV: id, defaultBaseJson, blockJson, epochTtlMs, channel, message prefix, '1' to bump the epoch
 * ('0' when unblocking: no session has to end), the subscriber's own epoch key.
 */
const blockSubscriber = `${touchSubscriberEpochs}
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then redis.call('ZADD', KEYS[3], 0, ARGV[1]) end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if ARGV[7] == '1' then
  local e = redis.call('INCR', KEYS[4])
  touchSubscriberEpochs(ARGV[8], ARGV[4])
  redis.call('PUBLISH', ARGV[5], ARGV[6] .. e)
end
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
 * A deadline only moves forward (ZADD GT). Returns the 0-based triple indices of members that were not
 * live before (ZADD added them): the sessions this call started.
 */
const trackPlaybacks = `
local started = {}
for i = 1, #ARGV, 3 do
  if redis.call('ZADD', KEYS[1], 'GT', ARGV[i + 1], ARGV[i]) == 1 then
    started[#started + 1] = (i - 1) / 3
  end
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
end
return started`;

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
  sgGeneration: { numberOfKeys: 1, lua: generation },
  sgClaimOnce: { numberOfKeys: 1, lua: claimOnce },
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
