import { parse } from '../args.js';
import { buildInfo, nodeSupported, SUPPORTED_NODE_MAJORS } from '../../observability/build-info.js';

const HELP = `usage: streamgate version [--json]

Prints the streamgate version, the Node.js version it runs on and the git commit of the build
(when the build recorded one).`;

export async function version(argv: string[]): Promise<number> {
  const a = parse(argv, { json: { type: 'boolean' } }, HELP);
  if (a === null) return 0;
  if (a === undefined) return 2;
  const info = buildInfo();
  if (a.values.json) {
    console.log(JSON.stringify(info));
    return 0;
  }
  console.log(`streamgate ${info.version}`);
  console.log(`node ${info.node}${nodeSupported(info.node) ? '' : ` (unsupported: use Node.js ${SUPPORTED_NODE_MAJORS.join(' or ')})`}`);
  console.log(`commit ${info.commit ?? 'unknown'}`);
  return 0;
}
