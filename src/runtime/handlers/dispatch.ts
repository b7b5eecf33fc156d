/**
 * What every server does with one incoming call: find the method, bind and check the
 * arguments, run the handler under the server's timeout, check the result.
 */
import { bindArguments, checkReturn, signatureOf, type Signature } from './binding.js';
import { runInContext, type CallContext } from './context.js';
import { NotFoundError, ProtocolError, RpcTimeoutError, ServiceClosedError } from '../errors/errors.js';
import { describeError } from '../errors/describe.js';
import { resolveMethod, stillResolves, type Handler, type MethodSpec, type ResolvedMethod } from './handler.js';
import { chain, type Call, type Interceptor, type Next } from './interceptor.js';
import { logExceptions } from './log-exceptions.js';
import type { Log } from '../socket/logger.js';
import { checkTimeout, clearTimer, setTimer } from '../socket/timer.js';
import type { Packer } from '../wire/packer.js';
import type { TranslationTable, DecodeLimits } from '../wire/packer.js';
import { serviceOptionKeys, type ServiceOptions } from '../socket/service.js';
import type { OptionKeys } from '../socket/option-keys.js';

/** Options every server takes, on top of endpoints and socket options. */
export interface ServerOptions extends ServiceOptions {
  translationTable?: TranslationTable;
  /** Caps on decoded string, binary, array, map and ext lengths. */
  decodeLimits?: DecodeLimits;
  /** Log errors raised by handlers (aiozmq's `log_exceptions`): the `logExceptions` interceptor, run first. */
  logExceptions?: boolean;
  /** Error classes not to log even when `logExceptions` is on. */
  excludeLogExceptions?: ReadonlyArray<abstract new (...args: any[]) => Error>;
  /**
   * Run around every call, first one outermost: `(next) => async (call) => next(call)`.
   * They see the method, arguments, metadata, context, and the result or error.
   */
  interceptors?: readonly Interceptor[];
  /**
   * Milliseconds a handler may run; then its `CallContext.signal` aborts and the caller
   * gets a `TimeoutError`. Make it a little longer than the clients' timeout.
   */
  timeout?: number;
  /**
   * Handlers that may run at once (async ones; a sync handler is done before the next
   * message is read). At the bound the server stops reading its socket until one ends,
   * so ZeroMQ's high-water marks push back on senders. Default 1000.
   */
  concurrency?: number;
  /**
   * @internal Every call goes here, by name, with its arguments as decoded and the peer
   * frame (a pub/sub topic), and no method is looked up: for `zrpc subscribe`, which
   * prints whatever arrives.
   */
  receiveAll?: (name: string, args: unknown[], kwargs: WireKwargs, peer: Uint8Array | undefined) => unknown;
}

/** Enough for an I/O-bound service, few enough that their arguments fit a default heap. */
export const DEFAULT_CONCURRENCY = 1000;

/**
 * Names of zrpc's own methods (a server's description, its health) start with this. A
 * colon cannot appear in an identifier, so no generated service or class method can take
 * one; the server answers them before looking at the handler. aiozmq clients reach them
 * with `getattr(client.call, 'zrpc:health')()`.
 */
export const RESERVED_PREFIX = 'zrpc:';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Names of methods found and kept per server, and the longest kept (characters). */
const MAX_CACHED_METHODS = 10_000;
const MAX_CACHED_NAME = 256;

/**
 * Names met so far, by a hash of their bytes: a method's name arrives with each of its
 * calls, and comparing a few bytes in JavaScript costs less than a call into C++ to decode
 * them. Peers choose the names, so the table is bounded: full, it starts over.
 */
const knownNames = new Map<number, { bytes: Uint8Array; name: string }>();
const MAX_KNOWN_NAMES = 1024;
/** Longer names are decoded every time (and are unusual: a path of a few identifiers). */
const MAX_KNOWN_NAME_BYTES = 64;

/** Decodes the method name frame; throws `ProtocolError` if it is not UTF-8. */
export function decodeName(frame: Buffer): string {
  const length = frame.byteLength;
  if (length > MAX_KNOWN_NAME_BYTES) return decodeUtf8Name(frame);
  const hash = nameHash(frame);
  const known = knownNames.get(hash);
  if (known !== undefined && sameBytes(known.bytes, frame)) return known.name;
  const name = decodeUtf8Name(frame);
  if (knownNames.size >= MAX_KNOWN_NAMES) knownNames.clear();
  // A copy of exactly its bytes: the frame may be a view of a larger buffer, and a
  // Buffer.from copy would sit in (and keep) an 8 KiB block of Node's shared pool.
  knownNames.set(hash, { bytes: new Uint8Array(frame), name });
  return name;
}

