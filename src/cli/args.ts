// Thin wrapper over node:util parseArgs: unknown flags are errors that name the flag.
import { parseArgs, type ParseArgsConfig } from 'node:util';
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

export function requireConfig(file: unknown): Config {
  if (typeof file !== 'string') throw new Error('--config FILE is required');
  return loadConfigFile(file);
}

export function need(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new Error(`--${name} is required`);
  return v;
}

export function roleArg(v: unknown): 'play' | 'publish' {
  if (v === undefined) return 'play';
  if (v === 'play' || v === 'publish') return v;
  throw new Error(`--type must be 'play' or 'publish', got '${String(v)}'`);
}
