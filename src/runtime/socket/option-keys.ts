/**
 * The keys each factory's options object may hold (`serveRpc`, `connectRpc`, ...). A key
 * the factory does not read is refused, with the ones it reads, rather than ignored: a misspelt
 * `timout` would leave every call on the default timeout with nothing said. TypeScript
 * flags such keys in object literals; JavaScript callers and spread objects meet this.
 */

/**
 * Every key of `T`, optional ones included: a table of them must list each, and no other.
 * `hidden`: taken, but not named to users (zrpc's own internal options).
 */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true | 'hidden' };

/**
 * What a generated client (`connectShop`) takes beyond its pattern's options and passes
 * on to `connectRpc`, `connectPipeline` or `connectPubSub` with them: taken, not listed.
 * Code zrpc-codegen has already written passes it, so it stays taken.
 */
export const generatedClientOptionKeys = { checkArguments: 'hidden' } as const;

/**
 * Throws a `TypeError` for an options object with a key outside `known`, or for no object
 * at all. `generated`: the generated function the options were given to (`connectShop`),
 * named in the error instead of `factory`, with the keys it takes itself listed too.
 */
export function checkOptionKeys(options: unknown, known: object, factory: string, generated?: string): void {
  const name = generated ?? factory;
  if (typeof options !== 'object' || options === null) {
    const example = factory.startsWith('serve') ? "{ bind: 'tcp://127.0.0.1:5555' }" : "{ connect: 'tcp://127.0.0.1:5555' }";
    throw new TypeError(`${name} takes an options object, such as ${example} (got ${options === null ? 'null' : typeof options})`);
  }
  const unknown = Object.keys(options).find((key) => !Object.hasOwn(known, key));
  if (unknown === undefined) return;
  // Hidden keys stay unnamed, but for those a generated function takes itself.
  const names = Object.entries(known)
    .filter(([key, shown]) => shown === true || (generated !== undefined && Object.hasOwn(generatedClientOptionKeys, key)))
    .map(([key]) => key)
    .sort();
  throw new TypeError(`${name}: unknown option ${JSON.stringify(unknown)}; it takes ${names.join(', ')}`);
}
