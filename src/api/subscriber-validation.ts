// Ant Media's subscriber validation (BroadcastRestService.addSubscriber), shared by the REST API
// and the CLI; messages kept as the original's so existing backends recognize them.
import { ScureBase32Plugin } from 'otplib';

const base32 = new ScureBase32Plugin();
import type { Subscriber } from '../store/store.js';

const MAX_PERIOD = 2147483647;

/** Returns the original's error message, or null when the subscriber is acceptable. */
export function validateSubscriber(s: Partial<Subscriber>): string | null {
  if (!s.subscriberId || s.subscriberId.length <= 3) return 'Missing parameter: subscriberId. Subscriber id length should be at least 3';
  if (s.type !== 'play' && s.type !== 'publish') return "Subscriber type should be 'play' or 'publish'";
  if (s.b32Secret) {
    if (s.b32Secret.length % 8 !== 0) return 'Secret code is not multiple of 8 bytes length. Use only Base32 characters and length should be multiple of 8';
    try {
      base32.decode(s.b32Secret);
    } catch {
      return 'Secret code is not a valid Base32 value. Use only Base32 characters and length should be multiple of 8';
    }
  }
  const p = s.totpExpiryPeriodSeconds;
  if (p !== undefined && p !== null && (!Number.isInteger(p) || p < 10 || p > MAX_PERIOD)) return `Custom TOTP expiry period must be between 10 and ${MAX_PERIOD}`;
  const limit = s.concurrentConnectionsLimit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) return 'concurrentConnectionsLimit must be a non-negative integer';
  return null;
}
