// Token endpoints of the management API (reference §2.2, §2.5, §4.1, §10), answered from our store.
// Improvements over the original: CSPRNG token ids; `expireDate` must be in the future, in seconds
// (a millisecond value is refused, not turned into a token valid for millennia) and within
// rest.maxTokenLifetimeSeconds; validate-token only consumes when asked to; room tokens check the room.
import type { Role } from '../decision/types.js';
import type { OneTimeToken } from '../store/store.js';
import { newTokenId } from '../checks/one-time-token.js';
import { mintStreamJwt } from '../checks/mint-jwt.js';
import { isStreamId } from '../request/stream-path.js';
import { sendJson } from '../proxy/respond.js';
import { asObject, optionalString, PAGE_MESSAGE, parsePage, readJsonBody, result, sendResult, type ApiRequest, type ApiRoute } from './http.js';
import { StreamMessage } from './streams.js';

export const TokenMessage = {
  define: 'Define Stream ID, Token Type and Expire Date (unix time)',
  badType: "Invalid token type. Supported types are 'play' and 'publish'",
  millis: 'Expire date looks like milliseconds. Give the unix time in seconds',
  past: 'Expire date is in the past. Give a future unix time in seconds',
  tooFar: (max: number) => `Expire date is too far in the future. Tokens may live at most ${max} seconds`,
  badRoom: 'Room id is not valid.',
  // The original's text, kept for backends that match on it.
  noJwtKey: "Cannot create JWT token. The problem can be ->  this is community edition or JWT stream key is not set or it's length is less than 32",
} as const;

/** Unix seconds above this are milliseconds (1e11 s is the year 5138). */
const MILLIS_THRESHOLD = 1e11;

/** Ant Media's Token JSON: roomId always present (null when none). */
function tokenJson(t: OneTimeToken): Record<string, unknown> {
  return { tokenId: t.tokenId, streamId: t.streamId, expireDate: t.expireDate, type: t.type, roomId: t.roomId ?? null };
}

type TokenRequest = { ok: true; streamId: string; type: Role; expireDate: number; roomId: string | undefined } | { ok: false; message: string };

function readTokenRequest(c: ApiRequest): TokenRequest {
  const rawExpire = c.query.get('expireDate');
  const type = c.query.get('type');
  // Like the original's `long` query parameter: absent or unparsable counts as 0.
  const expireDate = rawExpire !== null && /^-?\d{1,16}$/.test(rawExpire) ? Number(rawExpire) : 0;
  if (!type || expireDate <= 0) return { ok: false, message: TokenMessage.define };
  if (type !== 'play' && type !== 'publish') return { ok: false, message: TokenMessage.badType };
  if (expireDate > MILLIS_THRESHOLD) return { ok: false, message: TokenMessage.millis };
  const now = Math.floor(Date.now() / 1000);
  if (expireDate <= now) return { ok: false, message: TokenMessage.past };
  const max = c.app.config.rest.maxTokenLifetimeSeconds;
  if (expireDate > now + max) return { ok: false, message: TokenMessage.tooFar(max) };
  const roomId = optionalString(c.query.get('roomId'));
  if (roomId !== undefined && !isStreamId(roomId)) return { ok: false, message: TokenMessage.badRoom };
  return { ok: true, streamId: c.params.id!, type, expireDate, roomId };
}

async function createToken(c: ApiRequest): Promise<void> {
  const r = readTokenRequest(c);
  if (!r.ok) return sendResult(c.res, 400, result(false, r.message));
  const token: OneTimeToken = { tokenId: newTokenId(), streamId: r.streamId, type: r.type, expireDate: r.expireDate, roomId: r.roomId ?? null };
  await c.rt.store.saveToken(c.app.name, token);
  sendJson(c.res, 200, tokenJson(token));
}

