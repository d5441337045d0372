// `streamgate token create|hash|jwt|totp`: mint or compute credentials for scripts and operators.
import { parseSubcommand, need, requireConfig, roleArg } from '../args.js';
import { withStore } from '../with-store.js';
import { newTokenId } from '../../checks/one-time-token.js';
import { hashToken } from '../../checks/hash-token.js';
import { mintStreamJwt } from '../../checks/mint-jwt.js';
import { totpCode, totpKeyFor } from '../../checks/totp-subscriber.js';
import type { Config } from '../../config/schema.js';

const HELP = `usage:
  streamgate token create --config FILE --app APP --stream ID [--type play|publish] [--expires-in SECONDS | --expire-date UNIX] [--room ROOM]
      mint a one-time token into the configured store (prints Ant Media's Token JSON)
  streamgate token hash   (--config FILE --app APP | --secret S) --stream ID [--type play|publish]
      hash token: sha256(streamId + type + secret), lowercase hex (a configured secret list: its first)
  streamgate token jwt    (--config FILE --app APP | --secret S) --stream ID [--type play|publish] [--expires-in SECONDS] [--room ROOM]
      HS256 stream JWT with claims streamId, type, exp (a configured secret list: signed with its first)
  streamgate token totp   --config FILE --app APP --stream ID --subscriber SID [--type play|publish]
      current TOTP code of a registered subscriber, or derived from the app's totp secret`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  app: { type: 'string' },
  stream: { type: 'string' },
  type: { type: 'string' },
  secret: { type: 'string' },
  subscriber: { type: 'string' },
  room: { type: 'string' },
  'expires-in': { type: 'string' },
  'expire-date': { type: 'string' },
} as const;

function appOf(config: Config, name: string) {
  const app = config.apps[name];
  if (!app) throw new Error(`app '${name}' is not in the config (apps: ${Object.keys(config.apps).join(', ') || 'none'})`);
  return app;
}

function expiry(values: Record<string, unknown>, defaultSeconds: number): number {
  const now = Math.floor(Date.now() / 1000);
  if (typeof values['expire-date'] === 'string') {
    const d = Number(values['expire-date']);
    if (!Number.isSafeInteger(d) || d <= now) throw new Error('--expire-date must be unix seconds in the future');
    if (d > 1e11) throw new Error('--expire-date looks like milliseconds; give unix seconds');
    return d;
  }
  const s = typeof values['expires-in'] === 'string' ? Number(values['expires-in']) : defaultSeconds;
  if (!Number.isSafeInteger(s) || s <= 0) throw new Error('--expires-in must be a positive number of seconds');
  return now + s;
}

export async function token(argv: string[]): Promise<number> {
  const parsed = parseSubcommand(argv, OPTIONS, HELP);
  if (typeof parsed === 'number') return parsed;
  const { sub, values: v } = parsed;
  const type = roleArg(v.type);
  const stream = () => need(v, 'stream');
  switch (sub) {
    case 'create': {
      const app = need(v, 'app');
      return withStore(requireConfig(v.config), app, async (store) => {
        const t = { tokenId: newTokenId(), streamId: stream(), type, expireDate: expiry(v, 3600), roomId: typeof v.room === 'string' ? v.room : null };
        await store.saveToken(app, t);
        console.log(JSON.stringify(t));
        return 0;
      });
    }
    case 'hash': {
      // A configured list is a rotation: the first secret is the current one.
      const secret = typeof v.secret === 'string' ? v.secret : appOf(requireConfig(v.config), need(v, 'app'))[type].hash.secret?.[0];
      if (!secret) throw new Error(`no hash secret: pass --secret or configure apps.<app>.${type}.hash.secret`);
      console.log(hashToken(stream(), type, secret));
      return 0;
    }
    case 'jwt': {
      const secret = typeof v.secret === 'string' ? v.secret : appOf(requireConfig(v.config), need(v, 'app'))[type].jwt.secret?.[0];
      if (!secret) throw new Error(`no JWT secret: pass --secret or configure apps.<app>.${type}.jwt.secret`);
      console.log(await mintStreamJwt(secret, { streamId: stream(), type, exp: expiry(v, 3600), roomId: typeof v.room === 'string' ? v.room : undefined }));
      return 0;
    }
    case 'totp': {
      const config = requireConfig(v.config);
      const appName = need(v, 'app');
      const policy = appOf(config, appName)[type].totp;
      const subscriberId = need(v, 'subscriber');
      return withStore(config, appName, async (store) => {
        const subscriber = await store.getSubscriber(appName, stream(), subscriberId);
        const key = totpKeyFor({ policy, subscriberId, streamId: stream(), type, subscriber });
        if (!key) throw new Error('no TOTP key: the subscriber has no b32Secret and the app has no totp secret');
        console.log(totpCode(key.key, key.periodSeconds, Date.now()));
        return 0;
      });
    }
    default:
      console.error(`unknown token command '${sub}'\n\n${HELP}`);
      return 2;
  }
}
