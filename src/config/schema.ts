// The configuration schema: shape and defaults in one place (zod), cross-field rules in
// validate.ts. Every key is documented in config.example.yaml.
import { z } from 'zod';
import ipaddr from 'ipaddr.js';
import { compileSuffixFormat, DEFAULT_SUFFIX_FORMAT } from '../request/segment-suffix.js';

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
const cidr = z.string().refine(
  (s) => {
    try {
      ipaddr.parseCIDR(s.includes('/') ? s : ipaddr.parse(s).kind() === 'ipv4' ? `${s}/32` : `${s}/128`);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid IP address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)' },
);
/** Schemas that also accept `true`/`false` (see `toggle`); the JSON Schema export widens them. */
export const BOOLEAN_SHORTHAND = new WeakSet<object>();
/** `true`/`false` shorthand for `{ enabled: … }`. */
const toggle = <T extends z.ZodRawShape>(shape: T) => {
  const s = z.preprocess((v) => (typeof v === 'boolean' ? { enabled: v } : v), z.strictObject({ enabled: z.boolean().default(false), ...shape }).prefault({} as never));
  BOOLEAN_SHORTHAND.add(s);
  return s;
};

export const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const;

const jwksOptions = {
  jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** How long a fetched key set is trusted before a background refetch. */
  jwksCacheSeconds: positiveInt.default(600),
  jwksTimeoutMs: positiveInt.default(5000),
  /** Minimum gap between refetches triggered by an unknown `kid`. */
  jwksCooldownSeconds: positiveInt.default(30),
  /** Share the fetched key set through the store so a fleet does not stampede the issuer. */
  jwksShared: z.boolean().default(true),
};

/**
 * A shared secret, or a list of them for rotation without downtime: the first signs (REST `jwt-token`,
 * the CLI), every one verifies. A plain string is a list of one, so older configs keep working.
 */
const secretList = z
  .union([z.string(), z.array(z.string()).min(1, 'list at least one secret')])
  .transform((v): string[] => (typeof v === 'string' ? [v] : v));

const rolePolicyShape = {
  oneTimeToken: toggle({}),
  hash: toggle({ secret: secretList.optional() }),
  jwt: toggle({
    secret: secretList.optional(),
    ...jwksOptions,
    algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).optional(),
    clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
    requireExp: z.boolean().default(true),
  }),
  totp: toggle({
    periodSeconds: z.number().int().min(10).default(60),
    window: z.number().int().min(0).max(10).default(1),
    /** App secret for unregistered subscribers (Ant Media `timeTokenSecretForPlay|Publish`). */
    secret: z.string().optional(),
    /** `antmedia`: secret+subscriberId+streamId+type (compatible, collision-prone); `hmac`: separator-safe. */
    derivation: z.enum(['antmedia', 'hmac']).default('antmedia'),
    /** Refuse a code already used by the same subscriber in the same time step. */
    preventReplay: z.boolean().default(false),
  }),
};

const playPolicy = z.strictObject(rolePolicyShape).prefault({});
const publishPolicy = z
  .strictObject({
    ...rolePolicyShape,
    /** Empty = every address may publish (Ant Media's default). */
    allowedCIDRs: z.array(cidr).default([]),
    acceptUndefinedStreams: z.boolean().default(true),
    /** Where "registered stream" is looked up when acceptUndefinedStreams is false. */
    registry: z.enum(['store', 'origin']).default('store'),
    registryCacheSeconds: z.number().int().min(0).default(5),
  })
  .prefault({});

const corsConfig = z
  .strictObject({
    allowedOrigins: z.array(z.string().min(1)).default(['*']),
    allowedMethods: z.array(z.string()).default(['GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']),
    allowedHeaders: z
      .array(z.string())
      .default(['Accept', 'Origin', 'X-Requested-With', 'Access-Control-Request-Headers', 'Content-Type', 'Access-Control-Request-Method', 'Authorization', 'Range']),
    exposedHeaders: z.array(z.string()).default(['Content-Length', 'Content-Range', 'Accept-Ranges']),
    allowCredentials: z.boolean().default(false),
    maxAgeSeconds: z.number().int().min(0).default(1800),
  })
  .prefault({});

