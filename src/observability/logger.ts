// pino JSON logs. Credentials never reach a log line: request URLs are logged as canonical paths
// without their query, headers that carry secrets are censored, and free-form URLs go through
// redactUrl() first.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'streamgate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['headers.authorization', 'headers.cookie', 'headers["set-cookie"]', 'headers.proxyauthorization', '*.token', '*.subscriberCode', '*.secret', 'token', 'subscriberCode', 'secret'],
        censor: '[REDACTED]',
      },
    },
    destination as never,
  );
}
