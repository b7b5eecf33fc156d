/**
 * JSDoc constraints (`@minimum 1`, `@maxLength 64`, `@pattern ^[a-z]+$`, `@integer`, ...)
 * on properties and parameters, turned into schema keywords on the type they annotate.
 *
 * Properties carry them in their JSDoc; parameters in a JSDoc comment written just
 * before the parameter: `add(/** @minimum 0 *\/ amount: number)`.
 */
import type { Node } from 'ts-morph';
import { Code, diagnosticAt, diagnosticAtPos, type Diagnostic, type Site } from './diagnostics.js';
import { checkTags } from './tags.js';
import type { Constraints, TypeNode } from './model.js';

export interface ParsedConstraints {
  integer: boolean | undefined;
  keywords: Constraints;
}

const numeric = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'] as const;
const counts = ['minLength', 'maxLength', 'minItems', 'maxItems'] as const;
const strings = ['pattern', 'format'] as const;
const forStrings = new Set<keyof Constraints>(['minLength', 'maxLength', 'pattern', 'format']);
const forArrays = new Set<keyof Constraints>(['minItems', 'maxItems']);

/** Reads the constraint tags on a property or parameter; reports unknown and malformed tags. */
export function constraintsOf(node: Node, place: 'parameter' | 'property', site: Site, diagnostics: Diagnostic[]): ParsedConstraints {
  const result: ParsedConstraints = { integer: undefined, keywords: {} };
  const source = node.getSourceFile();
  for (const tag of checkTags(node, place, diagnostics)) {
    const fail = (message: string) => diagnostics.push(diagnosticAtPos(source, tag.pos, Code.BadTagValue, `${site.what}: ${message}`));
    const name = tag.name;
    // A constraint's value is the rest of its line (or up to the next tag on it).
    const value = tag.value.split('\n')[0]!.trim();
    if (name === 'integer') {
      if (value) fail(`@integer takes no value, got "${value}"`);
      else result.integer = true;
    } else if ((numeric as readonly string[]).includes(name)) {
      const n = Number(value);
      if (value === '' || !Number.isFinite(n)) fail(`@${name} needs a number, got "${value}"`);
      else result.keywords[name as (typeof numeric)[number]] = n;
    } else if ((counts as readonly string[]).includes(name)) {
      const n = Number(value);
      if (value === '' || !Number.isInteger(n) || n < 0) fail(`@${name} needs a whole number of at least 0, got "${value}"`);
      else result.keywords[name as (typeof counts)[number]] = n;
    } else if ((strings as readonly string[]).includes(name)) {
      if (!value) fail(`@${name} needs a value`);
      else if (name === 'pattern' && !isRegExp(value)) fail(`@pattern "${value}" is not a valid regular expression`);
      else result.keywords[name as (typeof strings)[number]] = value;
    }
  }
  return result;
}

function isRegExp(source: string): boolean {
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
}

/** Puts constraints on the number, string or array they describe; diagnoses a mismatch. */
export function applyConstraints(node: TypeNode, parsed: ParsedConstraints, site: Site, diagnostics: Diagnostic[]): TypeNode {
  const fail = (code: number, message: string) => {
    diagnostics.push(diagnosticAt(site.node, code, `${site.what} ${message}`));
    return node;
  };
  if (node.kind === 'union') {
    // `x?: number` or `number | null`: the constraints are about the one constrainable member.
    const targets = node.members.filter((m) => m.kind === 'number' || m.kind === 'string' || m.kind === 'array');
    if (targets.length !== 1) return fail(Code.ConstraintOnUnion, `has constraints, but its type is a union; constrain a number, string or array`);
    const target = targets[0]!;
    const constrained = applyConstraints(target, parsed, site, diagnostics);
    return { kind: 'union', members: node.members.map((m) => (m === target ? constrained : m)) };
  }
  const keys = Object.keys(parsed.keywords) as Array<keyof Constraints>;
  const kindFor = (key: keyof Constraints) => (forStrings.has(key) ? 'string' : forArrays.has(key) ? 'array' : 'number');
  for (const key of keys) {
    if (kindFor(key) !== node.kind) {
      const name = node.kind === 'ref' ? `the named type ${node.name}` : node.kind;
      return fail(Code.ConstraintType, `has @${key}, which applies to ${kindFor(key)}s, but its type is ${name}`);
    }
  }
  if (parsed.integer && node.kind !== 'number') return fail(Code.ConstraintType, `has @integer, but its type is not number`);
  if (node.kind === 'number') return { ...node, integer: node.integer || !!parsed.integer, constraints: { ...node.constraints, ...parsed.keywords } };
  if (node.kind === 'string' || node.kind === 'array') return { ...node, constraints: { ...node.constraints, ...parsed.keywords } };
  return node;
}
