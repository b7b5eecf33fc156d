/**
 * A server's schema made safe to check arguments with on this side, before sending.
 *
 * `pattern` and `patternProperties` are regular expressions the server chose, and
 * `format` is checked with them: one can backtrack for ever on a short argument, and
 * JavaScript cannot stop a running one, so `zrpc call` would hang before sending
 * anything. The server checks them anyway, so they are left out here. Leaving a check
 * out must only let more through, never refuse what the server would take: a part that
 * lost one goes too where it counts against the value (`not`, an `if` and its branches,
 * `oneOf`, `contains` with its counts), and so do `additionalProperties` and
 * `unevaluatedProperties` beside a `patternProperties`.
 */
import { isRecord } from './description.js';

/** Keywords that run a regular expression. */
const REGEX_KEYWORDS = new Set(['pattern', 'patternProperties', 'format']);
/** Keywords whose value is data: copied as it is (a `const` may well hold a key named `pattern`). */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'required']);
/** Keywords whose value maps names to schemas. */
const SCHEMA_MAPS = new Set(['properties', '$defs', 'definitions', 'dependentSchemas']);
/** Keywords whose subschema, made looser, refuses more; and what goes with each. */
const COUNTING_AGAINST: Record<string, readonly string[]> = {
  not: ['not'],
  if: ['if', 'then', 'else'],
  oneOf: ['oneOf'],
  contains: ['contains', 'minContains', 'maxContains'],
};

interface Loosened {
  schema: unknown;
  /** Whether a check was left out, here or below. */
  loosened: boolean;
}

/** `schema` without the checks above; the same object when it has none. */
export function withoutPeerPatterns(schema: unknown): unknown {
  const first = loosen(schema, false);
  if (!first.loosened) return schema;
  // A `$ref` may point to a part that lost a check: where that counts against the value, it goes.
  return loosen(schema, true).schema;
}

function loosen(schema: unknown, refsLoosened: boolean): Loosened {
  if (Array.isArray(schema)) {
    const items = schema.map((item) => loosen(item, refsLoosened));
    return { schema: items.map((item) => item.schema), loosened: items.some((item) => item.loosened) };
  }
  if (!isRecord(schema)) return { schema, loosened: false };
  const out: Record<string, unknown> = {};
  const parts = new Map<string, Loosened>();
  for (const [key, value] of Object.entries(schema)) {
    if (REGEX_KEYWORDS.has(key)) parts.set(key, { schema: undefined, loosened: true });
    else if (DATA_KEYWORDS.has(key)) put(out, key, value);
    else {
      const part = SCHEMA_MAPS.has(key) && isRecord(value) ? loosenMap(value, refsLoosened) : loosen(value, refsLoosened);
      parts.set(key, part);
      put(out, key, part.schema);
    }
  }
  for (const [keyword, goes] of Object.entries(COUNTING_AGAINST)) {
    if (parts.get(keyword)?.loosened) for (const key of goes) delete out[key];
  }
  if (parts.has('patternProperties')) {
    delete out.additionalProperties;
    delete out.unevaluatedProperties;
  }
  const loosened = (refsLoosened && typeof schema.$ref === 'string') || [...parts.values()].some((part) => part.loosened);
  return { schema: out, loosened };
}

function loosenMap(map: Record<string, unknown>, refsLoosened: boolean): Loosened {
  const out: Record<string, unknown> = {};
  let loosened = false;
  for (const [name, value] of Object.entries(map)) {
    const part = loosen(value, refsLoosened);
    put(out, name, part.schema);
    loosened ||= part.loosened;
  }
  return { schema: out, loosened };
}

/** Sets an own property, even one named `__proto__`. */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
