/**
 * Many server processes behind one address: libzmq's own proxy between a ROUTER that
 * clients dial (the frontend) and a DEALER that servers dial (the backend). It runs in
 * a worker thread of zeromq.js, forwards frames untouched, and hands each request to the
 * next connected server in turn; replies find their way back by the envelope.
 */
import { Dealer, Proxy, Router, type Socket } from 'zeromq';
import { createSocket, endpointList, zmqEndpoint, type ServiceOptions } from '../socket/service.js';
import { checkOptionKeys, type OptionKeys } from '../socket/option-keys.js';
import { isCurveServer, type CurveOptions } from '../socket/curve.js';
import { registerAllowList } from '../socket/zap.js';
import { EventLog, toLog, type Logger } from '../socket/logger.js';

export interface RpcProxyOptions {
  /** Endpoints clients connect to (bound here), e.g. `tcp://*:5555`. */
  frontend: string | readonly string[];
  /** Endpoints servers connect to (bound here; servers use `connect` instead of `bind`). */
  backend: string | readonly string[];
  /**
   * CURVE on either side. Each hop is its own encrypted connection: the proxy decrypts
   * what arrives on one side and encrypts it again for the other.
   */
  curve?: { frontend?: CurveOptions; backend?: CurveOptions };
  logger?: Logger;
  /** ZeroMQ socket options for both sockets (as a service's `socket`). */
  socket?: Record<string, unknown>;
  /** ZMTP heartbeats on both sockets, so a vanished client or server is noticed. */
  heartbeat?: ServiceOptions['heartbeat'];
}

const proxyOptionKeys: OptionKeys<RpcProxyOptions> = { frontend: true, backend: true, curve: true, logger: true, socket: true, heartbeat: true };

export class RpcProxy implements AsyncDisposable {
  /** Frontend and backend endpoints as bound (real port numbers). */
  readonly frontend: readonly string[];
  readonly backend: readonly string[];
  readonly #proxy: Proxy<Router, Dealer>;
  readonly #running: Promise<void>;
  readonly #release: Array<() => Promise<void>>;
  #closing: Promise<void> | undefined;

  /** @internal Use `runProxy`. */
  constructor(proxy: Proxy<Router, Dealer>, frontend: string[], backend: string[], release: Array<() => Promise<void>>) {
    this.#proxy = proxy;
    this.frontend = frontend;
    this.backend = backend;
    this.#release = release;
    this.#running = proxy.run();
  }

  /** Stops forwarding and closes both sockets; resolves once the proxy has stopped. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#proxy.terminate();
      await this.#running;
      for (const release of this.#release) await release();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Runs a proxy: `await using proxy = await runProxy({ frontend: 'tcp://*:5555', backend: 'tcp://*:5556' })`.
 * Resolves once both sides are bound.
 */
export async function runProxy(options: RpcProxyOptions): Promise<RpcProxy> {
  if (options === null || typeof options !== 'object') throw new TypeError('runProxy takes { frontend, backend }');
  checkOptionKeys(options, proxyOptionKeys, 'runProxy');
  const frontends = endpointList(options.frontend);
  const backends = endpointList(options.backend);
  if (frontends.length === 0) throw new TypeError('runProxy needs a frontend endpoint for clients (e.g. tcp://*:5555)');
  if (backends.length === 0) throw new TypeError('runProxy needs a backend endpoint for servers (e.g. tcp://*:5556)');
  const events = new EventLog(toLog(options.logger));
  const base = { socket: options.socket, heartbeat: options.heartbeat };
  const release: Array<() => Promise<void>> = [];
  const front = createSocket(Router, { ...base, curve: options.curve?.frontend });
  let back: Dealer;
  try {
    back = createSocket(Dealer, { ...base, curve: options.curve?.backend });
  } catch (error) {
    front.close();
    throw error;
  }
  try {
    for (const [socket, curve] of [
      [front, options.curve?.frontend],
      [back, options.curve?.backend],
    ] as const) {
      if (curve && isCurveServer(curve) && curve.allow) release.push(await registerAllowList(socket.zapDomain!, curve.allow, events));
    }
    const frontend = await bindAll(front, frontends);
    const backend = await bindAll(back, backends);
    return new RpcProxy(new Proxy(front, back), frontend, backend, release);
  } catch (error) {
    front.close();
    back.close();
    for (const done of release) await done();
    throw error;
  }
}

async function bindAll(socket: Socket, endpoints: readonly string[]): Promise<string[]> {
  const bound: string[] = [];
  for (const endpoint of endpoints) {
    try {
      await socket.bind(zmqEndpoint(endpoint));
    } catch (cause) {
      throw new Error(`proxy cannot bind ${JSON.stringify(endpoint)}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    bound.push(socket.lastEndpoint ?? endpoint);
  }
  return bound;
}
