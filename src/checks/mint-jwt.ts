// Mints an Ant Media-style stream JWT (HS256; claims streamId, type, exp[, roomId]) for the CLI and
// the REST API (`GET …/broadcasts/{id}/jwt-token`). Verification lives in jwt-token.ts.
import { SignJWT } from 'jose';
import type { Role } from '../decision/types.js';
import { MAX_PLAUSIBLE_NUMERIC_DATE } from './jwt-token.js';

export interface StreamJwtClaims {
  streamId: string;
  type: Role;
  /** Unix seconds. */
  exp: number;
  roomId?: string | undefined;
}

export async function mintStreamJwt(secret: string, claims: StreamJwtClaims): Promise<string> {
  // Same floor as config validation and Ant Media's REST generator: short HMAC keys are guessable offline.
  if (Buffer.byteLength(secret) < 32) throw new RangeError('the JWT secret must be at least 32 bytes');
  if (!Number.isSafeInteger(claims.exp) || claims.exp <= 0) throw new RangeError('exp must be a positive integer of unix seconds');
  // The verifier refuses NumericDates above 10^11 (milliseconds): never mint one.
  if (claims.exp > MAX_PLAUSIBLE_NUMERIC_DATE) throw new RangeError('exp looks like milliseconds: it must be unix seconds');
  const payload: Record<string, string> = { streamId: claims.streamId, type: claims.type };
  if (claims.roomId) payload.roomId = claims.roomId;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setExpirationTime(claims.exp)
    .sign(new TextEncoder().encode(secret));
}
