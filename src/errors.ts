// Errors as a family, after undici and jose: every error carries a stable machine `code`
// (for metrics, logs and clients) and a human sentence. Reasons are the wire contract of the
// deny responses: `{"error":"unauthorized","reason":"token_expired"}`.

// The reason codes, their statuses and WebSocket definitions live in one table (decision/reasons.ts).
export { Reason, REASONS, type ReasonCode } from './decision/reasons.js';
import type { ReasonCode } from './decision/reasons.js';

/** Stable `code`s of the error family: log lines and tests key on them. Never rename one. */
export const ErrorCode = {
  storeUnavailable: 'SG_ERR_STORE_UNAVAILABLE',
  config: 'SG_ERR_CONFIG',
  badRequest: 'SG_ERR_BAD_REQUEST',
  manifestTooLarge: 'SG_ERR_TOO_LARGE',
  usage: 'SG_ERR_USAGE',
  amf: 'SG_ERR_AMF',
  rtmpProtocol: 'SG_ERR_RTMP_PROTOCOL',
  rtmpHandshake: 'SG_ERR_RTMP_HANDSHAKE',
  readTimeout: 'SG_ERR_READ_TIMEOUT',
  proxyHeader: 'SG_ERR_PROXY_HEADER',
  srtPacket: 'SG_ERR_SRT_PACKET',
  originTimeout: 'SG_ERR_ORIGIN_TIMEOUT',
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export class StreamgateError extends Error {
  readonly code: ErrorCodeValue;
  constructor(code: ErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The store (Redis) could not answer: decisions that need it fail closed with 503. */
export class StoreUnavailableError extends StreamgateError {
  constructor(message = 'the token store is unreachable', options?: { cause?: unknown }) {
    super(ErrorCode.storeUnavailable, message, options);
  }
}

/** One problem found in the configuration, with the dotted key path it concerns. */
export interface ConfigIssue {
  path: string;
  message: string;
  /** Where the key sits in the config file (1-based), when it comes from one. */
  file?: string;
  line?: number;
  column?: number;
}

const issueWhere = (i: ConfigIssue) => (i.line ? `${i.file ?? '(config)'}:${i.line}:${i.column ?? 1}: ` : '');

export class ConfigError extends StreamgateError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(
      ErrorCode.config,
      `invalid configuration:\n${issues.map((i) => `  ${issueWhere(i)}${i.path || '(root)'}: ${i.message}`).join('\n')}`,
    );
    this.issues = issues;
  }
}

/** A request that cannot be decided because it is malformed (400 with a JSON reason). */
export class BadRequestError extends StreamgateError {
  readonly reason: ReasonCode;
  constructor(reason: ReasonCode, message: string) {
    super(ErrorCode.badRequest, message);
    this.reason = reason;
  }
}

/** An origin response that must be buffered (a manifest to rewrite) is larger than the configured cap. */
export class ManifestTooLargeError extends StreamgateError {
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(ErrorCode.manifestTooLarge, `manifest larger than ${maxBytes} bytes`);
    this.maxBytes = maxBytes;
  }
}

/** A command line that cannot be run as written (missing or malformed argument). */
export class UsageError extends StreamgateError {
  constructor(message: string) {
    super(ErrorCode.usage, message);
  }
}
