/**
 * Request/reply client: a DEALER socket that sends aiozmq.rpc calls and matches replies
 * to them by request id (WIRE.md).
 */
import { Dealer } from 'zeromq';
import { ErrorTranslator, type ErrorTable } from '../wire/error-table.js';
import { describeError } from '../errors/describe.js';
import { CallAbortedError, ProtocolError, RpcError, RpcTimeoutError, ServiceClosedError } from '../errors/errors.js';
import { encodeRequestHeader, REPLY_HEADER_SIZE, replyRequestId, senderPrefix } from '../wire/header.js';
import type { DecodeLimits, Packer, TranslationTable } from '../wire/packer.js';
import { dynamicProxy, type DynamicProxy } from './proxy.js';
import { encodeCall, FrameCache, type Frames } from '../wire/frame-cache.js';
import { createSocket, Service, type ServiceOptions } from '../socket/service.js';
import { createPacker } from '../wire/translators.js';
import { checkTimeout, clearTimer, setTimer, type Timer } from '../socket/timer.js';

export interface RpcClientOptions extends ServiceOptions {
  /** Remote error names to classes, searched before the built-in ones. */
  errorTable?: ErrorTable;
  translationTable?: TranslationTable;
  decodeLimits?: DecodeLimits;
  /**
   * Default milliseconds a call may take before it fails with `RpcTimeoutError`:
   * `DEFAULT_CALL_TIMEOUT` (30 s) unless given; `Infinity` waits for ever.
   */
  timeout?: number;
}

/** Per-call settings; `client.with(...)` makes them the default for a view. */
export interface CallOptions {
  /** Milliseconds before the call fails with `RpcTimeoutError`; `undefined` or `Infinity` waits forever. */
  timeout?: number | undefined;
  /** Aborting it rejects the call with `CallAbortedError` (the reply, if any, is dropped). */
  signal?: AbortSignal | undefined;
}

type Named = Readonly<Record<string, unknown>> | undefined;

/** How long a request may wait for ZeroMQ to take it before its caller is asked again whether it still wants it. */
const IDLE_SEND_RETRY_MS = 250;

/**
 * A client's call timeout unless told otherwise (zerorpc's): ZeroMQ queues a request for
 * a server that is down or was never there and says nothing, so without one such a
 * call would wait for ever.
 */
export const DEFAULT_CALL_TIMEOUT = 30_000;

/** Default timeouts up to this share the sweep timer; longer ones (and Infinity) go per call through timer.ts. */
const MAX_SWEPT_TIMEOUT = 2 ** 31 - 1;


class PendingCall {
  timer: Timer = undefined;
  /** `performance.now()` past which a call on the client's default timeout fails; 0 if it has none. */
  deadline = 0;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  constructor(
    readonly name: string,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: Error) => void,
  ) {}

  release(): void {
    clearTimer(this.timer);
    if (this.onAbort) this.signal!.removeEventListener('abort', this.onAbort);
  }
}

/** Calls with fixed per-call settings; what `client.with(...)` returns. */
export class RpcCaller {
  readonly #client: RpcClient;
  readonly #options: CallOptions;
  #call: DynamicProxy<Promise<unknown>> | undefined;

  /** @internal */
  constructor(client: RpcClient, options: CallOptions) {
    checkTimeout('timeout', options.timeout);
    this.#client = client;
    this.#options = options;
  }

