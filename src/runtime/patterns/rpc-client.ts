/**
 * Request/reply client: sends aiozmq.rpc calls and matches replies to them by request id
 * (WIRE.md). Each dialed endpoint has its own DEALER socket (server-link.ts), so a call
 * goes to the connected server with the fewest calls in flight, a dead or draining
 * server gets none, and idempotent calls are retried on another server.
 */
import { Dealer } from 'zeromq';
import { ErrorTranslator, type ErrorTable } from '../wire/error-table.js';
import { clip, describeError } from '../errors/describe.js';
import {
  CallAbortedError,
  ConnectionLostError,
  ProtocolError,
  RpcError,
  RpcTimeoutError,
  SendQueueFullError,
  ServerDrainingError,
  ServiceClosedError,
} from '../errors/errors.js';
import { encodeRequestHeader, REPLY_HEADER_SIZE, replyRequestId, senderPrefix } from '../wire/header.js';
import type { DecodeLimits, Packer, TranslationTable } from '../wire/packer.js';
import { dynamicProxy, type DynamicProxy } from './proxy.js';
import { encodeCall, FrameCache, hasKeys, type Frames } from '../wire/frame-cache.js';
import { closedError, createSocket, endpointList, Service, serviceOptionKeys, type ServiceOptions } from '../socket/service.js';
import { generatedClientOptionKeys, type OptionKeys } from '../socket/option-keys.js';
import { createPacker } from '../wire/translators.js';
import { checkTimeout, clearTimer, setTimer, type Timer } from '../socket/timer.js';
import { byteLength, SendQueue } from '../socket/send-queue.js';
import { ServerLink, type LinkEvents } from './server-link.js';
import { checkMetadata, ContextKind, encodeCallContext, isContextFrame, withTimeLeft, type CurveProof, type Metadata } from '../wire/context-frame.js';
import { currentContext, enableContextPropagation, type CallContext } from '../handlers/context.js';
import { chain, type Call, type Interceptor, type Next } from '../handlers/interceptor.js';
import { curveProof } from '../socket/curve-proof.js';
import { isCurveServer } from '../socket/curve.js';
import { factoryOptions, type GeneratedCaller } from './generated-caller.js';

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
  /**
   * Milliseconds an idempotent call waits for one server before it is also tried on
   * another (within its `timeout`). Default: a third of the call's timeout.
   */
  attemptTimeout?: number;
  /**
   * Run around every call, first one outermost: `(next) => async (call) => next(call)`.
   * They see the method, arguments, metadata, deadline, and the result or error.
   */
  interceptors?: readonly Interceptor[];
  /**
   * Calls made while a zrpc handler runs take on its deadline and cancellation (see
   * `CallOptions.inherit`). Default true; false makes every call of this client start afresh.
   */
  inherit?: boolean;
}

/** The keys of `RpcClientOptions`, and of the generated clients' own (option-keys.ts). */
const rpcClientOptionKeys = {
  ...({
    ...serviceOptionKeys,
    errorTable: true,
    translationTable: true,
    decodeLimits: true,
    timeout: true,
    attemptTimeout: true,
    interceptors: true,
    inherit: true,
  } satisfies OptionKeys<RpcClientOptions>),
  ...generatedClientOptionKeys,
};

/** Per-call settings; `client.with(...)` makes them the default for a view. */
export interface CallOptions {
  /** Milliseconds before the call fails with `RpcTimeoutError`; `undefined` or `Infinity` waits forever. */
  timeout?: number | undefined;
  /** Aborting it rejects the call with `CallAbortedError` (the reply, if any, is dropped). */
  signal?: AbortSignal | undefined;
  /**
   * The call may run more than once (generated clients set it for `@idempotent`
   * methods): after a lost connection or an attempt timeout it is retried on another server.
   */
  idempotent?: boolean | undefined;
  /** Milliseconds an idempotent attempt may take before another server is tried too. */
  attemptTimeout?: number | undefined;
  /**
   * Sent with the call to a zrpc server (`ctx.metadata` there): auth tokens, tenant ids,
   * W3C `traceparent`. Keys are lowercase (`a-z0-9-_.`, up to 64 characters), values
   * strings or bytes, at most 64 entries and 8 KiB in all. aiozmq servers ignore it.
   */
  metadata?: Metadata | undefined;
  /**
   * Whether a call made inside a zrpc handler takes on that handler's deadline (its
   * timeout is cut to what is left) and is cancelled with it. Default: the client's
   * `inherit`, true unless set; false for work that must outlive the call that started it.
   */
  inherit?: boolean | undefined;
}

