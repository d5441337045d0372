import { parse, requireConfig } from '../args.js';
import { startGate } from '../../server.js';

const HELP = 'usage: streamgate serve --config FILE';

export async function serve(argv: string[]): Promise<number> {
  const a = parse(argv, { config: { type: 'string', short: 'c' } }, HELP);
  if (a === null) return 0;
  if (a === undefined) return 2;
  const config = requireConfig(a.values.config);
  if (!config.origin.url) throw new Error('origin.url is required to serve (or set STREAMGATE_ORIGIN_URL)');
  const gate = await startGate(config);
  const stop = (signal: string) => {
    gate.runtime.log.info({ signal }, 'stopping: draining in-flight requests');
    void gate.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return -1; // keep running
}