  /** `await caller.call.ns.method(1, 2)`: positional args; `kwargs({...})` last for named. */
  get call(): DynamicProxy<Promise<unknown>> {
    return (this.#call ??= dynamicProxy((name, args, named) => this.#client.invoke(name, args, named, this.#options)));
  }

  /** Calls `name` with explicit positional and named arguments. */
  invoke(name: string, args: readonly unknown[] = [], named?: Named, options?: CallOptions): Promise<unknown> {
    return this.#client.invoke(name, args, named, options ? { ...this.#options, ...options } : this.#options);
  }

  with(options: CallOptions): RpcCaller {
    return new RpcCaller(this.#client, { ...this.#options, ...options });
  }

  withTimeout(timeout: number | undefined): RpcCaller {
    return this.with({ timeout });
  }

  withSignal(signal: AbortSignal): RpcCaller {
    return this.with({ signal });
  }
}

export class RpcClient extends Service {
  readonly #packer: Packer;
  readonly #errors: ErrorTranslator;
  readonly #timeout: number;
  readonly #pending = new Map<number, PendingCall>();
  readonly #names = new FrameCache();
  readonly #prefix = senderPrefix();
  readonly #root: RpcCaller;
  #lastId = 0;

  /** @internal Use `connectRpc`. */
  constructor(options: RpcClientOptions) {
    // Unless told otherwise:
    // - immediate: calls wait here while no server is connected, rather than in a ZeroMQ
    //   pipe to an endpoint that may never answer, so a call given up meanwhile is never
    //   sent; the send timeout lets the one in flight be given up too (send-queue.ts);
    // - linger 0: at close every pending call is rejected, so a request still queued has
    //   nobody waiting for it; delivering it later would only run it unasked, and holding
    //   it would hold up the process's exit.
    super(createSocket(Dealer, options, { immediate: true, sendTimeout: IDLE_SEND_RETRY_MS, linger: 0 }), options);
    this.#packer = createPacker(options.translationTable, options.decodeLimits);
    this.#errors = new ErrorTranslator(options.errorTable);
    this.#timeout = checkTimeout('timeout', options.timeout) ?? DEFAULT_CALL_TIMEOUT;
    this.#root = new RpcCaller(this, {});
  }

  /** @internal */
  async start(options: RpcClientOptions): Promise<this> {
    await this.open(options);
    this.startReading((frames) => this.#onReply(frames));
    return this;
  }

  /** `await client.call.ns.method(1, 2)`. */
  get call(): DynamicProxy<Promise<unknown>> {
    return this.#root.call;
  }

  /** A view whose calls use these settings: `client.with({ timeout: 500, signal })`. */
  with(options: CallOptions): RpcCaller {
    return this.#root.with(options);
  }

  withTimeout(timeout: number | undefined): RpcCaller {
    return this.#root.with({ timeout });
  }

  withSignal(signal: AbortSignal): RpcCaller {
    return this.#root.with({ signal });
  }

  /** Calls still waiting for their reply. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Calls `name` with explicit positional and named arguments. The generated clients use this. */
  async invoke(name: string, args: readonly unknown[] = [], named?: Named, options?: CallOptions): Promise<unknown> {
    try {
      return await this.#call(name, args, named, options);
    } catch (error) {
      // Resumed here, the stack is the caller's own await chain (V8's async stack
      // traces): a remote error gets it now, for free until a call fails.
      const type = remoteTypes.get(error as Error);
      if (type !== undefined) withCallSite(error as Error, name, type);
      throw error;
    }
  }

  #call(name: string, args: readonly unknown[], named: Named, options: CallOptions | undefined): Promise<unknown> {
    if (this.closed) return Promise.reject(new ServiceClosedError());
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(aborted(name, signal));
    const id = this.#nextId();
    let frames: Frames;
    try {
      if (options?.timeout !== undefined) checkTimeout('timeout', options.timeout);
      frames = encodeCall([encodeRequestHeader(this.#prefix, id)], this.#packer, this.#names, name, args, named);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const call = new PendingCall(name, resolve, reject);
      this.#pending.set(id, call);
      const timeout = options && 'timeout' in options ? options.timeout : this.#timeout;
      if (timeout === this.#timeout && timeout <= MAX_SWEPT_TIMEOUT) {
        call.deadline = performance.now() + timeout;
        this.#sweeper ??= setTimeout(this.#sweep, timeout);
      } else if (timeout !== undefined) {
        call.timer = setTimer(timeout, () => this.#fail(id, new RpcTimeoutError(`call ${name} timed out after ${timeout} ms`)));
      }
      if (signal) {
        call.signal = signal;
        call.onAbort = () => this.#fail(id, aborted(name, signal));
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      this.sendQueue.post(frames, (error) => this.#unsent(id, name, error), () => this.#pending.get(id) === call);
    });
  }

  /** The send queue's verdict on a call's request: nothing to do unless it failed. */
  #unsent(id: number, name: string, error: Error | undefined): void {
    if (error) this.#fail(id, error instanceof RpcError ? error : new RpcError(`call ${name} could not be sent`, { cause: error }));
  }

  /**
   * Calls on the default timeout share one timer instead of one each (a timer a call
   * cost ~1 us, 3% of a local round trip). Their deadlines grow in call order, which is
   * the pending map's order, so the sweep stops at the first call still in time.
   */
  #sweeper: NodeJS.Timeout | undefined;
  readonly #sweep = (): void => {
    this.#sweeper = undefined;
    const now = performance.now();
    for (const [id, call] of this.#pending) {
      if (call.deadline === 0) continue;
      if (call.deadline > now) {
        this.#sweeper = setTimeout(this.#sweep, Math.ceil(call.deadline - now));
        return;
      }
      this.#fail(id, new RpcTimeoutError(`call ${call.name} timed out after ${this.#timeout} ms`));
    }
  };

  #nextId(): number {
    // u32 ids counting up from 1, wrapping, skipping any still pending.
    do this.#lastId = this.#lastId >= 0xffffffff ? 1 : this.#lastId + 1;
    while (this.#pending.has(this.#lastId));
    return this.#lastId;
  }

  #fail(id: number, error: Error): void {
    const call = this.#pending.get(id);
    if (!call) return;
    this.#pending.delete(id);
    call.release();
    call.reject(error);
  }

  #onReply(frames: Buffer[]): void {
    const header = frames[0];
    // Checked and read in place: no header object on the hot path.
    if (frames.length !== 2 || header!.byteLength !== REPLY_HEADER_SIZE || (header![16]! & 0xfe) !== 0) {
      this.events.warn('malformed reply', 'dropped a malformed reply', { frames: frames.length, headerBytes: header?.byteLength });
      return;
    }
    const requestId = replyRequestId(header!);
    const call = this.#pending.get(requestId);
    if (!call) {
      this.events.warn('late reply', 'dropped a reply to no pending call (late, after a timeout or abort)', { requestId });
      return;
    }
    this.#pending.delete(requestId);
    call.release();
    let body: unknown;
    try {
      body = this.#packer.decode(frames[1]!);
    } catch (cause) {
      call.reject(new ProtocolError(`reply to ${call.name} is not valid msgpack: ${describeError(cause)}`, { cause }));
      return;
    }
    if (header![16] === 1) {
      const error = this.#errors.fromWire(body);
      if (Array.isArray(body) && typeof body[0] === 'string') remoteTypes.set(error, body[0]);
      call.reject(error);
    } else {
      call.resolve(body);
    }
  }

  protected override onClose(error: ServiceClosedError): void {
    clearTimeout(this.#sweeper);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of pending) {
      call.release();
      call.reject(error);
    }
  }
}

/** Errors rebuilt from an error reply, with the type name the server sent. */
const remoteTypes = new WeakMap<Error, string>();

/**
 * Gives a rebuilt remote error the stack of the call that failed (its own would show
 * only zrpc's reader), after a line naming the method and the remote type:
 * `TypeError: bad note\n    at remote call greet (raised builtins.TypeError)\n    at async main (app.js:9:3)`.
 */
function withCallSite(error: Error, method: string, type: string): void {
  try {
    Error.captureStackTrace(error, RpcClient.prototype.invoke);
    const stack = error.stack ?? '';
    const split = stack.indexOf('\n    at ');
    const head = split === -1 ? stack : stack.slice(0, split);
    error.stack = `${head}\n    at remote call ${method} (raised ${type})${split === -1 ? '' : stack.slice(split)}`;
  } catch {
    // A frozen error keeps the stack it has.
  }
}

function aborted(name: string, signal: AbortSignal): CallAbortedError {
  return new CallAbortedError(`call ${name} was aborted`, { cause: signal.reason });
}

/**
 * Connects a request/reply client: `const client = await connectRpc({ connect: 'tcp://127.0.0.1:5555' })`.
 */
export async function connectRpc(options: RpcClientOptions): Promise<RpcClient> {
  return new RpcClient(options).start(options);
}