type Named = Readonly<Record<string, unknown>> | undefined;

/** `extra` over `base`; metadata adds up key by key, so `with({ metadata })` views stack. */
export function mergeCallOptions(base: CallOptions, extra: CallOptions): CallOptions {
  const merged = { ...base, ...extra };
  if (base.metadata && extra.metadata) merged.metadata = { ...base.metadata, ...extra.metadata };
  return merged;
}

const CALL_OPTIONS: ReadonlySet<string> = new Set(['timeout', 'signal', 'idempotent', 'attemptTimeout', 'metadata', 'inherit']);

/**
 * Refuses call options no call could use, naming them: a misspelt key would otherwise
 * leave the call on defaults unseen, and a signal that is no AbortSignal broke the
 * client's bookkeeping. Metadata is checked as it is encoded. Once per call, in
 * `invoke`, which every call passes; views check theirs in `with()` as well, to fail there.
 */
export function checkCallOptions(options: CallOptions): void {
  if (options === null || typeof options !== 'object') throw new TypeError(`call options must be an object (got ${options === null ? 'null' : typeof options})`);
  for (const key in options) {
    if (!CALL_OPTIONS.has(key)) throw new TypeError(`unknown call option ${JSON.stringify(key)}; call options are ${[...CALL_OPTIONS].join(', ')}`);
  }
  checkTimeout('timeout', options.timeout);
  checkTimeout('attemptTimeout', options.attemptTimeout);
  const { signal, idempotent, inherit } = options;
  if (signal !== undefined && Object.prototype.toString.call(signal) !== '[object AbortSignal]') {
    throw new TypeError('signal must be an AbortSignal (from an AbortController, or AbortSignal.timeout(ms))');
  }
  if (idempotent !== undefined && typeof idempotent !== 'boolean') throw new TypeError(`idempotent must be true or false (got ${typeof idempotent})`);
  if (inherit !== undefined && typeof inherit !== 'boolean') throw new TypeError(`inherit must be true or false (got ${typeof inherit})`);
}

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

/** Calls in a row that time out on one server before it is taken out and probed. */
export const SUSPECT_AFTER_TIMEOUTS = 3;
/** How often a server taken out (suspect or draining) is asked `zrpc:health`, and how long an answer may take. */
const PROBE_INTERVAL_MS = 500;
const PROBE_NAME = 'zrpc:health';


class PendingCall {
  timer: Timer = undefined;
  /** The server holding the current attempt; undefined while waiting for one. */
  link: ServerLink | undefined = undefined;
  /** Counts attempts, so a queued message of an earlier one is not sent. */
  attempt = 0;
  /** ZeroMQ took the current attempt's request: the server may be running it. */
  sent = false;
  attemptTimer: Timer = undefined;
  /** Servers tried, so a retry prefers another. */
  tried: ServerLink[] | undefined = undefined;
  /** The client's own health probe, not the application's call. */
  probe = false;

  /** `performance.now()` past which a call on the client's default timeout fails; 0 if it has none. */
  deadline = 0;
  /** `performance.now()` at which the deadline its context frame sends runs out; 0 if it sends none. */
  contextDue = 0;
  signal: AbortSignal | undefined = undefined;
  /** The signal of the handler the call is made from (its cancellation is the call's). */
  parentSignal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  onParentAbort: (() => void) | undefined = undefined;
  constructor(
    readonly name: string,
    readonly frames: Frames,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: Error) => void,
    /** Retried after a lost connection or an attempt timeout; undefined if not idempotent. */
    readonly attemptTimeout: number | undefined,
    readonly idempotent: boolean,
  ) {}

  /** The request header (the fourth frame from the end), for the cancel that names this call. */
  get header(): Buffer {
    return this.frames[this.frames.length - 4] as Buffer;
  }

  release(): void {
    clearTimer(this.timer);
    clearTimer(this.attemptTimer);
    if (this.link) this.link.inFlight--;
    this.link = undefined;
    if (this.onAbort) this.signal!.removeEventListener('abort', this.onAbort);
    if (this.onParentAbort) this.parentSignal!.removeEventListener('abort', this.onParentAbort);
  }
}

/** Calls with fixed per-call settings; what `client.with(...)` returns. */
export class RpcCaller {
  readonly #client: RpcClient;
  readonly #options: CallOptions;
  #call: DynamicProxy<Promise<unknown>> | undefined;

