/**
 * Names a generated module cannot declare: the globals it (or code reading it) relies on,
 * and what it imports from zrpc and typebox. A type or error class with such a name
 * would shadow the original inside the module, so the generator refuses it.
 */
const globals = [
  // ECMAScript
  'AggregateError Array ArrayBuffer Atomics BigInt BigInt64Array BigUint64Array Boolean DataView Date Error EvalError',
  'FinalizationRegistry Float32Array Float64Array Function Infinity Int16Array Int32Array Int8Array Intl Iterator JSON Map Math NaN',
  'Number Object Promise Proxy RangeError ReferenceError Reflect RegExp Set SharedArrayBuffer String Symbol SyntaxError TypeError',
  'URIError Uint16Array Uint32Array Uint8Array Uint8ClampedArray WeakMap WeakRef WeakSet globalThis undefined',
  // TypeScript's utility types
  'ArrayLike Awaited Capitalize ConstructorParameters Exclude Extract InstanceType Lowercase NonNullable Omit Parameters Partial',
  'Pick PromiseLike Readonly ReadonlyArray Record Required ReturnType Uncapitalize Uppercase',
  // Node and the web platform, as generated code and its readers see them
  'AbortController AbortSignal Buffer Event EventTarget TextDecoder TextEncoder URL',
]
  .join(' ')
  .split(' ');

/** What generated modules import (zrpc's runtime and typebox's `Type`). */
const imported = [
  'CallContext CallOptions ErrorTable MethodSpecs PipelineClient PipelineClientOptions PipelineServer PipelineServerOptions',
  'PubSubClient PubSubClientOptions PubSubServer PubSubServerOptions PyDate PyDateTime PyTime PyTimedelta PyTimezone',
  'RpcClientOptions RpcServer RpcServerOptions Send ServiceError Topic TranslationTable Transport Type TypedCaller TypedClient TypedPublisher',
  'TypedRpcClient Wire connectPipeline connectPubSub connectRpc mergeErrorTables mergeTranslationTables servePipeline',
  'servePubSub serveRpc typedHandler',
]
  .join(' ')
  .split(' ');

const taken = new Map<string, string>([...globals.map((n) => [n, 'the global'] as const), ...imported.map((n) => [n, 'the import'] as const)]);

/** Why `name` cannot be declared in a generated module (`the global Error`), or undefined if it can. */
export function shadows(name: string): string | undefined {
  const what = taken.get(name);
  return what && `${what} ${name}`;
}
