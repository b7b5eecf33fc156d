/**
 * What every zrpc client and server shares: one ZeroMQ socket, its endpoints, one send
 * queue, one reader loop, and a close that settles everything.
 */
import type { Socket, SocketOptions, Writable } from 'zeromq';
import { ServiceClosedError } from '../errors/errors.js';
import { EventLog, toLog, type Log, type Logger } from './logger.js';
import { curveSocketOptions, isCurveServer, watchHandshakes, type CurveOptions } from './curve.js';
import { SendQueue } from './send-queue.js';
import type { OptionKeys } from './option-keys.js';
import type { Frames } from '../wire/frame-cache.js';
import { newZapDomain, registerAllowList } from './zap.js';

/** Where a service listens or dials: `opts.bind` and `opts.connect` each take one or a list. */
export interface EndpointOptions {
  /** Endpoints to bind, e.g. `tcp://127.0.0.1:5555`; port `0` or `*` picks a free port. */
  bind?: string | readonly string[];
  /** Endpoints to connect to. */
  connect?: string | readonly string[];
}

export interface ServiceOptions extends EndpointOptions {
  /** Where zrpc logs; console-like or pino-like. Defaults to `console` without debug. */
  logger?: Logger;
  /**
   * ZeroMQ socket options set before any bind or connect: `sendHighWaterMark`,
   * `receiveHighWaterMark`, `maxMessageSize`, `heartbeatInterval`, `heartbeatTimeout`,
   * `heartbeatTimeToLive`, `linger`, `routingId`, ... (zeromq.js names, milliseconds).
   * zrpc's own default is `linger: 1000`: closing waits up to a second for queued
   * messages to leave, then drops them, so the process can exit.
   */
  socket?: Record<string, unknown>;
  /** How many outgoing messages may wait behind the one in flight. Default 100 000. */
  sendQueueLimit?: number;
  /** How many bytes of outgoing messages may wait behind the one in flight. Default 256 MiB. */
  sendQueueBytes?: number;
  /**
   * CURVE encryption and authentication (keys in Z85, from `zrpc keygen`). The side with
   * `{ secretKey, allow? }` is the CURVE server; the other gives `{ serverKey, publicKey,
   * secretKey }`. With `allow`, only the listed client keys get a call through.
   */
  curve?: CurveOptions;
  /**
   * ZMTP heartbeats (ms), so a peer that vanished without closing its connection (a
   * crashed host, a cut cable) is noticed: `interval` between pings, `timeout` without an
   * answer before the connection is dropped, `ttl` asked of the peer.
   */
  heartbeat?: { interval: number; timeout?: number; ttl?: number };
}

/** The keys of `ServiceOptions`, which every factory's options extend (option-keys.ts). */
export const serviceOptionKeys: OptionKeys<ServiceOptions> = {
  bind: true,
  connect: true,
  logger: true,
  socket: true,
  sendQueueLimit: true,
  sendQueueBytes: true,
  curve: true,
  heartbeat: true,
};

const DEFAULT_LINGER_MS = 1000;
const DEFAULT_SEND_QUEUE_LIMIT = 100_000;
const DEFAULT_SEND_QUEUE_BYTES = 256 * 2 ** 20;

/** `sendQueueLimit` and `sendQueueBytes` as given, or their defaults; refuses what no queue could use. */
function sendQueueLimits(options: ServiceOptions): { readonly limit: number; readonly bytes: number } {
  const count = (option: string, value: unknown, fallback: number): number => {
    if (value === undefined) return fallback;
    if (value === Infinity || (typeof value === 'number' && Number.isInteger(value) && value >= 0)) return value;
    throw new RangeError(`${option} must be a whole number >= 0, or Infinity (got ${typeof value === 'number' ? value : typeof value})`);
  };
  return { limit: count('sendQueueLimit', options.sendQueueLimit, DEFAULT_SEND_QUEUE_LIMIT), bytes: count('sendQueueBytes', options.sendQueueBytes, DEFAULT_SEND_QUEUE_BYTES) };
}
/**
 * The largest message a zrpc socket accepts unless told otherwise (`socket.maxMessageSize`):
 * ZeroMQ drops a peer that sends more, before any of it is decoded.
 */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 2 ** 20;

