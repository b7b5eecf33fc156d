/**
 * Integers where a schema says `bigint`. msgpack has one integer type and the packer
 * decodes every safe integer to `number` (Python sends `1999`, and a JavaScript `1999n`
 * arrives the same way), so where a TypeBox schema types a value `bigint` (top level,
 * nested in objects, arrays, tuples, records, unions, cyclic types) a safe integer is
 * turned into a `bigint` before validation.
 *
 * The walk is planned once per schema; a schema with no `bigint` in it gets no plan at
 * all, so calls without bigints pay nothing. Values are never changed in place: what
 * changes is copied, so a caller's own objects stay as they were.
 */
import type { Validator } from 'typebox/compile';
import { compile } from './validation.js';
import type { TSchema } from 'typebox';

/** Returns the value with safe integers at bigint positions made bigints (a copy where anything changed). */
export type Coerce = (value: unknown) => unknown;

type Schema = Record<string, unknown>;
type Defs = Readonly<Record<string, Schema>>;

const plans = new WeakMap<object, Coerce | null>();

/** The coercion for `schema`, or `undefined` when it has no `bigint` anywhere. */
export function bigintCoercer(schema: TSchema | undefined): Coerce | undefined {
  if (!schema) return undefined;
  let plan = plans.get(schema);
  if (plan === undefined) {
    plan = new Planner().plan(schema as Schema, {}) ?? null;
    plans.set(schema, plan);
  }
  return plan ?? undefined;
}

/** Only integers the decoder could have produced for an int: a float beyond 2^53 is left alone. */
const toBigInt: Coerce = (value) => (Number.isSafeInteger(value) ? BigInt(value as number) : value);

