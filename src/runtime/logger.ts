/**
 * The logger zrpc writes to: anything console-like (`console`, winston) or pino-like.
 * Console-likes are called `(message, fields)`, pino-likes `(fields, message)`.
 */
export type LogMethod = (...args: any[]) => void;

export interface Logger {
  debug?: LogMethod;
  info?: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

export type LogFields = Record<string, unknown>;

/** What zrpc itself calls: always `(message, fields?)`. */
export interface Log {
  debug(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const quietConsole: Logger = {
  // Debug lines (late replies, dropped frames) are noise by default.
  debug: () => {},
  warn: (...args) => console.warn(...args),
  error: (...args) => console.error(...args),
};

/**
 * Reports something at most once per `periodMs` for each key, counting what it held back,
 * so a peer that repeats a mistake thousands of times a second cannot flood the log.
 */
export class RateLimitedReport {
  readonly #periodMs: number;
  readonly #keys = new Map<string, { last: number; suppressed: number }>();

  constructor(periodMs: number) {
    this.#periodMs = periodMs;
  }

  report(key: string, write: (suppressed: number) => void): void {
    const now = Date.now();
    const entry = this.#keys.get(key);
    if (entry && now - entry.last < this.#periodMs) {
      entry.suppressed++;
      return;
    }
    // Bounded: a flood of distinct keys forgets the old ones rather than growing.
    if (!entry && this.#keys.size >= 1000) this.#keys.clear();
    write(entry?.suppressed ?? 0);
    this.#keys.set(key, { last: now, suppressed: 0 });
  }
}

/** Wraps a user logger so zrpc can call it one way whatever its style. */
export function toLog(logger: Logger = quietConsole): Log {
  const pinoLike = typeof (logger as { child?: unknown }).child === 'function' && 'level' in logger;
  const bind = (method: LogMethod | undefined) => {
    if (!method) return () => {};
    const fn = method.bind(logger);
    return pinoLike
      ? (message: string, fields?: LogFields) => fn(fields ?? {}, message)
      : (message: string, fields?: LogFields) => (fields ? fn(`zrpc: ${message}`, fields) : fn(`zrpc: ${message}`));
  };
  return { debug: bind(logger.debug), warn: bind(logger.warn), error: bind(logger.error) };
}
