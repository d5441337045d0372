import { UsageError } from '../errors.js';
import type { Config } from '../config/schema.js';
import { createStore } from '../store/index.js';
import type { Store } from '../store/store.js';

/** Opens the configured store for one CLI command and always closes it. */
export async function withStore(config: Config, app: string, fn: (store: Store) => Promise<number>): Promise<number> {
  if (!config.apps[app]) throw new UsageError(`app '${app}' is not in the config (apps: ${Object.keys(config.apps).join(', ') || 'none'})`);
  if (config.store.type === 'memory') console.error('note: the memory store lives in this process only; point the config at redis to change what a running gate sees');
  const store = createStore(config.store);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
