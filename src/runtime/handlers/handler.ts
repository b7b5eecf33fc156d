/**
 * Handlers: which functions a server exposes, and how a dotted name finds one.
 *
 * Only functions marked with `method` are callable. A handler is an `AttrHandler`
 * subclass (methods marked with the `@method` decorator) or a plain object whose values
 * are `method(fn)` results; a nested handler is a namespace, so `ns.sub.fn` walks
 * `handler.ns.sub.fn`.
 */
import type { TSchema } from 'typebox';
import { NotFoundError } from '../errors/errors.js';

/** One parameter of a remote method, as the wire binds it. */
export interface ParamSpec {
  name: string;
  /** A TypeBox schema the argument must match; checked before the handler runs. */
  schema?: TSchema;
  /** May be left out by the caller (a trailing optional or defaulted parameter). */
  optional?: boolean;
  /** What the parameter means, for `zrpc describe`. */
  doc?: string;
}

/** An error a method declares it may raise (`@throws {Name} text`). */
export interface ThrowsSpec {
  /** The error's name on the wire. */
  name: string;
  /** When it is raised. */
  doc?: string;
}

/** What `method` may be told about a function; the code generator fills all of it. */
export interface MethodSpec {
  /** Parameters in order. Without it, names and optionality are read from the source. */
  params?: readonly ParamSpec[];
  /** A rest parameter (`...items`): takes extra positional arguments. */
  rest?: ParamSpec;
  /** A TypeBox schema the return value must match. */
  returns?: TSchema;
  /**
   * The function's last parameter is the `CallContext`, not a remote parameter. Only
   * needed when `params` is left out and names are read from the source; the context is
   * always passed after the declared parameters (unless there is a rest parameter).
   */
  context?: boolean;
  /** What the method does, for `zrpc describe` (the generator copies the doc comment). */
  doc?: string;
  /** Errors the method declares, for `zrpc describe`. */
  throws?: readonly ThrowsSpec[];
  /**
   * Running it twice does no harm (`@idempotent` in a service interface): a load-aware
   * client retries it on another server after a lost connection or an attempt timeout.
   * On a server it only describes the method.
   */
  idempotent?: boolean;
}

/** Base for class handlers: public methods marked `@method` are callable by name. */
export abstract class AttrHandler {}

/** What the server knows of a marked function. */
export interface MarkedMethod {
  readonly fn: (...args: any[]) => unknown;
  readonly spec: MethodSpec;
}

const marked = new WeakMap<Function, MethodSpec>();

/** A plain object of methods and nested handlers. */
export interface HandlerObject {
  readonly [name: string]: unknown;
}

export type Handler = AttrHandler | HandlerObject;

type Fn = (...args: any[]) => unknown;

/**
 * Marks a function as remotely callable. Three forms:
 * - `@method` on a class method;
 * - `@method({ params, returns })` on a class method, with a spec;
 * - `method(fn, spec?)` for a plain function in a handler object.
 */
export function method<F extends Fn>(fn: F, context: ClassMethodDecoratorContext): F;
export function method<F extends Fn>(fn: F, spec?: MethodSpec): F;
export function method(spec: MethodSpec): <F extends Fn>(fn: F, context: ClassMethodDecoratorContext) => F;
export function method<F extends Fn>(
  fnOrSpec: F | MethodSpec,
  contextOrSpec?: ClassMethodDecoratorContext | MethodSpec,
): F | (<G extends Fn>(fn: G, context: ClassMethodDecoratorContext) => G) {
  if (typeof fnOrSpec !== 'function') {
    return <G extends Fn>(fn: G, context: ClassMethodDecoratorContext) => mark(fn, fnOrSpec, context);
  }
  if (isDecoratorContext(contextOrSpec)) return mark(fnOrSpec, {}, contextOrSpec);
  return mark(fnOrSpec, contextOrSpec ?? {});
}

function isDecoratorContext(value: unknown): value is ClassMethodDecoratorContext {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'method';
}

function mark<F extends Fn>(fn: F, spec: MethodSpec, context?: ClassMethodDecoratorContext): F {
  if (context && (context.private || context.static)) {
    throw new TypeError(`@method cannot mark ${String(context.name)}: only public instance methods are remote`);
  }
  marked.set(fn, spec);
  return fn;
}