/** @internal The table's key: FNV-1a over the bytes, seeded with their count. */
export function nameHash(bytes: Uint8Array): number {
  let hash = bytes.byteLength;
  for (let i = 0; i < bytes.byteLength; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const length = a.byteLength;
  if (length !== b.byteLength) return false;
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function decodeUtf8Name(frame: Buffer): string {
  // Buffer's native decoder is the fast path; it marks bad bytes with U+FFFD, and only
  // then does the strict decoder run, to tell a real U+FFFD from invalid input.
  const name = frame.toString('utf8');
  if (!name.includes('\uFFFD')) return name;
  try {
    return utf8.decode(frame);
  } catch (cause) {
    throw new ProtocolError('method name is not valid UTF-8', { cause });
  }
}

export type WireKwargs = Record<string, unknown> | Map<unknown, unknown> | undefined;

/** A decoded call: `maps` says whether any value in it may be a `Map` (see `Packer.mapDecodes`). */
export interface WireCall {
  args: unknown[];
  kwargs: WireKwargs;
  maps: boolean;
}

/** Decodes the args and kwargs frames of a call to `name`; throws `ProtocolError` naming what is wrong. */
export function decodeArguments(packer: Packer, name: string, argsFrame: Uint8Array, kwargsFrame: Uint8Array): WireCall {
  const before = packer.mapDecodes;
  const args = decodeFrame(packer, argsFrame, 'arguments', name);
  if (!Array.isArray(args)) throw new ProtocolError(`${name}: arguments must be a msgpack array`);
  // A lone 0x80 (no named arguments) is by far the common case: skip the decoder.
  if (kwargsFrame.byteLength === 1 && kwargsFrame[0] === 0x80) return { args, kwargs: undefined, maps: packer.mapDecodes !== before };
  const kwargs = decodeFrame(packer, kwargsFrame, 'named arguments', name);
  if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs) || kwargs instanceof Uint8Array) {
    throw new ProtocolError(`${name}: named arguments must be a msgpack map`);
  }
  return { args, kwargs: kwargs as WireKwargs, maps: packer.mapDecodes !== before };
}

function decodeFrame(packer: Packer, frame: Uint8Array, what: string, name: string): unknown {
  try {
    return packer.decode(frame);
  } catch (cause) {
    throw new ProtocolError(`${name}: ${what} are not valid msgpack: ${describeError(cause)}`, { cause });
  }
}

/** The keys of `ServerOptions` (option-keys.ts). */
export const serverOptionKeys: OptionKeys<ServerOptions> = {
  ...serviceOptionKeys,
  translationTable: true,
  decodeLimits: true,
  logExceptions: true,
  excludeLogExceptions: true,
  interceptors: true,
  timeout: true,
  concurrency: true,
  receiveAll: 'hidden',
};

/** The running calls of one server, so close and timeouts can reach them. */
export class Dispatcher {
  readonly #handler: Handler;
  readonly #timeout: number | undefined;
  readonly #pattern: Call['pattern'];
  /** The interceptors around `#run`; undefined without any (the direct path). */
  readonly #chain: Next | undefined;
  /**
   * Running calls; under a server timeout each with the function that answers it early
   * (timeout, cancel or close; see `#end`), else with nothing (see `#track`).
   */
  readonly #running = new Map<CallContext, ((error?: Error) => void) | undefined>();
  readonly #methods = new Map<string, { method: ResolvedMethod; sig: Signature }>();
  readonly #concurrency: number;
  /** zrpc's own methods, by reserved name (see `RESERVED_PREFIX`). */
  readonly #system = new Map<string, { method: ResolvedMethod; sig: Signature }>();
  readonly #receiveAll: ServerOptions['receiveAll'];
  /** Resolves the reader's wait once a running call ends below the bound. */
  #wake: (() => void) | undefined;

  constructor(handler: Handler, options: ServerOptions, log: Log, pattern: Call['pattern']) {
    this.#handler = handler;
    this.#timeout = checkTimeout('timeout', options.timeout);
    this.#pattern = pattern;
    const interceptors = options.logExceptions ? [logExceptions(log, options.excludeLogExceptions), ...(options.interceptors ?? [])] : options.interceptors;
    this.#chain = chain(interceptors, this.#run);
    this.#concurrency = positiveInteger('concurrency', options.concurrency ?? DEFAULT_CONCURRENCY);
    this.#receiveAll = options.receiveAll;
  }

