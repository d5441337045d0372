// Cross-field rules the schema cannot express. Each issue names the key it concerns.
import type { ConfigIssue } from '../errors.js';
import type { Config, JwtPolicy, RolePolicy } from './schema.js';

const HMAC_ALGS = new Set(['HS256', 'HS384', 'HS512']);

/** Algorithms a JWT factor accepts: explicit list, or HS256 for a secret plus asymmetric for a JWKS. */
export function effectiveAlgorithms(jwt: { secret?: readonly string[] | undefined; jwksUrl?: string | undefined; algorithms?: string[] | undefined }): string[] {
  if (jwt.algorithms) return jwt.algorithms;
  const algs: string[] = [];
  if (jwt.secret?.length) algs.push('HS256');
  if (jwt.jwksUrl) algs.push('RS256', 'ES256', 'EdDSA');
  return algs;
}

/** The key of one entry of a secret list: `….secret` for a single secret, `….secret[N]` in a longer list. */
const secretPath = (path: string, list: readonly string[], i: number): string => (list.length === 1 ? `${path}.secret` : `${path}.secret[${i}]`);

function jwtIssues(jwt: Pick<JwtPolicy, 'secret' | 'jwksUrl' | 'algorithms'>, path: string, required: boolean): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (required && !jwt.secret && !jwt.jwksUrl) issues.push({ path, message: 'needs `secret` and/or `jwksUrl`' });
  jwt.secret?.forEach((secret, i, list) => {
    if (Buffer.byteLength(secret) < 32) issues.push({ path: secretPath(`${path}`, list, i), message: 'must be at least 32 bytes (HS256 keys shorter than the hash are weak)' });
  });
  const algs = jwt.algorithms ?? [];
  if (algs.some((a) => HMAC_ALGS.has(a)) && !jwt.secret) issues.push({ path: `${path}.algorithms`, message: 'an HS* algorithm is listed but no `secret` is set' });
  if (algs.some((a) => !HMAC_ALGS.has(a)) && !jwt.jwksUrl) issues.push({ path: `${path}.algorithms`, message: 'an asymmetric algorithm is listed but no `jwksUrl` is set' });
  return issues;
}

function roleIssues(policy: RolePolicy, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const hashSecrets = policy.hash.secret;
  if (policy.hash.enabled && !hashSecrets) issues.push({ path: `${path}.hash.secret`, message: 'is required when hash is enabled' });
  // An empty secret makes the hash computable by anyone.
  hashSecrets?.forEach((secret, i, list) => {
    if (secret === '') issues.push({ path: secretPath(`${path}.hash`, list, i), message: 'must not be empty' });
  });
  if (policy.jwt.enabled) issues.push(...jwtIssues(policy.jwt, `${path}.jwt`, true));
  return issues;
}

export function crossFieldIssues(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [name, app] of Object.entries(config.apps)) {
    issues.push(...roleIssues(app.play, `apps.${name}.play`));
    issues.push(...roleIssues(app.publish, `apps.${name}.publish`));
    if (app.rest.jwt.secret || app.rest.jwt.jwksUrl || app.rest.jwt.algorithms) issues.push(...jwtIssues(app.rest.jwt, `apps.${name}.rest.jwt`, true));
    if (app.cors.allowCredentials && app.cors.allowedOrigins.includes('*')) {
      issues.push({ path: `apps.${name}.cors.allowCredentials`, message: 'cannot be combined with the wildcard origin "*": list the allowed origins' });
    }
    if (name === 'rest' || name === 'verify' || name === 'healthz') issues.push({ path: `apps.${name}`, message: 'is a reserved path' });
  }
  const store = config.store;
  if (store.type === 'redis') {
    const r = store.redis;
    const modes = [r.url, r.sentinels, r.cluster].filter((x) => x !== undefined).length;
    if (modes !== 1) issues.push({ path: 'store.redis', message: 'set exactly one of `url`, `sentinels` (with `sentinelName`) or `cluster`' });
    if (r.sentinels && !r.sentinelName) issues.push({ path: 'store.redis.sentinelName', message: 'is required with `sentinels`' });
    if (r.url && !/^rediss?:\/\//.test(r.url)) issues.push({ path: 'store.redis.url', message: 'must start with redis:// or rediss://' });
    if (r.cluster && r.waitReplicas > 0) issues.push({ path: 'store.redis.waitReplicas', message: 'is not supported with `cluster` (WAIT is per node)' });
    if (r.waitReplicas > 0 && r.waitTimeoutMs >= r.commandTimeoutMs) issues.push({ path: 'store.redis.waitTimeoutMs', message: 'must be less than store.redis.commandTimeoutMs' });
  }
  const a = config.limits.attempts;
  if (a.maxLockoutSeconds < a.lockoutSeconds) issues.push({ path: 'limits.attempts.maxLockoutSeconds', message: 'must be at least limits.attempts.lockoutSeconds' });
  if (config.admin.enabled && config.admin.port !== 0 && config.admin.port === config.listen.port && config.admin.host === config.listen.host) {
    issues.push({ path: 'admin.port', message: 'must differ from listen.port' });
  }
  if (config.rtmp.enabled) {
    if (!config.rtmp.origin) issues.push({ path: 'rtmp.origin', message: 'is required when rtmp.enabled is true (e.g. rtmp://origin:1935)' });
    else if (!/^(rtmp:\/\/)?[^/?#\s]+$/.test(config.rtmp.origin)) issues.push({ path: 'rtmp.origin', message: 'must be rtmp://host:port or host:port' });
  }
  if (config.srt.enabled) {
    if (!config.srt.origin) issues.push({ path: 'srt.origin', message: 'is required when srt.enabled is true (e.g. srt://origin:4200)' });
    else if (!/^(srt:\/\/)?[^/?#\s]+:\d+$/.test(config.srt.origin)) issues.push({ path: 'srt.origin', message: 'must be srt://host:port or host:port' });
  }
  if (config.session.maxLifetimeSeconds < config.session.ttlSeconds) {
    issues.push({ path: 'session.maxLifetimeSeconds', message: 'must be at least session.ttlSeconds' });
  }
  return issues;
}
