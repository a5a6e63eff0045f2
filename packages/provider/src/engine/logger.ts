/** A pino-compatible logger, injected per provider instance (never global). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Discards everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

interface Writable {
  write(text: string): unknown;
}

/**
 * One JSON line per event, pino's shape (level, time, msg, fields): debug and info to `out`,
 * warn and error to `err` (stdout and stderr unless given).
 */
export function jsonLogger(
  minLevel: 'debug' | 'info' | 'warn' | 'error' = 'info',
  streams: { out?: Writable; err?: Writable } = {},
): Logger {
  const out = streams.out ?? process.stdout;
  const errStream = streams.err ?? process.stderr;
  const levels = { debug: 20, info: 30, warn: 40, error: 50 } as const;
  const min = levels[minLevel];
  const write = (level: keyof typeof levels) => (obj: object, msg?: string) => {
    if (levels[level] < min) return;
    const line = JSON.stringify({
      level: levels[level],
      time: Date.now(),
      ...obj,
      ...(msg ? { msg } : {}),
    });
    (level === 'error' || level === 'warn' ? errStream : out).write(`${line}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
