/** pino JSON logs on stderr (stdout belongs to the stdio protocol), with secrets redacted. */
import pino, { type DestinationStream, type Logger } from 'pino';

export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'confirmation_token',
  '*.confirmation_token',
  'args.confirmation_token',
  'args.ssh_public_key',
  'args.startup_script',
];

export function createLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      name: 'compute-mcp',
      level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    opts.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

export type { Logger };