  /** @internal */
  constructor(client: RpcClient, options: CallOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** `await caller.call.ns.method(1, 2)`: positional args; `kwargs({...})` last for named. */
  get call(): DynamicProxy<Promise<unknown>> {
    return (this.#call ??= dynamicProxy((name, args, named) => this.#client.invoke(name, args, named, this.#options)));
  }

  /** Calls `name` with explicit positional and named arguments. */
  invoke(name: string, args: readonly unknown[] = [], named?: Named, options?: CallOptions): Promise<unknown> {
    return this.#client.invoke(name, args, named, options ? mergeCallOptions(this.#options, options) : this.#options);
  }

  with(options: CallOptions): RpcCaller {
    checkCallOptions(options);
    return new RpcCaller(this.#client, mergeCallOptions(this.#options, options));
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
  readonly #attemptTimeout: number | undefined;
  readonly #pending = new Map<number, PendingCall>();
  readonly #names = new FrameCache();
  readonly #prefix = senderPrefix();
  readonly #root: RpcCaller;
  readonly #options: RpcClientOptions;
  /** The client's own socket (its bindings) first, then one link per dialed endpoint. */
  readonly #links: ServerLink[];
  /** Calls waiting for a server to take them, in call order. */
  #waiting: number[] = [];
  /** Bytes of the waiting calls' requests, bounded like a send queue's by `sendQueueBytes`. */
  #waitingBytes = 0;
  /** Where the next tie-break starts, so equal servers take turns. */
  #turn = 0;
  #prober: NodeJS.Timeout | undefined;
  /** Health probes awaiting their answer. */
  #probes = 0;
  #lastId = 0;
  /** The interceptors around `#intercepted`; undefined without any (the direct path). */
  readonly #chain: Next | undefined;
  readonly #inherit: boolean;
  /** The client's `timeout` was given: its calls send their deadline. */
  readonly #timeoutSet: boolean;
  /** Sent with every call when this client uses CURVE: the server learns the caller's key. */
  readonly #curveProof: CurveProof | undefined;

  /** @internal Use `connectRpc`. */
  constructor(options: RpcClientOptions) {
    super(createClientSocket(options), options);
    this.#options = options;
    this.#packer = createPacker(options.translationTable, options.decodeLimits);
    this.#errors = new ErrorTranslator(options.errorTable);
    this.#timeout = checkTimeout('timeout', options.timeout) ?? DEFAULT_CALL_TIMEOUT;
    this.#attemptTimeout = checkTimeout('attemptTimeout', options.attemptTimeout);
    this.#links = [new ServerLink(undefined, this.socket as unknown as Dealer, this.sendQueue)];
    this.#root = new RpcCaller(this, {});
    this.#chain = chain(options.interceptors, this.#intercepted);
    this.#inherit = options.inherit ?? true;
    this.#timeoutSet = options.timeout !== undefined;
    const curve = options.curve;
    this.#curveProof = curve && !isCurveServer(curve) ? curveProof(curve.publicKey, curve.secretKey, curve.serverKey) : undefined;
    // Handlers in this process may now make calls: they need their context to hand on.
    enableContextPropagation();
  }

  /** @internal */
  async start(options: RpcClientOptions): Promise<this> {
    // The own socket only binds; each endpoint to dial gets a link (connectEndpoint).
    await this.open({ bind: options.bind });
    this.#links[0]!.connected = this.boundCount > 0;
    this.#links[0]!.start(this.#linkEvents, this.log, this.events, false);
    try {
      for (const endpoint of endpointList(options.connect)) this.transport.connect(endpoint);
    } catch (error) {
      await this.close();
      throw error;
    }
    return this;
  }

  protected override connectEndpoint(endpoint: string): void {
    if (this.#links.some((l) => l.endpoint === endpoint && !l.retired)) return; // dialing twice would only add a second pipe
    const socket = createClientSocket(this.#options);
    const queue = new SendQueue(socket, this.queueLimits.limit, this.queueLimits.bytes);
    const link = new ServerLink(endpoint, socket, queue);
    // Watching starts before dialing: a local handshake can finish before a later monitor exists.
    link.start(this.#linkEvents, this.log, this.events, this.#options.curve !== undefined);
    try {
      socket.connect(endpoint);
    } catch (error) {
      void link.close(new ServiceClosedError());
      throw error;
    }
    this.#links.push(link);
  }

  protected override disconnectEndpoint(endpoint: string): void {
    const link = this.#links.find((l) => l.endpoint === endpoint && !l.retired);
    if (!link) throw new Error(`not connected to ${endpoint}`);
    // Retired rather than closed: calls it holds may still be answered; the ones not yet
    // sent go elsewhere, and the socket closes once nothing is left on it.
    link.retired = true;
    for (const [id, call] of this.#pending) if (call.link === link && !call.sent) this.#redispatch(id, call);
    this.#closeIfIdle(link);
  }

  /** What the links report. */
  readonly #linkEvents: LinkEvents = {
    reply: (frames, link) => this.#onReply(frames, link),
    connected: (link) => {
      // A new connection is a new server process, or the same one back: it takes calls.
      link.state = 'up';
      link.reconnected();
      link.timeoutsInRow = 0;
      this.#flushWaiting();
    },
    disconnected: (link) => this.#lost(link),
  };

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

  /** Calls still waiting for their reply (the client's own health probes not counted). */
  get pending(): number {
    return this.#pending.size - this.#probes;
  }

  /** Each dialed server's state: whether it takes calls, and how many it holds. */
  get servers(): Array<{ endpoint: string; connected: boolean; state: string; inFlight: number }> {
    return this.#links
      .filter((l) => l.endpoint !== undefined && !l.retired)
      .map((l) => ({ endpoint: l.endpoint!, connected: l.connected, state: l.state, inFlight: l.inFlight }));
  }

  /** Calls `name` with explicit positional and named arguments. The generated clients use this. */
  async invoke(name: string, args: readonly unknown[] = [], named?: Named, options?: CallOptions): Promise<unknown> {
    try {
      if (options !== undefined) checkCallOptions(options);
      const parent = (options?.inherit ?? this.#inherit) ? currentContext() : undefined;
      if (this.#chain) return await this.#chain(new ClientCall(name, args, named, options, parent, this.#timeout));
      return await this.#call(name, args, named, options, options?.metadata, parent);
    } catch (error) {
      // Resumed here, the stack is the caller's own await chain (V8's async stack
      // traces): a remote error gets it now, for free until a call fails.
      const type = remoteTypes.get(error as Error);
      if (type !== undefined) withCallSite(error as Error, name, type);
      throw error;
    }
  }

  /** The last step of an interceptor chain: the call as the interceptors left it. */
  readonly #intercepted = (call: Call): Promise<unknown> => {
    const { options, startedAt } = call as ClientCall;
    // The timeout counts from the call, not from when the interceptors let it go: time
    // they took (a token fetched, a retry after a failure) is the caller's time too.
    const spent = performance.now() - startedAt;
    return this.#call(call.method, call.args, call.kwargs, options, call.metadata, call.context, undefined, spent >= 1 ? spent : 0);
  };

  /**
   * `parent`: the handler this call is made from, whose deadline and cancellation it takes on.
   * `probe`: the server a health probe goes to, bypassing the choice of server.
   * `spent`: milliseconds of the call's timeout already used (by interceptors).
   */
  #call(
    name: string,
    args: readonly unknown[],
    named: Named,
    options: CallOptions | undefined,
    metadata: Metadata | undefined,
    parent: CallContext | undefined,
    probe?: ServerLink,
    spent = 0,
  ): Promise<unknown> {
    if (this.closed) return Promise.reject(closedError('call', name));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(aborted(name, signal));
    const id = this.#nextId();
    let frames: Frames;
    let attemptTimeout: number | undefined;
    const ownTimeout = options !== undefined && 'timeout' in options;
    let timeout = ownTimeout ? options.timeout : this.#timeout;
    // Past a millisecond only (the caller's interceptors took time), so that quick ones
    // keep the shared timer of calls on the default timeout.
    if (spent > 0 && timeout !== undefined) timeout = Math.max(0, timeout - spent);
    // A deadline someone set (not the default one) is sent to the server.
    let sendDeadline = ownTimeout || this.#timeoutSet;
    try {
      if (parent) {
        if (parent.aborted) throw aborted(name, parent.signal);
        if (parent.deadline !== undefined && parent.remaining < (timeout ?? Infinity)) {
          timeout = parent.remaining;
          sendDeadline = true;
        }
      }
      if (options?.idempotent) {
        attemptTimeout = options.attemptTimeout ?? this.#attemptTimeout;
        if (attemptTimeout === undefined && timeout !== undefined && timeout !== Infinity) attemptTimeout = Math.ceil(timeout / 3);
      }
      const header = encodeRequestHeader(this.#prefix, id);
      const checked = metadata === undefined ? undefined : checkMetadata(metadata);
      // A call with nothing to carry is sent exactly as aiozmq sends it (WIRE.md).
      const carries = sendDeadline || this.#curveProof !== undefined || (checked !== undefined && hasKeys(checked));
      frames = carries ? [encodeCallContext(sendDeadline ? timeout : undefined, checked, this.#curveProof), header] : [header];
      encodeCall(frames, this.#packer, this.#names, name, args, named);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const call = new PendingCall(name, frames, resolve, reject, attemptTimeout, options?.idempotent === true);
      this.#pending.set(id, call);
      if (probe) {
        call.probe = true;
        this.#probes++;
      }
      if (sendDeadline && timeout !== undefined && timeout !== Infinity) call.contextDue = performance.now() + timeout;
      if (timeout === this.#timeout && timeout <= MAX_SWEPT_TIMEOUT) {
        call.deadline = performance.now() + timeout;
        this.#sweeper ??= setTimeout(this.#sweep, timeout);
      } else if (timeout !== undefined) {
        call.timer = setTimer(timeout, () => this.#timedOut(id, new RpcTimeoutError(`call ${name} timed out after ${spent > 0 ? Math.round(timeout + spent) : timeout} ms`)));
      }
      if (signal) {
        call.signal = signal;
        call.onAbort = () => this.#giveUp(id, aborted(name, signal));
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      if (parent) {
        const parentSignal = parent.signal;
        call.parentSignal = parentSignal;
        call.onParentAbort = () => this.#giveUp(id, aborted(name, parentSignal));
        parentSignal.addEventListener('abort', call.onParentAbort, { once: true });
      }
      if (probe) this.#sendTo(id, call, probe);
      else this.#dispatch(id, call);
    });
  }

  /**
   * The server for a new attempt: the ready one with the fewest calls in flight,
   * preferring servers the call has not tried; ties take turns.
   */
  #pick(call: PendingCall): ServerLink | undefined {
    const links = this.#links;
    // The own socket's peers are unseen: it takes calls while it has bindings.
    links[0]!.connected = this.boundCount > 0;
    const count = links.length;
    let best: ServerLink | undefined;
    let bestTried = true;
    for (let k = 0; k < count; k++) {
      const link = links[(this.#turn + k) % count]!;
      if (!link.ready) continue;
      const tried = call.tried !== undefined && call.tried.includes(link);
      if (best === undefined || (bestTried && !tried) || (tried === bestTried && link.inFlight < best.inFlight)) {
        best = link;
        bestTried = tried;
      }
    }
    if (best !== undefined && count > 1) this.#turn = (links.indexOf(best) + 1) % count;
    return best;
  }

  /** Sends a call to the best server, or queues it until one is ready. */
  #dispatch(id: number, call: PendingCall): void {
    const link = this.#pick(call);
    if (link) return this.#sendTo(id, call, link);
    const bytes = byteLength(call.frames);
    if (this.#waiting.length >= this.queueLimits.limit || this.#waitingBytes + bytes > this.queueLimits.bytes) {
      // Calls that timed out or were aborted while waiting leave their ids behind.
      this.#waiting = this.#waiting.filter((waiting) => {
        const pending = this.#pending.get(waiting);
        return pending !== undefined && pending.link === undefined;
      });
      this.#waitingBytes = this.#waiting.reduce((sum, waiting) => sum + byteLength(this.#pending.get(waiting)!.frames), 0);
    }
    if (this.#waiting.length >= this.queueLimits.limit || this.#waitingBytes + bytes > this.queueLimits.bytes) {
      this.#fail(
        id,
        new SendQueueFullError(`no server is ready and ${this.#waiting.length} calls (${this.#waitingBytes} bytes) already wait for one; limits sendQueueLimit ${this.queueLimits.limit}, sendQueueBytes ${this.queueLimits.bytes}`),
      );
      return;
    }
    this.#waitingBytes += bytes;
    this.#waiting.push(id);
  }

  #sendTo(id: number, call: PendingCall, link: ServerLink): void {
    call.link = link;
    call.sent = false;
    link.inFlight++;
    const attempt = ++call.attempt;
    if (call.idempotent) (call.tried ??= []).push(link);
    // The server is told the time left now: the call may have waited for a server, or be a retry.
    if (call.contextDue !== 0) call.frames[0] = withTimeLeft(call.frames[0] as Buffer, call.contextDue - performance.now());
    if (call.attemptTimeout !== undefined) {
      clearTimer(call.attemptTimer);
      call.attemptTimer = setTimer(call.attemptTimeout, () => this.#attemptTimedOut(id, call, attempt));
    }
    link.queue.post(
      call.frames,
      (error) => {
        if (call.attempt !== attempt || this.#pending.get(id) !== call) return;
        if (error) this.#unsent(id, call.name, error);
        else {
          call.sent = true;
          if (!link.connected && link.endpoint !== undefined && !link.retired) {
            // ZeroMQ (immediate) takes a message only for a connected peer: the event is late.
            link.connected = true;
          }
        }
      },
      () => this.#pending.get(id) === call && call.attempt === attempt,
    );
  }

  /** Moves a call to another server (its current attempt, if any, is abandoned). */
  #redispatch(id: number, call: PendingCall): void {
    if (call.link) call.link.inFlight--;
    call.link = undefined;
    call.attempt++;
    clearTimer(call.attemptTimer);
    call.attemptTimer = undefined;
    this.#dispatch(id, call);
  }

  #attemptTimedOut(id: number, call: PendingCall, attempt: number): void {
    if (this.#pending.get(id) !== call || call.attempt !== attempt) return;
    call.attemptTimer = undefined;
    const link = call.link;
    if (link) this.#countTimeout(link);
    // Retried only where another server can take it; else the attempt keeps waiting.
    const other = this.#links.some((l) => l.ready && l !== link);
    if (other) {
      if (link && call.sent) link.cancel(call.header);
      this.#redispatch(id, call);
    }
  }

  #countTimeout(link: ServerLink): void {
    // Taken out only for the sake of another server: alone, it is still the best there is.
    if (
      ++link.timeoutsInRow >= SUSPECT_AFTER_TIMEOUTS &&
      link.state === 'up' &&
      link.endpoint !== undefined &&
      this.#links.some((other) => other !== link && other.ready)
    ) {
      link.state = 'suspect';
      this.events.warn('server suspect', `${link.endpoint}: ${link.timeoutsInRow} calls in a row timed out; it gets no calls until it answers a health probe`);
      this.#startProbing();
    }
  }

  /** The connection to `link` dropped: calls it held are moved or failed. */
  #lost(link: ServerLink): void {
    for (const [id, call] of this.#pending) {
      if (call.link !== link) continue;
      // A request ZeroMQ is still taking may have left already: only the idempotent may
      // go again; a call whose request never left moves to another server.
      const mayHaveLeft = call.sent || link.queue.inFlight === call.frames;
      if (!mayHaveLeft || call.idempotent) this.#redispatch(id, call);
      else {
        this.#fail(
          id,
          new ConnectionLostError(`call ${call.name}: the connection to ${link.endpoint} was lost before the server answered; the call may or may not have run there`),
        );
      }
    }
    this.#closeIfIdle(link);
  }

  #flushWaiting(): void {
    if (this.#waiting.length === 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#waitingBytes = 0;
    for (const id of waiting) {
      const call = this.#pending.get(id);
      if (call && call.link === undefined) this.#dispatch(id, call);
    }
  }

  #closeIfIdle(link: ServerLink): void {
    if (!link.retired || link.inFlight > 0) return;
    const index = this.#links.indexOf(link);
    if (index > 0) this.#links.splice(index, 1);
    void link.close(new ServiceClosedError('disconnected'));
  }

  /** While some server is out, ask it `zrpc:health` now and then; any answer brings it back. */
  #startProbing(): void {
    this.#prober ??= setInterval(this.#probe, PROBE_INTERVAL_MS).unref();
  }

  readonly #probe = (): void => {
    let out = 0;
    for (const link of this.#links) {
      if (link.state === 'up' || link.retired) continue;
      out++;
      if (!link.connected) continue;
      this.#call(PROBE_NAME, [], undefined, { timeout: PROBE_INTERVAL_MS }, undefined, undefined, link).then(
        (health) => this.#probed(link, (health as { status?: unknown } | null)?.status !== 'draining'),
        (error: unknown) => {
          // An error reply proves the server alive (aiozmq answers NotFoundError); a timeout does not.
          if (!(error instanceof RpcTimeoutError) && !(error instanceof ServiceClosedError) && !(error instanceof ConnectionLostError)) this.#probed(link, true);
        },
      );
    }
    if (out === 0) {
      clearInterval(this.#prober);
      this.#prober = undefined;
    }
  };

  #probed(link: ServerLink, serving: boolean): void {
    if (!serving || link.state === 'up') return;
    link.state = 'up';
    link.timeoutsInRow = 0;
    this.#flushWaiting();
  }

  /** The send queue's verdict on a call's request: nothing to do unless it failed. */
  #unsent(id: number, name: string, error: Error): void {
    this.#fail(id, error instanceof RpcError ? error : new RpcError(`call ${name} could not be sent`, { cause: error }));
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
      this.#timedOut(id, new RpcTimeoutError(`call ${call.name} timed out after ${this.#timeout} ms`));
    }
  };

