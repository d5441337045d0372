import { parse, requireConfig } from '../args.js';

const HELP = 'usage: streamgate check-config --config FILE\n\nExits 0 when the config is valid; otherwise prints every error with its key path and exits 1.';

export async function checkConfig(argv: string[]): Promise<number> {
  const a = parse(argv, { config: { type: 'string', short: 'c' } }, HELP);
  if (a === null) return 0;
  if (a === undefined) return 2;
  const config = requireConfig(a.values.config);
  const apps = Object.keys(config.apps);
  console.log(`config OK: ${apps.length} app(s) [${apps.join(', ')}], store ${config.store.type}, origin ${config.origin.url ?? '(none)'}`);
  return 0;
}
