/**
 * How errors cross the wire: a thrown error travels as `[type name, args, repr]`
 * (WIRE.md), and the client rebuilds it from its error table.
 *
 * Sending, the type name is, in order: the class's static `wireName`; a `GenericError`'s
 * own `excType` (a remote error re-thrown passes through unchanged); for JavaScript's
 * built-ins `Error` → `builtins.Exception`, `TypeError` → `builtins.TypeError`,
 * `RangeError` → `builtins.ValueError`, `ReferenceError` → `builtins.NameError`;
 * otherwise the class name (`class InsufficientFunds extends Error` → `InsufficientFunds`).
 * The args are the error's `args` array when it has one, else `[message]`.
 *
 * Receiving, the user's table is searched first (`new Class(...args)`), then zrpc's
 * own names, then Python's built-ins (`builtins.ValueError` → `builtins.ValueError`),
 * and anything else becomes a `GenericError`.
 */
import * as builtins from '../errors/builtins.js';
import {
  GenericError,
  NotFoundError,
  ParameterError,
  ProtocolError,
  ReturnValueError,
  RpcTimeoutError,
  ServerDrainingError,
} from '../errors/errors.js';
import { describeArgs, describeValue } from '../errors/describe.js';

/** A class the client may rebuild a remote error into: called as `new Class(...args)`. */
export type ErrorClass = new (...args: any[]) => Error;

/** User error classes by wire name, searched before the built-in ones. */
export type ErrorTable = Readonly<Record<string, ErrorClass>> | ReadonlyMap<string, ErrorClass>;

/** What an error looks like on the wire. */
export type WireError = [type: string, args: unknown[], repr: string];

const jsBuiltinNames = new Map<Function, string>([
  [Error, 'builtins.Exception'],
  [TypeError, 'builtins.TypeError'],
  [RangeError, 'builtins.ValueError'],
  [ReferenceError, 'builtins.NameError'],
  [SyntaxError, 'builtins.SyntaxError'],
]);

/** The wire name an error is sent under. */
export function wireNameOf(error: unknown): string {
  if (!(error instanceof Error)) return 'builtins.Exception';
  const ctor = error.constructor as { wireName?: unknown; name: string };
  // Only a class's own wireName counts: a subclass without one travels under its own name.
  if (Object.hasOwn(ctor, 'wireName') && typeof ctor.wireName === 'string') return ctor.wireName;
  if (error instanceof GenericError) return error.excType;
  const name = jsBuiltinNames.get(error.constructor) ?? ctor.name;
  return typeof name === 'string' && name ? name : 'builtins.Exception';
}

/**
 * Turns anything thrown by a handler into its wire triple. It never throws: the value
 * may be anything (a string, an object whose getters throw, a proxy), and whatever it
 * is, the caller must get an answer.
 */
export function toWireError(error: unknown): WireError {
  let type = 'builtins.Exception';
  try {
    type = wireNameOf(error);
    const args = argsOf(error);
    const short = type.slice(type.lastIndexOf('.') + 1);
    const repr = error instanceof GenericError && typeof error.excRepr === 'string' && error.excRepr ? error.excRepr : `${short}${describeArgs(args)}`;
    return [type, args, repr];
  } catch {
    const text = `an error that could not be read (${describeValue(error)})`;
    // The repr as in the normal path, through the one value printer: `Exception('...')`, as Python writes it.
    return [type, [text], `${type.slice(type.lastIndexOf('.') + 1)}${describeArgs([text])}`];
  }
}

function argsOf(error: unknown): unknown[] {
  if (error instanceof GenericError) return [...error.arguments];
  if (error instanceof Error) {
    const args = (error as { args?: unknown }).args;
    if (Array.isArray(args)) return [...args];
    const message = (error as { message?: unknown }).message;
    return [typeof message === 'string' ? message : describeValue(message)];
  }
  // A thrown non-Error (a string, a number, an object): its printed form.
  return [typeof error === 'string' ? error : describeValue(error)];
}

type Rebuild = (args: unknown[], repr: string) => Error;

const firstString = (args: unknown[]): string =>
  typeof args[0] === 'string' ? args[0] : args[0] === undefined ? '' : describeValue(args[0]);

/** zrpc's own names, and aiozmq's, in both spellings the wire may carry. */
const ownNames = new Map<string, Rebuild>([
  [NotFoundError.wireName, (args) => new NotFoundError(firstString(args))],
  [ParameterError.wireName, (args) => new ParameterError(firstString(args))],
  [ReturnValueError.wireName, (args) => new ReturnValueError(firstString(args))],
  [ProtocolError.wireName, (args) => new ProtocolError(firstString(args))],
  [ServerDrainingError.wireName, (args) => new ServerDrainingError(firstString(args))],
  [RpcTimeoutError.wireName, (args) => new RpcTimeoutError(firstString(args) || 'remote call timed out')],
  ['asyncio.exceptions.TimeoutError', (args) => new RpcTimeoutError(firstString(args) || 'remote call timed out')],
  ['concurrent.futures._base.TimeoutError', (args) => new RpcTimeoutError(firstString(args) || 'remote call timed out')],
]);

/** One table from several, later ones winning: generated clients add theirs under the user's. */
export function mergeErrorTables(...tables: Array<ErrorTable | undefined>): ReadonlyMap<string, ErrorClass> {
  const merged = new Map<string, ErrorClass>();
  for (const table of tables) {
    if (!table) continue;
    for (const [name, cls] of table instanceof Map ? table : Object.entries(table)) merged.set(name, cls);
  }
  return merged;
}

/** Rebuilds a remote error on the client from a user table and the built-in names. */
export class ErrorTranslator {
  readonly #user: ReadonlyMap<string, ErrorClass>;

  constructor(table?: ErrorTable) {
    if (table !== undefined && (table === null || typeof table !== 'object')) {
      throw new TypeError(`errorTable must map exception names to Error classes, as an object or a Map (got ${table === null ? 'null' : typeof table})`);
    }
    const user: ReadonlyMap<string, unknown> = table instanceof Map ? table : new Map(Object.entries(table ?? {}));
    for (const [name, cls] of user) {
      if (typeof cls !== 'function') throw new TypeError(`errorTable entry ${JSON.stringify(name)} must be an Error class (got ${cls === null ? 'null' : typeof cls})`);
    }
    this.#user = user as ReadonlyMap<string, ErrorClass>;
  }

  rebuild(type: string, args: unknown[], repr: string): Error {
    try {
      const userClass = this.#user.get(type);
      if (userClass) return new userClass(...args);
      const own = ownNames.get(type);
      if (own) return own(args, repr);
      const builtin = builtins.byWireName.get(type);
      if (builtin) return new builtin(...args);
      return new GenericError(type, args, repr);
    } catch (cause) {
      // The args were not what the class's constructor takes: the call still settles.
      return new ProtocolError(`error reply ${describeValue(type)} could not be rebuilt from its args ${describeArgs(args)}`, { cause });
    }
  }

  /** Decodes the body of an error reply; a malformed body becomes a `ProtocolError`. */
  fromWire(body: unknown): Error {
    if (!Array.isArray(body) || body.length !== 3 || typeof body[0] !== 'string' || !Array.isArray(body[1])) {
      return new ProtocolError(`malformed error reply: expected [type, args, repr], got ${describeArgs([body])}`);
    }
    return this.rebuild(body[0], body[1], typeof body[2] === 'string' ? body[2] : '');
  }
}
