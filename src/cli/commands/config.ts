// `streamgate config schema`: the config file's JSON Schema (draft-07), generated from the
// validator itself. Point an editor at it (`# yaml-language-server: $schema=…`) or lint in CI.
import { parseSubcommand } from '../args.js';
import { configJsonSchema } from '../../config/json-schema.js';

const HELP = `usage: streamgate config schema

Prints the JSON Schema of the config file on stdout. It checks shape, types and unknown keys;
check-config also checks cross-field rules and secret strength.`;

export async function config(argv: string[]): Promise<number> {
  const r = parseSubcommand(argv, {}, HELP);
  if (typeof r === 'number') return r;
  if (r.sub !== 'schema') {
    console.error(`streamgate config: unknown sub-command '${r.sub}'\n\n${HELP}`);
    return 2;
  }
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return 0;
}
