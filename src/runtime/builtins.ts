/**
 * Python's built-in exceptions as they reach a zrpc client: `builtins.ValueError` on the
 * wire becomes `builtins.ValueError` here, so callers narrow with
 * `e instanceof builtins.ValueError` and read Python's `exc.args` as `e.arguments`.
 *
 * Each is a `GenericError`, so code that only knows `GenericError` keeps working.
 * Throwing one from a zrpc handler sends it under the same Python name.
 */
import { GenericError } from './errors.js';

/** Base of the Python built-in exception classes below. */
export class PythonBuiltinError extends GenericError {
  static readonly wireName: string = 'builtins.Exception';

  constructor(...args: unknown[]) {
    const type = (new.target as typeof PythonBuiltinError).wireName;
    super(type, args, `${type.slice('builtins.'.length)}${reprArgs(args)}`);
  }

  override get name(): string {
    return this.excType.slice('builtins.'.length);
  }

  override get args(): readonly unknown[] {
    return this.arguments;
  }
}

function reprArgs(args: readonly unknown[]): string {
  return `(${args.map((a) => (typeof a === 'string' ? `'${a}'` : String(a))).join(', ')})`;
}

/* One line a class: the Python name is the wire name. */
export class Exception extends PythonBuiltinError { static override readonly wireName: string = 'builtins.Exception'; }
export class ArithmeticError extends Exception { static override readonly wireName: string = 'builtins.ArithmeticError'; }
export class ZeroDivisionError extends ArithmeticError { static override readonly wireName: string = 'builtins.ZeroDivisionError'; }
export class OverflowError extends ArithmeticError { static override readonly wireName: string = 'builtins.OverflowError'; }
export class AssertionError extends Exception { static override readonly wireName: string = 'builtins.AssertionError'; }
export class AttributeError extends Exception { static override readonly wireName: string = 'builtins.AttributeError'; }
export class LookupError extends Exception { static override readonly wireName: string = 'builtins.LookupError'; }
export class IndexError extends LookupError { static override readonly wireName: string = 'builtins.IndexError'; }
export class KeyError extends LookupError { static override readonly wireName: string = 'builtins.KeyError'; }
export class NameError extends Exception { static override readonly wireName: string = 'builtins.NameError'; }
export class OSError extends Exception { static override readonly wireName: string = 'builtins.OSError'; }
export class FileNotFoundError extends OSError { static override readonly wireName: string = 'builtins.FileNotFoundError'; }
export class PermissionError extends OSError { static override readonly wireName: string = 'builtins.PermissionError'; }
export class ConnectionError extends OSError { static override readonly wireName: string = 'builtins.ConnectionError'; }
export class RuntimeError extends Exception { static override readonly wireName: string = 'builtins.RuntimeError'; }
export class NotImplementedError extends RuntimeError { static override readonly wireName: string = 'builtins.NotImplementedError'; }
export class RecursionError extends RuntimeError { static override readonly wireName: string = 'builtins.RecursionError'; }
export class TypeError extends Exception { static override readonly wireName: string = 'builtins.TypeError'; }
export class ValueError extends Exception { static override readonly wireName: string = 'builtins.ValueError'; }
export class UnicodeError extends ValueError { static override readonly wireName: string = 'builtins.UnicodeError'; }
export class UnicodeDecodeError extends UnicodeError { static override readonly wireName: string = 'builtins.UnicodeDecodeError'; }
export class UnicodeEncodeError extends UnicodeError { static override readonly wireName: string = 'builtins.UnicodeEncodeError'; }
export class MemoryError extends Exception { static override readonly wireName: string = 'builtins.MemoryError'; }
export class StopIteration extends Exception { static override readonly wireName: string = 'builtins.StopIteration'; }

/** Every class above, by wire name. */
export const byWireName: ReadonlyMap<string, typeof PythonBuiltinError> = new Map(
  [
    Exception, ArithmeticError, ZeroDivisionError, OverflowError, AssertionError,
    AttributeError, LookupError, IndexError, KeyError, NameError, OSError,
    FileNotFoundError, PermissionError, ConnectionError, RuntimeError,
    NotImplementedError, RecursionError, TypeError, ValueError, UnicodeError,
    UnicodeDecodeError, UnicodeEncodeError, MemoryError, StopIteration,
  ].map((cls) => [cls.wireName, cls]),
);
