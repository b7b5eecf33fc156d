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
