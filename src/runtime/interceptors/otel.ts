/**
 * OpenTelemetry tracing as an interceptor, `import { tracing } from 'zrpc/otel'`: the
 * only module of zrpc that imports `@opentelemetry/api` (an optional peer dependency),
 * so apps without OpenTelemetry never load it.
 *
 * A client call is a CLIENT span (PRODUCER for pipeline and pub/sub), child of the
 * active span, whose W3C trace context (`traceparent`, `tracestate`: whatever the global
 * propagator writes) goes into the call's metadata. A server call is a SERVER span
 * (CONSUMER for one-way calls), child of the context its metadata carries, and the
 * handler runs with that span active, so calls it makes are its children. One-way calls
 * carry no metadata (WIRE.md), so their CONSUMER spans start traces of their own.
 *
 * Nested calls find their parent through the active OpenTelemetry context when the app
 * registered a context manager (AsyncLocalStorageContextManager); without one they still
 * do, through the zrpc handler context the call is made from.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { NotFoundError } from '../errors/errors.js';
import { className, describeError } from '../errors/describe.js';
import type { CallContext } from '../handlers/context.js';
import type { Call, Interceptor } from '../handlers/interceptor.js';
import type { Metadata } from '../wire/context-frame.js';

/**
 * Which OpenTelemetry RPC semantic conventions the spans follow:
 * - `experimental`: those of semantic conventions v1.37 and before, which most backends
 *   know: `rpc.system`, `rpc.service`, `rpc.method` (its last part), span `service/method`.
 * - `stable`: the newer ones: `rpc.system.name`, `rpc.method` the whole dotted name, which
 *   also names the span.
 * - `both`: the attributes of both (`rpc.method` as in `stable`), span named as in `stable`.
 */
export type RpcConventions = 'experimental' | 'stable' | 'both';

export interface TracingOptions {
  /** Where spans go. Default: the global one (`trace.setGlobalTracerProvider`, or the SDK's `register()`). */
  tracerProvider?: TracerProvider;
  /**
   * The endpoint this client calls or this server binds (`tcp://db.internal:5555`), for
   * `server.address`, `server.port` and `network.transport`. ZeroMQ does not say which
   * server a call went to, so a client of several servers names the service here.
   */
  endpoint?: string;
  /** Set on every span this interceptor starts. */
  attributes?: Attributes;
  /**
   * Default: as `OTEL_SEMCONV_STABILITY_OPT_IN` asks (`rpc` stable, `rpc/dup` both), else
   * `experimental`, as OpenTelemetry's own instrumentations decide.
   */
  conventions?: RpcConventions;
  /** Return false for calls that get no span (and, on a client, no trace context sent). */
  filter?: (call: Call) => boolean;
}

/** The span a server call runs in, for calls its handler makes when no context manager carries it. */
const handlerSpans = new WeakMap<CallContext, Context>();

const getter: TextMapGetter<Readonly<Metadata>> = {
  keys: (metadata) => Object.keys(metadata),
  get: (metadata, key) => {
    const value = metadata[key.toLowerCase()];
    return typeof value === 'string' ? value : undefined;
  },
};

/** Metadata keys are lower case (WIRE.md); the W3C ones already are. */
const setter: TextMapSetter<Metadata> = {
  set: (metadata, key, value) => {
    metadata[key.toLowerCase()] = value;
  },
};

/** Traces every call of the client or server it is given to (`interceptors: [tracing()]`). */
export function tracing(options: TracingOptions = {}): Interceptor {
  const conventions = options.conventions ?? conventionsFromEnvironment();
  if (conventions !== 'experimental' && conventions !== 'stable' && conventions !== 'both') {
    throw new RangeError(`conventions must be 'experimental', 'stable' or 'both', got ${JSON.stringify(conventions)}`);
  }
  const { filter, tracerProvider } = options;
  if (filter !== undefined && typeof filter !== 'function') throw new TypeError(`filter must be a function, got ${typeof filter}`);
  const fixed: Attributes = { ...endpointAttributes(options.endpoint), ...options.attributes };
  // The global provider's tracer is a proxy: a provider registered after this still gets the spans.
  const tracer: Tracer = (tracerProvider ?? trace.getTracerProvider()).getTracer('zrpc');

  return (next) => (call) => {
    if (filter !== undefined && !filter(call)) return next(call);
    const client = call.side === 'client';
    const rpc = call.pattern === 'rpc';
    const kind = client ? (rpc ? SpanKind.CLIENT : SpanKind.PRODUCER) : rpc ? SpanKind.SERVER : SpanKind.CONSUMER;
    // A server's parent is what the caller sent, never whatever happens to be active here.
    const parent = client ? parentOf(call.context) : rpc ? propagation.extract(ROOT_CONTEXT, call.metadata, getter) : ROOT_CONTEXT;
    const span = tracer.startSpan(spanName(call.method, conventions), { kind, attributes: { ...fixed, ...callAttributes(call, conventions) } }, parent);
    const active = trace.setSpan(parent, span);
    if (client && rpc) propagation.inject(active, call.metadata, setter);
    if (!client && call.context !== undefined) handlerSpans.set(call.context, active);
    let ended = false;
    const end = (failure: boolean, error?: unknown): void => {
      if (ended) return;
      ended = true;
      if (failure) failed(span, call, error, conventions);
      else span.end();
    };
    // A server call its timeout, a cancel or the close ends is over for its caller then:
    // its span ends with that error, however long a handler that ignores its signal runs.
    if (!client) call.context?.onAbort((reason) => end(true, reason));
    let result: Promise<unknown>;
    try {
      result = context.with(active, next, undefined, call);
    } catch (error) {
      end(true, error);
      throw error;
    }
    return result.then(
      (value) => {
        end(false);
        return value;
      },
      (error: unknown) => {
        end(true, error);
        throw error;
      },
    );
  };
}

