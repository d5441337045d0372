// Thin wrapper over node:util parseArgs: unknown flags are errors that name the flag.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, help: string) {
  try {
    const r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
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
 * to return right away (0 after --help, 2 for a usage error, which is printed with the help).
 */
export function parseSubcommand<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, help: string): { sub: string; values: Record<string, unknown> } | number {
  const [sub, ...rest] = argv;
  const a = parse(rest, options, help);
  if (a === null) return 0;
  if (a === undefined) return 2;
  if (!sub || sub.startsWith('-')) {
    console.error(help);
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