  /** A call's own timeout: it counts against the server that had it, if it was sent. */
  #timedOut(id: number, error: RpcTimeoutError): void {
    const call = this.#pending.get(id);
    if (call?.link && call.sent && call.name !== PROBE_NAME) this.#countTimeout(call.link);
    this.#giveUp(id, error);
  }

  /** The caller stopped waiting (abort, timeout): the server running the call is told, and it fails. */
  #giveUp(id: number, error: Error): void {
    const call = this.#pending.get(id);
    if (call?.link && (call.sent || call.link.queue.inFlight === call.frames)) call.link.cancel(call.header);
    this.#fail(id, error);
  }

  #nextId(): number {
    // u32 ids counting up from 1, wrapping, skipping any still pending.
    do this.#lastId = this.#lastId >= 0xffffffff ? 1 : this.#lastId + 1;
    while (this.#pending.has(this.#lastId));
    return this.#lastId;
  }

  #fail(id: number, error: Error): void {
    const call = this.#pending.get(id);
    if (!call) return;
    this.#remove(id, call);
    const link = call.link;
    call.release();
    if (link) this.#closeIfIdle(link);
    call.reject(error);
  }

  #onReply(frames: Buffer[], link: ServerLink): void {
    let echoed = false;
    if (frames.length === 3 && isContextFrame(frames[0]!)) {
      const kind = frames[0]![6];
      if (kind === ContextKind.CancelAck) return link.learned(true);
      // The server echoed the context frame as envelope: it is not zrpc (aiozmq) and
      // ignores deadlines, metadata and cancels. An echoed cancel is its NotFoundError to it.
      link.learned(false);
      if (kind === ContextKind.Cancel) {
        // The one answer to the one cancel such a server gets is expected; more are a
        // server sending what nobody asked for.
        if (link.echoedCancels++ > 0) this.events.warn('echoed cancel', 'dropped an answer to a cancel from a server that does not read them (more than the one expected)');
        return;
      }
      frames = frames.slice(1);
      echoed = true;
    }
    const header = frames[0];
    // Checked and read in place: no header object on the hot path.
    if (frames.length !== 2 || header!.byteLength !== REPLY_HEADER_SIZE || (header![16]! & 0xfe) !== 0) {
      this.events.warn('malformed reply', 'dropped a malformed reply', { frames: frames.length, headerBytes: header?.byteLength });
      return;
    }
    const requestId = replyRequestId(header!);
    const call = this.#pending.get(requestId);
    // A reply from a server the call has left (an earlier attempt's) is late too.
    if (!call || call.link !== link) {
      this.events.warn('late reply', 'dropped a reply to no pending call (late, after a timeout, abort or retry)', { requestId });
      return;
    }
    link.timeoutsInRow = 0;
    // A call that carried a context frame (five frames) answered without its echo: zrpc.
    if (!echoed && call.frames.length === 5) link.learned(true);
    let body: unknown;
    try {
      body = this.#packer.decode(frames[1]!);
    } catch (cause) {
      this.#settled(requestId, call, link);
      call.reject(new ProtocolError(`reply to ${call.name} is not valid msgpack: ${describeError(cause)}`, { cause }));
      return;
    }
    if (header![16] === 1) {
      if (Array.isArray(body) && body[0] === ServerDrainingError.wireName && call.name !== PROBE_NAME) {
        // The server did not run it: any call may go elsewhere, and nothing new goes there.
        if (link.endpoint !== undefined && link.state === 'up') {
          link.state = 'draining';
          this.#startProbing();
        }
        if (link.endpoint !== undefined) return this.#redispatch(requestId, call);
      }
      this.#settled(requestId, call, link);
      const error = this.#errors.fromWire(body);
      if (Array.isArray(body) && typeof body[0] === 'string') remoteTypes.set(error, body[0]);
      call.reject(error);
    } else {
      this.#settled(requestId, call, link);
      call.resolve(body);
    }
  }

  #remove(id: number, call: PendingCall): void {
    this.#pending.delete(id);
    if (call.probe) this.#probes--;
  }

  #settled(id: number, call: PendingCall, link: ServerLink): void {
    this.#remove(id, call);
    call.release();
    if (link.retired) this.#closeIfIdle(link);
  }

  protected override onClose(error: ServiceClosedError): void {
    clearTimeout(this.#sweeper);
    clearInterval(this.#prober);
    this.#waiting = [];
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#probes = 0;
    for (const call of pending) {
      call.release();
      call.reject(error);
    }
  }

  protected override async beforeSocketClose(): Promise<void> {
    const error = new ServiceClosedError();
    // The own socket (links[0]) is closed by the service itself.
    await Promise.all(this.#links.slice(1).map((link) => link.close(error)));
  }
}

/**
 * A socket for one server, or the client's own. Unless told otherwise:
 * - immediate: calls wait here while no server is connected, rather than in a ZeroMQ
 *   pipe to an endpoint that may never answer, so a call given up meanwhile is never
 *   sent; the send timeout lets the one in flight be given up too (send-queue.ts);
 * - linger 0: at close every pending call is rejected, so a request still queued has
 *   nobody waiting for it; delivering it later would only run it unasked, and holding
 *   it would hold up the process's exit.
 */
function createClientSocket(options: RpcClientOptions): Dealer {
  return createSocket(Dealer, options, { immediate: true, sendTimeout: IDLE_SEND_RETRY_MS, linger: 0 });
}



/** A client-side `Call`: what interceptors see of a call being made. */
class ClientCall implements Call {
  readonly side = 'client';
  readonly pattern = 'rpc';
  readonly metadata: Metadata;
  readonly deadline: number | undefined;
  /** `performance.now()` when the call was made, before any interceptor ran. */
  readonly startedAt = performance.now();
  constructor(
    readonly method: string,
    public args: readonly unknown[],
    public kwargs: Named,
    readonly options: CallOptions | undefined,
    readonly context: CallContext | undefined,
    clientTimeout: number,
  ) {
    // A checked copy: interceptors add to it, and a bad value fails here, before them.
    this.metadata = options?.metadata === undefined ? {} : checkMetadata(options.metadata);
    const timeout = options && 'timeout' in options ? options.timeout : clientTimeout;
    const own = timeout === undefined || timeout === Infinity ? undefined : Date.now() + timeout;
    const inherited = context?.deadline;
    this.deadline = own === undefined ? inherited : inherited === undefined ? own : Math.min(own, inherited);
  }
  get signal(): AbortSignal | undefined {
    return this.options?.signal;
  }
}

/** Errors rebuilt from an error reply, with the type name the server sent. */
const remoteTypes = new WeakMap<Error, string>();

/**
 * The type name the server sent when `error` was rebuilt from its error reply
 * (`'builtins.TypeError'`, `'shop.OutOfStock'`), whatever class it was rebuilt as;
 * `undefined` for an error raised on this side (a timeout, a closed client, arguments
 * that could not be encoded), even one of the same class.
 */
export function remoteErrorType(error: unknown): string | undefined {
  return error instanceof Error ? remoteTypes.get(error) : undefined;
}

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
    // The type is the server's text: escaped and cut, it cannot forge frames of the stack.
    error.stack = `${head}\n    at remote call ${method} (raised ${clip(type)})${split === -1 ? '' : stack.slice(split)}`;
  } catch {
    // A frozen error keeps the stack it has.
  }
}

function aborted(name: string, signal: AbortSignal): CallAbortedError {
  return new CallAbortedError(`call ${name} was aborted`, { cause: signal.reason });
}

/**
 * Connects a request/reply client: `const client = await connectRpc({ connect: 'tcp://127.0.0.1:5555' })`.
 * `generated`: what a generated `connectShop` calling this adds (see `GeneratedCaller`).
 */
export async function connectRpc(options: RpcClientOptions, generated?: GeneratedCaller): Promise<RpcClient> {
  const full = factoryOptions(options, rpcClientOptionKeys, 'connectRpc', generated);
  return new RpcClient(full).start(full);
}

