/**
 * Publish/subscribe: a PUB client publishes calls under a topic, SUB servers subscribed
 * to a prefix of it run them. Frames: topic, name, args, kwargs (WIRE.md).
 *
 * ZeroMQ drops what is published before a subscription has reached the publisher (the
 * "slow joiner"): a publisher that starts sending at once loses the first messages.
 * Wait for a sign of life from the subscribers before relying on delivery.
 */
import { Publisher, Subscriber } from 'zeromq';
import { serverOptionKeys, type ServerOptions } from '../handlers/dispatch.js';
import type { OptionKeys } from '../socket/option-keys.js';
import type { Handler } from '../handlers/handler.js';
import { OneWayClient, oneWayClientOptionKeys, OneWayServer, type OneWayClientOptions } from './one-way.js';
import { dynamicProxy, type DynamicProxy } from './proxy.js';
import { createSocket } from '../socket/service.js';
import { factoryOptions, type GeneratedCaller } from './generated-caller.js';

export type Topic = string | Uint8Array;

export interface PubSubServerOptions extends ServerOptions {
  /** Topics (byte prefixes) to receive; `''` receives everything. None by default. */
  subscribe?: Topic | readonly Topic[];
}

export type PubSubClientOptions = OneWayClientOptions;

const pubSubServerOptionKeys: OptionKeys<PubSubServerOptions> = { ...serverOptionKeys, subscribe: true };

function topics(value: Topic | readonly Topic[] | undefined): Array<string | Buffer> {
  if (value === undefined) return [];
  const list = typeof value === 'string' || value instanceof Uint8Array ? [value] : value;
  return list.map((t) => (typeof t === 'string' ? t : Buffer.from(t.buffer, t.byteOffset, t.byteLength)));
}

/**
 * A topic is text or bytes, as aiozmq requires: anything else (`null` would become the
 * empty topic every subscriber receives, `123` the text "123") is a caller's mistake.
 */
function checkTopic(topic: unknown): asserts topic is Topic {
  if (typeof topic !== 'string' && !(topic instanceof Uint8Array)) {
    throw new TypeError(`topic must be a string or bytes (Uint8Array), got ${topic === null ? 'null' : typeof topic}`);
  }
}

export class PubSubServer extends OneWayServer {
  readonly #socket: Subscriber;

  /** @internal Use `servePubSub`. */
  constructor(handler: Handler, options: PubSubServerOptions) {
    const socket = createSocket(Subscriber, options);
    super(socket, handler, options, 1);
    this.#socket = socket;
    this.subscribe(topics(options.subscribe));
  }

  /** Adds topic prefixes; calls published under them start arriving. */
  subscribe(topic: Topic | readonly Topic[]): void {
    this.assertOpen('subscribe');
    for (const t of topics(topic)) this.#socket.subscribe(t);
  }

  unsubscribe(topic: Topic | readonly Topic[]): void {
    this.assertOpen('unsubscribe');
    for (const t of topics(topic)) this.#socket.unsubscribe(t);
  }
}

export class PubSubClient extends OneWayClient {
  readonly #publishers = new Map<string, DynamicProxy<Promise<void>>>();

  /** @internal Use `connectPubSub`. */
  constructor(options: PubSubClientOptions) {
    super(createSocket(Publisher, options), options, 'pubsub');
  }

  /**
   * `await client.publish('news').feed.item(7)`: resolves once ZeroMQ has the message.
   * A string topic is sent as UTF-8; `''` or no topic sends an empty topic frame.
   */
  publish(topic: Topic = ''): DynamicProxy<Promise<void>> {
    checkTopic(topic);
    if (typeof topic !== 'string') {
      const frame = topic;
      return dynamicProxy((name, args, named) => this.sendCall(frame, name, args, named));
    }
    let proxy = this.#publishers.get(topic);
    if (!proxy) {
      proxy = dynamicProxy((name, args, named) => this.sendCall(topic, name, args, named));
      if (this.#publishers.size < 1024) this.#publishers.set(topic, proxy);
    }
    return proxy;
  }

  /** Publishes `name` under `topic` with explicit positional and named arguments. */
  invoke(topic: Topic, name: string, args: readonly unknown[] = [], named?: Readonly<Record<string, unknown>>): Promise<void> {
    try {
      checkTopic(topic);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.sendCall(topic, name, args, named);
  }
}

/** Serves `handler` as a subscriber. `generated`: what a generated `serveFeed` calling this adds. */
export async function servePubSub(handler: Handler, options: PubSubServerOptions, generated?: GeneratedCaller): Promise<PubSubServer> {
  const full = factoryOptions(options, pubSubServerOptionKeys, 'servePubSub', generated);
  return new PubSubServer(handler, full).start(full);
}

/** Connects a publisher. `generated`: what a generated `connectFeed` calling this adds. */
export async function connectPubSub(options: PubSubClientOptions, generated?: GeneratedCaller): Promise<PubSubClient> {
  const full = factoryOptions(options, oneWayClientOptionKeys, 'connectPubSub', generated);
  return new PubSubClient(full).start(full);
}
