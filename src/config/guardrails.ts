// Start-up guardrails: configurations that parse but would run insecurely or silently wrong.
//   * secrets that are empty, too short or publicly known (the placeholders our own examples ship);
//   * the in-memory store with more than one replica (one-time tokens, revocation and sessions
//     would silently become per-pod).
// Each issue names the key it concerns. `streamgate demo` generates random secrets and is exempt.
import type { ConfigIssue } from '../errors.js';
import type { Config, RolePolicy } from './schema.js';

/** HMAC keys (session grants, HS256/384/512 JWTs): at least the hash output, RFC 7518 §3.2. */
export const MIN_HMAC_KEY_LENGTH = 32;
/** Ant Media-style app secrets (hash tokens, TOTP derivation): 16 characters = 128 bits when random. */
export const MIN_APP_SECRET_LENGTH = 16;

/**
 * Values published in streamgate's own examples (config.example.yaml, deploy/, helm/ci, README),
 * compared after lower-casing and dropping everything but letters and digits.
 */
const KNOWN_PLACEHOLDERS = new Set(
  [
    'change-me-to-a-random-string-of-32-chars-or-more',
    'please-change-this-hash-secret',
    'ci-only-session-secret-0123456789abcdef0123',
    'ci-only-session-secret-new-0123456789abcdef',
    'ci-only-session-secret-old-0123456789abcdef',
    'ci-only-jwt-secret-0123456789abcdef0123456789',
    'ci-only-hash-secret',
    'changeme',
    'secret',
    'password',
  ].map(normalize),
);
/** Words people put in a value that is meant to be replaced. */
const PLACEHOLDER_WORDS = /change[-_ .]?(me|it|this)|replace[-_ .]?(me|this|with)|placeholder|your[-_ .]?(secret|key|password)|example[-_ .]?(secret|key)|insert[-_ .]?(secret|key)|ci[-_ .]?only|not[-_ .]?a[-_ .]?secret|^(test|dummy|default|secret|password)[-_ .]?(secret|key|password)?$/i;

function normalize(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Why `value` cannot be a secret, or null. `min` is in UTF-8 bytes. */
export function secretWeakness(value: string, min: number): string | null {
  if (value.trim() === '') return 'is empty';
  if (KNOWN_PLACEHOLDERS.has(normalize(value)) || PLACEHOLDER_WORDS.test(value)) {
    return 'is a placeholder from an example config: generate one, e.g. `openssl rand -base64 48`';
  }
  if (Buffer.byteLength(value) < min) return `is too short: at least ${min} characters (e.g. \`openssl rand -base64 48\`)`;
  if (new Set(value).size < Math.min(8, Math.ceil(min / 4))) return 'has too few distinct characters to be random: generate one, e.g. `openssl rand -base64 48`';
  return null;
}

/** One secret, or each of a rotation list (`secret: [next, current]`, reported as `path[i]`). */
function check(issues: ConfigIssue[], path: string, value: string | string[] | undefined, min: number): void {
  if (value === undefined) return;
  const list = typeof value === 'string' ? [value] : value;
  list.forEach((v, i) => {
    const weak = secretWeakness(v, min);
    if (weak) issues.push({ path: list.length > 1 ? `${path}[${i}]` : path, message: weak });
  });
}

function roleSecrets(issues: ConfigIssue[], policy: RolePolicy, path: string): void {
  if (policy.hash.enabled) check(issues, `${path}.hash.secret`, policy.hash.secret, MIN_APP_SECRET_LENGTH);
  if (policy.jwt.enabled) check(issues, `${path}.jwt.secret`, policy.jwt.secret, MIN_HMAC_KEY_LENGTH);
  if (policy.totp.enabled) check(issues, `${path}.totp.secret`, policy.totp.secret, MIN_APP_SECRET_LENGTH);
}

/** Password part of a redis:// URL, or undefined. */
function urlPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const p = decodeURIComponent(new URL(url).password);
    return p || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Secrets in use that are empty, shorter than their minimum, or known placeholders. Only secrets of
 * enabled factors count (a disabled factor's secret is never used). Redis passwords may be short
 * (the server decides) but not a placeholder.
 */
export function weakSecretIssues(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (config.session.enabled) config.session.secrets.forEach((s, i) => check(issues, `session.secrets[${i}]`, s, MIN_HMAC_KEY_LENGTH));
  for (const [name, app] of Object.entries(config.apps)) {
    roleSecrets(issues, app.play, `apps.${name}.play`);
    roleSecrets(issues, app.publish, `apps.${name}.publish`);
    check(issues, `apps.${name}.rest.jwt.secret`, app.rest.jwt.secret, MIN_HMAC_KEY_LENGTH);
  }
  if (config.store.type === 'redis') {
    for (const [path, pw] of [
      ['store.redis.password', config.store.redis.password],
      ['store.redis.url', urlPassword(config.store.redis.url)],
    ] as const) {
      if (pw && (KNOWN_PLACEHOLDERS.has(normalize(pw)) || PLACEHOLDER_WORDS.test(pw))) issues.push({ path, message: 'carries a placeholder password from an example config' });
    }
  }
  return issues;
}

/**
 * `store.type: memory` keeps one-time tokens, revocation epochs, subscribers and viewer counts in
 * one process: with several replicas a token could be used once per pod and a revoked session
 * lives on elsewhere. `replicas` comes from `check-config --replicas N` or `STREAMGATE_REPLICAS`
 * (the Helm chart sets it).
 */
export function replicaIssues(config: Config, replicas: number | undefined): ConfigIssue[] {
  if (replicas === undefined || replicas <= 1 || config.store.type !== 'memory') return [];
  return [
    {
      path: 'store.type',
      message: `"memory" cannot serve ${replicas} replicas: one-time tokens, revocation and viewer limits would be per pod. Use store.type: redis`,
    },
  ];
}
