#!/usr/bin/env node
// streamgate command line. Each command lives in commands/<name>.ts; this file only dispatches.
import { ConfigError, StreamgateError } from '../errors.js';

const USAGE = `usage: streamgate <command> [options]

commands:
  serve --config FILE            run the gate
  check-config --config FILE [--replicas N]   validate a config; print every error with file:line and key path
  config schema                  print the config file's JSON Schema
  demo [--port N]                built-in sample origin + gate (memory store), with ready curl lines
  token create|hash|jwt|totp …   mint a one-time token, or compute a hash token, JWT or TOTP code
  subscriber add|list|delete|block …   manage TOTP subscribers in the configured store
  stream register|unregister|show …    manage the registered-stream list ("accept undefined streams")
  version [--json]               print the streamgate version, Node.js version and git commit

Run 'streamgate <command> --help' for a command's options.`;

type Command = (argv: string[]) => Promise<number>;
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./commands/serve.js')).serve,
  'check-config': async () => (await import('./commands/check-config.js')).checkConfig,
  config: async () => (await import('./commands/config.js')).config,
  demo: async () => (await import('./commands/demo.js')).demo,
  token: async () => (await import('./commands/token.js')).token,
  subscriber: async () => (await import('./commands/subscriber.js')).subscriber,
  stream: async () => (await import('./commands/stream.js')).stream,
  version: async () => (await import('./commands/version.js')).version,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') return (await COMMANDS.version!())([]);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`streamgate: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== -1) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) console.error(err.message);
    else if (err instanceof StreamgateError) console.error(`streamgate: ${err.message} (${err.code})`);
    else console.error('streamgate:', err instanceof Error ? err.message : err);
    // Exit now: a half-started server (e.g. port in use) may hold a store connection open, and a
    // process that lingers looks Running to Kubernetes while it serves nothing.
    process.exit(1);
  },
);
