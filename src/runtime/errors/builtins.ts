/**
 * Python's built-in exceptions as they reach a zrpc client: `builtins.ValueError` on the
 * wire becomes `builtins.ValueError` here, so callers narrow with
 * `e instanceof builtins.ValueError` and read Python's `exc.args` as `e.arguments`.
 * `message` is Python's `str(exc)` (the human text); `excRepr` its `repr(exc)`.
 *
 * Each is a `GenericError`, so code that only knows `GenericError` keeps working. Three
 * stand on JavaScript's own classes, because that is what a JavaScript peer threw:
 * `TypeError` is a JavaScript `TypeError`, `ValueError` a `RangeError`, `NameError` a
 * `ReferenceError` (and, through `Exception`, every one is an `Error`).
 * Throwing one from a zrpc handler sends it under the same Python name.
 */
import { GenericError, onJavaScriptClass, pythonStr, takesJavaScriptBuiltins } from './errors.js';
import { describeArgs } from './describe.js';

/** Base of the Python built-in exception classes below. */
export class PythonBuiltinError extends GenericError {
  static readonly wireName: string = 'builtins.Exception';

  constructor(...args: unknown[]) {
    const type = (new.target as typeof PythonBuiltinError).wireName;
    super(type, args, reprOf(type, args));
    this.message = pythonStr(args);
  }

  override get name(): string {
    return this.excType.slice('builtins.'.length);
  }

  override get args(): readonly unknown[] {
    return this.arguments;
  }
}

function reprOf(type: string, args: readonly unknown[]): string {
  return `${type.slice('builtins.'.length)}${describeArgs(args)}`;
}

type ErrorBase = new (...args: any[]) => Error;

/** What a remote Python built-in carries, whichever class it stands on. */
export interface PythonFields {
  readonly excType: string;
  readonly arguments: readonly unknown[];
  readonly excRepr: string;
  readonly args: readonly unknown[];
}

interface OnJavaScriptClass<E extends Error> {
  new (...args: unknown[]): E & PythonFields;
  readonly wireName: string;
}

/** A Python built-in on a JavaScript error class: the same fields as `PythonBuiltinError`. */
function onJavaScript<B extends ErrorBase>(Base: B, wireName: string): OnJavaScriptClass<InstanceType<B>> {
  return class extends Base {
    static readonly wireName: string = wireName;
    readonly excType: string;
    readonly arguments: readonly unknown[];
    readonly excRepr: string;

    constructor(...args: any[]) {
      super(pythonStr(args));
      this.excType = (new.target as unknown as { wireName: string }).wireName;
      this.arguments = args;
      this.excRepr = reprOf(this.excType, args);
    }

    override get name(): string {
      return this.excType.slice('builtins.'.length);
    }

    get args(): readonly unknown[] {
      return this.arguments;
    }
  } as unknown as OnJavaScriptClass<InstanceType<B>>;
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
export class NameError extends onJavaScript(ReferenceError, 'builtins.NameError') { static override readonly wireName: string = 'builtins.NameError'; }
export class OSError extends Exception { static override readonly wireName: string = 'builtins.OSError'; }
export class FileNotFoundError extends OSError { static override readonly wireName: string = 'builtins.FileNotFoundError'; }
export class PermissionError extends OSError { static override readonly wireName: string = 'builtins.PermissionError'; }
export class ConnectionError extends OSError { static override readonly wireName: string = 'builtins.ConnectionError'; }
export class RuntimeError extends Exception { static override readonly wireName: string = 'builtins.RuntimeError'; }
export class NotImplementedError extends RuntimeError { static override readonly wireName: string = 'builtins.NotImplementedError'; }
export class RecursionError extends RuntimeError { static override readonly wireName: string = 'builtins.RecursionError'; }
export class TypeError extends onJavaScript(globalThis.TypeError, 'builtins.TypeError') { static override readonly wireName: string = 'builtins.TypeError'; }
export class ValueError extends onJavaScript(RangeError, 'builtins.ValueError') { static override readonly wireName: string = 'builtins.ValueError'; }
export class UnicodeError extends ValueError { static override readonly wireName: string = 'builtins.UnicodeError'; }
export class UnicodeDecodeError extends UnicodeError { static override readonly wireName: string = 'builtins.UnicodeDecodeError'; }
export class UnicodeEncodeError extends UnicodeError { static override readonly wireName: string = 'builtins.UnicodeEncodeError'; }
export class MemoryError extends Exception { static override readonly wireName: string = 'builtins.MemoryError'; }
export class StopIteration extends Exception { static override readonly wireName: string = 'builtins.StopIteration'; }

/** Every class above, by wire name. */
export const byWireName: ReadonlyMap<string, new (...args: unknown[]) => Error> = new Map<string, new (...args: unknown[]) => Error>(
  [
    Exception, ArithmeticError, ZeroDivisionError, OverflowError, AssertionError,
    AttributeError, LookupError, IndexError, KeyError, NameError, OSError,
    FileNotFoundError, PermissionError, ConnectionError, RuntimeError,
    NotImplementedError, RecursionError, TypeError, ValueError, UnicodeError,
    UnicodeDecodeError, UnicodeEncodeError, MemoryError, StopIteration,
  ].map((cls) => [cls.wireName, cls]),
);

for (const cls of [TypeError, ValueError, NameError]) Object.defineProperty(cls.prototype, onJavaScriptClass, { value: true });
takesJavaScriptBuiltins.add(PythonBuiltinError).add(Exception);
