// `streamgate subscriber add|list|delete|block`: TOTP subscribers in the configured store.
import { parseSubcommand, need, requireConfig, roleArg } from '../args.js';
import { UsageError } from '../../errors.js';
import { withStore } from '../with-store.js';
import { validateSubscriber } from '../../api/subscriber-validation.js';
import type { BlockType } from '../../store/store.js';

const HELP = `usage:
  streamgate subscriber add    --config FILE --app APP --stream ID --subscriber SID --secret BASE32 [--type play|publish] [--period SECONDS] [--limit N]
  streamgate subscriber list   --config FILE --app APP --stream ID [--offset N] [--size N]
  streamgate subscriber delete --config FILE --app APP --stream ID [--subscriber SID]   (all subscribers when omitted)
  streamgate subscriber block  --config FILE --app APP --stream ID --subscriber SID --seconds N [--type play|publish|publish_play]   (0 unblocks)`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  app: { type: 'string' },
  stream: { type: 'string' },
  subscriber: { type: 'string' },
  secret: { type: 'string' },
  type: { type: 'string' },
  period: { type: 'string' },
  limit: { type: 'string' },
  seconds: { type: 'string' },
  offset: { type: 'string' },
  size: { type: 'string' },
} as const;

const int = (v: unknown, name: string, fallback: number) => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer`);
  return n;
};

export async function subscriber(argv: string[]): Promise<number> {
  const parsed = parseSubcommand(argv, OPTIONS, HELP);
  if (typeof parsed === 'number') return parsed;
  const { sub, values: v } = parsed;
  const config = requireConfig(v.config);
  const app = need(v, 'app');
  const streamId = need(v, 'stream');
  return withStore(config, app, async (store) => {
    switch (sub) {
      case 'add': {
        const s = {
          subscriberId: need(v, 'subscriber'),
          streamId,
          type: roleArg(v.type),
          b32Secret: need(v, 'secret'),
          totpExpiryPeriodSeconds: v.period === undefined ? null : int(v.period, 'period', 60),
          concurrentConnectionsLimit: int(v.limit, 'limit', 1),
          blockedType: null,
          blockedUntilUnitTimeStampMs: 0,
        };
        const problem = validateSubscriber(s);
        if (problem) throw new UsageError(problem);
        await store.putSubscriber(app, s);
        console.log(JSON.stringify({ success: true, subscriberId: s.subscriberId }));
        return 0;
      }
      case 'list': {
        const list = await store.listSubscribers(app, streamId, int(v.offset, 'offset', 0), int(v.size, 'size', 50));
        for (const s of list) console.log(JSON.stringify({ ...s, b32Secret: undefined }));
        return 0;
      }
      case 'delete': {
        if (typeof v.subscriber === 'string') console.log(JSON.stringify({ success: await store.deleteSubscriber(app, streamId, v.subscriber) }));
        else console.log(JSON.stringify({ success: true, deleted: await store.deleteSubscribers(app, streamId) }));
        return 0;
      }
      case 'block': {
        const type = (v.type ?? 'publish_play') as BlockType;
        if (!['play', 'publish', 'publish_play'].includes(type)) throw new UsageError("--type must be play, publish or publish_play");
        const seconds = int(v.seconds, 'seconds', -1);
        if (seconds < 0) throw new UsageError('--seconds is required');
        await store.blockSubscriber(app, streamId, need(v, 'subscriber'), type, seconds === 0 ? 0 : Date.now() + seconds * 1000);
        console.log(JSON.stringify({ success: true }));
        return 0;
      }
      default:
        console.error(`unknown subscriber command '${sub}'\n\n${HELP}`);
        return 2;
    }
  });
}
