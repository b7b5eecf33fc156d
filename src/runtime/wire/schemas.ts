/**
 * TypeBox schemas for values JSON Schema has no word for: `Date`, bytes, and instances
 * of the classes zrpc carries in ext types. The generated validators use these.
 */
import { createRequire } from 'node:module';
import type { TSchema, TUnsafe } from 'typebox';

// Loaded on first use, like the compiler in binding.ts: importing zrpc stays cheap, and
// the generated modules that call these import typebox themselves anyway.
const require = createRequire(import.meta.url);
let typebox: typeof import('typebox').Type | undefined;

/**
 * A refinement keeps its check out of the schema's data, so a description sent to a peer
 * (`zrpc:describe`) would say nothing: `x-zrpc` names the kind for tools, and
 * `description` says it to a person. Validators ignore both keywords.
 */
function instance<T>(check: (value: unknown) => boolean, message: string, kind: string, description: string): TUnsafe<T> {
  const Type = (typebox ??= (require('typebox') as typeof import('typebox')).Type);
  return Type.Refine(Type.Unsafe<T>({ 'x-zrpc': kind, description }), check, () => message) as unknown as TUnsafe<T>;
}

export const Wire = {
  /** A valid `Date` (a Python `datetime` arrives as one). */
  Date: (): TUnsafe<Date> => instance<Date>((v) => v instanceof Date && !Number.isNaN(v.getTime()), 'must be a Date', 'date', 'a Date'),
  /** Bytes: a `Uint8Array` (or `Buffer`); msgpack bin, Python `bytes`. */
  Bytes: (): TUnsafe<Uint8Array> => instance<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes (a Uint8Array)', 'bytes', 'bytes'),
  /** An instance of `cls`, such as `PyDate`, or a class with a translator. */
  Instance: <T>(cls: abstract new (...args: any[]) => T): TUnsafe<T> => instance<T>((v) => v instanceof cls, `must be a ${cls.name}`, `instance:${cls.name}`, `a ${cls.name}`),
} satisfies Record<string, (...args: any[]) => TSchema>;
