// Revocation epochs of RedisStore as seen by a per-process cache: the push channel (every bump is
// PUBLISHed by the Lua script that makes it, see redis-scripts.ts) and the full listing for a
// resync (SCAN of the epoch keys, on every master of a Cluster).
//
// Message: `enc(app)/enc(stream)|hex(subscriber)[:role] or empty|epoch` (`:play`/`:publish`: the
// subscriber's block epoch for that role). Classic pub/sub: on Cluster the bus forwards a PUBLISH to
// every node, so one subscription on any node hears every bump. A replica of an earlier release
// ignores the role-scoped messages and keys (they do not parse as hex), and the resync is the same.
import type { Role } from '../decision/types.js';
import { Cluster, type Redis } from 'ioredis';
import type { EpochValue } from './store.js';
import { enc, hex } from './ids.js';

const unhex = (h: string): string | null => (/^(?:[0-9a-f]{2})*$/.test(h) ? Buffer.from(h, 'hex').toString('utf8') : null);

/** Inverse of enc(); null for text enc() never produces. */
function dec(s: string): string | null {
  try {
    return s.startsWith('%%') ? Buffer.from(s.slice(2), 'hex').toString('utf8') : decodeURIComponent(s);
  } catch {
    return null;
  }
}
/** Escapes Redis glob metacharacters (SCAN MATCH). */
const globEscape = (s: string): string => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
const reEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const SCAN_COUNT = 1000;

export class EpochChannel {
  /** The pub/sub channel every bump is published on. */
  readonly channel: string;
  private readonly match: string;
  private readonly keyShape: RegExp;

  /** `keyPrefix`: the store's key prefix; epoch keys are `{P:app/stream}:ep[:hex(subscriber)[:role]]`. */
  constructor(keyPrefix: string) {
    this.channel = `${keyPrefix}:epochs`;
    this.match = `{${globEscape(keyPrefix)}:*}:ep*`;
    this.keyShape = new RegExp(`^\\{${reEscape(keyPrefix)}:([^/{}]*)/([^/{}]*)\\}:ep(?::([0-9a-f]*)(?::(play|publish))?)?$`);
  }

  /** The message a script publishes, up to the epoch it appends. */
  prefix(app: string, streamId: string, subscriberId?: string, role?: Role): string {
    const sub = subscriberId === undefined ? '' : `${hex(subscriberId)}${role === undefined ? '' : `:${role}`}`;
    return `${this.streamPrefix(app, streamId)}${sub}|`;
  }

  /** Up to the subscriber field (deleteSubscribers appends `hex(id)|epoch` per subscriber). */
  streamPrefix(app: string, streamId: string): string {
    return `${enc(app)}/${enc(streamId)}|`;
  }

  /** A published message, or null for anything we did not publish. */
  parse(message: string): EpochValue | null {
    const [where, subHex, epochText, extra] = message.split('|');
    const slash = where?.indexOf('/') ?? -1;
    if (where === undefined || slash < 0 || subHex === undefined || epochText === undefined || extra !== undefined) return null;
    const [sub, role, more] = subHex.split(':');
    if (more !== undefined || (role !== undefined && role !== 'play' && role !== 'publish')) return null;
    return this.value(where.slice(0, slash), where.slice(slash + 1), sub === '' ? undefined : sub, Number(epochText), role);
  }

  /** Every non-zero epoch under the prefix (keys from one node's SCAN live on that node). */
  async list(client: Redis | Cluster): Promise<EpochValue[]> {
    const out: EpochValue[] = [];
    const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', this.match, 'COUNT', SCAN_COUNT);
        cursor = next;
        const parsed = keys.map((key) => ({ key, m: this.keyShape.exec(key) })).filter((x) => x.m !== null);
        if (parsed.length === 0) continue;
        const values = await Promise.all(parsed.map((x) => node.get(x.key)));
        parsed.forEach(({ m }, i) => {
          const v = this.value(m![1]!, m![2]!, m![3], Number(values[i] ?? 0), m![4] as Role | undefined);
          if (v && v.epoch > 0) out.push(v);
        });
      } while (cursor !== '0');
    }
    return out;
  }

  /**
   * Subscribes on a connection of its own (a subscribed connection can run no other command), on
   * every (re)connection, and calls `onSync` after each: bumps published meanwhile are lost.
   * Returns the stop function (which also calls `onStop`).
   */
  watch(client: Redis | Cluster, onBump: (e: EpochValue) => void, onSync: () => void, onStop: () => void): () => void {
    const sub = client.duplicate() as Redis | Cluster;
    sub.on('error', () => {}); // reconnects on its own; the cache's heartbeat notices an outage
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const e = this.parse(message);
      if (e) onBump(e);
    });
    sub.on('ready', () => {
      sub.subscribe(this.channel).then(onSync, () => {});
    });
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      onStop();
      sub.disconnect();
    };
  }

  private value(appText: string, streamText: string, subHex: string | undefined, epoch: number, role?: Role): EpochValue | null {
    const app = dec(appText);
    const streamId = dec(streamText);
    const sub = subHex === undefined ? undefined : unhex(subHex);
    if (app === null || streamId === null || sub === null || !Number.isSafeInteger(epoch)) return null;
    if (sub === undefined) return role === undefined ? { app, streamId, epoch } : null;
    return role === undefined ? { app, streamId, subscriberId: sub, epoch } : { app, streamId, subscriberId: sub, role, epoch };
  }
}
