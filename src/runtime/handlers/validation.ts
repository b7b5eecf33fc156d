/**
 * TypeBox validators for parameters and return values, and the text of a failure.
 *
 * Checking is TypeBox's compiled `Check`. Explaining a failure is where a hostile caller
 * could make a server work hard: TypeBox's `Errors` interprets the whole value and
 * collects every error, so a million bad items would cost a million error objects. The
 * explanation therefore first narrows the value to the part that fails, with compiled
 * checks of sub-schemas (as fast as accepting it), and asks `Errors` about that part only.
 */
import { createRequire } from 'node:module';
import type { Validator } from 'typebox/compile';
import type { TSchema } from 'typebox';
import { describeValue } from '../errors/describe.js';

type Schema = TSchema & Record<string, unknown>;
type Defs = Record<string, TSchema>;

const compiled = new WeakMap<TSchema, Validator>();

// TypeBox's compiler costs more to load than the rest of zrpc, and many processes never
// compile a schema (clients without checkArguments): it is loaded with the first schema,
// synchronously (require of an ES module, Node 20.19+), so binding stays synchronous.
const require = createRequire(import.meta.url);
let Compile: typeof import('typebox/compile').Compile | undefined;

/** @internal Validators compiled so far, process-wide: tests read it to see which paths compile. */
export const validatorWork = { compiled: 0 };

/** A validator for `schema`, compiled once per schema object. */
export function compile(schema: TSchema, defs?: Defs): Validator {
  let validator = compiled.get(schema);
  if (!validator) {
    Compile ??= (require('typebox/compile') as typeof import('typebox/compile')).Compile;
    validator = defs ? Compile(defs, schema) : Compile(schema);
    compiled.set(schema, validator);
    validatorWork.compiled++;
  }
  return validator;
}

/** How many levels narrowing goes down before it settles for the part it has. */
const MAX_NARROW = 32;

/** `at /items/0: must be number (got "x")`, for a value `validator` refused. */
export function describeFailure(validator: Validator, value: unknown): string {
  let schema = validator.Type() as Schema;
  const defs: Defs = { ...(validator.Context() as Defs), ...((schema.$defs as Defs | undefined) ?? {}) };
  let path = '';
  try {
    for (let depth = 0; depth < MAX_NARROW; depth++) {
      const ref = typeof schema.$ref === 'string' ? defs[schema.$ref] : undefined;
      if (ref) schema = ref as Schema;
      const allowed = literalChoices(schema, defs);
      if (allowed) return `${path ? `at ${path}: ` : ''}must be one of ${allowed} (got ${describeValue(value, 60)})`;
      const union = unionBranch(schema, value, defs);
      if (union) {
        schema = union;
        continue;
      }
      const extra = undeclaredKey(schema, value);
      if (extra !== undefined) return `${path ? `at ${path}: ` : ''}has a property ${describeValue(extra, 60)} the type does not declare`;
      const inner = failingPart(schema, value, defs);
      if (!inner) break;
      path += `/${String(inner.key).replaceAll('~', '~0').replaceAll('/', '~1')}`;
      schema = inner.schema;
      value = inner.value;
    }
    // TypeBox's Errors walks the whole value and collects every error: only for a part
    // small enough that this costs no more than the check did.
    if (!isSmall(value)) throw new Error('too large to explain');
    const [first] = compile(shallow(schema), defs).Errors(value);
    if (first) {
      const at = path + first.instancePath;
      return `${at ? `at ${at}: ` : ''}${first.message} (got ${describeValue(valueAt(value, first.instancePath), 60)})`;
    }
  } catch {
    // A schema narrowing cannot follow: say where it got to.
  }
  return `${path ? `at ${path}: ` : ''}does not match the declared type (got ${describeValue(value, 60)})`;
}

/**
 * For a union, the one branch that can explain the failure: the only branch of the
 * value's own JSON type (a `number[] | null` given an array is explained as `number[]`).
 */
