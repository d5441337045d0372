// Ant Media's subscriber validation (BroadcastRestService.addSubscriber), shared by the REST API
// and the CLI; messages are the original's, byte for byte (typos included), so existing backends
// that match on them keep working. Additions (type, limit) have messages of our own.
import { ScureBase32Plugin } from 'otplib';
import type { Subscriber } from '../store/store.js';

const base32 = new ScureBase32Plugin();

const MAX_PERIOD = 2147483647;

export const SubscriberMessage = {
  missingId: "Missing parameter: Make sure you set subscriber object correctly and make subscriberId's length at least 3",
  badSecret: 'Secret code is not multiple of 8 bytes length. Use b32Secret which is a string and its lenght is multiple of 8 bytes and allowed characters A-Z, 2-7',
  badPeriod: `Custom TOTP expiry period must be between 10 and ${MAX_PERIOD}`,
  badType: "Subscriber type should be 'play' or 'publish'",
  badLimit: 'concurrentConnectionsLimit must be a non-negative integer',
} as const;

/** Returns the original's error message, or null when the subscriber is acceptable. */
export function validateSubscriber(s: Partial<Subscriber>): string | null {
  // The original: non-blank and length > 3 (its message says "at least 3"; the code wants 4).
  if (typeof s.subscriberId !== 'string' || s.subscriberId.trim() === '' || s.subscriberId.length <= 3) return SubscriberMessage.missingId;
  if (s.type !== 'play' && s.type !== 'publish') return SubscriberMessage.badType;
  if (s.b32Secret !== undefined && s.b32Secret !== null && s.b32Secret !== '') {
    if (typeof s.b32Secret !== 'string' || s.b32Secret.length % 8 !== 0) return SubscriberMessage.badSecret;
    try {
      base32.decode(s.b32Secret);
    } catch {
      return SubscriberMessage.badSecret;
    }
  }
  const p = s.totpExpiryPeriodSeconds;
  if (p !== undefined && p !== null && (!Number.isInteger(p) || p < 10 || p > MAX_PERIOD)) return SubscriberMessage.badPeriod;
  const limit = s.concurrentConnectionsLimit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) return SubscriberMessage.badLimit;
  return null;
}
