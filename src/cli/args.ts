// Thin wrapper over node:util parseArgs: unknown flags are errors that name the flag.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';

/**
 * Parses a command's options with node:util parseArgs (strict: an unknown flag is an error naming it).
 * Returns the parsed result; `null` after `--help`/`-h` (help printed to stdout: exit 0); `undefined`
 * on a usage error (message and help printed to stderr: exit 2). Positionals are errors unless allowed.
 */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, help: string, allowPositionals = false) {
  try {
    const r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
    if ((r.values as Record<string, unknown>).help) {
      console.log(help);
      return null;
    }
    return r;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${help}`);
    return undefined;
  }
}

/**
 * `streamgate <command> <sub> [options]`: the sub-command and its parsed options, or the exit code
 * to return right away — 0 after `--help` anywhere (`token --help`, `token jwt --help`), 2 for a usage
 * error (no sub-command, an extra positional, an unknown flag), printed with the help on stderr.
 */
export function parseSubcommand<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, help: string): { sub: string; values: Record<string, unknown> } | number {
  const a = parse(argv, options, help, true);
  if (a === null) return 0;
  if (a === undefined) return 2;
  const [sub, ...extra] = a.positionals;
  if (!sub) {
    console.error(`a sub-command is required\n\n${help}`);
    return 2;
  }
  if (extra.length) {
    console.error(`unexpected argument '${extra[0]}'\n\n${help}`);
    return 2;
  }
  return { sub, values: a.values as Record<string, unknown> };
}

export function requireConfig(file: unknown): Config {
  if (typeof file !== 'string') throw new UsageError('--config FILE is required');
  return loadConfigFile(file);
}

export function need(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

export function roleArg(v: unknown): 'play' | 'publish' {
  if (v === undefined) return 'play';
  if (v === 'play' || v === 'publish') return v;
  throw new UsageError(`--type must be 'play' or 'publish', got '${String(v)}'`);
}
