// Starts a real gate (public + admin listeners on free loopback ports) from a config object.
import { parseConfig } from '../../src/config/load.js';
import { startGate, type RunningGate } from '../../src/server.js';
import { createLogger } from '../../src/observability/logger.js';
import type { Store } from '../../src/store/store.js';

export async function startTestGate(config: Record<string, unknown>, opts: { store?: Store; logLevel?: string } = {}): Promise<RunningGate> {
  const parsed = parseConfig(
    JSON.stringify({ listen: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 }, ...config }),
    {},
  );
  return startGate(parsed, { store: opts.store, log: createLogger(opts.logLevel ?? process.env.TEST_LOG_LEVEL ?? 'silent'), defaultMetrics: false });
}

export const JWT_SECRET = 'test-jwt-secret-0123456789abcdef-0123456789';
export const HASH_SECRET = 'test-hash-secret';
/** The next secrets of a rotation (`secret: [NEXT, current]`): the first signs, both verify. */
export const JWT_SECRET_NEXT = 'test-jwt-secret-rotated-fedcba9876543210-0123';
export const HASH_SECRET_NEXT = 'test-hash-secret-rotated';
