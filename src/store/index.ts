// Picks the store implementation from the `store` config section (validated in config/validate.ts).
import type { Config } from '../config/schema.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore, type RedisStoreConfig } from './redis-store.js';
import type { Store } from './store.js';

export function createStore(storeConfig: Omit<Config['store'], 'redis'> & { redis: RedisStoreConfig }): Store {
  return storeConfig.type === 'redis' ? new RedisStore(storeConfig.redis) : new MemoryStore();
}

export { MemoryStore } from './memory-store.js';
export { RedisStore } from './redis-store.js';
export type * from './store.js';
