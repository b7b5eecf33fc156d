/**
 * A call's arguments as typed on a command line:
 *
 *   '[1, "a"]'          positional arguments, one JSON array (first, at most once)
 *   b=2  name=alice     a named argument: the value is JSON when it parses as JSON, and
 *                       otherwise the text itself (name=alice is "alice"; s='"2"' is "2")
 *   --kw '{"b": 2}'     named arguments as one JSON object
 *
 * Values may use the tagged forms of json.ts ({"$bigint": "123"}, ...).
 */
import { InputError, fromJson, parseJson } from './json.js';

export interface CallArguments {
  args: unknown[];
  /** Named arguments, or undefined when there are none. */
  kwargs: Record<string, unknown> | undefined;
}

/** Text that would have been JSON had it not been mistyped: refused rather than sent as a string. */
const LOOKS_LIKE_JSON = /^\s*(?:[[{"]|-?\d|-$|true\b|false\b|null\b)/;

export function parseCallArguments(words: readonly string[], kw?: string): CallArguments {
  let args: unknown[] | undefined;
  const kwargs: Record<string, unknown> = {};
  let named = false;
  const put = (key: string, value: unknown, where: string) => {
    if (Object.hasOwn(kwargs, key)) throw new InputError(`${where}: named argument ${key} is given twice`);
    kwargs[key] = value;
    named = true;
  };
  if (kw !== undefined) {
    const object = parseJson(kw, '--kw');
    if (object === null || typeof object !== 'object' || Array.isArray(object) || object instanceof Map) {
      throw new InputError(`--kw must be a JSON object of named arguments, like '{"b": 2}'`);
    }
    for (const [key, value] of Object.entries(object)) put(key, value, '--kw');
  }
  words.forEach((word, i) => {
    const eq = /^([A-Za-z_$][\w$]*)=/.exec(word);
    if (eq) {
      const key = eq[1]!;
      const text = word.slice(eq[0].length);
      put(key, namedValue(key, text), `argument ${key}`);
      return;
    }
    if (word.trimStart().startsWith('[')) {
      if (args) throw new InputError(`positional arguments are one JSON array; got a second one: ${word}`);
      if (i > 0) throw new InputError(`the JSON array of positional arguments comes before named ones: ${word}`);
      const parsed = parseJson(word, 'positional arguments');
      args = parsed as unknown[];
      return;
    }
    throw new InputError(`cannot read argument ${JSON.stringify(word)}: give positional arguments as one JSON array ('[1, "a"]') and named ones as name=value`);
  });
  return { args: args ?? [], kwargs: named ? kwargs : undefined };
}

function namedValue(key: string, text: string): unknown {
  try {
    return fromJson(JSON.parse(text), key);
  } catch (error) {
    if (error instanceof InputError) throw error;
    if (LOOKS_LIKE_JSON.test(text)) throw new InputError(`${key}=${text}: not valid JSON (${(error as Error).message}); quote a string as ${key}='"…"'`);
    return text;
  }
}
