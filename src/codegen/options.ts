/**
 * `generate`'s options, checked when it is called: JavaScript callers and spread objects
 * get past TypeScript, and a misspelt key (`out` for `outDir`) would otherwise surface
 * as a path error from deep inside Node.
 */
import { closest } from './tags.js';

export interface GenerateOptions {
  /** Input files declaring services (`@rpc`, `@pipeline`, `@pubsub` interfaces); see `expandInputs` for folders and globs. */
  inputs: readonly string[];
  /** Folder for the generated modules; an input's path under the inputs' common folder is kept. */
  outDir: string;
  /** Compare with what is on disk and write nothing. */
  check?: boolean;
  /** Resolves relative paths. Default: `process.cwd()`. */
  cwd?: string;
  /**
   * The tsconfig.json whose compiler options (`paths`, `baseUrl`, `lib`, ...) the inputs are
   * read with. Default: the nearest tsconfig.json in `cwd` or above; `false`: none.
   */
  project?: string | false;
}

interface Rule {
  /** Whether a value, `undefined` for a key left out, will do. */
  accepts: (value: unknown) => boolean;
  /** What the value must be, for the message. */
  expected: string;
}

/** Each option, and what it takes; typed so that a new option needs a rule. */
const rules: { readonly [K in keyof Required<GenerateOptions>]: Rule } = {
  inputs: {
    accepts: (v) => Array.isArray(v) && v.every((p) => typeof p === 'string'),
    expected: "an array of file paths, such as ['src/api/shop.ts'] (expandInputs turns folders and globs into them)",
  },
  outDir: { accepts: (v) => typeof v === 'string', expected: "the folder for the generated modules, such as 'src/generated'" },
  check: { accepts: (v) => v === undefined || typeof v === 'boolean', expected: 'true or false' },
  cwd: { accepts: (v) => v === undefined || typeof v === 'string', expected: 'the path of a folder' },
  project: { accepts: (v) => v === undefined || v === false || typeof v === 'string', expected: 'the path of a tsconfig.json, or false for none' },
};

/**
 * Throws a `TypeError` unless `options` is an object of `generate`'s options with values
 * of their types; `caller` names the function in the message.
 */
export function checkGenerateOptions(options: unknown, caller: string): asserts options is GenerateOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${caller} takes an options object, such as { inputs: ['src/api/shop.ts'], outDir: 'src/generated' }; got ${kindOf(options)}`);
  }
  const known = Object.keys(rules).sort();
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(rules, key)) continue;
    const guess = nearest(key, known);
    throw new TypeError(`${caller}: unknown option ${JSON.stringify(key)}${guess ? ` (did you mean ${guess}?)` : ''}; it takes ${known.join(', ')}`);
  }
  for (const [key, rule] of Object.entries(rules)) {
    const value = (options as Record<string, unknown>)[key];
    if (!rule.accepts(value)) throw new TypeError(`${caller}: ${key} must be ${rule.expected}; got ${kindOf(value, key)}`);
  }
}

/** The option a wrong key was probably meant to be: `out` (the CLI's flag) is `outDir`. */
function nearest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  return (lower.length >= 3 ? known.find((k) => k.toLowerCase().startsWith(lower)) : undefined) ?? closest(key, known);
}

/** A value's kind for a message: `a string`, `null`, `a number at inputs[1]`. */
function kindOf(value: unknown, key = ''): string {
  if (value === undefined || value === null || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const at = value.findIndex((item) => typeof item !== 'string');
    return at < 0 ? 'an array' : `${kindOf(value[at])} at ${key}[${at}]`;
  }
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