const isRecord = (value: unknown): value is Record<string, unknown> => {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

class Planner {
  /** Plans under construction or done, by schema node: cycles resolve through a cell. */
  readonly #cells = new Map<object, { fn: Coerce | undefined; done: boolean }>();

  plan(schema: Schema, defs: Defs): Coerce | undefined {
    if (!this.#hasBigint(schema, defs, new Set())) return undefined;
    return this.#build(schema, defs);
  }

  /** Whether a bigint can appear anywhere under `schema` (refs followed, cycle-safe). */
  #hasBigint(schema: unknown, defs: Defs, seen: Set<unknown>): boolean {
    if (schema === null || typeof schema !== 'object' || seen.has(schema)) return false;
    seen.add(schema);
    const node = schema as Schema;
    if (node.type === 'bigint' || typeof node.const === 'bigint') return true;
    const scope = scoped(node, defs);
    if (typeof node.$ref === 'string') return this.#hasBigint(scope[node.$ref], scope, seen);
    for (const child of children(node)) if (this.#hasBigint(child, scope, seen)) return true;
    return false;
  }

  #build(schema: Schema, defs: Defs): Coerce | undefined {
    let cell = this.#cells.get(schema);
    if (cell) return cell.done ? cell.fn : (value) => cell!.fn?.(value) ?? value;
    cell = { fn: undefined, done: false };
    this.#cells.set(schema, cell);
    cell.fn = this.#hasBigint(schema, defs, new Set()) ? this.#node(schema, scoped(schema, defs)) : undefined;
    cell.done = true;
    return cell.fn;
  }

  #node(node: Schema, defs: Defs): Coerce | undefined {
    if (node.type === 'bigint' || typeof node.const === 'bigint') return toBigInt;
    if (typeof node.$ref === 'string') {
      const target = defs[node.$ref];
      return target ? this.#build(target, defs) : undefined;
    }
    if (Array.isArray(node.anyOf)) return this.#union(node, node.anyOf as Schema[], defs);
    if (Array.isArray(node.oneOf)) return this.#union(node, node.oneOf as Schema[], defs);
    if (Array.isArray(node.allOf)) return all((node.allOf as Schema[]).map((s) => this.#build(s, defs)));
    if (node.type === 'array') return this.#array(node, defs);
    if (node.type === 'object' || node.properties || node.patternProperties) return this.#object(node, defs);
    return undefined;
  }

  #array(node: Schema, defs: Defs): Coerce | undefined {
    const tuple = Array.isArray(node.prefixItems) ? node.prefixItems : Array.isArray(node.items) ? node.items : undefined;
    const positions = (tuple as Schema[] | undefined)?.map((s) => this.#build(s, defs)) ?? [];
    const restSchema = tuple ? (Array.isArray(node.items) ? node.additionalItems : node.items) : node.items;
    const rest = isSchema(restSchema) ? this.#build(restSchema, defs) : undefined;
    return (value) => {
      if (!Array.isArray(value)) return value;
      let out: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const coerce = i < positions.length ? positions[i] : rest;
        if (!coerce) continue;
        const next = coerce(value[i]);
        if (next !== value[i]) (out ??= [...value])[i] = next;
      }
      return out ?? value;
    };
  }

  #object(node: Schema, defs: Defs): Coerce | undefined {
    const props = new Map<string, Coerce>();
    const declared = (node.properties as Record<string, Schema> | undefined) ?? {};
    for (const [key, s] of Object.entries(declared)) {
      const coerce = this.#build(s, defs);
      if (coerce) props.set(key, coerce);
    }
    // Records: TypeBox spells them as pattern properties; every other key takes that schema.
    const patterns = Object.values((node.patternProperties as Record<string, Schema> | undefined) ?? {});
    const extra = isSchema(node.additionalProperties) ? node.additionalProperties : patterns[0];
    const others = extra ? this.#build(extra, defs) : undefined;
    return (value) => {
      if (!isRecord(value)) return value;
      let out: Record<string, unknown> | undefined;
      for (const key of Object.keys(value)) {
        const coerce = props.get(key) ?? (Object.hasOwn(declared, key) ? undefined : others);
        if (!coerce) continue;
        const next = coerce(value[key]);
        if (next !== value[key]) (out ??= { ...value })[key] = next;
      }
      return out ?? value;
    };
  }

  /**
   * A value the union already accepts is kept (`number | bigint` keeps its number);
   * otherwise the first variant whose coercion makes the value valid wins.
   */
  #union(node: Schema, variants: Schema[], defs: Defs): Coerce | undefined {
    const plans = variants.map((s) => this.#build(s, defs));
    const candidates = variants.flatMap((s, i) => (plans[i] ? [{ coerce: plans[i], schema: s }] : []));
    if (candidates.length === 0) return undefined;
    let whole: Validator | undefined;
    const checks = new Map<Schema, Validator>();
    const check = (schema: Schema, value: unknown): boolean => {
      let validator = checks.get(schema);
      if (!validator) checks.set(schema, (validator = compile(schema as never, defs as never)));
      return validator.Check(value);
    };
    return (value) => {
      whole ??= compile(node as never, defs as never);
      if (whole.Check(value)) return value;
      for (const { coerce, schema } of candidates) {
        const next = coerce(value);
        if (next !== value && check(schema, next)) return next;
      }
      return value;
    };
  }
}

/** The definitions in force under `node`: a cyclic type brings its own. */
function scoped(node: Schema, defs: Defs): Defs {
  return isSchema(node.$defs) ? { ...defs, ...(node.$defs as Defs) } : defs;
}

function isSchema(value: unknown): value is Schema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Every sub-schema a value under `node` may be checked against. */
function children(node: Schema): unknown[] {
  const out: unknown[] = [];
  for (const key of ['items', 'prefixItems', 'additionalItems', 'additionalProperties', 'anyOf', 'oneOf', 'allOf']) {
    const child = node[key];
    if (Array.isArray(child)) out.push(...child);
    else if (isSchema(child)) out.push(child);
  }
  for (const key of ['properties', 'patternProperties']) {
    if (isSchema(node[key])) out.push(...Object.values(node[key] as Schema));
  }
  return out;
}

function all(plans: Array<Coerce | undefined>): Coerce | undefined {
  const present = plans.filter((p): p is Coerce => p !== undefined);
  if (present.length <= 1) return present[0];
  return (value) => present.reduce((v, coerce) => coerce(v), value);
}
