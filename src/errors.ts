// Errors as a family, after undici and jose: every error carries a stable machine `code`
// (for metrics, logs and clients) and a human sentence. Reasons are the wire contract of the
// deny responses: `{"error":"unauthorized","reason":"token_expired"}`.

/** Stable reason codes for deny decisions. Never rename one: clients and dashboards key on them. */
export const Reason = {
  // malformed request (400)
  uriTooLong: 'uri_too_long',
  pathInvalid: 'path_invalid',
  streamUnrecognized: 'stream_unrecognized',
  // credentials (401)
  tokenMissing: 'token_missing',
  tokenInvalid: 'token_invalid',
  tokenExpired: 'token_expired',
  tokenNotYetValid: 'token_not_yet_valid',
  tokenWrongStream: 'token_wrong_stream',
  tokenWrongRole: 'token_wrong_role',
  tokenUsed: 'token_used',
  subscriberMissing: 'subscriber_missing',
  subscriberCodeInvalid: 'subscriber_code_invalid',
  subscriberCodeReplayed: 'subscriber_code_replayed',
  grantInvalid: 'grant_invalid',
  grantExpired: 'grant_expired',
  // policy (403)
  subscriberBlocked: 'subscriber_blocked',
  viewerLimit: 'viewer_limit',
  ipNotAllowed: 'ip_not_allowed',
  streamNotRegistered: 'stream_not_registered',
  sessionRevoked: 'session_revoked',
  /** The store lost its data (generation marker changed): sessions minted before cannot be trusted. */
  storeDataLost: 'store_data_lost',
  methodNotAllowed: 'method_not_allowed',
  routeDenied: 'route_denied',
  // infrastructure (5xx)
  storeUnavailable: 'store_unavailable',
  originUnavailable: 'origin_unavailable',
  originTimeout: 'origin_timeout',
  manifestTooLarge: 'manifest_too_large',
  appNotFound: 'app_not_found',
} as const;
export type ReasonCode = (typeof Reason)[keyof typeof Reason];

export class StreamgateError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The store (Redis) could not answer: decisions that need it fail closed with 503. */
export class StoreUnavailableError extends StreamgateError {
  constructor(message = 'the token store is unreachable', options?: { cause?: unknown }) {
    super('SG_ERR_STORE_UNAVAILABLE', message, options);
  }
}

/** One problem found in the configuration, with the dotted key path it concerns. */
export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends StreamgateError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(
      'SG_ERR_CONFIG',
      `invalid configuration:\n${issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n')}`,
    );
    this.issues = issues;
  }
}

/** A request that cannot be decided because it is malformed (400 with a JSON reason). */
export class BadRequestError extends StreamgateError {
  readonly reason: ReasonCode;
  constructor(reason: ReasonCode, message: string) {
    super('SG_ERR_BAD_REQUEST', message);
    this.reason = reason;
  }
}
