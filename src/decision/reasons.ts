// The one reason table. Every deny reason streamgate answers with is declared here once: its HTTP
// status, the WebSocket error `definition` a signalling client receives for it, and what it means.
// The doors never choose a status of their own: they ask `statusAt(door, reason)`. The README's deny
// table is checked against this table by a test. Nothing here knows about sockets or requests.

/**
 * Ant Media `WebSocketConstants` definitions (error frames `{"command":"error","definition":…}`).
 * Three are streamgate's own: `token_expired` (a running stream's credential expired),
 * `too_many_attempts` (locked out after failed attempts) and `internal_error` (the gate failed; the
 * original has no such definitions).
 */
export const Definition = {
  unauthorized: 'unauthorized_access',
  blocked: 'user_blocked',
  unregistered: 'not_allowed_unregistered_streams',
  viewerLimit: 'viewerLimitReached',
  storeDown: 'data_store_not_available',
  noStreamName: 'noStreamNameSpecified',
  invalidStreamName: 'invalidStreamName',
  noRoom: 'no_room_specified',
  tokenExpired: 'token_expired',
  internalError: 'internal_error',
  tooManyAttempts: 'too_many_attempts',
} as const;
export type DefinitionCode = (typeof Definition)[keyof typeof Definition];

/** HTTP statuses a deny can carry (RFC 9110 §15). */
export type DenyStatus = 400 | 401 | 403 | 404 | 405 | 408 | 429 | 500 | 502 | 503 | 504;

export interface ReasonInfo {
  /** Status on the proxy door and on a refused WebSocket handshake. */
  status: DenyStatus;
  /** Error-frame definition on the WebSocket door (Ant Media's when it has one). */
  definition: DefinitionCode;
  /** One line for operators: what happened and what the client should do. */
  meaning: string;
}

const U = Definition.unauthorized;

/** Stable reason codes. Never rename one: clients, dashboards and alerts key on them. */
export const REASONS = {
  // The request cannot be decided as sent.
  uri_too_long: { status: 400, definition: U, meaning: 'the request-target is longer than limits.maxUriBytes' },
  path_invalid: { status: 400, definition: U, meaning: 'the path has dot or empty segments, `;`, a backslash, control characters or encoded separators' },
  stream_unrecognized: { status: 400, definition: Definition.invalidStreamName, meaning: 'the path or command names no valid stream id (unknown file layout, or an id such as `.` or `..`)' },
  upgrade_invalid: { status: 400, definition: U, meaning: 'a WebSocket handshake that is not a valid RFC 6455 upgrade' },
  // The credential is missing or bad: present a (better) one.
  token_missing: { status: 401, definition: U, meaning: 'the role needs a `token` and none was sent' },
  token_invalid: { status: 401, definition: U, meaning: 'the token is unknown, malformed or its signature does not verify' },
  token_expired: { status: 401, definition: U, meaning: 'the token is past its expiry' },
  token_not_yet_valid: { status: 401, definition: U, meaning: 'the JWT `nbf` is in the future' },
  token_time_implausible: { status: 401, definition: U, meaning: 'a JWT `exp`, `nbf` or `iat` is beyond 10^11: milliseconds where seconds are required' },
  token_wrong_stream: { status: 401, definition: U, meaning: 'the credential was issued for another stream' },
  token_wrong_role: { status: 401, definition: U, meaning: 'the credential was issued for the other role (play vs publish)' },
  token_used: { status: 401, definition: U, meaning: 'the one-time token was already consumed' },
  subscriber_missing: { status: 401, definition: U, meaning: 'the role needs `subscriberId` and `subscriberCode`' },
  subscriber_code_invalid: { status: 401, definition: U, meaning: 'the TOTP code is wrong for this subscriber and time' },
  subscriber_code_replayed: { status: 401, definition: U, meaning: 'the TOTP code was already used in its step (`preventReplay`)' },
  grant_invalid: { status: 401, definition: U, meaning: 'the playback grant is malformed, forged, or for another app or client' },
  grant_expired: { status: 401, definition: U, meaning: 'the playback grant or its session lifetime has ended' },
  // A good credential that policy refuses, or a request that may not be made at all.
  subscriber_blocked: { status: 403, definition: Definition.blocked, meaning: 'the subscriber is blocked for this stream' },
  viewer_limit: { status: 403, definition: Definition.viewerLimit, meaning: "the subscriber's concurrent-session limit is reached" },
  ip_not_allowed: { status: 403, definition: U, meaning: 'the client address is outside the allowed CIDRs' },
  stream_not_registered: { status: 403, definition: Definition.unregistered, meaning: 'publishing needs a registered stream (`acceptUndefinedStreams: false`)' },
  session_revoked: { status: 403, definition: U, meaning: 'the playback session was revoked (stream or subscriber epoch changed)' },
  store_data_lost: { status: 403, definition: U, meaning: 'the store lost its data (generation marker changed) after this playback session started: open the playback again' },
  route_denied: { status: 403, definition: U, meaning: 'this path is not served to this caller (root paths, the signalling path over plain HTTP, untrusted /verify callers)' },
  method_not_allowed: { status: 405, definition: U, meaning: 'the method is not allowed on this path (media files: GET, HEAD, OPTIONS)' },
  app_not_found: { status: 404, definition: U, meaning: 'the first path segment is not a configured app' },
  body_timeout: { status: 408, definition: U, meaning: 'the request body stopped arriving for origin.requestBodyIdleTimeoutMs' },
  // Locked out after failed attempts (limits.attempts): wait `Retry-After` seconds.
  too_many_attempts: { status: 429, definition: Definition.tooManyAttempts, meaning: 'too many wrong subscriber codes or refused commands from this subscriber or address; a correct code is refused too until `Retry-After`' },
  // The REST filter, the management API and CORS preflights (HTTP only).
  rest_jwt_missing: { status: 403, definition: U, meaning: 'the REST filter needs `Authorization: Bearer <JWT>` from this caller' },
  rest_jwt_invalid: { status: 403, definition: U, meaning: 'the REST JWT does not verify (signature, algorithm, issuer, audience, no `exp`)' },
  rest_jwt_expired: { status: 403, definition: U, meaning: 'the REST JWT is past its `exp`' },
  rest_cross_site_requires_jwt: { status: 403, definition: U, meaning: 'a request whose Fetch Metadata says another site (`Sec-Fetch-Site: cross-site`, or `same-site` without `rest.allowSameSite`) needs a valid REST JWT' },
  rest_origin_requires_jwt: { status: 403, definition: U, meaning: 'a browser request (Origin header) to the REST API needs a JWT, not just an allowed address' },
  api_not_public: { status: 404, definition: U, meaning: 'the management API is not served on the public listener (`rest.servePublic: false`)' },
  route_unknown: { status: 404, definition: U, meaning: 'no management API route has this path' },
  cors_origin_not_allowed: { status: 403, definition: U, meaning: "the preflight's Origin is not in `cors.allowedOrigins`" },
  cors_method_not_allowed: { status: 403, definition: U, meaning: "the preflight's method is not in `cors.allowedMethods`" },
  cors_header_not_allowed: { status: 403, definition: U, meaning: "a preflight header is not in `cors.allowedHeaders`" },
  // The gate cannot answer.
  internal_error: { status: 500, definition: Definition.internalError, meaning: 'an unexpected failure in the gate (logged at error with its stack)' },
  origin_unavailable: { status: 502, definition: U, meaning: 'the origin refused the connection or is not configured' },
  manifest_too_large: { status: 502, definition: U, meaning: "the origin's manifest exceeds limits.maxManifestBytes" },
  store_unavailable: { status: 503, definition: Definition.storeDown, meaning: 'the decision needs the store and the store cannot answer (fail closed, `Retry-After`)' },
  shutting_down: { status: 503, definition: U, meaning: 'the gate is draining and takes no new WebSocket connections' },
  origin_timeout: { status: 504, definition: U, meaning: 'the origin did not answer in time' },
} as const satisfies Record<string, ReasonInfo>;