const restConfig = z
  .strictObject({
    /** Also answer the management API on the public listener (behind the REST filter). */
    servePublic: z.boolean().default(false),
    /** Forward `POST /create` to the origin as well as registering the stream here. */
    forwardCreate: z.boolean().default(false),
    jwt: z
      .strictObject({
        secret: secretList.optional(),
        ...jwksOptions,
        algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).optional(),
        issuer: z.string().optional(),
        audience: z.string().optional(),
        clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
      })
      .prefault({}),
    allowedCIDRs: z.array(cidr).default(['127.0.0.1/32', '::1/128']),
    /** `both`: JWT (when configured) and IP must pass (Ant Media); `either`: one suffices. */
    mode: z.enum(['both', 'either']).default('both'),
    /** Treat `Sec-Fetch-Site: same-site` like same-origin (default: like cross-site, a JWT is needed). */
    allowSameSite: z.boolean().default(false),
    /** Upper bound for token `expireDate` minted over the API. */
    maxTokenLifetimeSeconds: positiveInt.default(7 * 24 * 3600),
  })
  .prefault({});

export const appSchema = z
  .strictObject({
    play: playPolicy,
    publish: publishPolicy,
    /** Path (under /{app}/) of the origin's signalling WebSocket. */
    websocketPath: z.string().regex(/^[A-Za-z0-9_-]+$/).default('websocket'),
    /**
     * Ant Media's HLS segment suffix format(s): what follows `ID[_rendition]` in `.ts`/`.fmp4` names.
     * A list while names of several formats exist (a changed setting, or `%04d` for versions that
     * wrote 4-digit indexes).
     */
    hlsSegmentFileSuffixFormat: z
      .union([z.string(), z.array(z.string()).min(1, 'list at least one format')])
      .default(DEFAULT_SUFFIX_FORMAT)
      .transform((v): string[] => (typeof v === 'string' ? [v] : v))
      .superRefine((formats, ctx) => {
        formats.forEach((format, i) => {
          try {
            compileSuffixFormat(format);
          } catch (err) {
            ctx.addIssue({ code: 'custom', message: `'${format}': ${(err as Error).message}`, path: formats.length > 1 ? [i] : [] });
          }
        });
      }),
    cors: corsConfig,
    rest: restConfig,
  })
  .prefault({});

const redisNode = z.strictObject({ host: z.string().min(1), port });

