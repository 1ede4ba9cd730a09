import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

/** A pino logger whose JSON lines are kept in memory. */
export function memoryLogger(level = 'trace'): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: createLogger({ level, destination: dest }), lines };
}
