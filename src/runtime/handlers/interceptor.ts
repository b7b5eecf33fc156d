/**
 * Interceptors: code that runs around every call on a client or a server, in the style
 * of connect-es and protobuf-ts. An interceptor takes the next step and returns a step
 * of its own:
 *
 *   const timing: Interceptor = (next) => async (call) => {
 *     const start = performance.now();
 *     try { return await next(call); }
 *     finally { console.log(call.method, performance.now() - start); }
 *   };
 *
 * The first in the list runs first (outermost). A chain is built once, when the client
 * or server is made; with no interceptors, calls take the direct path.
 */
import type { CallContext } from './context.js';
import type { Metadata } from '../wire/context-frame.js';

/** One call as interceptors see it. */
export interface Call {
  /** `client`: a call being made; `server`: a call being run. */
  readonly side: 'client' | 'server';
  readonly pattern: 'rpc' | 'pipeline' | 'pubsub';
  /** The dotted method name. */
  readonly method: string;
  /** Positional arguments: as the caller gave them (client) or as they arrived (server). Replaceable. */
  args: readonly unknown[];
  /** Named arguments, if any. Replaceable. */
  kwargs: Readonly<Record<string, unknown>> | undefined;
  /**
   * Client: what is sent with the call (a fresh object interceptors may add to, such as
   * `traceparent`). Server: what arrived (`ctx.metadata`). One-way calls send none.
   */
  readonly metadata: Metadata;
  /** When the call's caller stops waiting (milliseconds since the epoch), if it has a deadline. */
  readonly deadline: number | undefined;
  /** Client: the caller's signal, if any. Server: the handler's `ctx.signal`. */
  readonly signal: AbortSignal | undefined;
  /** Server: the handler's context. Client: the context of the handler making the call, if any. */
  readonly context: CallContext | undefined;
  /** Pub/sub: the topic the call is published under (client) or arrived with (server). */
  readonly topic?: Uint8Array | string | undefined;
}

/** A step of the chain: the call's result (a one-way call's is undefined), or its error. */
export type Next = (call: Call) => Promise<unknown>;

export type Interceptor = (next: Next) => Next;

/** The chain around `last`, or undefined when there are no interceptors (the direct path). */
export function chain(interceptors: readonly Interceptor[] | undefined, last: Next): Next | undefined {
  if (interceptors === undefined || interceptors.length === 0) return undefined;
  if (!Array.isArray(interceptors)) throw new TypeError('interceptors must be an array of functions (next) => (call) => ...');
  let next = last;
  for (let i = interceptors.length - 1; i >= 0; i--) {
    const interceptor = interceptors[i];
    if (typeof interceptor !== 'function') throw new TypeError(`interceptors[${i}] must be a function (next) => (call) => ..., got ${typeof interceptor}`);
    next = interceptor(next);
    if (typeof next !== 'function') throw new TypeError(`interceptors[${i}] must return a function (call) => Promise, got ${typeof next}`);
  }
  return next;
}
