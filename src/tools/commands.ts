/**
 * What `zrpc describe`, `call`, `notify`, `publish` and `subscribe` do, as functions
 * that write through an `Output` and return the exit code, so they are tested without
 * spawning a process. The CLI only parses options and calls one of these.
 */
import { readFile } from 'node:fs/promises';
import {
  bindArguments,
  checkMetadata,
  connectPipeline,
  connectPubSub,
  connectRpc,
  DESCRIBE_METHOD,
  EncodeError,
  GenericError,
  NotFoundError,
  ParameterError,
  RpcError,
  RpcTimeoutError,
  remoteErrorType,
  servePubSub,
  signatureOf,
  wireNameOf,
  type CurveClientOptions,
  type Metadata,
  type Interceptor,
  type MethodDescription,
  type MethodSpec,
  type RpcClient,
  type ServiceDescription,
} from 'zrpc';
import type { TSchema } from 'typebox';
import { parseCallArguments, type CallArguments } from './args.js';
import { formatDescription } from './describe.js';
import { descriptionProblem } from './description.js';
import { InputError, toJson } from './json.js';
import { withoutPeerPatterns } from './peer-schema.js';
import { jsonText, MAX_PEER_NAME, peerText } from './terminal.js';

/** Exit codes, the same for every command. */
export const EXIT = {
  /** Done: the call returned, or the message was handed to ZeroMQ. */
  ok: 0,
  /** The call failed: the remote method raised an error (its type and message are printed), or the reply could not be read. */
  remoteError: 1,
  /** Bad input: an option, a JSON value, an endpoint that cannot be used (taken, not allowed), or arguments refused before sending. */
  badInput: 2,
  /** No answer in time (nothing listening, or a slow server), or fewer messages than `--count`. */
  timeout: 3,
  /** `zrpc describe`: the server does not describe itself (an aiozmq server, or `describe: false`), or its description is malformed. */
  noDescription: 4,
} as const;

/** Where a command writes: results to `out`, notes and errors to `err`. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const consoleOutput: Output = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) };

export interface ConnectFlags {
  /** Milliseconds to wait for an answer (describe and call). Default 10 000. */
  timeout?: number;
  /** A JSON file with { publicKey, secretKey }, as `zrpc keygen --out` writes it. */
  curve?: string;
  /** `key=value` pairs sent as metadata with every call (auth tokens, tenants). */
  metadata?: string[];
  /** The server's CURVE public key (Z85); with `curve`. */
  serverKey?: string;
}

export const DEFAULT_TOOL_TIMEOUT = 10_000;

/** `zrpc describe <endpoint>`: prints the description (`json`: as JSON). */
export async function describeCommand(endpoint: string, flags: ConnectFlags & { json?: boolean }, io: Output): Promise<number> {
  return withInputErrors(io, async () => {
    const client = await rpcClient(endpoint, flags);
    try {
      const description = await fetchDescription(client);
      if (!description) {
        io.err(`zrpc: ${endpoint} does not describe itself (${DESCRIBE_METHOD} is not found: an aiozmq server, or a zrpc server with describe: false)`);
        return EXIT.noDescription;
      }
      io.out(flags.json ? jsonText(description, 2) : formatDescription(description, endpoint));
      return EXIT.ok;
    } catch (error) {
      if (error instanceof MalformedDescription) {
        io.err(`zrpc: ${endpoint}: ${error.message}; zrpc call --no-check still calls its methods`);
        return EXIT.noDescription;
      }
      return reportFailure(error, io, endpoint, flags);
    } finally {
      await client.close();
    }
  });
}

export interface CallFlags extends ConnectFlags {
  /** Named arguments as a JSON object. */
  kw?: string;
  /** Check arguments against the server's description before sending. Default true. */
  check?: boolean;
}

/** `zrpc call <endpoint> <method> [args...]`: prints the result as JSON. */
export async function callCommand(endpoint: string, method: string, words: readonly string[], flags: CallFlags, io: Output): Promise<number> {
  return withInputErrors(io, async () => {
    const call = parseCallArguments(words, flags.kw);
    const client = await rpcClient(endpoint, flags);
    try {
      if (flags.check !== false) {
        const refused = precheck(await describedMethod(client, method, endpoint, io), method, call, io);
        if (refused !== undefined) return refused;
      }
      const result = await client.invoke(method, call.args, call.kwargs);
      io.out(jsonText(result, 2));
      return EXIT.ok;
    } catch (error) {
      return reportFailure(error, io, endpoint, flags);
    } finally {
      await client.close();
    }
  });
}

