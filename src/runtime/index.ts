/**
 * zrpc: typed remote procedure calls over ZeroMQ, speaking aiozmq.rpc's wire format.
 * This is the runtime; the code generator is the zrpc-codegen package.
 */
export { serveRpc, RpcServer, type RpcServerOptions } from './patterns/rpc-server.js';
export { connectRpc, RpcClient, RpcCaller, DEFAULT_CALL_TIMEOUT, type RpcClientOptions, type CallOptions } from './patterns/rpc-client.js';
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
export { AttrHandler, method, type Handler, type HandlerObject, type MethodSpec, type ParamSpec } from './handlers/handler.js';
export { CallContext } from './handlers/context.js';
export { kwargs, Kwargs, type DynamicProxy } from './patterns/proxy.js';
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
} from './errors/errors.js';
export * as builtins from './errors/builtins.js';
export { ErrorTranslator, mergeErrorTables, toWireError, wireNameOf, type ErrorClass, type ErrorTable, type WireError } from './wire/error-table.js';
export { Packer, ExtData, EncodeError, DEFAULT_DECODE_LIMITS, type Translator, type TranslationTable, type DecodeLimits } from './wire/packer.js';
export { PyDate, PyDateTime, PyTime, PyTimedelta, PyTimezone, datetimeTranslators } from './wire/datetime.js';
export { PickleError } from './wire/pickle.js';
export { createPacker, mergeTranslationTables } from './wire/translators.js';
export { SendQueueFullError } from './socket/send-queue.js';
export type { Service, ServiceOptions, EndpointOptions, Transport } from './socket/service.js';
export type { ServerOptions } from './handlers/dispatch.js';
export type { Logger, LogMethod } from './socket/logger.js';
export { ServiceError } from './errors/errors.js';
export { Wire } from './wire/schemas.js';
export { TypedCaller, TypedClient, TypedRpcClient, typedHandler, type MethodSpecs, type ClosableService, type Send } from './patterns/typed.js';
export { generateKeyPair, type CurveOptions, type CurveServerOptions, type CurveClientOptions, type KeyPair } from './socket/curve.js';
