/**
 * Argument binding: positional and named arguments from the wire to a handler's
 * parameters, with Python's rules (aiozmq binds with `inspect.signature(...).bind`),
 * then TypeBox validation of each argument and of the return value.
 */
import type { Validator } from 'typebox/compile';
import type { TSchema } from 'typebox';
import { bigintCoercer, type Coerce } from './bigint.js';
import { ParameterError, ReturnValueError } from '../errors/errors.js';
import { clip, describeValue } from '../errors/describe.js';
import { compile as compileSchema, describeFailure, misplacedMap } from './validation.js';
import type { MethodSpec, ParamSpec } from './handler.js';

interface BoundParam {
  readonly name: string | undefined;
  readonly optional: boolean;
  readonly check: Validator | undefined;
  /** Where the schema says bigint: integers made bigints before the check. */
  readonly coerce: Coerce | undefined;
}

/** Everything binding needs about one function, worked out once. */
export interface Signature {
  readonly params: readonly BoundParam[];
  readonly rest: BoundParam | undefined;
  readonly returns: Validator | undefined;
  readonly byName: ReadonlyMap<string, number>;
  /** Number of leading parameters a caller must give. */
  readonly required: number;
  /** Whether the handler takes a `CallContext` after its parameters. */
  readonly takesContext: boolean;
}

const signatures = new WeakMap<object, Signature>();

/**
 * The signature of a marked function, built on first use and kept: per spec when the
 * spec lists the parameters (generated code shares one spec per method), else per function.
 */
export function signatureOf(fn: Function | undefined, spec: MethodSpec): Signature {
  const key = spec.params ? spec : fn!;
  let signature = signatures.get(key);
  if (!signature) {
    signature = buildSignature(fn, spec);
    signatures.set(key, signature);
  }
  return signature;
}

function compile(schema: TSchema | undefined): Validator | undefined {
  return schema ? compileSchema(schema) : undefined;
}

function buildSignature(fn: Function | undefined, spec: MethodSpec): Signature {
  const parsed = spec.params ? undefined : parseParams(fn!);
  const declared: readonly ParamSpec[] = spec.params ?? (spec.context ? parsed!.params.slice(0, -1) : parsed!.params);
  const restSpec = spec.rest ?? parsed?.rest;
  const params = declared.map((p) => ({ name: p.name || undefined, optional: !!p.optional, check: compile(p.schema), coerce: bigintCoercer(p.schema) }));
  const byName = new Map<string, number>();
  params.forEach((p, i) => p.name && byName.set(p.name, i));
  let required = 0;
  params.forEach((p, i) => !p.optional && (required = i + 1));
  const rest = restSpec && { name: restSpec.name, optional: true, check: compile(restSpec.schema), coerce: bigintCoercer(restSpec.schema) };
  return { params, rest, returns: compile(spec.returns), byName, required, takesContext: !rest };
}

type Kwargs = Readonly<Record<string, unknown>> | ReadonlyMap<unknown, unknown>;
const none: ReadonlyArray<[unknown, unknown]> = [];

/**
 * Binds wire arguments to parameter positions, as Python would, and checks each one.
 * The result has one slot per declared parameter (rest arguments after them).
 */
