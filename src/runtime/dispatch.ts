/**
 * What every server does with one incoming call: find the method, bind and check the
 * arguments, run the handler under the server's timeout, check the result.
 */
import { bindArguments, checkReturn, signatureOf } from './binding.js';
import { CallContext } from './context.js';
import { ProtocolError, RpcTimeoutError, ServiceClosedError } from './errors.js';
import { resolveMethod, type Handler } from './handler.js';
import type { Log } from './logger.js';
import type { Packer } from './packer.js';
import type { TranslationTable, DecodeLimits } from './packer.js';
import type { ServiceOptions } from './service.js';

/** Options every server takes, on top of endpoints and socket options. */
export interface ServerOptions extends ServiceOptions {
  translationTable?: TranslationTable;
  /** Caps on decoded string, binary, array, map and ext lengths. */
  decodeLimits?: DecodeLimits;
  /** Log errors raised by handlers (aiozmq's `log_exceptions`). */
  logExceptions?: boolean;
  /** Error classes not to log even when `logExceptions` is on. */
  excludeLogExceptions?: ReadonlyArray<abstract new (...args: any[]) => Error>;
  /**
   * Milliseconds a handler may run; then its `CallContext.signal` aborts and the caller
   * gets a `TimeoutError`. Make it a little longer than the clients' timeout.
   */
  timeout?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes the name, args and kwargs frames; throws `ProtocolError` naming what is wrong. */
export function decodeCall(
  packer: Packer,
  nameFrame: Uint8Array,
  argsFrame: Uint8Array,
  kwargsFrame: Uint8Array,
): { name: string; args: unknown[]; kwargs: Record<string, unknown> | Map<unknown, unknown> | undefined } {
  let name: string;
  try {
    name = utf8.decode(nameFrame);
  } catch (cause) {
    throw new ProtocolError('method name is not valid UTF-8', { cause });
  }
  const args = decodeFrame(packer, argsFrame, 'arguments', name);
  if (!Array.isArray(args)) throw new ProtocolError(`${name}: arguments must be a msgpack array`);
  // A lone 0x80 (no named arguments) is by far the common case: skip the decoder.
  if (kwargsFrame.byteLength === 1 && kwargsFrame[0] === 0x80) return { name, args, kwargs: undefined };
  const kwargs = decodeFrame(packer, kwargsFrame, 'named arguments', name);
  if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs) || kwargs instanceof Uint8Array) {
    throw new ProtocolError(`${name}: named arguments must be a msgpack map`);
  }
  return { name, args, kwargs: kwargs as Record<string, unknown> | Map<unknown, unknown> };
}

function decodeFrame(packer: Packer, frame: Uint8Array, what: string, name: string): unknown {
  try {
    return packer.decode(frame);
  } catch (cause) {
    throw new ProtocolError(`${name}: ${what} are not valid msgpack: ${(cause as Error).message}`, { cause });
  }
}

/** The running calls of one server, so close and timeouts can reach them. */
export class Dispatcher {
  readonly #handler: Handler;
  readonly #timeout: number | undefined;
  readonly #log: Log;
  readonly #logExceptions: boolean;
  readonly #exclude: ReadonlyArray<abstract new (...args: any[]) => Error>;
  readonly #running = new Set<CallContext>();

  constructor(handler: Handler, options: ServerOptions, log: Log) {
    this.#handler = handler;
    this.#timeout = options.timeout;
    this.#log = log;
    this.#logExceptions = options.logExceptions ?? false;
    this.#exclude = options.excludeLogExceptions ?? [];
  }

  /** Calls still running. */
  get running(): number {
    return this.#running.size;
  }

  /**
   * Runs one call. Returns the value, or a promise of it for async handlers or when a
   * timeout is set; throws (or rejects) with what the caller should receive.
   */
  call(name: string, args: unknown[], kwargs: Record<string, unknown> | Map<unknown, unknown> | undefined, peer?: Uint8Array): unknown {
    const { fn, owner, spec } = resolveMethod(this.#handler, name);
    const sig = signatureOf(fn, spec);
    const bound = bindArguments(sig, name, args, kwargs);
    const context = new CallContext(name, peer);
    if (sig.takesContext) bound.push(context);
    const result = fn.apply(owner, bound);
    if (!isPromiseLike(result) && this.#timeout === undefined) {
      checkReturn(sig, name, result);
      return result;
    }
    return this.#await(context, Promise.resolve(result), (value) => (checkReturn(sig, name, value), value));
  }

  #await<T>(context: CallContext, result: Promise<T>, check: (value: T) => T): Promise<T> {
    this.#running.add(context);
    let timer: NodeJS.Timeout | undefined;
    const outcome = this.#timeout === undefined
      ? result.then(check)
      : Promise.race([
          result.then(check),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              const error = new RpcTimeoutError(`${context.method}: handler took longer than ${this.#timeout} ms`);
              context.abort(error);
              reject(error);
            }, this.#timeout);
          }),
        ]);
    // A handler that fails after its timeout must not surface as an unhandled rejection.
    result.catch(() => {});
    return outcome.finally(() => {
      clearTimeout(timer);
      this.#running.delete(context);
    });
  }

  /** Aborts every running handler's signal (the server is closing). */
  abortAll(error: ServiceClosedError): void {
    for (const context of this.#running) context.abort(error);
    this.#running.clear();
  }

  /** Logs a handler's error if the server was asked to and its class is not excluded. */
  report(name: string, error: unknown): void {
    if (!this.#logExceptions) return;
    if (this.#exclude.some((cls) => error instanceof cls)) return;
    this.#log.error(`call ${name} raised`, { error });
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