  /**
   * Handlers whose promise has not settled yet. A call answered early (its timeout, the
   * close) is out of `#running`, but its handler still works and holds memory, so the
   * bound counts it until it really ends.
   */
  #busy = 0;
  #closed = false;

  /** The server runs as many handlers as it may. */
  get full(): boolean {
    return this.#busy >= this.#concurrency && !this.#closed;
  }

  /** A promise to wait on while the server runs as many handlers as it may, else undefined. */
  readonly saturated = (): Promise<void> | undefined => {
    if (this.#busy < this.#concurrency || this.#closed) return undefined;
    return new Promise((resolve) => (this.#wake = resolve));
  };

  #ended = (): void => {
    this.#busy--;
    const wake = this.#wake;
    if (wake && this.#busy < this.#concurrency) {
      this.#wake = undefined;
      wake();
    }
  };

  /**
   * A method and its signature, found once per name and kept while the handler still
   * leads to the same objects (a re-check of a few property reads): handlers may change
   * their members at run time, and the next call sees the change. Only names that found
   * a method are kept, and only so many, of a bounded length: callers choose the names.
   */
  #resolve(name: string): { method: ResolvedMethod; sig: Signature } {
    const cached = this.#methods.get(name);
    if (cached && stillResolves(this.#handler, cached.method)) return cached;
    if (name.startsWith(RESERVED_PREFIX)) {
      const system = this.#system.get(name);
      if (system) return system;
      throw new NotFoundError(name);
    }
    const method = resolveMethod(this.#handler, name);
    const entry = { method, sig: signatureOf(method.fn, method.spec) };
    if (name.length <= MAX_CACHED_NAME && (cached || this.#methods.size < MAX_CACHED_METHODS)) this.#methods.set(name, entry);
    return entry;
  }

  /**
   * Adds one of zrpc's own methods under a reserved name (`zrpc:...`): it is called like
   * a handler's method (binding, validation, timeout), but never found in the handler.
   */
  addSystemMethod(name: string, fn: (...args: any[]) => unknown, spec: MethodSpec = {}): void {
    if (!name.startsWith(RESERVED_PREFIX)) throw new RangeError(`system method ${name} must start with ${RESERVED_PREFIX}`);
    const method: ResolvedMethod = { fn, owner: this, spec, parts: [name], chain: [fn] };
    this.#system.set(name, { method, sig: signatureOf(fn, spec) });
  }

  /** Calls still running. */
  get running(): number {
    return this.#running.size;
  }

  /**
   * Runs one call. Returns the value, or a promise of it for async handlers, a timeout
   * or interceptors; throws (or rejects) with what the caller should receive.
   */
  call(name: string, call: WireCall, context: CallContext): unknown {
    if (this.#closed) throw new ServiceClosedError('the server is closing');
    if (this.#receiveAll) return this.#receiveAll(name, call.args, call.kwargs, context.peer);
    if (this.#chain) {
      const intercepted = new ServerCall(this.#pattern, name, call, context);
      let outcome: Promise<unknown>;
      try {
        // Whatever an interceptor returns (a value, a thenable), the call gets a promise.
        outcome = Promise.resolve(runInContext(context, () => this.#chain!(intercepted)));
      } catch (error) {
        outcome = Promise.reject(error);
      }
      return this.#await(context, outcome, identity);
    }
    const { method, sig } = this.#resolve(name);
    const bound = bindArguments(sig, name, call.args, call.kwargs, call.maps);
    if (sig.takesContext) bound.push(context);
    let result: unknown;
    try {
      result = runInContext(context, () => method.fn.apply(method.owner, bound));
    } catch (error) {
      context.done();
      throw error;
    }
    if (!isPromiseLike(result) && this.#timeout === undefined) {
      context.done();
      checkReturn(sig, name, result);
      return result;
    }
    return this.#await(context, Promise.resolve(result), (value) => (checkReturn(sig, name, value), value));
  }

  /**
   * The last step of an interceptor chain: the handler, on the call as the interceptors
   * left it. Not an async function: a handler that returns at once costs no extra turn.
   */
  readonly #run = (call: Call): Promise<unknown> => {
    const wire = call as ServerCall;
    // Ended while an interceptor held it (its timeout, a cancel): the caller has its answer.
    if (wire.context.aborted) return Promise.reject(wire.context.abortReason);
    try {
      const { method, sig } = this.#resolve(call.method);
      const maps = wire.wire.maps || call.args !== wire.wire.args || call.kwargs !== wire.wire.kwargs;
      // Binding fills the array it gets in place; interceptors keep seeing the call's own.
      const bound = bindArguments(sig, call.method, [...call.args], call.kwargs, maps);
      if (sig.takesContext) bound.push(wire.context);
      const value: unknown = method.fn.apply(method.owner, bound);
      if (isPromiseLike(value)) return Promise.resolve(value).then((settled) => (checkReturn(sig, call.method, settled), settled));
      checkReturn(sig, call.method, value);
      return Promise.resolve(value);
    } catch (error) {
      return Promise.reject(error);
    }
  };

  #await<T>(context: CallContext, result: Promise<T>, check: (value: T) => T): Promise<T> {
    this.#busy++;
    if (this.#timeout === undefined) return this.#track(context, result, check);
    // Settled with plain values, never with another promise: each promise handed to a
    // resolve function costs the reply two more turns of the microtask queue.
    let resolve!: (value: T) => void;
    let reject!: (error: unknown) => void;
    const outcome = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    const timeout = this.#timeout;
    const timer = setTimer(timeout, () => this.#end(context, new RpcTimeoutError(`${context.method}: handler took longer than ${timeout} ms`)));
    // Answered early (timeout, cancel, close): see `#end`.
    this.#running.set(context, (error) => (clearTimer(timer), reject(error)));
    const settle = (): boolean => {
      this.#ended();
      // A handler that ends after its timeout or the close is already answered.
      if (!this.#running.delete(context)) return false;
      clearTimer(timer);
      context.done();
      return true;
    };
    result.then(
      (value) => {
        if (!settle()) return;
        try {
          resolve(check(value));
        } catch (error) {
          reject(error);
        }
      },
      (error: unknown) => {
        if (settle()) reject(error);
      },
    );
    return outcome;
  }

  /**
   * A call under no server timeout: only a cancel or the close end it before its handler,
   * and neither is answered. So the handler's own promise carries the outcome, with no
   * promise or closure of the dispatcher's; a call ended early settles, once its handler
   * does, with the reason it was ended for.
   */
  #track<T>(context: CallContext, result: Promise<T>, check: (value: T) => T): Promise<T> {
    this.#running.set(context, undefined);
    return result.then(
      (value) => {
        this.#ended();
        if (!this.#running.delete(context)) throw this.#endedEarly.get(context);
        context.done();
        return check(value);
      },
      (error: unknown) => {
        this.#ended();
        if (!this.#running.delete(context)) throw this.#endedEarly.get(context);
        context.done();
        throw error;
      },
    );
  }

  /** Why each call `#track` carries was ended before its handler: what it settles with. */
  readonly #endedEarly = new WeakMap<CallContext, Error>();

  /**
   * Ends a running call early with `error`: it is no longer running and its signal aborts.
   * A call under a timeout is answered with `error` now; one `#track` carries settles
   * with it once its handler ends.
   */
  #end(context: CallContext, error: Error): void {
    const answer = this.#running.get(context);
    this.#running.delete(context);
    context.done();
    context.abort(error);
    if (answer) answer(error);
    else this.#endedEarly.set(context, error);
  }

  /** Aborts one running call and settles it with `error` (its caller cancelled it). */
  cancel(context: CallContext, error: Error): void {
    if (this.#running.has(context)) this.#end(context, error);
  }

  /** Aborts every running handler and settles its call (the server is closing). */
  abortAll(error: ServiceClosedError): void {
    this.#closed = true;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    for (const context of [...this.#running.keys()]) this.#end(context, error);
  }
}

function positiveInteger(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${option} must be a whole number of at least 1 (got ${String(value)})`);
  return value;
}

const identity = <T>(value: T): T => value;

/** A server-side `Call`: the decoded call, its context, and what interceptors replace. */
class ServerCall implements Call {
  readonly side = 'server';
  args: readonly unknown[];
  kwargs: Readonly<Record<string, unknown>> | undefined;
  constructor(
    readonly pattern: Call['pattern'],
    readonly method: string,
    /** As decoded: `#run` compares to learn whether interceptors replaced the arguments. */
    readonly wire: WireCall,
    readonly context: CallContext,
  ) {
    this.args = wire.args;
    this.kwargs = wire.kwargs as Record<string, unknown> | undefined;
  }
  get metadata() {
    return this.context.metadata;
  }
  get deadline() {
    return this.context.deadline;
  }
  get signal() {
    return this.context.signal;
  }
  get topic() {
    return this.pattern === 'pubsub' ? this.context.peer : undefined;
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
