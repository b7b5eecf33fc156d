/**
 * The dynamic call syntax: `client.call.ns.method(1, 2)` builds the dotted name from
 * property reads and sends on the call. Named arguments go in a `kwargs({...})` last.
 */

/** Named arguments for a dynamic call: `client.call.add(1, kwargs({ b: 2 }))`. */
export class Kwargs {
  readonly values: Readonly<Record<string, unknown>>;
  constructor(values: Readonly<Record<string, unknown>>) {
    this.values = values;
  }
}

/** Wraps named arguments for the last position of a dynamic call. */
export function kwargs(values: Readonly<Record<string, unknown>>): Kwargs {
  return new Kwargs(values);
}

/** `proxy.a.b.c(...args)`: each property is a namespace or a method, all at once. */
export interface DynamicProxy<R> {
  (...args: unknown[]): R;
  readonly [name: string]: DynamicProxy<R>;
}

/** Where a dynamic proxy's calls go: the dotted name, positional and named arguments. */
export type ProxyTarget<R> = (name: string, args: unknown[], kwargs: Readonly<Record<string, unknown>> | undefined) => R;

/** Builds a proxy whose calls go to `send`. Namespaces are cached, so a path is built once. */
export function dynamicProxy<R>(send: ProxyTarget<R>, prefix = ''): DynamicProxy<R> {
  const children = new Map<string, DynamicProxy<R>>();
  const target = function () {} as unknown as DynamicProxy<R>;
  return new Proxy(target, {
    get(_, property) {
      // Symbols and `then` are refused so a proxy is never mistaken for a promise.
      if (typeof property !== 'string' || property === 'then') return undefined;
      let child = children.get(property);
      if (!child) {
        child = dynamicProxy(send, prefix ? `${prefix}.${property}` : property);
        children.set(property, child);
      }
      return child;
    },
    apply(_, __, args: unknown[]) {
      const last = args[args.length - 1];
      if (last instanceof Kwargs) return send(prefix, args.slice(0, -1), last.values);
      return send(prefix, args, undefined);
    },
  });
}