/** Dynamic endpoint control, as aiozmq's `service.transport`. */
export interface Transport {
  bind(endpoint: string): Promise<string>;
  unbind(endpoint: string): Promise<void>;
  connect(endpoint: string): void;
  disconnect(endpoint: string): void;
  /** Endpoints bound now, as ZeroMQ resolved them (real port numbers). */
  readonly bindings: readonly string[];
  /** Endpoints connected now. */
  readonly connections: readonly string[];
  /** The zeromq.js socket itself, for options zrpc does not wrap. */
  readonly socket: Socket;
}

export function createSocket<S extends Socket>(
  SocketClass: new (options?: SocketOptions<S>) => S,
  options: ServiceOptions,
  defaults: Record<string, unknown> = {},
): S {
  const allowList = options.curve && isCurveServer(options.curve) && options.curve.allow;
  const curve = options.curve ? curveSocketOptions(options.curve, allowList ? newZapDomain() : undefined) : {};
  const hb = options.heartbeat;
  let heartbeat = {};
  if (hb) {
    const interval = zmqMilliseconds('heartbeat.interval', hb.interval);
    heartbeat = {
      heartbeatInterval: interval,
      heartbeatTimeout: hb.timeout === undefined ? Math.min(interval * 3, 2 ** 31 - 1) : zmqMilliseconds('heartbeat.timeout', hb.timeout),
      ...(hb.ttl === undefined ? {} : { heartbeatTimeToLive: zmqMilliseconds('heartbeat.ttl', hb.ttl) }),
    };
  }
  const { context, ...settings }: Record<string, unknown> = { linger: DEFAULT_LINGER_MS, maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE, ...defaults, ...heartbeat, ...options.socket, ...curve };
  // Options are set one by one on a socket made bare: when zeromq.js's constructor throws
  // for a bad option, the native socket it made is never closed and the process dies of
  // SIGSEGV at exit (zeromq 6.8.0). This way the socket is closed and the error is ours.
  const socket = new SocketClass((context === undefined ? {} : { context }) as SocketOptions<S>);
  const type = SocketClass.name;
  for (const [name, value] of Object.entries(settings)) {
    if (!(name in socket)) {
      socket.close();
      throw new TypeError(`socket option ${JSON.stringify(name)} does not exist on a ${type} socket; use a zeromq.js option name of that socket type (e.g. sendHighWaterMark, linger)`);
    }
    try {
      (socket as unknown as Record<string, unknown>)[name] = value;
    } catch (cause) {
      socket.close();
      throw refusedOption(type, name, value, cause);
    }
  }
  return socket;
}

/** Which option, on which socket, and what ZeroMQ said of it. */
function refusedOption(type: string, name: string, value: unknown, cause: unknown): Error {
  const shown = /secret|password|key/i.test(name) ? 'the value given' : shortly(value);
  const reason = cause instanceof Error ? cause.message : String(cause);
  const Kind = (cause as { code?: unknown } | null)?.code === 'EINVAL' ? RangeError : TypeError;
  return new Kind(`socket option ${name} cannot be ${shown} on a ${type} socket: ${reason}`, { cause });
}

/** A value for an error message: short, and never a throw of its own. */
function shortly(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    text = `a value of type ${typeof value}`;
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A millisecond option ZeroMQ keeps in a C int. */
function zmqMilliseconds(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
    throw new RangeError(`${option} must be a whole number of milliseconds from 0 to 2147483647 (got ${String(value)})`);
  }
  return value;
}

/** `bind` or `connect` as a list; throws a `TypeError` for anything but an endpoint or a list. */
export function endpointList(value: string | readonly string[] | undefined): readonly string[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value;
  throw new TypeError(`bind and connect take an endpoint (${FORMS}) or a list of them, got ${typeof value}`);
}

/** ZeroMQ spells "any free port" as `*`; accept the usual `0` as well. */
export function zmqEndpoint(endpoint: string): string {
  return endpoint.replace(/^(tcp:\/\/.*):0$/, '$1:*');
}

