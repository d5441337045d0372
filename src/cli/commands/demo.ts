// `streamgate demo`: the embedded default. A built-in sample origin with Ant Media's layout, the gate
// in front of it on the in-memory store, and ready-to-paste curl lines for every credential kind.
import { randomBytes } from 'node:crypto';
import { parse } from '../args.js';
import { parseConfig } from '../../config/load.js';
import { startGate } from '../../server.js';
import { tuneHeap } from '../heap-tuning.js';
import { startSampleOrigin } from '../../demo/sample-origin.js';
import { newTokenId } from '../../checks/one-time-token.js';
import { hashToken } from '../../checks/hash-token.js';
import { mintStreamJwt } from '../../checks/mint-jwt.js';
import { totpCode, totpKeyFor } from '../../checks/totp-subscriber.js';

const HELP = 'usage: streamgate demo [--port N] [--admin-port N] [--origin-port N]\n\nStarts a sample origin and the gate (memory store) and prints curl lines.';

export async function demo(argv: string[]): Promise<number> {
  const a = parse(argv, { port: { type: 'string' }, 'admin-port': { type: 'string' }, 'origin-port': { type: 'string' } }, HELP);
  if (a === null) return 0;
  if (a === undefined) return 2;
  const port = Number(a.values.port ?? process.env.STREAMGATE_LISTEN_PORT ?? 8080);
  const adminPort = Number(a.values['admin-port'] ?? 9090);
  const origin = await startSampleOrigin({ host: '127.0.0.1', port: Number(a.values['origin-port'] ?? 0), apps: ['LiveApp', 'SubscriberApp'] });

  const secret = (n: number) => randomBytes(n).toString('base64url');
  const hashSecret = secret(24);
  const jwtSecret = secret(32);
  const totpSecret = secret(24);
  const config = parseConfig(
    JSON.stringify({
      listen: { host: '127.0.0.1', port },
      admin: { host: '127.0.0.1', port: adminPort },
      origin: { url: origin.url },
      session: { secrets: [secret(32)] },
      apps: {
        // One token parameter, three accepted kinds (how an app migrates from hash to JWT).
        LiveApp: { play: { oneTimeToken: true, hash: { enabled: true, secret: hashSecret }, jwt: { enabled: true, secret: jwtSecret } } },
        // TOTP subscribers: a code derived from the app secret, separator-safe derivation.
        SubscriberApp: { play: { totp: { enabled: true, secret: totpSecret, derivation: 'hmac' } } },
      },
    }),
    { ...process.env, STREAMGATE_LISTEN_PORT: '', STREAMGATE_ORIGIN_URL: '', STREAMGATE_REDIS_URL: '', STREAMGATE_REPLICAS: '' },
    { allowWeakSecrets: true }, // the secrets above are random; the demo is a single process
  );
  tuneHeap();
  const gate = await startGate(config);

  const exp = Math.floor(Date.now() / 1000) + 3600;
  const oneTime = { tokenId: newTokenId(), streamId: 'stream1', type: 'play' as const, expireDate: exp };
  await gate.runtime.store.saveToken('LiveApp', oneTime);
  const jwt = await mintStreamJwt(jwtSecret, { streamId: 'stream1', type: 'play', exp });
  const hash = hashToken('stream1', 'play', hashSecret);
  const key = totpKeyFor({ policy: config.apps.SubscriberApp!.play.totp, subscriberId: 'viewer42', streamId: 'stream1', type: 'play' })!;
  const code = totpCode(key.key, key.periodSeconds, Date.now());
  const base = gate.url;

  console.log(`
streamgate demo
  sample origin   ${origin.url}   (Ant Media layout: /LiveApp/streams/…)
  gate            ${base}
  admin           ${gate.adminUrl}/healthz  /readyz  /metrics
  store           memory (embedded default)

Play through the gate (each prints the HTTP status):
  # one-time token (consumed by its first GET; this client may re-send it, any other client gets 401 token_used)
  curl -s -o /dev/null -w '%{http_code}\\n' '${base}/LiveApp/streams/stream1.m3u8?token=${oneTime.tokenId}'
  # hash token sha256(streamId + "play" + secret)
  curl -s '${base}/LiveApp/streams/stream1_adaptive.m3u8?token=${hash}'
  # JWT (HS256, claims streamId/type/exp) on a segment — verified once, then cached until exp
  curl -s -o /dev/null -w '%{http_code}\\n' '${base}/LiveApp/streams/stream1.mp4?token=${jwt}' -H 'Range: bytes=0-99'
  # DASH manifest
  curl -s '${base}/LiveApp/streams/stream1/stream1.mpd?token=${hash}' | head -5
  # TOTP subscriber (this code is valid ±1 period of ${key.periodSeconds} s)
  curl -s '${base}/SubscriberApp/streams/stream1.m3u8?subscriberId=viewer42&subscriberCode=${code}'
  # … and with a fresh code each time (oathtool, from Debian's oathtool package; the demo's random key in hex)
  curl -s "${base}/SubscriberApp/streams/stream1.m3u8?subscriberId=viewer42&subscriberCode=$(oathtool --totp -s ${key.periodSeconds}s ${Buffer.from(key.key).toString('hex')})"

Refused, with a precise reason:
  curl -s '${base}/LiveApp/streams/stream1.m3u8'                                 # 401 token_missing
  curl -s '${base}/LiveApp/streams/stream10.m3u8?token=${hash}'                  # 401 token_invalid (a stream1 credential)
  curl -s --path-as-is '${base}/LiveApp/streams/stream1__/../stream10.m3u8?token=${hash}'   # 400 path_invalid

nginx auth_request style:
  curl -s -i '${base}/verify' -H 'X-Original-URI: /LiveApp/streams/stream1.m3u8?token=${hash}'

Stop with Ctrl-C.`);

  const stop = () => {
    void gate
      .close()
      .then(() => origin.close())
      .then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return -1;
}
