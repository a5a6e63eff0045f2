/** A pino-compatible logger, injected per provider instance (never global). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Discards everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** One JSON line per event on stdout/stderr, pino's shape (level, time, msg, fields). */
export function jsonLogger(minLevel: 'debug' | 'info' | 'warn' | 'error' = 'info'): Logger {
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
    (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(`${line}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
