/**
 * JSDoc constraints (`@minimum 1`, `@maxLength 64`, `@pattern ^[a-z]+$`, `@integer`, ...)
 * on properties and parameters, turned into schema keywords on the type they annotate.
 *
 * Properties carry them in their JSDoc; parameters in a JSDoc comment written just
 * before the parameter: `add(/** @minimum 0 *\/ amount: number)`.
 */
import { Node, ts } from 'ts-morph';
import { diagnosticAt, type Diagnostic } from './diagnostics.js';
import type { Constraints, TypeNode } from './model.js';
import type { Site } from './type-mapper.js';

export interface ParsedConstraints {
  integer: boolean | undefined;
  keywords: Constraints;
}

const numeric = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'] as const;
const counts = ['minLength', 'maxLength', 'minItems', 'maxItems'] as const;
const strings = ['pattern', 'format'] as const;
const known = ['integer', ...numeric, ...counts, ...strings];
const forStrings = new Set<keyof Constraints>(['minLength', 'maxLength', 'pattern', 'format']);
const forArrays = new Set<keyof Constraints>(['minItems', 'maxItems']);

/** The JSDoc text attached to a node: its JSDoc blocks, or a JSDoc-style comment just before it. */
function jsDocText(node: Node): string {
  if (Node.isJSDocable(node)) return node.getJsDocs().map((d) => d.getText()).join('\n');
  const text = node.getFullText();
  return (ts.getLeadingCommentRanges(text, 0) ?? [])
    .map((c) => text.slice(c.pos, c.end))
    .filter((t) => t.startsWith('/**'))
    .join('\n');
}

export function constraintsOf(node: Node, site: Site, diagnostics: Diagnostic[]): ParsedConstraints {
  const result: ParsedConstraints = { integer: undefined, keywords: {} };
  const text = jsDocText(node);
  const fail = (message: string) => diagnostics.push(diagnosticAt(node, `${site.what}: ${message}`));
  // A value runs to the end of its line, the comment's end, or the next known tag.
  const next = `(?=[ \\t]+@(?:${known.join('|')})\\b|[ \\t]*\\*\\/|\\n|$)`;
  for (const match of text.matchAll(new RegExp(`@(\\w+)[ \\t]*(.*?)${next}`, 'g'))) {
    const tag = match[1]!;
    const value = match[2]!.trim();
    if (tag === 'integer') {
      result.integer = true;
    } else if ((numeric as readonly string[]).includes(tag)) {
      const n = Number(value);
      if (value === '' || !Number.isFinite(n)) fail(`@${tag} needs a number, got "${value}"`);
      else result.keywords[tag as (typeof numeric)[number]] = n;
    } else if ((counts as readonly string[]).includes(tag)) {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) fail(`@${tag} needs a whole number of at least 0, got "${value}"`);
      else result.keywords[tag as (typeof counts)[number]] = n;
    } else if ((strings as readonly string[]).includes(tag)) {
      if (!value) fail(`@${tag} needs a value`);
      else if (tag === 'pattern' && !isRegExp(value)) fail(`@pattern "${value}" is not a valid regular expression`);
      else result.keywords[tag as (typeof strings)[number]] = value;
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
  const fail = (message: string) => {
    diagnostics.push(diagnosticAt(site.node, `${site.what} ${message}`));
    return node;
  };
  if (node.kind === 'union') {
    // `x?: number` or `number | null`: the constraints are about the one constrainable member.
    const targets = node.members.filter((m) => m.kind === 'number' || m.kind === 'string' || m.kind === 'array');
    if (targets.length !== 1) return fail(`has constraints, but its type is a union; constrain a number, string or array`);
    const target = targets[0]!;
    const constrained = applyConstraints(target, parsed, site, diagnostics);
    return { kind: 'union', members: node.members.map((m) => (m === target ? constrained : m)) };
  }
  const keys = Object.keys(parsed.keywords) as Array<keyof Constraints>;
  const kindFor = (key: keyof Constraints) => (forStrings.has(key) ? 'string' : forArrays.has(key) ? 'array' : 'number');
  for (const key of keys) {
    if (kindFor(key) !== node.kind) {
      const name = node.kind === 'ref' ? `the named type ${node.name}` : node.kind;
      return fail(`has @${key}, which applies to ${kindFor(key)}s, but its type is ${name}`);
    }
  }
  if (parsed.integer && node.kind !== 'number') return fail(`has @integer, but its type is not number`);
  if (node.kind === 'number') return { ...node, integer: node.integer || !!parsed.integer, constraints: { ...node.constraints, ...parsed.keywords } };
  if (node.kind === 'string' || node.kind === 'array') return { ...node, constraints: { ...node.constraints, ...parsed.keywords } };
  return node;
}
