/**
 * aiozmq's `log_exceptions` as an interceptor: logs what handlers raise. Callers can make
 * handlers fail at will, so lines are rate-limited per error class; a call refused
 * before its handler ran (no such method, bad arguments) is the caller's mistake,
 * answered to it, and not logged here.
 */
import { NotFoundError, ParameterError, ProtocolError } from '../errors/errors.js';
import { className, clip, describeError } from '../errors/describe.js';
import { EventLog, type Log } from '../socket/logger.js';
import type { Interceptor } from './interceptor.js';

export function logExceptions(log: Log, exclude: ReadonlyArray<abstract new (...args: any[]) => Error> = []): Interceptor {
  const events = new EventLog(log);
  const report = (name: string, error: unknown): void => {
    try {
      if (error instanceof NotFoundError || error instanceof ParameterError || error instanceof ProtocolError) return;
      if (exclude.some((cls) => error instanceof cls)) return;
      const kind = error !== null && typeof error === 'object' ? className(error) : typeof error;
      events.error(`raised ${kind}`, `call ${clip(name)} raised ${describeError(error)}`, { error });
    } catch {
      // Reporting must not fail the call it reports on.
    }
  };
  return (next) => async (call) => {
    try {
      return await next(call);
    } catch (error) {
      report(call.method, error);
      throw error;
    }
  };
}
