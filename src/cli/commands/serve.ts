import { parse, requireConfig } from '../args.js';
import { startGate } from '../../server.js';
import { tuneHeap } from '../heap-tuning.js';
import { buildInfo, nodeSupported, SUPPORTED_NODE_MAJORS } from '../../observability/build-info.js';

const HELP = 'usage: streamgate serve --config FILE';

export async function serve(argv: string[]): Promise<number> {
  const a = parse(argv, { config: { type: 'string', short: 'c' } }, HELP);
  if (a === null) return 0;
  if (a === undefined) return 2;
  const config = requireConfig(a.values.config);
  if (!config.origin.url) throw new Error('origin.url is required to serve (or set STREAMGATE_ORIGIN_URL)');
  tuneHeap();
  const gate = await startGate(config);
  const info = buildInfo();
  gate.runtime.log.info({ version: info.version, node: info.node, commit: info.commit }, 'streamgate build');
  if (!nodeSupported()) gate.runtime.log.warn({ node: info.node, supported: SUPPORTED_NODE_MAJORS }, 'this Node.js release line is not supported: run streamgate on Node.js 24 or 26 (LTS)');
  const stop = (signal: string) => {
    gate.runtime.log.info({ signal }, 'stopping: draining in-flight requests');
    void gate.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return -1; // keep running
}
