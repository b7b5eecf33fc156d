/**
 * Values between a terminal's JSON and msgpack. JSON has no bigint, bytes, date or map
 * with non-string keys, so those travel as one-key objects, the same forms in both
 * directions:
 *
 *   {"$bigint": "123"}   {"$bytes": "<base64>"}   {"$date": "<ISO 8601>"}
 *   {"$map": [[key, value], ...]}   {"$number": "NaN" | "Infinity" | "-Infinity"}
 *
 * Values JSON cannot hold otherwise (Python's date, time, timedelta, translator classes)
 * are printed as {"$object": "<class>", "text": "<String(value)>"}; they cannot be sent.
 */

/** The tags `fromJson` reads. */
const TAGS = ['$bigint', '$bytes', '$date', '$map', '$number'] as const;

/** A bad value on the command line: the message says where and what is wrong. */
export class InputError extends Error {
  override name = 'InputError';
}

/** `value` (as decoded from msgpack) as JSON-ready data, with the tagged forms above. */
export function toJson(value: unknown, depth = 0): unknown {
  if (depth > 256) return { $object: 'nesting', text: 'deeper than 256 levels' };
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : { $number: String(value) };
    case 'bigint':
      return { $bigint: value.toString() };
    case 'undefined':
      return null;
    case 'object':
      break;
    default:
      return { $object: typeof value, text: String(value) };
  }
  if (value === null) return null;
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString() };
  if (Array.isArray(value)) return value.map((item) => toJson(item, depth + 1));
  if (value instanceof Map) return { $map: [...value].map(([k, v]) => [toJson(k, depth + 1), toJson(v, depth + 1)]) };
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return { $object: proto?.constructor?.name ?? 'object', text: String(value) };
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = toJson(item, depth + 1);
  return out;
}

/** Parses JSON text given on the command line and decodes the tagged forms; `where` names it in errors. */
export function parseJson(text: string, where: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${where} is not valid JSON (${(error as Error).message}): ${clip(text)}`);
  }
  return fromJson(parsed, where);
}

/** JSON data with the tagged forms decoded to bigint, bytes, Date and Map. */
export function fromJson(value: unknown, where: string): unknown {
  if (Array.isArray(value)) return value.map((item, i) => fromJson(item, `${where}[${i}]`));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  const record = value as Record<string, unknown>;
  if (keys.length === 1 && keys[0]!.startsWith('$')) return tagged(keys[0]!, record[keys[0]!], where);
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = fromJson(record[key], `${where}.${key}`);
  return out;
}

function tagged(tag: string, body: unknown, where: string): unknown {
  const bad = (what: string) => new InputError(`${where}: ${tag} takes ${what} (got ${clip(JSON.stringify(body))})`);
  switch (tag) {
    case '$bigint':
      if (typeof body !== 'string' || !/^-?\d+$/.test(body)) throw bad('a string of decimal digits');
      return BigInt(body);
    case '$bytes':
      if (typeof body !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw bad('a base64 string');
      return new Uint8Array(Buffer.from(body, 'base64'));
    case '$date': {
      const date = typeof body === 'string' ? new Date(body) : undefined;
      if (!date || Number.isNaN(date.getTime())) throw bad('an ISO 8601 date string');
      return date;
    }
    case '$map':
      if (!Array.isArray(body) || !body.every((e) => Array.isArray(e) && e.length === 2)) throw bad('an array of [key, value] pairs');
      return new Map(body.map(([k, v], i) => [fromJson(k, `${where}.$map[${i}][0]`), fromJson(v, `${where}.$map[${i}][1]`)]));
    case '$number':
      if (body !== 'NaN' && body !== 'Infinity' && body !== '-Infinity') throw bad('"NaN", "Infinity" or "-Infinity"');
      return Number(body);
    default:
      throw new InputError(`${where}: unknown tagged value ${tag} (the forms are ${TAGS.join(', ')}; to send a key starting with $, give the object a second key or use {"$map": ...})`);
  }
}

function clip(text: string | undefined): string {
  const t = String(text);
  return t.length > 80 ? `${t.slice(0, 80)}…` : t;
}