export interface OneWayFlags extends CallFlags {
  /** An RPC endpoint serving the same methods, whose description checks the arguments. */
  describeFrom?: string;
  /** Bind rather than connect (pub/sub: subscribers connect to this publisher). */
  bind?: boolean;
  /** Milliseconds to wait after connecting before sending, for subscriptions to arrive (pub/sub). */
  settle?: number;
}

/** `zrpc notify <endpoint> <method> [args...]`: sends one pipeline call (no reply). */
export async function notifyCommand(endpoint: string, method: string, words: readonly string[], flags: OneWayFlags, io: Output): Promise<number> {
  return oneWay(endpoint, method, words, flags, io, async (call) => {
    const client = await connectPipeline({ ...endpoints(endpoint, flags.bind), ...(await curveOption(flags)) });
    try {
      await client.invoke(method, call.args, call.kwargs);
    } finally {
      await client.close();
    }
  });
}

/** `zrpc publish <endpoint> <topic> <method> [args...]`: publishes one call under `topic`. */
export async function publishCommand(endpoint: string, topic: string, method: string, words: readonly string[], flags: OneWayFlags, io: Output): Promise<number> {
  return oneWay(endpoint, method, words, flags, io, async (call) => {
    const client = await connectPubSub({ ...endpoints(endpoint, flags.bind), ...(await curveOption(flags)) });
    try {
      // ZeroMQ drops what is published before a subscriber's subscription arrives.
      await new Promise((resolve) => setTimeout(resolve, flags.settle ?? 500));
      await client.invoke(topic, method, call.args, call.kwargs);
    } finally {
      await client.close();
    }
  });
}

export interface SubscribeFlags {
  /** Bind (default) or connect to a publisher. */
  connect?: boolean;
  /** Topic prefixes; all topics when none is given. */
  topics?: readonly string[];
  /** Stop after this many calls. */
  count?: number;
  /** Stop after this many milliseconds. */
  timeout?: number;
  curve?: string;
  /** For a subscriber that binds, as CURVE server: the keys file is the server's own pair. */
  serverKey?: string;
  /** Told each bound endpoint once listening (tests and scripts read it from stderr). */
  onListening?: (endpoints: readonly string[]) => void;
}

/**
 * `zrpc subscribe <endpoint>`: a subscriber that prints every call it receives, one JSON
 * line each: {"topic", "method", "args", "kwargs"}. Runs until `count` calls or `timeout` ms.
 */
export async function subscribeCommand(endpoint: string, flags: SubscribeFlags, io: Output): Promise<number> {
  return withInputErrors(io, async () => {
    const count = flags.count;
    if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new InputError(`--count must be a whole number of at least 1 (got ${count})`);
    let received = 0;
    let done!: (code: number) => void;
    const finished = new Promise<number>((resolve) => (done = resolve));
    const curve = await curveOption(flags, flags.connect ? 'client' : 'server');
    const server = await servePubSub(
      {},
      {
        ...(flags.connect ? { connect: endpoint } : { bind: endpoint }),
        subscribe: flags.topics && flags.topics.length > 0 ? [...flags.topics] : '',
        ...curve,
        receiveAll: (name, args, kwargs, topic) => {
          if (count !== undefined && received >= count) return;
          received++;
          io.out(jsonText({ topic: topic ? topicText(topic) : null, method: name, args, kwargs: kwargs ?? {} }));
          if (count !== undefined && received >= count) done(EXIT.ok);
        },
      } as Parameters<typeof servePubSub>[1],
    );
    const timer = flags.timeout !== undefined ? setTimeout(() => done(count !== undefined ? EXIT.timeout : EXIT.ok), flags.timeout) : undefined;
    try {
      if (!flags.connect) flags.onListening?.(server.transport.bindings);
      const code = await finished;
      if (code === EXIT.timeout) io.err(`zrpc: received ${received} of ${count} calls in ${flags.timeout} ms`);
      return code;
    } finally {
      clearTimeout(timer);
      await server.close();
    }
  });
}

