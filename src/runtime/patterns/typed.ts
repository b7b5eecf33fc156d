/**
 * What generated clients and servers stand on: a caller that checks arguments against
 * the method specs before sending (optional), and a handler built from an
 * implementation object and the same specs.
 */
import { bindArguments, signatureOf } from '../handlers/binding.js';
import { bigintCoercer } from '../handlers/bigint.js';
import { ParameterError } from '../errors/errors.js';
import { method, type Handler, type MethodSpec } from '../handlers/handler.js';
import type { PubSubClient, Topic } from './pubsub.js';
import { checkCallOptions, mergeCallOptions, type CallOptions } from './rpc-client.js';
import type { Transport } from '../socket/service.js';
import { trimTrailingUndefined } from '../wire/frame-cache.js';

/** Method specs by dotted wire name, as the generator writes them. */
export type MethodSpecs = Readonly<Record<string, MethodSpec>>;

/** A service a typed client talks through: closing and endpoint control. */
export interface ClosableService {
  close(): Promise<void>;
  readonly transport: Transport;
}

export type Send = (name: string, args: unknown[], options: CallOptions) => Promise<unknown>;

/**
 * What every generated root client shares: the endpoints, closing, and disposal. The
 * generated class adds one method per remote method.
 */
export abstract class TypedClient implements AsyncDisposable {
  protected readonly caller: TypedCaller;

  constructor(caller: TypedCaller) {
    this.caller = caller;
  }

  get transport(): Transport {
    return this.caller.service.transport;
  }

  close(): Promise<void> {
    return this.caller.service.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Root clients of request/reply services: views with other call defaults too. */
export abstract class TypedRpcClient extends TypedClient {
  /** The same client with other call defaults: `client.with({ timeout: 500, signal })`. */
  with(options: CallOptions): this {
    const Client = this.constructor as new (caller: TypedCaller) => this;
    return new Client(this.caller.with(options));
  }

  /** The same client with another default timeout, in milliseconds. */
  withTimeout(timeout: number | undefined): this {
    return this.with({ timeout });
  }
}

/**
 * Root clients of publish/subscribe services: a publisher's calls are sent under a topic,
 * so the generated class hands out one typed view per topic.
 */
export abstract class TypedPublisher extends TypedClient {
  readonly #client: PubSubClient;

  constructor(caller: TypedCaller, client: PubSubClient) {
    super(caller);
    this.#client = client;
  }

  /** The caller whose calls are published under `topic`. */
  protected underTopic(topic: Topic): TypedCaller {
    return this.caller.via((name, args) => this.#client.invoke(topic, name, args));
  }
}

/** Sends calls for a generated client, with per-view call options. */
export class TypedCaller {
  readonly service: ClosableService;
  readonly #send: Send;
  readonly #specs: MethodSpecs;
  readonly #check: boolean;
  readonly options: CallOptions;

  constructor(service: ClosableService, send: Send, specs: MethodSpecs, checkArguments = false, options: CallOptions = {}) {
    this.service = service;
    this.#send = send;
    this.#specs = specs;
    this.#check = checkArguments;
    this.options = options;
  }

  /**
   * Sends `name(...args)`; with argument checking on, a bad call fails here, unsent.
   * `surplus` is how many arguments the generated method got past its parameters (a
   * plain JavaScript caller's extras): as in Python, they are a `ParameterError`.
   */
  call(name: string, args: unknown[], options?: CallOptions, surplus = 0): Promise<unknown> {
    const spec = this.#specs[name]!;
    // An options argument that is no object is an extra positional one in disguise.
    const extra = surplus + (options !== undefined && (typeof options !== 'object' || options === null) ? 1 : 0);
    if (extra > 0) {
      const takes = spec.params?.length ?? 0;
      return Promise.reject(new ParameterError(`${name}: too many positional arguments (takes ${takes}, got ${takes + extra})`));
    }
    if (this.#check) {
      try {
        // Checked as the wire will carry them, trailing `undefined`s dropped; binding fills
        // its array in place, so it gets a copy, never the caller's.
        bindArguments(signatureOf(undefined, spec), name, [...trimTrailingUndefined(args)], undefined);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    let callOptions = options ? mergeCallOptions(this.options, options) : this.options;
    // The spec knows the method is safe to run twice; an explicit `idempotent` in the options wins.
    if (spec.idempotent && callOptions.idempotent === undefined) callOptions = { ...callOptions, idempotent: true };
    const sent = this.#send(name, args, callOptions);
    // The wire has no bigint: where the return type says bigint, the integer becomes one.
    // Not from the signature: building one compiles every validator, which loads
    // TypeBox's compiler into a client that checks nothing (a larger heap: more full GCs).
    const coerce = bigintCoercer(spec.returns);
    return coerce ? sent.then(coerce) : sent;
  }

  /** The same caller with other default call options. */
  with(options: CallOptions): TypedCaller {
    checkCallOptions(options);
    return new TypedCaller(this.service, this.#send, this.#specs, this.#check, mergeCallOptions(this.options, options));
  }

  /** The same caller sending through another function (pub/sub topics). */
  via(send: Send): TypedCaller {
    return new TypedCaller(this.service, send, this.#specs, this.#check, this.options);
  }
}

/**
 * A runtime handler for `impl`: each spec's dotted name is looked up on `impl` (namespaces
 * are nested objects) and exposed with its spec. Missing methods fail here, at start.
 */
export function typedHandler(impl: object, specs: MethodSpecs): Handler {
  const root: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const path = name.split('.');
    let owner: Record<string, unknown> = impl as Record<string, unknown>;
    let target = root;
    for (const part of path.slice(0, -1)) {
      owner = owner?.[part] as Record<string, unknown>;
      target = (target[part] ??= {}) as Record<string, unknown>;
    }
    const last = path[path.length - 1]!;
    const fn = owner?.[last];
    if (typeof fn !== 'function') throw new TypeError(`the implementation has no method ${name}`);
    target[last] = method((fn as (...args: unknown[]) => unknown).bind(owner), spec);
  }
  return root;
}
