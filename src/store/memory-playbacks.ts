// MemoryStore's live HTTP playbacks (Store.trackPlaybacks / claimEndedPlaybacks): the contract of
// RedisStore's ZSET + payload HASH (redis-scripts.ts), sized for hundreds of thousands of sessions
// in a process whose major GCs must stay short.
//
// Layout: a GC's marking costs per object and per pointer, not per byte, so a session is ONE flat
// string, `member payload` (member = `enc(app)/enc(sessionId)`, see ids.ts; payload = JSON of the
// other fields), held by one array slot. Everything else is in typed arrays the GC never traces:
// deadlines, an indexed binary min-heap over (deadline, member bytes), and an open-addressing hash
// table (member → slot) in place of a Map, whose entries would be more pointers. A claim costs
// O(claimed · log n), a start or renewal O(log n); nothing ever scans all sessions.
import { randomBytes } from 'node:crypto';
import { playbackMember } from './ids.js';
import type { LivePlayback, TrackedPlayback } from './store.js';

/** Default cap on sessions tracked at once: ~90 B of heap + 30–60 B of typed arrays each, ~120 MB when full. */
export const DEFAULT_MAX_TRACKED_PLAYBACKS = 1_000_000;
const MIN_CAPACITY = 1024;

export class LivePlaybacks {
  /** slot → `member payload`. The member has no space and only ASCII above it, so these strings order as their members. */
  private entries: (string | undefined)[] = [];
  private deadlines = new Float64Array(0);
  private hashes = new Int32Array(0);
  /** heap position → slot, and slot → heap position. */
  private heap = new Int32Array(0);
  private pos = new Int32Array(0);
  /** Slots freed by claims, reused before fresh ones (`next`). */
  private free = new Int32Array(0);
  private freeTop = 0;
  private next = 0;
  private capacity = 0;
  /** Linear probing; cells hold slot + 1 (0 = empty); length a power of two ≥ 2 × capacity. */
  private table = new Int32Array(0);
  private count = 0;
  private refusedCount = 0;
  /** Per-process hash seed: which ids collide cannot be worked out in advance. */
  private readonly seed = randomBytes(4).readInt32LE(0);