const FORMS = 'tcp://host:port, ipc://path or inproc://name';

/** What a closed service says when asked to `action` (`call`, `send`) `what`: why not, and what to do instead. */
export function closedError(action: string, what?: string): ServiceClosedError {
  return new ServiceClosedError(`cannot ${action}${what === undefined ? '' : ` ${what}`}: it is closed (close() was called); open a new one to go on`);
}

/**
 * ZeroMQ says only "Invalid argument" for `localhost:5555`: name the endpoint, and
 * for a malformed one (a `TypeError`) the forms it may take. `code` is ZeroMQ's;
 * `endpoint`, the one that failed, tells this failure from others that carry a code.
 */
function endpointError(action: 'bind' | 'connect', endpoint: unknown, cause: unknown): Error {
  if (typeof endpoint !== 'string') return new TypeError(`cannot ${action} ${String(endpoint)}: an endpoint is a string: ${FORMS}`, { cause });
  const code = (cause as { code?: unknown } | null)?.code;
  const reason = cause instanceof Error ? cause.message : String(cause);
  const malformed = code === 'EINVAL' || code === 'EPROTONOSUPPORT';
  const error = malformed
    ? new TypeError(`cannot ${action} ${JSON.stringify(endpoint)}: not a valid endpoint (${reason}); use ${FORMS}`, { cause })
    : new Error(`cannot ${action} ${JSON.stringify(endpoint)}: ${reason}`, { cause });
  return Object.assign(error, { endpoint }, code === undefined ? {} : { code });
}

/** The socket as a service uses it: any zeromq.js socket, sending and receiving frames. */
type ServiceSocket = Socket & Writable<Frames> & { receive(): Promise<Buffer[]> };

export abstract class Service implements AsyncDisposable {
  protected readonly socket: ServiceSocket;
  protected readonly log: Log;
  /** Where events that peers cause at will are logged, rate-limited per kind. */
  protected readonly events: EventLog;
  protected readonly sendQueue: SendQueue;
  /** `sendQueueLimit` and `sendQueueBytes`, checked: every queue of this service's is bounded by them. */
  protected readonly queueLimits: { readonly limit: number; readonly bytes: number };
  readonly #bindings = new Map<string, string>();
  readonly #connections = new Set<string>();
  #closing: Promise<void> | undefined;
  #reader: Promise<void> = Promise.resolve();
  readonly #curve: CurveOptions | undefined;
  #releaseAllowList: (() => Promise<void>) | undefined;
  readonly #closed: Promise<void>;
  #markClosed!: () => void;

  protected constructor(socket: Socket, options: ServiceOptions) {
    this.socket = socket as ServiceSocket;
    try {
      this.log = toLog(options.logger);
      this.queueLimits = sendQueueLimits(options);
    } catch (error) {
      socket.close();
      throw error;
    }
    this.events = new EventLog(this.log);
    this.sendQueue = new SendQueue(this.socket, this.queueLimits.limit, this.queueLimits.bytes);
    this.#curve = options.curve;
    this.#closed = new Promise((resolve) => (this.#markClosed = resolve));
  }