export type ReasonCode = keyof typeof REASONS;

type Camel<S extends string> = S extends `${infer A}_${infer B}` ? `${A}${Capitalize<Camel<B>>}` : S;
const camel = (code: string) => code.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** `Reason.tokenExpired === 'token_expired'`: the codes under camelCase names, for call sites. */
export const Reason = Object.freeze(Object.fromEntries(Object.keys(REASONS).map((code) => [camel(code), code]))) as {
  readonly [K in ReasonCode as Camel<K>]: K;
};

/** The doors a decision can be asked through (also the `door` label of the decision metric). */
export type Door = 'proxy' | 'verify' | 'websocket' | 'rtmp' | 'srt';

/**
 * The HTTP status a door answers for a reason. The one place where doors differ:
 * - proxy and a refused WebSocket handshake: the table's status;
 * - `/verify` (nginx `auth_request`, Traefik ForwardAuth, Envoy ext_authz): only 401, 403, 500 and 503.
 *   nginx turns any other status (400, 404, 405…) into a 500, so those become 403 ("cannot be
 *   authorized") — 401 stays "present a credential", 503 "cannot decide, retry", 500 "the gate failed".
 * A WebSocket command is refused with `REASONS[reason].definition` instead of a status.
 */
export function statusAt(door: Door, reason: ReasonCode): DenyStatus {
  const status = REASONS[reason].status;
  if (door !== 'verify') return status;
  return status === 401 || status === 500 || status === 503 ? status : 403;
}

/** The error frame definition a signalling client receives for a reason. */
export function definitionFor(reason: ReasonCode): DefinitionCode {
  return REASONS[reason].definition;
}

/** The `error` word of a JSON deny body for a status (`{"error":"unauthorized","reason":…}`). */
export function errorWord(status: number): string {
  return ERROR_WORD[status] ?? 'error';
}

const ERROR_WORD: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  429: 'too_many_requests',
  500: 'internal_error',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout',
};
