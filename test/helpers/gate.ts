// Starts a real gate (public + admin listeners on free loopback ports) from a config object.
import { parseConfig } from '../../src/config/load.js';
import { startGate, type RunningGate } from '../../src/server.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import type { Store } from '../../src/store/store.js';

export async function startTestGate(config: Record<string, unknown>, opts: { store?: Store; logLevel?: string; log?: Logger; defaultMetrics?: boolean } = {}): Promise<RunningGate> {
  const parsed = parseConfig(
    JSON.stringify({ listen: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, ...config }),
    {},
  );
  return startGate(parsed, { store: opts.store, log: opts.log ?? createLogger(opts.logLevel ?? process.env.TEST_LOG_LEVEL ?? 'silent'), defaultMetrics: opts.defaultMetrics ?? false });
}

// Test secrets. parseConfig refuses empty, short (< 32 for HMAC keys, < 16 for app secrets) and
// placeholder secrets, so every test config uses these (random-looking, long enough).
export const JWT_SECRET = 'test-jwt-secret-0123456789abcdef-0123456789';
export const HASH_SECRET = 'hash-secret-for-tests-Xq7vK2pL9sM4';
export const TOTP_SECRET = 'totp-app-secret-for-tests-R8nW3cJ6';
export const SESSION_SECRET = 'session-secret-for-tests-0123456789abcdef';
/** The next secrets of a rotation (`secret: [NEXT, current]`): the first signs, both verify. */
export const JWT_SECRET_NEXT = 'test-jwt-secret-rotated-fedcba9876543210-0123';
export const HASH_SECRET_NEXT = 'hash-secret-rotated-for-tests-Zt5wQ1m';