async function oneWay(endpoint: string, method: string, words: readonly string[], flags: OneWayFlags, io: Output, send: (call: CallArguments) => Promise<void>): Promise<number> {
  return withInputErrors(io, async () => {
    const call = parseCallArguments(words, flags.kw);
    if (flags.describeFrom && flags.check !== false) {
      const client = await rpcClient(flags.describeFrom, flags);
      try {
        const refused = precheck(await describedMethod(client, method, flags.describeFrom, io), method, call, io);
        if (refused !== undefined) return refused;
      } catch (error) {
        return reportFailure(error, io, flags.describeFrom, flags);
      } finally {
        await client.close();
      }
    }
    try {
      await send(call);
      return EXIT.ok;
    } catch (error) {
      return reportFailure(error, io, endpoint, flags);
    }
  });
}

/** A description the tools cannot read: a hostile server's, or one of a format they do not know. */
class MalformedDescription extends RpcError {}

/**
 * The server's description, or undefined when it has none (an aiozmq server, `describe:
 * false`). A description of the wrong shape is an `RpcError` that says where it is wrong.
 */
export async function fetchDescription(client: RpcClient): Promise<ServiceDescription | undefined> {
  let description: unknown;
  try {
    description = await client.invoke(DESCRIBE_METHOD);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  const problem = descriptionProblem(description);
  if (problem !== undefined) throw new MalformedDescription(`the description is malformed: ${problem}`);
  return description as ServiceDescription;
}

/**
 * The described method, `null` when the server does not describe itself (it is said on
 * `err`, and the call goes ahead unchecked), `undefined` when the description has no such
 * method (also said; the server is left to answer).
 */
async function describedMethod(client: RpcClient, method: string, endpoint: string, io: Output): Promise<MethodDescription | null | undefined> {
  let description: ServiceDescription | undefined;
  try {
    description = await fetchDescription(client);
  } catch (error) {
    // As for a server without one: the server checks the arguments anyway.
    if (!(error instanceof MalformedDescription)) throw error;
    io.err(`zrpc: ${endpoint}: ${error.message}; calling without checking the arguments`);
    return null;
  }
  if (!description) {
    io.err(`zrpc: ${endpoint} does not describe itself (${DESCRIBE_METHOD} not found); calling without checking the arguments`);
    return null;
  }
  const found = description.methods.find((m) => m.name === method);
  if (!found && !description.truncated) io.err(`zrpc: ${endpoint} describes no method ${peerText(method, MAX_PEER_NAME)}; calling it anyway`);
  return found;
}

/** Checks arguments against a described method, as its server would; an exit code when refused. */
function precheck(method: MethodDescription | null | undefined, name: string, call: CallArguments, io: Output): number | undefined {
  if (!method) return undefined;
  // The server's patterns are not run here: see peer-schema.ts.
  const param = (p: { name: string; optional?: boolean; schema?: object }) => ({ name: p.name, optional: !!p.optional, ...(p.schema ? { schema: withoutPeerPatterns(p.schema) as TSchema } : {}) });
  const spec: MethodSpec = { params: method.params.map(param), ...(method.rest ? { rest: param(method.rest) } : {}) };
  try {
    // Binding fills its array in place: it gets a copy.
    bindArguments(signatureOf(undefined, spec), name, [...call.args], call.kwargs);
    return undefined;
  } catch (error) {
    if (!(error instanceof ParameterError)) {
      // A schema this side cannot compile is the description's problem, not the call's.
      io.err(`zrpc: cannot check the arguments against the description (${peerText(error instanceof Error ? error.message : String(error))}); calling without checking`);
      return undefined;
    }
    io.err(`ParameterError: ${peerText(error.message)}`);
    io.err('zrpc: refused before sending (the server would refuse it too); --no-check sends it anyway');
    return EXIT.badInput;
  }
}

async function rpcClient(endpoint: string, flags: ConnectFlags): Promise<RpcClient> {
  const timeout = flags.timeout ?? DEFAULT_TOOL_TIMEOUT;
  if (!(timeout > 0)) throw new InputError(`--timeout must be a positive number of milliseconds (got ${flags.timeout})`);
  const metadata = metadataOption(flags.metadata);
  // Every call of the command carries it, the description it asks for first included.
  const interceptors = metadata ? [sendMetadata(metadata)] : undefined;
  return connectRpc({ connect: endpoint, timeout, interceptors, ...(await curveOption(flags)) });
}

/** `--metadata key=value ...` as a metadata object, checked as the client would check it. */
function metadataOption(pairs: readonly string[] | undefined): Metadata | undefined {
  if (!pairs || pairs.length === 0) return undefined;
  const metadata: Metadata = {};
  for (const pair of pairs) {
    const split = pair.indexOf('=');
    if (split < 1) throw new InputError(`--metadata takes key=value (got ${JSON.stringify(pair)})`);
    metadata[pair.slice(0, split)] = pair.slice(split + 1);
  }
  try {
    checkMetadata(metadata);
  } catch (error) {
    throw new InputError(`--metadata: ${(error as Error).message}`);
  }
  return metadata;
}

const sendMetadata = (metadata: Metadata): Interceptor => (next) => (call) => {
  Object.assign(call.metadata, metadata);
  return next(call);
};

/**
 * The curve option from --curve and --server-key. A client needs both; a subscriber that
 * binds is the CURVE server and takes only its own pair.
 */
async function curveOption(flags: { curve?: string; serverKey?: string }, role: 'client' | 'server' = 'client'): Promise<{ curve?: CurveClientOptions }> {
  if (!flags.curve) {
    if (flags.serverKey) throw new InputError('--server-key needs --curve <keys.json> (this side\'s key pair, as zrpc keygen --out writes it)');
    return {};
  }
  if (role === 'client' && !flags.serverKey) throw new InputError("--curve needs --server-key <key>: the server's public key");
  if (role === 'server' && flags.serverKey) throw new InputError('--server-key is for connecting; a subscriber that binds is the CURVE server and uses only --curve');
  let keys: unknown;
  try {
    keys = JSON.parse(await readFile(flags.curve, 'utf8'));
  } catch (error) {
    throw new InputError(`--curve ${flags.curve}: cannot read a key pair: ${(error as Error).message}`);
  }
  const { publicKey, secretKey } = (keys ?? {}) as Record<string, unknown>;
  if (typeof publicKey !== 'string' || typeof secretKey !== 'string') throw new InputError(`--curve ${flags.curve}: expected { "publicKey": "...", "secretKey": "..." } as zrpc keygen --out writes`);
  return { curve: (flags.serverKey ? { serverKey: flags.serverKey, publicKey, secretKey } : { secretKey }) as CurveClientOptions };
}

function endpoints(endpoint: string, bind: boolean | undefined): { bind: string } | { connect: string } {
  return bind ? { bind: endpoint } : { connect: endpoint };
}

/** Prints why a command failed and returns its exit code. */
function reportFailure(error: unknown, io: Output, endpoint: string, flags: ConnectFlags): number {
  if (error instanceof InputError) {
    io.err(`zrpc: ${error.message}`);
    return EXIT.badInput;
  }
  // Known from the reply itself: nothing in the error's text (the server's) can say so.
  const remote = remoteErrorType(error);
  if (error instanceof RpcTimeoutError && !remote) {
    io.err(`zrpc: no answer from ${endpoint} within ${flags.timeout ?? DEFAULT_TOOL_TIMEOUT} ms (${error.message})`);
    return EXIT.timeout;
  }
  // The socket's own failure (an endpoint to bind that is taken, a path it may not use):
  // nothing was sent, so no remote error; the endpoint given is what to change.
  if (!remote && error instanceof Error && typeof (error as { endpoint?: unknown }).endpoint === 'string') {
    io.err(`zrpc: ${peerText(error.message)}`);
    return EXIT.badInput;
  }
  if (error instanceof Error) {
    const type = error instanceof GenericError ? error.excType : error.name;
    const wire = remote ?? wireNameOf(error);
    const named = `${peerText(type, MAX_PEER_NAME)}${wire !== type ? ` (${peerText(wire, MAX_PEER_NAME)})` : ''}`;
    io.err(`${remote ? 'remote error ' : ''}${named}: ${peerText(error.message)}`);
    if (error instanceof GenericError && error.arguments.length > 0) io.err(`arguments: ${peerText(jsonText(error.arguments))}`);
    return remote || !(error instanceof EncodeError) ? EXIT.remoteError : EXIT.badInput;
  }
  io.err(`zrpc: ${peerText(String(error))}`);
  return EXIT.remoteError;
}

async function withInputErrors(io: Output, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof InputError || error instanceof TypeError || error instanceof RangeError) {
      io.err(`zrpc: ${error.message}`);
      return EXIT.badInput;
    }
    throw error;
  }
}

function topicText(topic: Uint8Array): unknown {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(topic);
  } catch {
    return toJson(topic);
  }
}
