// Id encodings both stores share, so that they name and order things alike (RedisStore keys and
// members; MemoryStore orders live playbacks by the same member text as the Redis ZSET).

/** Hex of the UTF-8 bytes of `s`. */
export const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

/**
 * encodeURIComponent, which never emits `{`, `}`, `:` or `/` and only ASCII. Text it rejects (a lone
 * UTF-16 surrogate) becomes `%%` + hex of its UTF-8 bytes instead — lossy: the surrogate turns into
 * U+FFFD, so two such ids may encode alike.
 */
export function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return `%%${hex(s)}`;
  }
}

/**
 * The member naming one live HTTP playback: `enc(app)/enc(sessionId)` (ASCII; '/' occurs once). The
 * live-playback ZSET orders equal deadlines by its bytes, and MemoryStore orders them the same way.
 */
export function playbackMember(app: string, sessionId: string): string {
  // join() builds one flat string (a template literal may leave a tree of string pieces).
  return [enc(app), enc(sessionId)].join('/');
}