export const configSchema = z.strictObject({
  listen: z.strictObject({ host: z.string().default('0.0.0.0'), port: port.default(8080) }).prefault({}),
  admin: z
    .strictObject({ enabled: z.boolean().default(true), host: z.string().default('127.0.0.1'), port: port.default(9090) })
    .prefault({}),
  origin: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }).optional(),
      connectTimeoutMs: positiveInt.default(3000),
      /** Time to the origin's response headers; past it → 504. */
      headersTimeoutMs: positiveInt.default(10000),
      /** Idle time between body chunks; past it the response is aborted. */
      bodyTimeoutMs: positiveInt.default(30000),
      /**
       * Remove token/subscriberId/subscriberCode/roomId from the query of authorized media requests
       * (manifests, segments, files, ingest, the WebSocket upgrade). false: they reach an origin that
       * checks them too. The playback grant never reaches the origin.
       */
      stripCredentials: z.boolean().default(true),
      connections: positiveInt.default(128),
      /** Read ahead of a slow client per response: responses this size release the connection at once. */
      responseBufferBytes: positiveInt.default(1024 * 1024),
      /** All read-ahead together; past it responses stream with plain backpressure. */
      bufferBudgetBytes: positiveInt.default(256 * 1024 * 1024),
      /** A response whose read-ahead is full this long is preempted when a request waits for a connection. */
      slowClientGraceMs: positiveInt.default(1000),
      /** Request bodies up to this size are read before an origin connection is taken. */
      requestBufferBytes: positiveInt.default(1024 * 1024),
      /** Longest silence inside a request body; past it → 408 body_timeout. */
      requestBodyIdleTimeoutMs: positiveInt.default(10_000),
    })
    .prefault({}),
  store: z
    .strictObject({
      type: z.enum(['memory', 'redis']).default('memory'),
      redis: z
        .strictObject({
          url: z.string().optional(),
          sentinels: z.array(redisNode).optional(),
          sentinelName: z.string().optional(),
          cluster: z.array(redisNode).optional(),
          password: z.string().optional(),
          keyPrefix: z.string().regex(/^[A-Za-z0-9_:.-]*$/).default('sg'),
          commandTimeoutMs: positiveInt.default(1000),
          /**
           * After consuming a one-time token (or a TOTP replay mark), wait until this many replicas
           * acknowledged the write (Redis WAIT) or refuse with 503: a failover can then never lose a
           * consume and accept the token again. 0 = do not wait. Not for Cluster.
           */
          waitReplicas: z.number().int().min(0).default(0),
          waitTimeoutMs: positiveInt.default(200),
        })
        .prefault({}),
    })
    .prefault({}),
  /**
   * Peers whose X-Forwarded-For / X-Real-IP / X-Forwarded-Proto / -Host are believed on the proxy and
   * WebSocket doors (nginx `set_real_ip_from`, Traefik `forwardedHeaders.trustedIPs`). Default: none,
   * so a co-located proxy that passes a client's own X-Forwarded-For cannot let it choose its IP.
   */
  trustedProxies: z.array(cidr).default([]),
  verify: z
    .strictObject({
      /**
       * Who may call `/verify` (nginx auth_request, Traefik ForwardAuth, Envoy/Istio ext_authz). Their
       * X-Original-* / X-Forwarded-* and client-IP headers are believed on `/verify` only.
       */
      allowedCallers: z.array(cidr).default(['127.0.0.1/32', '::1/128']),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /** One JSON line per public request (info level). sampleRate thins answers below 400; 4xx/5xx are always logged. */
      access: z
        .preprocess((v) => (typeof v === 'boolean' ? { enabled: v } : v), z.strictObject({ enabled: z.boolean().default(true), sampleRate: z.number().min(0).max(1).default(1) }).prefault({}))
        .prefault({}),
    })
    .prefault({}),
  limits: z
    .strictObject({
      maxUriBytes: positiveInt.default(2048),
      /** Manifests larger than this are not rewritten: 502 manifest_too_large. */
      maxManifestBytes: positiveInt.default(1024 * 1024),
      /** Whole time to receive a request, headers and body (Node server.requestTimeout); 0 = none. */
      requestTimeoutMs: z.number().int().min(0).default(60_000),
      /** Guessable credentials (TOTP codes) and refused WebSocket commands: counted, then locked out. */
      attempts: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** Code guesses per (app, subscriber) per window before a lockout. */
          perSubscriber: positiveInt.default(5),
          /** Failed attempts per client address (IPv6: per /64) per window before a lockout. */
          perIp: positiveInt.default(20),
          windowSeconds: positiveInt.default(600),
          /** First lockout; each further one within a day doubles it, up to maxLockoutSeconds. */
          lockoutSeconds: positiveInt.default(60),
          maxLockoutSeconds: positiveInt.default(3600),
          /** WebSocket upgrades per client address per minute. */
          wsUpgradesPerIpPerMinute: positiveInt.default(600),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Origin manifests shared by all viewers: one fetch per manifest per TTL, rewritten per viewer from a template. */
  manifest: z
    .strictObject({
      /** false: every manifest request fetches from the origin itself (no coalescing, no cache). */
      cache: z.boolean().default(true),
      /** Freshness of a manifest whose origin sends no max-age / s-maxage (live playlists), ms. 0: coalescing only. */
      cacheTtlMs: z.number().int().min(0).max(60_000).default(500),
      /** Memory bound of the shared manifest cache (origin bodies and templates); least recently used go first. */
      cacheMaxBytes: positiveInt.default(64 * 1024 * 1024),
    })
    .prefault({}),
  session: z
    .strictObject({
      /** false: no grants, no rewriting; every request must carry its own credential (Ant Media's behaviour). */
      enabled: z.boolean().default(true),
      /** HMAC keys for playback grants; the first signs, all verify (rotation). Required for >1 replica. */
      secrets: z.array(z.string().min(32, 'must be at least 32 characters')).default([]),
      param: z.string().regex(/^[A-Za-z0-9_-]+$/).default('sg'),
      ttlSeconds: positiveInt.default(60),
      /** At most 30 days: Redis keeps revocation epochs 30 days past their last bump. */
      maxLifetimeSeconds: positiveInt.max(30 * 24 * 3600).default(6 * 3600),
      boundToCredential: z.boolean().default(true),
      bindClientIp: z.boolean().default(false),
      /**
       * The client IP that spent a one-time token or TOTP code may present it again (a live refresh
       * of the URL it was given, a Range request, an SDK re-publish) and continues its session.
       */
      resumeSpentCredentials: z.boolean().default(true),
      /** Full resync of the per-process revocation cache while the store is up (pushes cover the rest). */
      resyncSeconds: positiveInt.default(30),
      cookie: z
        .strictObject({
          enabled: z.boolean().default(true),
          name: z.string().regex(/^[A-Za-z0-9_-]+$/).default('sg_grant'),
          /**
           * true: one cookie per stream, `<name>_<hash of the stream id>` (multiview on cookies).
           * false: one cookie `<name>` per app (proxies that copy cookies by exact name: Traefik).
           */
          perStream: z.boolean().default(true),
          secure: z.boolean().default(false),
          sameSite: z.enum(['Strict', 'Lax', 'None']).default('Lax'),
        })
        .prefault({}),
    })
    .prefault({}),
  ws: z
    .strictObject({
      maxFrameBytes: positiveInt.default(64 * 1024),
      maxRefusals: positiveInt.default(5),
      stripCredentials: z.boolean().default(true),
      enforceExpiry: z.boolean().default(true),
      revocationCheckSeconds: positiveInt.default(5),
    })
    .prefault({}),
  rtmp: z
    .strictObject({
      /** Serve the RTMP door (ingest and playback) in front of the origin's RTMP port. */
      enabled: z.boolean().default(false),
      listen: z.strictObject({ host: z.string().default('0.0.0.0'), port: port.default(1935) }).prefault({}),
      /** The origin's RTMP listener: `rtmp://host:port` or `host:port`. Required when enabled. */
      origin: z.string().optional(),
      originConnectTimeoutMs: positiveInt.default(3000),
      /** From TCP accept to the end of the handshake (and PROXY header). */
      handshakeTimeoutMs: positiveInt.default(5000),
      /** From the handshake to the first authorized publish/play: an idle client is dropped. */
      commandTimeoutMs: positiveInt.default(10000),
      /** No byte in either direction for this long ends the connection. */
      idleTimeoutMs: positiveInt.default(60000),
      /** Largest command message assembled (connect, publish, play, …). */
      maxCommandBytes: positiveInt.max(1024 * 1024).default(64 * 1024),
      maxConnections: positiveInt.default(1000),
      /** Peers (load balancers) that must send a PROXY protocol v1/v2 header naming the client. */
      proxyProtocol: z.strictObject({ trustedCIDRs: z.array(cidr).default([]) }).prefault({}),
    })
    .prefault({}),
  srt: z
    .strictObject({
      /** Serve the SRT door (UDP) in front of the origin's SRT listener. */
      enabled: z.boolean().default(false),
      listen: z.strictObject({ host: z.string().default('0.0.0.0'), port: port.default(4200) }).prefault({}),
      /** The origin's SRT listener: `srt://host:port` or `host:port`. Required when enabled. */
      origin: z.string().optional(),
      /** From the caller's first induction to the decision on its conclusion. */
      handshakeTimeoutMs: positiveInt.default(5000),
      /** No datagram from the caller for this long ends the session. */
      idleTimeoutMs: positiveInt.default(30000),
      maxSessions: positiveInt.default(1000),
    })
    .prefault({}),
  panel: z.strictObject({ allowedCIDRs: z.array(cidr).default([]) }).prefault({}),
  shutdown: z.strictObject({ drainTimeoutMs: positiveInt.default(10000) }).prefault({}),
  apps: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'app names are [A-Za-z0-9_-]+'), appSchema).default({}),
});

export type Config = z.infer<typeof configSchema>;
export type AppConfig = z.infer<typeof appSchema>;
export type PlayPolicy = AppConfig['play'];
export type PublishPolicy = AppConfig['publish'];
export type RolePolicy = PlayPolicy | PublishPolicy;
export type JwtPolicy = PlayPolicy['jwt'];
export type TotpPolicy = PlayPolicy['totp'];
export type HashPolicy = PlayPolicy['hash'];
export type CorsConfig = AppConfig['cors'];
export type RestConfig = AppConfig['rest'];