async function createJwt(c: ApiRequest): Promise<void> {
  const r = readTokenRequest(c);
  if (!r.ok) return sendResult(c.res, 400, result(false, r.message));
  // During a rotation the first secret signs; the others only still verify.
  const secret = c.app.config[r.type].jwt.secret?.[0];
  if (!secret || Buffer.byteLength(secret) < 32) return sendResult(c.res, 400, result(false, TokenMessage.noJwtKey));
  const jwt = await mintStreamJwt(secret, { streamId: r.streamId, type: r.type, exp: r.expireDate, roomId: r.roomId });
  sendJson(c.res, 200, tokenJson({ tokenId: jwt, streamId: r.streamId, type: r.type, expireDate: r.expireDate, roomId: r.roomId ?? null }));
}

async function listTokens(c: ApiRequest): Promise<void> {
  const page = parsePage(c.params.offset, c.params.size);
  if (!page) return sendResult(c.res, 400, result(false, PAGE_MESSAGE));
  const tokens = await c.rt.store.listTokens(c.app.name, c.params.id!, page.offset, page.size);
  sendJson(c.res, 200, tokens.map(tokenJson));
}

async function revokeTokens(c: ApiRequest): Promise<void> {
  // Also bumps the stream's revocation epoch: live playbacks end at their next refresh.
  await c.rt.store.revokeTokens(c.app.name, c.params.id!);
  sendResult(c.res, 200, result(true));
}

/**
 * `POST /validate-token`, body = Token JSON. Answers Result{success}; the outcome ("used",
 * "expired", …) is in `message` when it fails. Consumes only with `?consume=true` (the original
 * always consumed, so a monitoring probe burned viewers' tokens).
 */
async function validateToken(c: ApiRequest): Promise<void> {
  const body = await readJsonBody(c.req);
  if (!body.ok) return sendResult(c.res, body.status, result(false, body.message));
  const t = asObject(body.value);
  const tokenId = optionalString(t?.tokenId);
  const streamId = optionalString(t?.streamId);
  const type = t?.type;
  if (!tokenId) return sendResult(c.res, 200, result(false));
  if (type !== 'play' && type !== 'publish') return sendResult(c.res, 200, result(false, TokenMessage.badType));
  const roomId = optionalString(t?.roomId);
  const consume = c.query.get('consume') === 'true';
  const r = await c.rt.store.consumeToken(c.app.name, { tokenId, streamIds: streamId ? [streamId] : [], type, roomId }, Date.now(), consume);
  sendResult(c.res, 200, r.outcome === 'ok' ? result(true) : result(false, r.outcome));
}

/**
 * Ant Media 1.x `GET /{app}/rest/broadcast/getToken?id=<streamId>&expireDate=<unix s>&type=play|publish`
 * (BroadcastRestService#getToken before the v2 API): the stream id comes from the query, everything
 * else — validation, messages, the Token JSON — is `GET /v2/broadcasts/{id}/token`'s.
 */
async function createTokenV1(c: ApiRequest): Promise<void> {
  const id = c.query.get('id');
  if (!id) return sendResult(c.res, 400, result(false, TokenMessage.define));
  if (!isStreamId(id)) return sendResult(c.res, 400, result(false, StreamMessage.invalid));
  return createToken({ ...c, params: { ...c.params, id } });
}

/** Routes below `/{app}/rest/broadcast` (the 1.x API) that backends written for it still call. */
export const legacyTokenRoutes: ApiRoute[] = [{ method: 'GET', pattern: ['getToken'], handler: createTokenV1, exclusive: true }];

export const tokenRoutes: ApiRoute[] = [
  { method: 'POST', pattern: ['validate-token'], handler: validateToken, exclusive: true },
  { method: 'GET', pattern: [':id', 'token'], handler: createToken, exclusive: true },
  { method: 'GET', pattern: [':id', 'jwt-token'], handler: createJwt, exclusive: true },
  { method: 'GET', pattern: [':id', 'tokens', 'list', ':offset', ':size'], handler: listTokens, exclusive: true },
  { method: 'DELETE', pattern: [':id', 'tokens'], handler: revokeTokens, exclusive: true },
];
