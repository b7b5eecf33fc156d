/**
 * aiozmq's `log_exceptions` as an interceptor: logs what handlers raise. Callers can make
 * handlers fail at will, so lines are rate-limited per error class; a call refused
 * before its handler ran (no such method, bad arguments) is the caller's mistake,
 * answered to it, and not logged here; nor is the reason a call was aborted (a cancel,
 * the server's timeout or close), which a handler may rethrow, or a call never run for.
 */
import { NotFoundError, ParameterError, ProtocolError } from '../errors/errors.js';
import { className, clip, describeError } from '../errors/describe.js';
import { EventLog, type Log } from '../socket/logger.js';
import type { Call, Interceptor } from './interceptor.js';

export function logExceptions(log: Log, exclude: ReadonlyArray<abstract new (...args: any[]) => Error> = []): Interceptor {
  const events = new EventLog(log);
  const report = (call: Call, error: unknown): void => {
    try {
      if (error instanceof NotFoundError || error instanceof ParameterError || error instanceof ProtocolError) return;
      if (call.context !== undefined && error === call.context.abortReason) return;
      if (exclude.some((cls) => error instanceof cls)) return;
      const kind = error !== null && typeof error === 'object' ? className(error) : typeof error;
      events.error(`raised ${kind}`, `call ${clip(call.method)} raised ${describeError(error)}`, { error });
    } catch {
      // Reporting must not fail the call it reports on.
    }
  };
  return (next) => async (call) => {
    try {
      return await next(call);
    } catch (error) {
      report(call, error);
      throw error;
    }
  };
}
