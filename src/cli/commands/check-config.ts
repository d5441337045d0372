import { parse } from '../args.js';
import { loadConfigFile } from '../../config/load.js';

const HELP = `usage: streamgate check-config --config FILE [--replicas N]

Exits 0 when the config is valid; otherwise prints every error with its file:line, key path and
reason, and exits 1. Secrets must not be empty, short or example placeholders.

  --replicas N   replicas the config will run with (default: STREAMGATE_REPLICAS, else 1);
                 store.type "memory" is refused with more than one.`;

export async function checkConfig(argv: string[]): Promise<number> {
  const a = parse(argv, { config: { type: 'string', short: 'c' }, replicas: { type: 'string' } }, HELP);
  if (a === null) return 0;
  if (a === undefined) return 2;
  if (typeof a.values.config !== 'string') throw new Error('--config FILE is required');
  let replicas: number | undefined;
  if (a.values.replicas !== undefined) {
    replicas = Number(a.values.replicas);
    if (!Number.isInteger(replicas) || replicas < 0) throw new Error(`--replicas must be a non-negative integer, got '${a.values.replicas}'`);
  }
  const config = loadConfigFile(a.values.config, process.env, { replicas });
  const apps = Object.keys(config.apps);
  console.log(`config OK: ${apps.length} app(s) [${apps.join(', ')}], store ${config.store.type}, origin ${config.origin.url ?? '(none)'}`);
  return 0;
}