/** The active context; or, if it has no span, the span of the zrpc handler the call is made from. */
function parentOf(handler: CallContext | undefined): Context {
  const active = context.active();
  if (handler === undefined || trace.getSpan(active) !== undefined) return active;
  return handlerSpans.get(handler) ?? active;
}

function spanName(method: string, conventions: RpcConventions): string {
  if (conventions !== 'experimental') return method;
  const dot = method.lastIndexOf('.');
  return dot === -1 ? method : `${method.slice(0, dot)}/${method.slice(dot + 1)}`;
}

function callAttributes(call: Call, conventions: RpcConventions): Attributes {
  const attributes: Attributes = {};
  if (conventions !== 'stable') {
    const dot = call.method.lastIndexOf('.');
    attributes['rpc.system'] = 'zrpc';
    if (dot !== -1) attributes['rpc.service'] = call.method.slice(0, dot);
    attributes['rpc.method'] = call.method.slice(dot + 1);
  }
  if (conventions !== 'experimental') {
    attributes['rpc.system.name'] = 'zrpc';
    attributes['rpc.method'] = call.method;
  }
  if (call.pattern === 'pubsub' && call.topic !== undefined) {
    attributes['messaging.destination.name'] = typeof call.topic === 'string' ? call.topic : Buffer.from(call.topic).toString('utf8');
  }
  return attributes;
}

function failed(span: Span, call: Call, error: unknown, conventions: RpcConventions): void {
  try {
    const type = error !== null && typeof error === 'object' ? className(error) : typeof error;
    span.setAttribute('error.type', type);
    // Callers choose the names a server is asked for: one it does not have gets a bounded name.
    if (call.side === 'server' && error instanceof NotFoundError) {
      span.updateName('_OTHER');
      span.setAttribute('rpc.method', '_OTHER');
      span.setAttribute('rpc.method_original', call.method);
      if (conventions !== 'stable' && call.method.includes('.')) span.setAttribute('rpc.service', '_OTHER');
    }
    if (error instanceof Error || typeof error === 'string') span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
  } catch {
    // Tracing must not change what the caller gets (a hostile error object, a broken exporter).
  } finally {
    span.end();
  }
}

function conventionsFromEnvironment(): RpcConventions {
  const optIn = (process.env.OTEL_SEMCONV_STABILITY_OPT_IN ?? '').split(',').map((value) => value.trim());
  return optIn.includes('rpc/dup') ? 'both' : optIn.includes('rpc') ? 'stable' : 'experimental';
}

/** `tcp://host:port`, `ipc://path`, `inproc://name` as OpenTelemetry's server and network attributes. */
function endpointAttributes(endpoint: string | undefined): Attributes {
  if (endpoint === undefined) return {};
  const match = /^(tcp|ipc|inproc):\/\/(.+)$/.exec(endpoint);
  if (!match) throw new RangeError(`endpoint must be tcp://host:port, ipc://path or inproc://name, got ${JSON.stringify(endpoint)}`);
  const [, transport, rest] = match as unknown as [string, string, string];
  if (transport !== 'tcp') return { 'server.address': rest, ...(transport === 'ipc' ? { 'network.transport': 'unix' } : {}) };
  // tcp://[::1]:5555, tcp://host:5555, tcp://eth0;host:5555 (a source interface before the `;`)
  const hostPort = /^(?:[^;]*;)?(\[[^\]]+\]|[^:]+)(?::(\d+|\*))?$/.exec(rest);
  const host = hostPort?.[1]?.replace(/^\[|\]$/g, '') ?? rest;
  const port = hostPort?.[2] !== undefined && hostPort[2] !== '*' ? Number(hostPort[2]) : undefined;
  return { 'server.address': host, ...(port ? { 'server.port': port } : {}), 'network.transport': 'tcp' };
}