/** Names that would reach into the object model rather than the handler's own members. */
const forbidden = new Set(['__proto__', 'constructor', 'prototype']);

function isNamespace(value: unknown): value is Handler {
  if (value instanceof AttrHandler) return true;
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A method found by name, with the object to call it on. */
export interface ResolvedMethod {
  readonly fn: Fn;
  readonly owner: object;
  readonly spec: MethodSpec;
  /** The name's parts. */
  readonly parts: readonly string[];
  /** The objects walked from the root, one a part of the name, ending with `fn`. */
  readonly chain: readonly unknown[];
}

/**
 * A member of a handler, read without running any code of the handler's: own data
 * properties of the object, then of its class prototypes. A getter, a setter or
 * anything from `Object.prototype` finds nothing, so a caller's name can only ever
 * reach a marked method, never trigger code on the way to one.
 */
function member(owner: object, name: string): unknown {
  for (let o: object | null = owner; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    const property = Object.getOwnPropertyDescriptor(o, name);
    if (property) return 'value' in property ? property.value : undefined;
  }
  return undefined;
}

/**
 * Finds `a.b.c` in a handler; throws `NotFoundError` unless it names a marked function.
 * The server calls it once per name and keeps the result while `stillResolves` holds.
 */
export function resolveMethod(root: Handler, name: string): ResolvedMethod {
  const parts = name.split('.');
  if (parts.some((p) => p === '' || forbidden.has(p))) throw new NotFoundError(name);
  let owner: object = root;
  const last = parts.length - 1;
  const chain: unknown[] = [];
  for (let i = 0; i < last; i++) {
    const value = member(owner, parts[i]!);
    if (!isNamespace(value)) throw new NotFoundError(name);
    chain.push(value);
    owner = value;
  }
  const value = member(owner, parts[last]!);
  const spec = typeof value === 'function' ? marked.get(value) : undefined;
  if (!spec) throw new NotFoundError(name);
  chain.push(value);
  return { fn: value as Fn, owner, spec, parts, chain };
}

/** Whether `root` still leads through the name to the same objects as when it was resolved. */
export function stillResolves(root: Handler, resolved: ResolvedMethod): boolean {
  const { parts, chain } = resolved;
  let owner: unknown = root;
  for (let i = 0; i < parts.length; i++) {
    owner = member(owner as object, parts[i]!);
    if (owner !== chain[i]) return false;
  }
  return true;
}

/** Bounds on walking a handler to list its methods: callers can ask for a description at will. */
export interface ListLimits {
  /** Namespace levels below the root. */
  maxDepth: number;
  /** Methods listed; past it the list is cut and `truncated` is set. */
  maxMethods: number;
}

/**
 * Every marked method reachable from `root`, by dotted name, found by the same rule as
 * `resolveMethod`: own data properties along the class chain, so no getter or setter
 * runs. Names with a dot (which no call could reach) and symbol keys are skipped; an
 * object met twice (a cycle, or one namespace under two names) is walked once.
 */
export function listMethods(root: Handler, limits: ListLimits): { methods: Array<{ name: string; fn: Fn; spec: MethodSpec }>; truncated: boolean } {
  const methods: Array<{ name: string; fn: Fn; spec: MethodSpec }> = [];
  const seen = new Set<object>();
  let truncated = false;
  let full = false;
  const walk = (owner: object, prefix: string, depth: number): void => {
    if (seen.has(owner)) return;
    seen.add(owner);
    const names = new Set<string>();
    for (let o: object | null = owner; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
      for (const name of Object.getOwnPropertyNames(o)) if (!forbidden.has(name) && !name.includes('.')) names.add(name);
    }
    for (const name of names) {
      if (full) return;
      const value = member(owner, name);
      const spec = typeof value === 'function' ? marked.get(value) : undefined;
      if (spec) {
        if (methods.length >= limits.maxMethods) {
          truncated = full = true;
          return;
        }
        methods.push({ name: prefix + name, fn: value as Fn, spec });
      } else if (isNamespace(value)) {
        if (depth >= limits.maxDepth) truncated = true;
        else walk(value, `${prefix}${name}.`, depth + 1);
      }
    }
  };
  walk(root, '', 0);
  return { methods, truncated };
}
