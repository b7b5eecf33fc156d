/**
 * What the pipeline and pub/sub patterns share: calls with no reply. A server runs each
 * call and logs what fails; a client encodes calls and hands them to ZeroMQ.
 */
import type { Socket } from 'zeromq';
import { decodeArguments, decodeName, Dispatcher, type ServerOptions } from '../handlers/dispatch.js';
import { NotFoundError, ParameterError, ProtocolError, type ServiceClosedError } from '../errors/errors.js';
import { clip, describeError } from '../errors/describe.js';
import type { Handler } from '../handlers/handler.js';
import { CallContext, currentContext } from '../handlers/context.js';
import { chain, type Call, type Next, type Interceptor } from '../handlers/interceptor.js';
import type { Packer, TranslationTable } from '../wire/packer.js';
import { encodeCall, FrameCache, type Frames } from '../wire/frame-cache.js';
import { Service, serviceOptionKeys, type ServiceOptions } from '../socket/service.js';
import { generatedClientOptionKeys, type OptionKeys } from '../socket/option-keys.js';
import { createPacker } from '../wire/translators.js';

export abstract class OneWayServer extends Service {
  readonly #packer: Packer;
  readonly #dispatcher: Dispatcher;
  /** Frames before name, args, kwargs: 0 for pipeline, 1 (the topic) for pub/sub. */
  readonly #lead: number;
  /** Methods already warned about for returning a value; only methods that exist and ran get here. */
  readonly #returnedValue = new Set<string>();

  protected constructor(socket: Socket, handler: Handler, options: ServerOptions, lead: number) {
    super(socket, options);
    this.#packer = createPacker(options.translationTable, options.decodeLimits);
    this.#dispatcher = new Dispatcher(handler, options, this.log, lead ? 'pubsub' : 'pipeline');
    this.#lead = lead;
  }

  /** @internal */
  async start(options: ServerOptions): Promise<this> {
    await this.open(options);
    this.startReading((frames) => this.#onMessage(frames), this.#dispatcher.saturated);
    return this;
  }

  #onMessage(frames: Buffer[]): void {
    const lead = this.#lead;
    if (frames.length !== lead + 3) {
      this.events.warn('malformed message', 'dropped a malformed message', { frames: frames.length, expected: lead + 3 });
      return;
    }
    let name = '?';
    try {
      name = decodeName(frames[lead]!);
      const call = decodeArguments(this.#packer, name, frames[lead + 1]!, frames[lead + 2]!);
      const result = this.#dispatcher.call(name, call, new CallContext(name, lead ? frames[0] : undefined));
      if (result instanceof Promise) {
        result.then((value) => this.#returned(name, value), (error: unknown) => this.#failed(name, error));
      } else {
        this.#returned(name, result);
      }
    } catch (error) {
      this.#failed(name, error);
    }
  }

  /** Nobody receives a one-way call's result: say so, once a method, as aiozmq warns. */
  #returned(name: string, value: unknown): void {
    if (value === undefined || value === null || this.#returnedValue.has(name)) return;
    const message = `handler ${clip(name)} returned a value (not undefined), but one-way calls have no reply: it is dropped`;
    // Names that ran are the handler's own, but a cyclic namespace makes endless ones.
    if (this.#returnedValue.size >= 1000 || name.length > 256) return this.events.warn('returned a value', message);
    this.#returnedValue.add(name);
    this.log.warn(message, { method: name });
  }

  /** Never throws: it runs in a rejection handler, where a throw would kill the process. */
  #failed(name: string, error: unknown): void {
    // Nobody waits for an answer, so a failure can only be logged. Handler errors are
    // logged when asked (logExceptions, as aiozmq); a call that could not even be made
    // (unknown method, bad arguments, malformed message) is the sender's mistake and is
    // always reported, rate-limited per kind.
    let kind: string | undefined;
    try {
      kind = error instanceof NotFoundError ? 'NotFoundError' : error instanceof ParameterError ? 'ParameterError' : error instanceof ProtocolError ? 'ProtocolError' : undefined;
    } catch {
      // `instanceof` runs a proxy's getPrototypeOf trap (or throws on a revoked proxy):
      // a value like that is a handler's throw, never one of our refusals.
    }
    if (kind) return this.events.warn(`refused ${kind}`, `refused a call to ${clip(name)}: ${describeError(error)}`);
    // What the handler raised is logged by the logExceptions interceptor, when asked.
  }

  get running(): number {
    return this.#dispatcher.running;
  }

  protected override onClose(error: ServiceClosedError): void {
    this.#dispatcher.abortAll(error);
  }
}

export interface OneWayClientOptions extends ServiceOptions {
  translationTable?: TranslationTable;
  /**
   * Run around every call sent, first one outermost: `(next) => async (call) => next(call)`.
   * A one-way call carries no metadata or deadline on the wire (WIRE.md).
   */
  interceptors?: readonly Interceptor[];
}

/** The keys of `OneWayClientOptions`, and of the generated clients' own (option-keys.ts). */
export const oneWayClientOptionKeys = {
  ...({ ...serviceOptionKeys, translationTable: true, interceptors: true } satisfies OptionKeys<OneWayClientOptions>),
  ...generatedClientOptionKeys,
};

export abstract class OneWayClient extends Service {
  readonly #packer: Packer;
  readonly #frames = new FrameCache();
  readonly #pattern: 'pipeline' | 'pubsub';
  /** The interceptors around `#send`; undefined without any (the direct path). */
  readonly #chain: Next | undefined;

  protected constructor(socket: Socket, options: OneWayClientOptions, pattern: 'pipeline' | 'pubsub') {
    super(socket, options);
    this.#packer = createPacker(options.translationTable);
    this.#pattern = pattern;
    this.#chain = chain(options.interceptors, (call) => this.#send(call.topic, call.method, call.args, call.kwargs));
  }

  /** @internal */
  async start(options: OneWayClientOptions): Promise<this> {
    await this.open(options);
    return this;
  }

  /**
   * Encodes a call (behind its topic frame, for pub/sub) and queues it; resolves once
   * ZeroMQ has it. Interceptors, if any, run first.
   */
  protected sendCall(topic: Uint8Array | string | undefined, name: string, args: readonly unknown[], named: Readonly<Record<string, unknown>> | undefined): Promise<void> {
    if (!this.#chain) return this.#send(topic, name, args, named);
    const call: Call = {
      side: 'client',
      pattern: this.#pattern,
      method: name,
      args,
      kwargs: named,
      metadata: {},
      deadline: undefined,
      signal: undefined,
      context: currentContext(),
      topic,
    };
    try {
      return Promise.resolve(this.#chain(call)).then(() => undefined);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #send(topic: Uint8Array | string | undefined, name: string, args: readonly unknown[], named: Readonly<Record<string, unknown>> | undefined): Promise<void> {
    try {
      this.assertOpen('send', name);
      const frames: Frames = [];
      if (topic !== undefined) frames.push(typeof topic === 'string' ? this.#frames.get(topic) : topic);
      return this.sendQueue.send(encodeCall(frames, this.#packer, this.#frames, name, args, named));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Lets queued messages reach ZeroMQ; the socket's linger then bounds delivery. */
  protected override async beforeSocketClose(): Promise<void> {
    // Bounded by the linger, which also bounds what ZeroMQ keeps trying after close.
    const linger = this.socket.linger;
    if (linger < 0) return this.sendQueue.drained();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, linger)));
    await Promise.race([this.sendQueue.drained(), expired]);
    clearTimeout(timer);
  }

  protected override onClose(): void {}
}