export function bindArguments(sig: Signature, method: string, args: unknown[], kwargs: Kwargs | undefined, maps = false): unknown[] {
  const params = sig.params;
  const count = params.length;
  const given = args.length;
  if (given > count && !sig.rest) {
    throw new ParameterError(`${method}: too many positional arguments (takes ${count}, got ${given})`);
  }
  // `args` is this call's own decoded array, so it is filled in place when it fits.
  const bound = given > count ? args.slice(0, count) : args;
  while (bound.length < count) bound.push(undefined);
  const entries = kwargs === undefined ? none : kwargs instanceof Map ? [...kwargs] : Object.entries(kwargs);
  for (const [key, value] of entries) {
    const index = typeof key === 'string' ? sig.byName.get(key) : undefined;
    if (index === undefined) throw new ParameterError(`${method}: got an unexpected keyword argument ${keyText(key)}`);
    if (index < given) throw new ParameterError(`${method}: multiple values for argument ${keyText(key)}`);
    bound[index] = value;
  }
  for (let i = given; i < sig.required; i++) {
    if (bound[i] === undefined && !params[i]!.optional) {
      throw new ParameterError(`${method}: missing a required argument: '${params[i]!.name ?? `#${i}`}'`);
    }
  }
  for (let i = 0; i < count; i++) {
    const param = params[i]!;
    if (!param.check) continue;
    // A skipped optional argument arrives as nil from JavaScript (`f(a, undefined, c)`)
    // and as None from Python: when the schema does not take null, it means "not given".
    if (bound[i] === null && param.optional && !param.check.Check(null)) bound[i] = undefined;
    if (param.coerce && bound[i] !== undefined) bound[i] = param.coerce(bound[i]);
    if (!(bound[i] === undefined && param.optional)) check(param, i, bound[i], method, maps);
  }
  if (given > count) {
    const rest = sig.rest!;
    for (let i = count; i < given; i++) {
      const value = rest.coerce ? rest.coerce(args[i]) : args[i];
      if (rest.check) check(rest, i, value, method, maps);
      bound.push(value);
    }
  }
  return bound;
}

function check(param: BoundParam, index: number, value: unknown, method: string, maps: boolean): void {
  const validator = param.check!;
  const label = param.name ? `"${param.name}"` : `#${index}`;
  if (!validator.Check(value)) throw new ParameterError(`${method}: parameter ${label} ${describeFailure(validator, value)}`);
  const map = maps ? misplacedMap(validator.Type(), value, validator.Context()) : undefined;
  if (map !== undefined) {
    throw new ParameterError(`${method}: parameter ${label} at ${map}: must be an object with string keys (got a map with non-string keys)`);
  }
}

/** Validates a handler's result against its declared return schema. */
export function checkReturn(sig: Signature, method: string, value: unknown): void {
  if (sig.returns && !sig.returns.Check(value)) {
    throw new ReturnValueError(`${method}: return value ${describeFailure(sig.returns, value)}`);
  }
}

/** Parameter names read from a function's source, for handlers given without a spec. */
export function parseParams(fn: Function): { params: ParamSpec[]; rest: ParamSpec | undefined } {
  const source = Function.prototype.toString.call(fn);
  const arrow = /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(source);
  const list = arrow ? arrow[1]! : paramList(source);
  const params: ParamSpec[] = [];
  let rest: ParamSpec | undefined;
  for (const raw of splitTopLevel(list)) {
    const text = raw.trim();
    if (!text) continue;
    if (text.startsWith('...')) {
      rest = { name: /^\.\.\.\s*([A-Za-z_$][\w$]*)/.exec(text)?.[1] ?? '' };
      break;
    }
    const name = /^([A-Za-z_$][\w$]*)/.exec(text)?.[1] ?? '';
    params.push({ name, optional: /^[^=]*=/.test(text.replace(/=>/g, '')) });
  }
  return { params, rest };
}

function paramList(source: string): string {
  const open = source.indexOf('(');
  if (open === -1) return '';
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    const c = source[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (--depth === 0) return source.slice(open + 1, i);
    } else if (c === '"' || c === "'" || c === '`') {
      i = skipString(source, i);
    }
  }
  return '';
}

function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === '"' || c === "'" || c === '`') i = skipString(list, i);
    else if (c === ',' && depth === 0) {
      parts.push(list.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(list.slice(start));
  return parts;
}

function skipString(text: string, open: number): number {
  const quote = text[open];
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === quote) return i;
  }
  return text.length;
}

/** A keyword as Python quotes it in its binding errors, cut and escaped: the caller chose it. */
function keyText(key: unknown): string {
  return typeof key === 'string' ? `'${clip(key, 100)}'` : describeValue(key, 100);
}
