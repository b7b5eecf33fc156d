/**
 * Pipeline (fire and forget): a PUSH client notifies, a PULL server runs the calls.
 * Frames: name, args, kwargs (WIRE.md).
 */
import { Pull, Push } from 'zeromq';
import { serverOptionKeys, type ServerOptions } from '../handlers/dispatch.js';
import type { Handler } from '../handlers/handler.js';
import { OneWayClient, oneWayClientOptionKeys, OneWayServer, type OneWayClientOptions } from './one-way.js';
import { dynamicProxy, type DynamicProxy } from './proxy.js';
import { createSocket } from '../socket/service.js';
import { factoryOptions, type GeneratedCaller } from './generated-caller.js';

export type PipelineServerOptions = ServerOptions;
export type PipelineClientOptions = OneWayClientOptions;

export class PipelineServer extends OneWayServer {
  /** @internal Use `servePipeline`. */
  constructor(handler: Handler, options: PipelineServerOptions) {
    super(createSocket(Pull, options), handler, options, 0);
  }
}

export class PipelineClient extends OneWayClient {
  #notify: DynamicProxy<Promise<void>> | undefined;

  /** @internal Use `connectPipeline`. */
  constructor(options: PipelineClientOptions) {
    super(createSocket(Push, options), options, 'pipeline');
  }

  /**
   * `await client.notify.ns.method(1, 2)`: resolves once ZeroMQ has queued the message.
   * PUSH blocks while no server is connected, so this waits too (up to the send queue's bound).
   */
  get notify(): DynamicProxy<Promise<void>> {
    return (this.#notify ??= dynamicProxy((name, args, named) => this.sendCall(undefined, name, args, named)));
  }

  /** Notifies `name` with explicit positional and named arguments. */
  invoke(name: string, args: readonly unknown[] = [], named?: Readonly<Record<string, unknown>>): Promise<void> {
    return this.sendCall(undefined, name, args, named);
  }
}

/** Serves `handler` as a pipeline worker. `generated`: what a generated `serveJobs` calling this adds. */
export async function servePipeline(handler: Handler, options: PipelineServerOptions, generated?: GeneratedCaller): Promise<PipelineServer> {
  const full = factoryOptions(options, serverOptionKeys, 'servePipeline', generated);
  return new PipelineServer(handler, full).start(full);
}

/** Connects a pipeline client. `generated`: what a generated `connectJobs` calling this adds. */
export async function connectPipeline(options: PipelineClientOptions, generated?: GeneratedCaller): Promise<PipelineClient> {
  const full = factoryOptions(options, oneWayClientOptionKeys, 'connectPipeline', generated);
  return new PipelineClient(full).start(full);
}
