// Playback grants: the stateless session that lets segment and refresh requests through after a
// manifest was authorized (strategy S2 of the edge-auth anchors). Verifying one is pure CPU work:
// one HMAC-SHA256 per configured key, no store and no JWT library, because it runs on every segment.
//
// Wire format: `v2.<base64url payload>.<base64url HMAC-SHA256(key, "v2.<payload>") truncated to 16 bytes>`.
// (v2 added the store generation; v1 grants no longer verify: their sessions restart once.)
// The payload is the Grant's fields joined by `|` in a fixed order (see FIELDS below); `%` and `|`
// inside string fields are escaped as `%25` / `%7C`, so no field value can forge a delimiter.
// The format is a compatibility contract between replicas: a change needs a new version prefix,
// except a new role code (`m`, session grants), which older replicas refuse as invalid (fail closed).
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject, randomFillSync } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Role } from '../decision/types.js';
import type { Reason } from '../errors.js';

export interface Grant {
  app: string;
  streamId: string;
  role: Role;
  subscriberId?: string;
  /** Random id of the playback session (newSessionId()); stable across re-mints. */
  sessionId: string;
  /** Unix seconds. */
  issuedAt: number;
  /** Unix seconds; the grant is valid while `now < expiresAt`. */
  expiresAt: number;
  /** Unix seconds of the first mint of this session (caps the lifetime of re-minted grants). */
  sessionStartedAt: number;
  /** Unix seconds; expiry of the credential that opened the session, when it had one. */
  credentialExpiresAt?: number;
  /** Client IP the grant is bound to, when IP binding is configured. */
  clientIp?: string;
  /** Revocation epochs at mint time; a later bump ends the session. */
  epochs: { stream: number; subscriber: number };
  /** The store generation the epochs were read under; a different one (data loss) ends the session. */
  generation: string;
  /**
   * `manifest`: a session grant, valid for the session's whole life but for manifests only (the
   * URIs of playlists a player re-requests unchanged). Absent: manifests and media alike.
   */
  scope?: 'manifest';
}

export type GrantFailure = typeof Reason.grantInvalid | typeof Reason.grantExpired;
export type GrantVerifyResult = { ok: true; grant: Grant } | { ok: false; reason: GrantFailure };

export interface GrantCodec {
  sign(grant: Grant): string;
  verify(value: string, nowSec: number): GrantVerifyResult;
}

/** Longest value verify() looks at; longer input is rejected before any HMAC. */
export const GRANT_MAX_LENGTH = 1024;

const PREFIX = 'v2.';
const MAC_BYTES = 16;
const MAC_CHARS = 22; // ceil(16 * 4 / 3) base64url characters, no padding
const FIELD_COUNT = 13;
// 22 base64url characters carry 132 bits; the last one must have its 4 spare bits zero, otherwise
// several strings would decode to the same MAC (harmless, but we want one spelling per grant).
const CANONICAL_LAST_MAC_CHAR = 'AQgw';
// The secrets are shared with operators' config; deriving a grant-specific key keeps the grant MAC
// separate from any other use of the same secret.
const KEY_LABEL = 'streamgate playback grant v1';

const INVALID: GrantVerifyResult = Object.freeze({ ok: false, reason: 'grant_invalid' });
const EXPIRED: GrantVerifyResult = Object.freeze({ ok: false, reason: 'grant_expired' });

/** 96 bits from the CSPRNG, base64url (16 characters). */
// One randomFillSync per 256 ids: each OpenSSL call costs more than the 12 bytes it returns
// (the same pooling crypto.randomUUID() does). Still a CSPRNG; no byte is ever handed out twice.
const ID_BYTES = 12;
const idPool = Buffer.allocUnsafeSlow(ID_BYTES * 256);
let idOffset = idPool.length;

