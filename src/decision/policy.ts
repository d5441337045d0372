// Compiles an app's configuration into what the decision core needs at request time: parsed CIDR
// matchers, JWT verifiers with their caches, flags precomputed once instead of per request.
import type { AppConfig, Config, PlayPolicy, PublishPolicy } from '../config/schema.js';
import type { Role } from './types.js';
import type { Store } from '../store/store.js';
import { createJwtCheck } from '../checks/jwt-token.js';
import { compileCidrs } from '../request/client-ip.js';
import type { AttemptLimiter } from '../checks/attempt-limiter.js';
import { streamGrammar, type StreamGrammar } from '../request/stream-path.js';

export type JwtCheck = ReturnType<typeof createJwtCheck>;

export interface RoleRuntime {
  role: Role;
  policy: PlayPolicy | PublishPolicy;
  /** At least one of one-time / hash / JWT is on: the `token` parameter is required. */
  tokenFactor: boolean;
  /** TOTP is on: `subscriberId` + `subscriberCode` are required. */
  subscriberFactor: boolean;
  /** No factor at all: the role is open (Ant Media's default). */
  open: boolean;
  jwt: JwtCheck | null;
  /** Publish only: null = every address may publish. */
  allowedIp: ((ip: string) => boolean) | null;
  /** Counts TOTP guesses and locks out (limits.attempts); null when off. */
  attempts: AttemptLimiter | null;
}

export interface AppRuntime {
  name: string;
  config: AppConfig;
  play: RoleRuntime;
  publish: RoleRuntime;
  /** Its stream file grammar (hlsSegmentFileSuffixFormat), for routeRequest. */
  grammar: StreamGrammar;
}

/** Gives the JWKS download observer for one URL (dependency health); optional. */
export type JwksObserver = (url: string) => (ok: boolean, detail?: string) => void;

function compileRole(role: Role, policy: PlayPolicy | PublishPolicy, store: Store, attempts: AttemptLimiter | null, jwks?: JwksObserver): RoleRuntime {
  const tokenFactor = policy.oneTimeToken.enabled || policy.hash.enabled || policy.jwt.enabled;
  const subscriberFactor = policy.totp.enabled;
  const cidrs = 'allowedCIDRs' in policy ? policy.allowedCIDRs : [];
  return {
    role,
    policy,
    tokenFactor,
    subscriberFactor,
    open: !tokenFactor && !subscriberFactor,
    jwt: policy.jwt.enabled ? createJwtCheck(policy.jwt, store, { onJwksFetch: policy.jwt.jwksUrl ? jwks?.(policy.jwt.jwksUrl) : undefined }) : null,
    allowedIp: cidrs.length ? compileCidrs(cidrs) : null,
    attempts,
  };
}

export function compileApps(config: Config, store: Store, attempts: AttemptLimiter | null = null, jwks?: JwksObserver): Map<string, AppRuntime> {
  const apps = new Map<string, AppRuntime>();
  for (const [name, app] of Object.entries(config.apps)) {
    apps.set(name, {
      name,
      config: app,
      play: compileRole('play', app.play, store, attempts, jwks),
      publish: compileRole('publish', app.publish, store, attempts, jwks),
      grammar: streamGrammar(app.hlsSegmentFileSuffixFormat),
    });
  }
  return apps;
}
