/**
 * zrpc: typed remote procedure calls over ZeroMQ, speaking aiozmq.rpc's wire format.
 * This module is what applications use. Code made by `zrpc generate` imports from
 * `zrpc/generated` instead (generated.ts); the generator is the zrpc-codegen package.
 */

// ── Serving and connecting: the three patterns ──────────────────────────────────────
export { serveRpc, RpcServer, HEALTH_METHOD, type RpcServerOptions, type ServerHealth, type DrainOptions } from './patterns/rpc-server.js';
export { connectRpc, RpcClient, RpcCaller, DEFAULT_CALL_TIMEOUT, remoteErrorType, type RpcClientOptions, type CallOptions } from './patterns/rpc-client.js';
export {
  servePipeline,
  connectPipeline,
  PipelineServer,
  PipelineClient,
  type PipelineServerOptions,
  type PipelineClientOptions,
} from './patterns/pipeline.js';
export {
  servePubSub,
  connectPubSub,
  PubSubServer,
  PubSubClient,
  type PubSubServerOptions,
  type PubSubClientOptions,
  type Topic,
} from './patterns/pubsub.js';
export { kwargs, Kwargs, type DynamicProxy } from './patterns/proxy.js';
export { runProxy, RpcProxy, type RpcProxyOptions } from './patterns/rpc-proxy.js';

// ── Handlers ─────────────────────────────────────────────────────────────────────────
export { AttrHandler, method, type Handler, type HandlerObject, type MethodSpec, type ParamSpec, type ThrowsSpec } from './handlers/handler.js';
export {
  DESCRIBE_METHOD,
  describeHandler,
  type ServiceDescription,
  type MethodDescription,
  type ParamDescription,
  type JsonSchema,
} from './handlers/describe.js';
export { CallContext, currentContext } from './handlers/context.js';
export { logExceptions } from './handlers/log-exceptions.js';
export type { Interceptor, Next, Call } from './handlers/interceptor.js';
export { callMetrics, CallMetrics, OTHER_METHOD, type CallMetricsOptions, type CallRecord, type MethodKey, type MethodStats, type LatencyStats } from './interceptors/metrics.js';
export { METADATA_LIMITS, type Metadata } from './wire/context-frame.js';
export type { ServerOptions } from './handlers/dispatch.js';

// ── Errors ───────────────────────────────────────────────────────────────────────────
export {
  RpcError,
  GenericError,
  NotFoundError,
  ParameterError,
  ReturnValueError,
  ProtocolError,
  ServiceClosedError,
  RpcTimeoutError,
  CallAbortedError,
  ServiceError,
  EncodeError,
  PickleError,
  SendQueueFullError,
  ServerDrainingError,
  ConnectionLostError,
} from './errors/errors.js';
export * as builtins from './errors/builtins.js';
export { wireNameOf, type ErrorClass, type ErrorTable } from './wire/error-table.js';

// ── Values on the wire ───────────────────────────────────────────────────────────────
export { Packer, ExtData, DEFAULT_DECODE_LIMITS, type Translator, type TranslationTable, type DecodeLimits } from './wire/packer.js';
export { PyDate, PyDateTime, PyTime, PyTimedelta, PyTimezone, datetimeTranslators } from './wire/datetime.js';

// ── Sockets, security, logging ───────────────────────────────────────────────────────
export type { Service, ServiceOptions, EndpointOptions, Transport } from './socket/service.js';
export { generateKeyPair, type CurveOptions, type CurveServerOptions, type CurveClientOptions, type KeyPair } from './socket/curve.js';
export type { Logger, LogMethod } from './socket/logger.js';

// ── Internals ────────────────────────────────────────────────────────────────────────
// Not part of the API: they may change in any release and are left out of the
// published types (stripInternal). They are exported for zrpc's own tests.
/** @internal */
export { ErrorTranslator, toWireError, type WireError } from './wire/error-table.js';
/** @internal */
export { createPacker } from './wire/translators.js';
/** @internal `zrpc call --metadata` checks its keys and values before connecting. */
export { checkMetadata } from './wire/context-frame.js';
/** @internal `zrpc call` checks arguments as a server would, with the same text. */
export { bindArguments, signatureOf } from './handlers/binding.js';
/** @internal The `zrpc` tools print a peer's texts through it. */
export { escapeControls } from './errors/describe.js';