export function newSessionId(): string {
  if (idOffset === idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  const id = idPool.toString('base64url', idOffset, idOffset + ID_BYTES);
  idOffset += ID_BYTES;
  return id;
}

/**
 * Authentic grants seen recently (value → decoded grant), so a refresh or a segment presenting a grant
 * this replica already verified (or signed) costs a Map lookup instead of an HMAC and a decode. Only
 * values whose MAC verified enter; expiry is checked on every use. LRU-bounded.
 */
export const VERIFIED_CACHE_SIZE = 8192;

/**
 * `secrets[0]` signs; every secret verifies, so keys rotate by prepending the new one.
 * Grants returned by verify() are frozen and may be shared between requests: copy before changing.
 */
export function createGrantCodec(secrets: readonly string[]): GrantCodec {
  if (!Array.isArray(secrets) || secrets.length === 0) {
    throw new TypeError('createGrantCodec: at least one secret is required');
  }
  const keys: KeyObject[] = secrets.map((secret, i) => {
    if (typeof secret !== 'string' || secret.length < 32) {
      throw new TypeError(`createGrantCodec: secret #${i} must be a string of at least 32 characters`);
    }
    return createSecretKey(createHmac('sha256', secret).update(KEY_LABEL).digest());
  });
  const signingKey = keys[0] as KeyObject;
  const verified = new LRUCache<string, Readonly<Grant>>({ max: VERIFIED_CACHE_SIZE });
  const remember = (value: string, grant: Grant): Readonly<Grant> => {
    Object.freeze(grant.epochs);
    verified.set(value, Object.freeze(grant));
    return grant;
  };

  function mac(key: KeyObject, signed: string): Buffer {
    return createHmac('sha256', key).update(signed).digest().subarray(0, MAC_BYTES);
  }

  return {
    sign(grant: Grant): string {
      const signed = PREFIX + Buffer.from(encodePayload(grant), 'utf8').toString('base64url');
      const value = `${signed}.${mac(signingKey, signed).toString('base64url')}`;
      // The next refresh or segment presents exactly this value: verified already. A copy in the
      // shape verify() decodes, so the caller's object stays its own and mutable.
      remember(value, canonicalCopy(grant));
      return value;
    },

    verify(value: string, nowSec: number): GrantVerifyResult {
      // Cheap shape checks first: garbage never reaches the HMAC.
      if (typeof value !== 'string' || value.length > GRANT_MAX_LENGTH || !value.startsWith(PREFIX)) return INVALID;
      const known = verified.get(value);
      if (known !== undefined) return nowSec < known.expiresAt ? { ok: true, grant: known } : EXPIRED;
      const dot = value.length - MAC_CHARS - 1;
      if (dot <= PREFIX.length || value.charCodeAt(dot) !== 46 /* . */) return INVALID;
      const macText = value.slice(dot + 1);
      if (!CANONICAL_LAST_MAC_CHAR.includes(macText.charAt(MAC_CHARS - 1))) return INVALID;
      // Node's decoder skips characters outside the alphabet, so 16 bytes means 22 valid characters.
      const given = Buffer.from(macText, 'base64url');
      if (given.length !== MAC_BYTES) return INVALID;

      const signed = value.slice(0, dot);
      let authentic = false;
      for (const key of keys) {
        if (timingSafeEqual(given, mac(key, signed))) {
          authentic = true;
          break;
        }
      }
      if (!authentic) return INVALID;

      const grant = decodePayload(Buffer.from(signed.slice(PREFIX.length), 'base64url').toString('utf8'));
      if (grant === null) return INVALID;
      remember(value, grant);
      if (!(nowSec < grant.expiresAt)) return EXPIRED;
      return { ok: true, grant };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Payload: app|streamId|role|subscriberId|sessionId|issuedAt|expiresAt|sessionStartedAt|
//          credentialExpiresAt|clientIp|epochs.stream|epochs.subscriber|generation
// Integers are base36 (shorter: the grant is repeated on every URI of a playlist); an absent
// optional field is empty. An empty optional string is treated as absent. Roles: p = play,
// m = play with scope `manifest` (a session grant), u = publish.

function encodePayload(g: Grant): string {
  const role = g.role === 'play' ? (g.scope === 'manifest' ? 'm' : 'p') : g.role === 'publish' && g.scope === undefined ? 'u' : null;
  if (role === null) throw new TypeError(`grant: unknown role or scope ${String(g.role)}/${String(g.scope)}`);
  return [
    required('app', g.app),
    required('streamId', g.streamId),
    role,
    optional('subscriberId', g.subscriberId),
    required('sessionId', g.sessionId),
    int('issuedAt', g.issuedAt),
    int('expiresAt', g.expiresAt),
    int('sessionStartedAt', g.sessionStartedAt),
    g.credentialExpiresAt === undefined ? '' : int('credentialExpiresAt', g.credentialExpiresAt),
    optional('clientIp', g.clientIp),
    int('epochs.stream', g.epochs.stream),
    int('epochs.subscriber', g.epochs.subscriber),
    required('generation', g.generation),
  ].join('|');
}

function decodePayload(text: string): Grant | null {
  const f = text.split('|');
  if (f.length !== FIELD_COUNT) return null;
  const app = unescapeField(f[0] as string);
  const streamId = unescapeField(f[1] as string);
  const role: Role | null = f[2] === 'p' || f[2] === 'm' ? 'play' : f[2] === 'u' ? 'publish' : null;
  const subscriberId = unescapeField(f[3] as string);
  const sessionId = unescapeField(f[4] as string);
  const issuedAt = parseInt36(f[5] as string);
  const expiresAt = parseInt36(f[6] as string);
  const sessionStartedAt = parseInt36(f[7] as string);
  const credentialExpiresAt = f[8] === '' ? undefined : parseInt36(f[8] as string);
  const clientIp = unescapeField(f[9] as string);
  const epochStream = parseInt36(f[10] as string);
  const epochSubscriber = parseInt36(f[11] as string);
  const generation = unescapeField(f[12] as string);
  if (
    !app || !streamId || role === null || subscriberId === null || !sessionId || clientIp === null || !generation ||
    issuedAt === null || expiresAt === null || sessionStartedAt === null || credentialExpiresAt === null ||
    epochStream === null || epochSubscriber === null
  ) {
    return null;
  }
  const grant: Grant = {
    app,
    streamId,
    role,
    sessionId,
    issuedAt,
    expiresAt,
    sessionStartedAt,
    epochs: { stream: epochStream, subscriber: epochSubscriber },
    generation,
  };
  if (subscriberId !== '') grant.subscriberId = subscriberId;
  if (credentialExpiresAt !== undefined) grant.credentialExpiresAt = credentialExpiresAt;
  if (clientIp !== '') grant.clientIp = clientIp;
  if (f[2] === 'm') grant.scope = 'manifest';
  return grant;
}

/** A copy of `g` in the shape decodePayload gives (absent optionals absent, empty strings dropped). */
function canonicalCopy(g: Grant): Grant {
  const c: Grant = {
    app: g.app,
    streamId: g.streamId,
    role: g.role,
    sessionId: g.sessionId,
    issuedAt: g.issuedAt,
    expiresAt: g.expiresAt,
    sessionStartedAt: g.sessionStartedAt,
    epochs: { stream: g.epochs.stream, subscriber: g.epochs.subscriber },
    generation: g.generation,
  };
  if (g.subscriberId) c.subscriberId = g.subscriberId;
  if (g.credentialExpiresAt !== undefined) c.credentialExpiresAt = g.credentialExpiresAt;
  if (g.clientIp) c.clientIp = g.clientIp;
  if (g.scope === 'manifest') c.scope = 'manifest';
  return c;
}

function required(name: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new TypeError(`grant: ${name} must be a non-empty string`);
  return escapeField(v);
}

function optional(name: string, v: unknown): string {
  if (v === undefined || v === '') return '';
  if (typeof v !== 'string') throw new TypeError(`grant: ${name} must be a string`);
  return escapeField(v);
}

function int(name: string, v: unknown): string {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new TypeError(`grant: ${name} must be a non-negative safe integer`);
  }
  return v.toString(36);
}

function escapeField(s: string): string {
  if (s.indexOf('%') === -1 && s.indexOf('|') === -1) return s; // the common case allocates nothing
  return s.replaceAll('%', '%25').replaceAll('|', '%7C');
}

/** Inverse of escapeField; null for any escape it would not have produced. */
function unescapeField(s: string): string | null {
  let p = s.indexOf('%');
  if (p === -1) return s;
  let out = '';
  let from = 0;
  while (p !== -1) {
    const code = s.slice(p + 1, p + 3);
    if (code === '25') out += s.slice(from, p) + '%';
    else if (code === '7C') out += s.slice(from, p) + '|';
    else return null;
    from = p + 3;
    p = s.indexOf('%', from);
  }
  return out + s.slice(from);
}

/** Strict base36: lower-case digits only, at most 11 of them (2^53 needs 11). */
function parseInt36(s: string): number | null {
  if (s.length === 0 || s.length > 11) return null;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 122))) return null;
  }
  const n = parseInt(s, 36);
  return Number.isSafeInteger(n) ? n : null;
}
