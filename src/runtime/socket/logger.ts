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

/** How often each kind of peer-caused event may write a line. */
export const EVENT_LOG_PERIOD_MS = 10_000;

/**
 * Logs events that peers can cause at will (malformed messages, refused calls, late
 * replies, refused connections): at most one line per kind of event per period, the
 * first at once, each later line counting (`suppressed`) the events held back since the one before.
 * Kinds are fixed strings of zrpc's own (never a method name, topic or peer), so no
 * sender can make a service write more than a few lines a second, or grow this table.
 */
export class EventLog {
  readonly #log: Log;
  readonly #periodMs: number;
  readonly #kinds = new Map<string, { last: number; held: number }>();

  constructor(log: Log, periodMs = EVENT_LOG_PERIOD_MS) {
    this.#log = log;
    this.#periodMs = periodMs;
  }

  warn(kind: string, message: string, fields?: LogFields): void {
    this.#write('warn', kind, message, fields);
  }

  error(kind: string, message: string, fields?: LogFields): void {
    this.#write('error', kind, message, fields);
  }

  #write(level: 'warn' | 'error', kind: string, message: string, fields: LogFields | undefined): void {
    const now = Date.now();
    const entry = this.#kinds.get(kind);
    if (entry && now - entry.last < this.#periodMs) {
      entry.held++;
      return;
    }
    const held = entry?.held ?? 0;
    this.#kinds.set(kind, { last: now, held: 0 });
    this.#log[level](message, held > 0 ? { ...fields, suppressed: held } : fields);
  }
}

/** Wraps a user logger so zrpc can call it one way whatever its style. */
export function toLog(logger: Logger = quietConsole): Log {
  if (logger === null || typeof logger !== 'object' || typeof logger.warn !== 'function' || typeof logger.error !== 'function') {
    const got = logger === null ? 'null' : typeof logger === 'object' ? 'an object without them' : typeof logger;
    throw new TypeError(`logger must be console-like or pino-like, an object with warn and error methods and optionally debug (got ${got})`);
  }
  const pinoLike = typeof (logger as { child?: unknown }).child === 'function' && 'level' in logger;
  const bind = (method: LogMethod | undefined) => {
    if (!method) return () => {};
    const fn = method.bind(logger);
    const write = pinoLike
      ? (message: string, fields?: LogFields) => fn(fields ?? {}, message)
      : (message: string, fields?: LogFields) => (fields ? fn(`zrpc: ${message}`, fields) : fn(`zrpc: ${message}`));
    return (message: string, fields?: LogFields) => {
      try {
        write(message, fields);
      } catch {
        // A logger that fails (or chokes on a hostile value in `fields`) must not stop
        // the service: the line is lost, nothing else is.
      }
    };
  };
  return { debug: bind(logger.debug), warn: bind(logger.warn), error: bind(logger.error) };
}