  /** `max`: sessions tracked at once (an integer ≥ 0); past it new sessions are refused (see track()). */
  constructor(readonly max: number = DEFAULT_MAX_TRACKED_PLAYBACKS) {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`max must be an integer ≥ 0, got ${max}`);
  }

  /** Sessions tracked now (ended ones included until claimed). */
  get size(): number {
    return this.count;
  }

  /** New sessions refused so far because `max` were tracked. */
  get refused(): number {
    return this.refusedCount;
  }

  /**
   * Registers or extends sessions, as the Redis script does: the deadline (floored to whole ms) only
   * moves forward; the payload is the latest one given. A NaN deadline is ignored. While `max`
   * sessions are tracked a session not tracked yet is refused (counted in `refused`): renewals of
   * tracked sessions always go through, and a refused session is tracked by its first renewal
   * once there is room. Its `disconnected` event is lost only if it ends before then.
   * Returns the indices (into `entries`) of the sessions that were not tracked before: the ones started.
   */
  track(entries: readonly TrackedPlayback[]): number[] {
    const started: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      const { playback: p, deadlineMs } = entries[i]!;
      const deadline = Math.floor(deadlineMs);
      if (Number.isNaN(deadline)) continue;
      const member = playbackMember(p.app, p.sessionId);
      const h = this.hash(member);
      const entry = [member, pack(p, member)].join(' '); // join: one flat string
      const known = this.find(member, h);
      if (known >= 0) {
        if (this.entries[known] !== entry) this.entries[known] = entry;
        if (deadline > this.deadlines[known]!) {
          this.deadlines[known] = deadline;
          this.down(this.pos[known]!);
        }
      } else if (this.count >= this.max) {
        this.refusedCount++;
      } else {
        const s = this.alloc();
        this.entries[s] = entry;
        this.deadlines[s] = deadline;
        this.hashes[s] = h;
        this.place(s);
        const at = this.count++;
        this.heap[at] = s;
        this.pos[s] = at;
        this.up(at);
        started.push(i);
      }
    }
    return started;
  }

  /**
   * Removes and returns up to `limit` sessions whose deadline is ≤ nowMs, by (deadline, member
   * bytes) — the Redis ZSET order. limit < 1 or NaN → []. O(returned · log size).
   */
  claim(nowMs: number, limit: number): TrackedPlayback[] {
    const n = limit >= 1 ? Math.floor(limit) : 0;
    const out: TrackedPlayback[] = [];
    while (out.length < n && this.count > 0) {
      const s = this.heap[0]!;
      const deadlineMs = this.deadlines[s]!;
      if (!(deadlineMs <= nowMs)) break;
      out.push({ playback: unpack(this.entries[s]!), deadlineMs });
      this.unplace(s);
      this.entries[s] = undefined;
      this.free[this.freeTop++] = s;
      const last = --this.count;
      if (last > 0) {
        const moved = this.heap[last]!;
        this.heap[0] = moved;
        this.pos[moved] = 0;
        this.down(0);
      }
    }
    // After a burst of ends, give the memory back (amortized O(1) per claimed session).
    if (this.capacity > MIN_CAPACITY && this.count < this.capacity / 4) this.resize(Math.max(MIN_CAPACITY, this.count * 2));
    return out;
  }

  // --- heap ---------------------------------------------------------------------------------

  private less(a: number, b: number): boolean {
    const da = this.deadlines[a]!;
    const db = this.deadlines[b]!;
    // ASCII, so UTF-16 order is byte order (Redis's order for equal scores).
    return da < db || (da === db && this.entries[a]! < this.entries[b]!);
  }

  private up(i: number): void {
    const s = this.heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      const p = this.heap[parent]!;
      if (!this.less(s, p)) break;
      this.heap[i] = p;
      this.pos[p] = i;
      i = parent;
    }
    this.heap[i] = s;
    this.pos[s] = i;
  }

  private down(i: number): void {
    const s = this.heap[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= this.count) break;
      if (c + 1 < this.count && this.less(this.heap[c + 1]!, this.heap[c]!)) c++;
      const child = this.heap[c]!;
      if (!this.less(child, s)) break;
      this.heap[i] = child;
      this.pos[child] = i;
      i = c;
    }
    this.heap[i] = s;
    this.pos[s] = i;
  }

  // --- hash table (member → slot) ---------------------------------------------------------

  /** FNV-1a with a seed, then murmur3's finalizer so the low bits (the cell) depend on every char. */
  private hash(member: string): number {
    let h = this.seed ^ 0x811c9dc5;
    for (let i = 0; i < member.length; i++) h = Math.imul(h ^ member.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  private find(member: string, h: number): number {
    if (this.count === 0) return -1;
    const mask = this.table.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const cell = this.table[i]!;
      if (cell === 0) return -1;
      const s = cell - 1;
      const e = this.entries[s]!;
      if (this.hashes[s] === h && e.charCodeAt(member.length) === 32 && e.startsWith(member)) return s;
    }
  }

  private place(s: number): void {
    const mask = this.table.length - 1;
    let i = this.hashes[s]! & mask;
    while (this.table[i] !== 0) i = (i + 1) & mask;
    this.table[i] = s + 1;
  }

  /** Deletion with backward shift (no tombstones): later cells of the run move into the hole. */
  private unplace(s: number): void {
    const mask = this.table.length - 1;
    let i = this.hashes[s]! & mask;
    while (this.table[i] !== s + 1) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const cell = this.table[j]!;
      if (cell === 0) break;
      const home = this.hashes[cell - 1]! & mask;
      // The cell may fill the hole unless its home lies cyclically in (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        this.table[i] = cell;
        i = j;
      }
    }
    this.table[i] = 0;
  }

  // --- storage ----------------------------------------------------------------------------

  private alloc(): number {
    if (this.freeTop > 0) return this.free[--this.freeTop]!;
    if (this.next === this.capacity) this.resize(Math.min(Math.max(MIN_CAPACITY, this.capacity * 2), this.max));
    return this.next++;
  }

  /** New arrays of `capacity` (≥ count): live sessions are renumbered 0..count-1 in heap order. */
  private resize(capacity: number): void {
    const entries: (string | undefined)[] = [];
    const deadlines = new Float64Array(capacity);
    const hashes = new Int32Array(capacity);
    for (let i = 0; i < this.count; i++) {
      const s = this.heap[i]!;
      entries.push(this.entries[s]);
      deadlines[i] = this.deadlines[s]!;
      hashes[i] = this.hashes[s]!;
    }
    this.entries = entries;
    this.deadlines = deadlines;
    this.hashes = hashes;
    this.heap = new Int32Array(capacity).map((_, i) => i); // still a heap: the order is unchanged
    this.pos = this.heap.slice();
    this.free = new Int32Array(capacity);
    this.freeTop = 0;
    this.next = this.count;
    this.capacity = capacity;
    let cells = 2;
    while (cells < 2 * capacity) cells *= 2;
    this.table = new Int32Array(cells);
    for (let s = 0; s < this.count; s++) this.place(s);
  }
}

/**
 * JSON of [streamId, subscriberId, type, eventProtocol]; app and sessionId come back from the
 * member, unless it holds enc()'s lossy fallback (`%%`, never in encodeURIComponent's output):
 * then they are kept here too.
 */
function pack(p: LivePlayback, member: string): string {
  const rest = [p.streamId, p.subscriberId ?? null, p.type, p.eventProtocol];
  return JSON.stringify(member.includes('%%') ? [...rest, p.app, p.sessionId] : rest);
}

function unpack(entry: string): LivePlayback {
  const space = entry.indexOf(' ');
  const slash = entry.indexOf('/');
  const [streamId, subscriberId, type, eventProtocol, app, sessionId] = JSON.parse(entry.slice(space + 1)) as [string, string | null, LivePlayback['type'], LivePlayback['eventProtocol'], string?, string?];
  return {
    app: app ?? decodeURIComponent(entry.slice(0, slash)),
    sessionId: sessionId ?? decodeURIComponent(entry.slice(slash + 1, space)),
    streamId,
    subscriberId,
    type,
    eventProtocol,
  };
}
