// Captures a gate's pino output as parsed JSON lines, for tests that assert what operators read.
import { PassThrough } from 'node:stream';
import { createLogger, type Logger } from '../../src/observability/logger.js';

export interface CapturedLogs {
  log: Logger;
  /** Every line so far, parsed. */
  lines(): Record<string, unknown>[];
  /** The raw text so far (for "no secret anywhere" assertions). */
  text(): string;
  /** Lines whose `msg` equals `msg`. */
  withMsg(msg: string): Record<string, unknown>[];
}

export function captureLogs(level = 'info'): CapturedLogs {
  const raw: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => raw.push(c.toString()));
  const lines = () =>
    raw
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log: createLogger(level, sink), lines, text: () => raw.join(''), withMsg: (msg) => lines().filter((l) => l.msg === msg) };
}

/** Polls `fn` every 50 ms until it is true or `ms` pass. */
export async function until(fn: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return fn();
}

/** One sample's value from a Prometheus text exposition, e.g. sample(text, 'streamgate_store_up'). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}
