/**
 * A `ServiceDescription` (what a server answers to `zrpc:describe`) for a person:
 * each method as a TypeScript-like signature, with its doc and declared errors. Every
 * text in it is the server's, so each goes through `peerText` (escaped, cut); the
 * description's shape is checked before (`descriptionProblem`).
 */
import type { JsonSchema, MethodDescription, ParamDescription, ServiceDescription } from 'zrpc';
import { toJson } from './json.js';
import { MAX_PEER_NAME, peerLines, peerText } from './terminal.js';

/** A type written out up to this depth; deeper parts print as `…`. */
const MAX_DEPTH = 6;
const MAX_TEXT = 240;

export function formatDescription(description: ServiceDescription, endpoint: string): string {
  const count = description.methods.length;
  const lines = [`${peerText(description.pattern, MAX_PEER_NAME)} service at ${endpoint}: ${count} method${count === 1 ? '' : 's'}${description.truncated ? ' (list cut short by the server)' : ''}`];
  for (const method of description.methods) lines.push('', ...formatMethod(method));
  return lines.join('\n');
}

export function formatMethod(method: MethodDescription): string[] {
  const params = method.params.map(paramText);
  if (method.rest) params.push(`...${method.rest.name ? peerText(method.rest.name, MAX_PEER_NAME) : 'args'}: ${method.rest.schema ? `Array<${typeText(method.rest.schema)}>` : 'unknown[]'}`);
  const lines = [`${peerText(method.name, MAX_PEER_NAME)}(${params.join(', ')})${method.returns ? `: ${typeText(method.returns)}` : ''}`];
  for (const line of peerLines(method.doc ?? '')) if (line.trim()) lines.push(`    ${line.trim()}`);
  for (const p of [...method.params, ...(method.rest ? [method.rest] : [])]) if (p.doc) lines.push(`    ${peerText(p.name, MAX_PEER_NAME)}: ${peerText(p.doc)}`);
  for (const t of method.throws ?? []) lines.push(`    throws ${peerText(t.name, MAX_PEER_NAME)}${t.doc ? `: ${peerText(t.doc)}` : ''}`);
  return lines;
}

function paramText(p: ParamDescription): string {
  return `${p.name ? peerText(p.name, MAX_PEER_NAME) : '?'}${p.optional ? '?' : ''}${p.schema ? `: ${typeText(p.schema)}` : ''}`;
}

/** A JSON Schema as a short TypeScript-like type, with constraints in parentheses. */
export function typeText(schema: JsonSchema): string {
  // Names, $refs and patterns in it are the server's: escaped with the rest.
  return peerText(write(schema, 0), MAX_TEXT);
}

const CONSTRAINTS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'pattern', 'format', 'minItems', 'maxItems'];

function write(schema: unknown, depth: number): string {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return 'unknown';
  if (depth > MAX_DEPTH) return '…';
  const s = schema as Record<string, unknown>;
  const kind = s['x-zrpc'];
  if (kind === 'date') return 'Date';
  if (kind === 'bytes') return 'bytes';
  if (typeof kind === 'string' && kind.startsWith('instance:')) return kind.slice('instance:'.length);
  if (typeof s.$ref === 'string') return s.$ref;
  const base = baseType(s, depth);
  const limits = CONSTRAINTS.filter((k) => s[k] !== undefined).map((k) => `${k} ${typeof s[k] === 'string' || typeof s[k] === 'bigint' ? String(s[k]) : valueText(s[k])}`);
  return limits.length > 0 ? `${base} (${limits.join(', ')})` : base;
}

function baseType(s: Record<string, unknown>, depth: number): string {
  if ('const' in s) return valueText(s.const);
  if (Array.isArray(s.enum)) return s.enum.map(valueText).join(' | ');
  for (const key of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(s[key])) return (s[key] as unknown[]).map((b) => write(b, depth + 1)).join(' | ');
  }
  if (Array.isArray(s.allOf)) return (s.allOf as unknown[]).map((b) => write(b, depth + 1)).join(' & ');
  const type = s.type;
  if (Array.isArray(type)) return type.map((t) => (typeof t === 'string' ? t : 'unknown')).join(' | ');
  switch (type) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'null':
    case 'bigint':
      return type;
    case 'integer':
      return 'integer';
    case 'array':
      return arrayType(s, depth);
    case 'object':
      return objectType(s, depth);
    default:
      return 'unknown';
  }
}

function arrayType(s: Record<string, unknown>, depth: number): string {
  if (Array.isArray(s.prefixItems)) {
    const items = (s.prefixItems as unknown[]).map((b) => write(b, depth + 1));
    if (s.items && typeof s.items === 'object') items.push(`...${write(s.items, depth + 1)}[]`);
    return `[${items.join(', ')}]`;
  }
  return `Array<${s.items && typeof s.items === 'object' ? write(s.items, depth + 1) : 'unknown'}>`;
}

function objectType(s: Record<string, unknown>, depth: number): string {
  const properties = s.properties && typeof s.properties === 'object' ? (s.properties as Record<string, unknown>) : {};
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  const members = Object.entries(properties).map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}${required.has(k) ? '' : '?'}: ${write(v, depth + 1)}`);
  const extra = s.patternProperties && typeof s.patternProperties === 'object' ? Object.values(s.patternProperties as object)[0] : s.additionalProperties;
  if (extra && typeof extra === 'object') members.push(`[key: string]: ${write(extra, depth + 1)}`);
  return members.length > 0 ? `{ ${members.join('; ')} }` : '{}';
}

/** A value in a schema (a const, an enum member, a limit) as JSON, bigint and bytes included. */
function valueText(value: unknown): string {
  return JSON.stringify(toJson(value)) ?? 'undefined';
}
