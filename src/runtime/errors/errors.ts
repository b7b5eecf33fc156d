/**
 * The errors zrpc raises, and the classes a remote error is rebuilt into.
 *
 * Every class zrpc defines is here (Python's built-ins are in builtins.ts). All but
 * `EncodeError` extend `RpcError`, so `catch (e) { if (e instanceof RpcError) ... }`
 * separates RPC failures from bugs in the caller's own code. A class with a static
 * `wireName` travels under that name; see `error-table.ts` for the mapping rules.
 */
import { describeArgs, pythonRepr } from './describe.js';

/**
 * Marks Python's `TypeError`, `ValueError` and `NameError` as rebuilt by the client: they
 * extend JavaScript's `TypeError`, `RangeError` and `ReferenceError` (so a JavaScript
 * peer's `TypeError` arrives as one), and still count as `RpcError` and `GenericError`.
 */
export const onJavaScriptClass: unique symbol = Symbol('zrpc: remote built-in on a JavaScript error class');

/** Classes that also take in the marked errors above (`RpcError`, `GenericError`, Python's `Exception`). */
export const takesJavaScriptBuiltins = new Set<Function>();

/** Base class of every error zrpc raises. */
export class RpcError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return takesJavaScriptBuiltins.has(this) && (value as { [onJavaScriptClass]?: boolean } | null)?.[onJavaScriptClass] === true;
  }

  override get name(): string {
    return this.constructor.name;
  }

  /** What travels as the error's args (Python's `exc.args`): the message, unless a subclass says otherwise. */
  get args(): readonly unknown[] {
    return [this.message];
  }
}

/**
 * A remote error that has no class in the client's error table.
 * `excType` is the remote's full type name (`mod.MyError`), `arguments` its constructor
 * arguments (Python's `exc.args`), `excRepr` its printable form.
 */
export class GenericError extends RpcError {
  readonly excType: string;
  readonly arguments: readonly unknown[];
  readonly excRepr: string;

  constructor(excType: string, args: readonly unknown[] = [], excRepr = '', options?: ErrorOptions) {
    super(excRepr || `${excType}${describeArgs(args)}`, options);
    this.excType = excType;
    this.arguments = args;
    this.excRepr = excRepr;
  }
}

takesJavaScriptBuiltins.add(RpcError).add(GenericError);

/** The called method does not exist on the server (aiozmq's `NotFoundError`). */
export class NotFoundError extends RpcError {
  static readonly wireName = 'aiozmq.rpc.base.NotFoundError';
  /** The dotted method name that was not found. */
  readonly method: string;

  constructor(method: string, options?: ErrorOptions) {
    super(method, options);
    this.method = method;
  }

  override get args(): readonly unknown[] {
    return [this.method];
  }
}

/** The arguments do not fit the method: wrong count, unknown names or failed validation. */
export class ParameterError extends RpcError {
  static readonly wireName = 'aiozmq.rpc.base.ParametersError';
}

/** A handler returned a value that does not match its declared return schema. */
export class ReturnValueError extends RpcError {
  static readonly wireName = 'zrpc.ReturnValueError';
}

/** A request or reply did not follow the wire format (bad frames, header or msgpack). */
export class ProtocolError extends RpcError {
  static readonly wireName = 'zrpc.ProtocolError';
}

/** The service was used after `close()`; pending calls are rejected with it on close. */
export class ServiceClosedError extends RpcError {
  constructor(message = 'service is closed', options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * A call took longer than its timeout: raised by the client's own timer, and also when
 * the server's timeout expired first (Python's `TimeoutError` on the wire).
 */
export class RpcTimeoutError extends RpcError {
  static readonly wireName = 'builtins.TimeoutError';
}

/**
 * The server is draining (`server.drain()`): it did not run the call and takes no new
 * ones. A load-aware client sends the call to another server instead.
 */
export class ServerDrainingError extends RpcError {
  static readonly wireName = 'zrpc.ServerDraining';
}

/**
 * The connection to the server holding the call was lost before it answered (the server
 * died or was disconnected): the call may or may not have run there.
 */
export class ConnectionLostError extends RpcError {}

/**
 * Base of the errors a service declares (`@throws {OutOfStock}` in a service interface):
 * the generated client rebuilds them by name, and a server may throw them. The wire
 * args are the constructor's arguments; the message is the first one when it is text.
 */
export class ServiceError extends RpcError {
  static readonly wireName: string = 'ServiceError';
  readonly #args: readonly unknown[];

  constructor(...args: unknown[]) {
    super(typeof args[0] === 'string' ? args[0] : describeArgs(args));
    this.#args = args;
  }

  override get args(): readonly unknown[] {
    return this.#args;
  }
}

/** A call was cancelled through its `AbortSignal`; `cause` is the signal's reason. */
export class CallAbortedError extends RpcError {
  /** `AbortError`, as `fetch` and other signal-aware APIs name it. */
  override get name(): string {
    return 'AbortError';
  }
}

/** A payload that is not a pickle this codec accepts (Python dates and times travel pickled). */
export class PickleError extends RpcError {}

/** A send queue is at its bound: the peer is not taking messages as fast as they come. */
export class SendQueueFullError extends RpcError {}

/**
 * Thrown when a value cannot be encoded; says which class lacks a translator. A
 * `TypeError`, not an `RpcError`: the value is the program's mistake, and nothing was sent.
 */
export class EncodeError extends TypeError {}

/**
 * Python's `str(exc)`, the human text of a remote error: `''` with no args, the one
 * arg as text, else the tuple of them (`('bad value', 42)`).
 */
export function pythonStr(args: readonly unknown[]): string {
  if (args.length === 0) return '';
  if (args.length === 1) return typeof args[0] === 'string' ? args[0] : pythonRepr(args[0]);
  return describeArgs(args);
}