function unionBranch(schema: Schema, value: unknown, defs: Defs): Schema | undefined {
  const branches = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (!Array.isArray(branches)) return undefined;
  const type = jsonType(value);
  const fitting = branches
    .map((branch) => (typeof branch.$ref === 'string' && defs[branch.$ref] ? (defs[branch.$ref] as Schema) : branch))
    .filter((branch) => branch.type === type || (type === 'integer' && branch.type === 'number') || (type === 'number' && branch.type === 'integer'));
  return fitting.length === 1 ? fitting[0] : undefined;
}

/**
 * For a union of literals (`'EUR' | 'USD'`, an enum), the values it takes, as a list to
 * quote: TypeBox would say only "must be equal to constant", once per branch.
 */
function literalChoices(schema: Schema, defs: Defs): string | undefined {
  const branches = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (!Array.isArray(branches) || branches.length === 0) return undefined;
  const values: unknown[] = [];
  for (const branch of branches) {
    const resolved = typeof branch.$ref === 'string' && defs[branch.$ref] ? (defs[branch.$ref] as Schema) : branch;
    // `'EUR' | 'USD' | null` (Python's Optional[Literal[...]]): null is one more value.
    if ('const' in resolved) values.push(resolved.const);
    else if (resolved.type === 'null') values.push(null);
    else return undefined;
  }
  const shown = values.slice(0, 10).map((v) => describeValue(v, 40));
  return values.length > 10 ? `${shown.join(', ')}, ... (${values.length} in all)` : shown.join(', ');
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** A property of a plain object that a closed object type (`additionalProperties: false`) does not declare. */
function undeclaredKey(schema: Schema, value: unknown): string | undefined {
  if (schema.additionalProperties !== false || value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  if (value instanceof Map || ArrayBuffer.isView(value)) return undefined;
  const properties = isSchema(schema.properties) ? schema.properties : {};
  const patterns = isSchema(schema.patternProperties) ? Object.keys(schema.patternProperties).map((p) => new RegExp(p, 'u')) : [];
  for (const key in value) {
    if (Object.hasOwn(value, key) && !Object.hasOwn(properties, key) && !patterns.some((p) => p.test(key))) return key;
  }
  return undefined;
}

/** Whether a value has at most `limit` parts (items, properties, nested), counted with bounded work. */
function isSmall(value: unknown, limit = 1000): boolean {
  let budget = limit;
  const visit = (v: unknown): boolean => {
    if (--budget < 0) return false;
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return true;
    if (Array.isArray(v)) return v.length <= budget && v.every(visit);
    if (v instanceof Map) return v.size <= budget;
    for (const key in v) if (!visit((v as Record<string, unknown>)[key])) return false;
    return true;
  };
  return visit(value);
}

/** The first item or property of `value` that fails its own sub-schema, if there is one to blame. */
function failingPart(schema: Schema, value: unknown, defs: Defs): { key: string | number; schema: Schema; value: unknown } | undefined {
  if (Array.isArray(value)) {
    const prefix = Array.isArray(schema.prefixItems) ? (schema.prefixItems as Schema[]) : [];
    const items = isSchema(schema.items) ? schema.items : undefined;
    for (let i = 0; i < value.length; i++) {
      const sub = i < prefix.length ? prefix[i] : items;
      if (!sub) break;
      if (!compile(sub, defs).Check(value[i])) return { key: i, schema: sub, value: value[i] };
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object' || value instanceof Map || ArrayBuffer.isView(value)) return undefined;
  const properties = isSchema(schema.properties) ? (schema.properties as Record<string, Schema>) : {};
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(properties)) {
    if (!Object.hasOwn(record, key)) continue;
    const sub = properties[key]!;
    if (!compile(sub, defs).Check(record[key])) return { key, schema: sub, value: record[key] };
  }
  const patterns = isSchema(schema.patternProperties) ? Object.entries(schema.patternProperties as Record<string, Schema>) : [];
  const additional = isSchema(schema.additionalProperties) ? schema.additionalProperties : undefined;
  if (patterns.length === 0 && !additional) return undefined;
  const regexps = patterns.map(([pattern, sub]) => [new RegExp(pattern, 'u'), sub] as const);
  for (const key of Object.keys(record)) {
    if (Object.hasOwn(properties, key)) continue;
    const sub = regexps.find(([regexp]) => regexp.test(key))?.[1] ?? additional;
    if (sub && !compile(sub, defs).Check(record[key])) return { key, schema: sub, value: record[key] };
  }
  return undefined;
}

const shallowed = new WeakMap<Schema, Schema>();

/**
 * The schema with its items and properties accepting anything: once no item or property
 * fails on its own, the failure is the container's (a count, a missing key), and `Errors`
 * need not walk the values again.
 */
function shallow(schema: Schema): Schema {
  if (!isSchema(schema.items) && !isSchema(schema.properties) && !isSchema(schema.patternProperties) && !isSchema(schema.additionalProperties)) {
    return schema;
  }
  let copy = shallowed.get(schema);
  if (!copy) {
    copy = { ...schema };
    if (isSchema(schema.items)) copy.items = {};
    if (isSchema(schema.properties)) copy.properties = Object.fromEntries(Object.keys(schema.properties).map((k) => [k, {}]));
    if (isSchema(schema.patternProperties)) copy.patternProperties = Object.fromEntries(Object.keys(schema.patternProperties).map((k) => [k, {}]));
    if (isSchema(schema.additionalProperties)) copy.additionalProperties = {};
    shallowed.set(schema, copy);
  }
  return copy;
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueAt(value: unknown, pointer: string): unknown {
  let current = value;
  for (const part of pointer.split('/').slice(1)) {
    const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
    if (current === null || typeof current !== 'object' || current instanceof Map) return current;
    const property = Object.getOwnPropertyDescriptor(current, key);
    current = property && 'value' in property ? property.value : undefined;
  }
  return current;
}

/**
 * Where a `Map` (a msgpack map with a non-string key) sits in `value` at a place whose
 * schema asks for an object or anything narrower: a JSON-Schema object check would let
 * it through, having no string keys to look at. `undefined` when there is none.
 */
export function misplacedMap(schema: TSchema, value: unknown, defs?: Defs): string | undefined {
  return findMap(schema as Schema, value, '', { ...defs, ...((schema as Schema).$defs as Defs | undefined) }, 0);
}

function findMap(schema: Schema, value: unknown, path: string, defs: Defs, depth: number): string | undefined {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return undefined;
  if (depth > 64) return undefined;
  if (typeof schema.$ref === 'string' && defs[schema.$ref]) schema = defs[schema.$ref] as Schema;
  if (value instanceof Map) return acceptsAnything(schema) ? undefined : path || '/';
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    // A union is satisfied if some branch that takes the value takes it with its maps.
    if (Array.isArray(branches)) {
      let found: string | undefined = path || '/';
      for (const branch of branches as Schema[]) {
        if (!compile(branch, defs).Check(value)) continue;
        found = findMap(branch, value, path, defs, depth + 1);
        if (found === undefined) return undefined;
      }
      return found;
    }
  }
  if (Array.isArray(schema.allOf)) {
    for (const branch of schema.allOf as Schema[]) {
      const found = findMap(branch, value, path, defs, depth + 1);
      if (found !== undefined) return found;
    }
  }
  if (Array.isArray(value)) {
    const prefix = Array.isArray(schema.prefixItems) ? (schema.prefixItems as Schema[]) : [];
    const items = isSchema(schema.items) ? schema.items : {};
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item === null || typeof item !== 'object') continue;
      const found = findMap(prefix[i] ?? items, item, `${path}/${i}`, defs, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const properties = isSchema(schema.properties) ? (schema.properties as Record<string, Schema>) : {};
  const patterns = isSchema(schema.patternProperties) ? Object.entries(schema.patternProperties as Record<string, Schema>) : [];
  const additional = isSchema(schema.additionalProperties) ? schema.additionalProperties : {};
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    if (item === null || typeof item !== 'object') continue;
    const sub = properties[key] ?? patterns.find(([pattern]) => new RegExp(pattern, 'u').test(key))?.[1] ?? additional;
    const found = findMap(sub, item, `${path}/${key}`, defs, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A schema with no keyword that constrains the value: `Type.Unknown()`, `Type.Any()`. */
function acceptsAnything(schema: Schema): boolean {
  for (const key in schema) {
    if (key !== '$id' && key !== 'description' && key !== 'title' && key !== '$defs' && key !== 'default' && key !== 'examples') return false;
  }
  return true;
}