  /** Binds and connects the endpoints in `options`; on failure the socket is closed. */
  protected async open(options: EndpointOptions): Promise<void> {
    try {
      if (this.#curve) watchHandshakes(this.socket, this.events);
      if (this.#curve && isCurveServer(this.#curve) && this.#curve.allow) {
        // The allow-list must be in force before the first peer can connect.
        this.#releaseAllowList = await registerAllowList(this.socket.zapDomain!, this.#curve.allow, this.events);
      }
      for (const endpoint of endpointList(options.bind)) await this.#bind(endpoint);
      for (const endpoint of endpointList(options.connect)) this.#connect(endpoint);
    } catch (error) {
      this.socket.close();
      await this.#releaseAllowList?.();
      throw error;
    }
  }

  /**
   * Starts the one reader loop; call once after `open`, if the socket receives. After
   * each message, `pause` may return a promise to wait for before reading the next:
   * while the loop waits, ZeroMQ's queues fill and its high-water marks push back.
   */
  protected startReading(onMessage: (frames: Buffer[]) => void, pause?: () => Promise<void> | undefined): void {
    this.#reader = this.#read(onMessage, pause);
  }

  async #read(onMessage: (frames: Buffer[]) => void, pause: (() => Promise<void> | undefined) | undefined): Promise<void> {
    const socket = this.socket;
    // The service's own flag, not the socket's: between close() and the socket closing,
    // queued requests must not start new handlers.
    while (!this.closed) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch (error) {
        if (socket.closed) return;
        this.log.error('receive failed; reader stopped', { error });
        void this.close();
        return;
      }
      if (this.closed) return;
      try {
        onMessage(frames);
      } catch (error) {
        // A bug in message handling must not stop the reader: log it and go on.
        this.log.error('message handling failed', { error });
      }
      const wait = pause?.();
      if (wait) await wait;
    }
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Endpoint control; throws `ServiceClosedError` once the service is closed. */
  get transport(): Transport {
    this.assertOpen('use transport');
    const service = this;
    return {
      bind: (endpoint) => service.#bind(endpoint),
      unbind: async (endpoint) => {
        service.assertOpen('unbind', endpoint);
        const resolved = service.#bindings.get(endpoint) ?? endpoint;
        await service.socket.unbind(resolved);
        for (const [given, real] of service.#bindings) if (real === resolved) service.#bindings.delete(given);
      },
      connect: (endpoint) => service.#connect(endpoint),
      disconnect: (endpoint) => {
        service.assertOpen('disconnect', endpoint);
        service.disconnectEndpoint(endpoint);
        service.#connections.delete(endpoint);
      },
      get bindings() {
        return [...new Set(service.#bindings.values())];
      },
      get connections() {
        return [...service.#connections];
      },
      socket: service.socket,
    };
  }

  async #bind(endpoint: string): Promise<string> {
    this.assertOpen('bind', endpoint);
    try {
      await this.socket.bind(zmqEndpoint(endpoint));
    } catch (cause) {
      throw endpointError('bind', endpoint, cause);
    }
    const resolved = this.socket.lastEndpoint ?? endpoint;
    this.#bindings.set(endpoint, resolved);
    return resolved;
  }

  #connect(endpoint: string): void {
    this.assertOpen('connect', endpoint);
    try {
      this.connectEndpoint(endpoint);
    } catch (cause) {
      throw endpointError('connect', endpoint, cause);
    }
    this.#connections.add(endpoint);
  }

  /** Dials `endpoint`; a client with one socket per server overrides it (rpc-client.ts). */
  protected connectEndpoint(endpoint: string): void {
    this.socket.connect(endpoint);
  }

  /** Hangs up on `endpoint`; overridden with `connectEndpoint`. */
  protected disconnectEndpoint(endpoint: string): void {
    this.socket.disconnect(endpoint);
  }

  /** How many endpoints the service's own socket has bound. */
  protected get boundCount(): number {
    return this.#bindings.size;
  }

  /** Throws `ServiceClosedError` once `close()` was called, saying what could not be done (see `closedError`). */
  protected assertOpen(action: string, what?: string): void {
    if (this.#closing) throw closedError(action, what);
  }

  /**
   * Stops the service: pending calls are settled with `ServiceClosedError`, queued
   * messages get up to the socket's linger to leave, and the socket is closed.
   * Safe to call more than once; resolves when everything is released.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const error = new ServiceClosedError('closed before this completed: close() was called');
    this.onClose(error);
    await this.beforeSocketClose();
    this.sendQueue.close(error);
    this.socket.close();
    await this.#reader;
    await this.#releaseAllowList?.();
    this.#markClosed();
  }

  /** Settles whatever the subclass holds (pending calls, running handlers). */
  protected abstract onClose(error: ServiceClosedError): void;

  /** Senders override this to let queued messages reach ZeroMQ before closing. */
  protected async beforeSocketClose(): Promise<void> {}

  /** Resolves once `close()` has finished. */
  waitClosed(): Promise<void> {
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
