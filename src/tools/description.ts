/**
 * What a server answered to `zrpc:describe`, checked for the shape the tools read
 * before they read it: a hostile or broken server may send anything, and a local
 * TypeError would pass for the server's error.
 */

/** What is wrong with `value` as a description (`methods[0] is null (expected ...)`), or undefined. */
export function descriptionProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return `it is ${kindOf(value)} (expected a map with pattern and methods)`;
  if (typeof value.pattern !== 'string') return wrong('pattern', value.pattern, 'a string');
  if (!Array.isArray(value.methods)) return wrong('methods', value.methods, 'an array');
  if (value.truncated != null && typeof value.truncated !== 'boolean') return wrong('truncated', value.truncated, 'a boolean');
  for (let i = 0; i < value.methods.length; i++) {
    const problem = methodProblem(value.methods[i], `methods[${i}]`);
    if (problem) return problem;
  }
  return undefined;
}

function methodProblem(method: unknown, at: string): string | undefined {
  if (!isRecord(method)) return wrong(at, method, 'a map with name and params');
  if (typeof method.name !== 'string') return wrong(`${at}.name`, method.name, 'a string');
  if (!Array.isArray(method.params)) return wrong(`${at}.params`, method.params, 'an array');
  for (let i = 0; i < method.params.length; i++) {
    const problem = paramProblem(method.params[i], `${at}.params[${i}]`);
    if (problem) return problem;
  }
  if (method.rest != null) {
    const problem = paramProblem(method.rest, `${at}.rest`);
    if (problem) return problem;
  }
  if (method.returns != null && !isRecord(method.returns)) return wrong(`${at}.returns`, method.returns, 'a schema (a map)');
  if (method.doc != null && typeof method.doc !== 'string') return wrong(`${at}.doc`, method.doc, 'a string');
  if (method.throws == null) return undefined;
  if (!Array.isArray(method.throws)) return wrong(`${at}.throws`, method.throws, 'an array');
  for (let i = 0; i < method.throws.length; i++) {
    const thrown: unknown = method.throws[i];
    const where = `${at}.throws[${i}]`;
    if (!isRecord(thrown)) return wrong(where, thrown, 'a map with name');
    if (typeof thrown.name !== 'string') return wrong(`${where}.name`, thrown.name, 'a string');
    if (thrown.doc != null && typeof thrown.doc !== 'string') return wrong(`${where}.doc`, thrown.doc, 'a string');
  }
  return undefined;
}

function paramProblem(param: unknown, at: string): string | undefined {
  if (!isRecord(param)) return wrong(at, param, 'a map with name');
  if (typeof param.name !== 'string') return wrong(`${at}.name`, param.name, 'a string');
  if (param.optional != null && typeof param.optional !== 'boolean') return wrong(`${at}.optional`, param.optional, 'a boolean');
  if (param.schema != null && !isRecord(param.schema)) return wrong(`${at}.schema`, param.schema, 'a schema (a map)');
  if (param.doc != null && typeof param.doc !== 'string') return wrong(`${at}.doc`, param.doc, 'a string');
  return undefined;
}

function wrong(at: string, value: unknown, expected: string): string {
  return `${at} is ${kindOf(value)} (expected ${expected})`;
}

/** A map decoded from msgpack: a plain object (a map with non-string keys decodes as a Map). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function kindOf(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  if (value instanceof Map) return 'a map with non-string keys';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'object') return isRecord(value) ? 'a map' : 'an object';
  return `a ${typeof value}`;
}
