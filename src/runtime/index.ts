/**
 * zrpc: typed remote procedure calls over ZeroMQ, speaking aiozmq.rpc's wire format.
 * This is the runtime; the code generator is the zrpc-codegen package.
 */
export { serveRpc, RpcServer, type RpcServerOptions } from './rpc-server.js';
export { connectRpc, RpcClient, RpcCaller, DEFAULT_CALL_TIMEOUT, type RpcClientOptions, type CallOptions } from './rpc-client.js';
export {
  servePipeline,
  connectPipeline,
  PipelineServer,
  PipelineClient,
  type PipelineServerOptions,
  type PipelineClientOptions,
} from './pipeline.js';
export {
  servePubSub,
  connectPubSub,
  PubSubServer,
  PubSubClient,
  type PubSubServerOptions,
  type PubSubClientOptions,
  type Topic,
} from './pubsub.js';
export { AttrHandler, method, type Handler, type HandlerObject, type MethodSpec, type ParamSpec } from './handler.js';
export { CallContext } from './context.js';
export { kwargs, Kwargs, type DynamicProxy } from './proxy.js';
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
} from './errors.js';
export * as builtins from './builtins.js';
export { ErrorTranslator, mergeErrorTables, toWireError, wireNameOf, type ErrorClass, type ErrorTable, type WireError } from './error-table.js';
export { Packer, ExtData, EncodeError, DEFAULT_DECODE_LIMITS, type Translator, type TranslationTable, type DecodeLimits } from './packer.js';
export { PyDate, PyDateTime, PyTime, PyTimedelta, PyTimezone, datetimeTranslators } from './datetime.js';
export { PickleError } from './pickle.js';
export { createPacker, mergeTranslationTables } from './translators.js';
export { SendQueueFullError } from './send-queue.js';
export type { Service, ServiceOptions, EndpointOptions, Transport } from './service.js';
export type { ServerOptions } from './dispatch.js';
export type { Logger, LogMethod } from './logger.js';
export { ServiceError } from './errors.js';
export { Wire } from './schemas.js';
export { TypedCaller, TypedClient, TypedRpcClient, typedHandler, type MethodSpecs, type ClosableService, type Send } from './typed.js';
export { generateKeyPair, type CurveOptions, type CurveServerOptions, type CurveClientOptions, type KeyPair } from './curve.js';
