/**
 * Wire types to text: the TypeScript type a caller sees, and the TypeBox expression that
 * checks it. Declarations come out in dependency order; recursive ones share a
 * `Type.Cyclic` group.
 */
import type { Constraints, Declaration, TypeNode } from './model.js';
import { constraintTags } from './tags.js';

/**
 * Where emitters record the names they write that a generated module must import:
 * `Type` from typebox, and zrpc/generated's (`Wire`, `PyDate`, ...). Recording at the
 * point of writing keeps the import list and the text in step.
 */
export type Uses = Set<string>;

// ── TypeScript ─────────────────────────────────────────────────────────────────────

export function tsType(node: TypeNode, uses: Uses): string {
  const t = (n: TypeNode) => tsType(n, uses);
  switch (node.kind) {
    case 'number':
    case 'string':
    case 'boolean':
    case 'null':
    case 'undefined':
    case 'unknown':
    case 'bigint':
    case 'void':
      return node.kind;
    case 'literal':
      return typeof node.value === 'string' ? quote(node.value) : String(node.value);
    case 'union':
      return node.members.map(t).join(' | ');
    case 'intersection':
      return node.members.map((m) => (m.kind === 'union' ? `(${t(m)})` : t(m))).join(' & ');
    case 'array': {
      const element = node.element.kind === 'union' || node.element.kind === 'intersection' ? `(${t(node.element)})` : t(node.element);
      return `${node.readonly ? 'readonly ' : ''}${element}[]`;
    }
    case 'tuple': {
      const parts = node.elements.map((e) => (e.rest ? `...${t({ kind: 'array', element: e.type, readonly: false, constraints: {} })}` : `${t(e.type)}${e.optional ? '?' : ''}`));
      return `${node.readonly ? 'readonly ' : ''}[${parts.join(', ')}]`;
    }
    case 'object':
      if (node.properties.length === 0) return 'Record<string, never>';
      return `{ ${node.properties.map((p) => `${p.readonly ? 'readonly ' : ''}${propertyKey(p.name)}${p.optional ? '?' : ''}: ${t(p.type)}`).join('; ')} }`;
    case 'record':
      return `Record<string, ${t(node.value)}>`;
    case 'date':
      return 'Date';
    case 'bytes':
      return 'Uint8Array';
    case 'runtime':
      uses.add(node.name);
      return node.name;
    case 'class':
    case 'ref':
      return node.name;
  }
}

// ── TypeBox ────────────────────────────────────────────────────────────────────────

/** How a reference to a declaration is written: its schema const, or `Type.Ref` inside a cycle. */
export type RefWriter = (name: string) => string;

/**
 * A schema expression as a tree the printer can lay out: text, or a call/literal whose
 * items go on one line when they fit and one per line when they do not.
 */
export type Doc = string | { open: string; items: Doc[]; close: string };

const call = (name: string, items: Doc[], brackets: '[]' | '{}' | '' = ''): Doc =>
  brackets ? { open: `${name}(${brackets[0]}`, items, close: `${brackets[1]})` } : { open: `${name}(`, items, close: ')' };

export function schemaDoc(node: TypeNode, ref: RefWriter, uses: Uses): Doc {
  const s = (n: TypeNode) => schemaDoc(n, ref, uses);
  // Every schema but a reference to a declared one is written with typebox's Type.
  if (node.kind !== 'ref' && node.kind !== 'date' && node.kind !== 'bytes' && node.kind !== 'runtime' && node.kind !== 'class') uses.add('Type');
  switch (node.kind) {
    case 'number':
      return `Type.${node.integer ? 'Integer' : 'Number'}(${options(node.constraints)})`;
    case 'string':
      return `Type.String(${options(node.constraints)})`;
    case 'boolean':
      return 'Type.Boolean()';
    case 'null':
      return 'Type.Null()';
    case 'undefined':
    case 'void':
      return 'Type.Undefined()';
    case 'unknown':
      return 'Type.Unknown()';
    case 'bigint':
      return 'Type.BigInt()';
    case 'literal':
      return `Type.Literal(${typeof node.value === 'string' ? quote(node.value) : String(node.value)})`;
    case 'union':
      return call('Type.Union', node.members.map(s), '[]');
    case 'intersection':
      return call('Type.Intersect', node.members.map(s), '[]');
    case 'array': {
      const extra = options(node.constraints);
      return call('Type.Array', extra ? [s(node.element), extra] : [s(node.element)]);
    }
    case 'tuple': {
      if (node.elements.every((e) => !e.optional && !e.rest)) return call('Type.Tuple', node.elements.map((e) => s(e.type)), '[]');
      // Optional and rest elements: JSON Schema's prefixItems says it directly.
      const fixed = node.elements.filter((e) => !e.rest);
      const rest = node.elements.find((e) => e.rest);
      const items: Doc[] = [
        `type: 'array'`,
        { open: 'prefixItems: [', items: fixed.map((e) => s(e.type)), close: ']' },
        rest ? { open: 'items: ', items: [s(rest.type)], close: '' } : 'items: false',
        `minItems: ${fixed.filter((e) => !e.optional).length}`,
      ];
      if (!rest) items.push(`maxItems: ${fixed.length}`);
      return { open: `Type.Unsafe<${tsType(node, uses)}>({`, items, close: '})' };
    }
    case 'object':
      if (node.properties.length === 0) return 'Type.Object({})';
      return call(
        'Type.Object',
        node.properties.map((p) => {
          const value = s(p.type);
          const key = `${propertyKey(p.name)}: `;
          return p.optional ? { open: `${key}Type.Optional(`, items: [value], close: ')' } : prefix(key, value);
        }),
        '{}',
      );
    case 'record':
      return call('Type.Record', ['Type.String()', s(node.value)]);
    case 'date':
      uses.add('Wire');
      return 'Wire.Date()';
    case 'bytes':
      uses.add('Wire');
      return 'Wire.Bytes()';
    case 'runtime':
      uses.add('Wire').add(node.name);
      return `Wire.Instance(${node.name})`;
    case 'class':
      uses.add('Wire');
      return `Wire.Instance(${node.name})`;
    case 'ref':
      return ref(node.name);
  }
}

function prefix(text: string, doc: Doc): Doc {
  return typeof doc === 'string' ? text + doc : { ...doc, open: text + doc.open };
}

/** The flat, one-line form of a doc. */
export function flat(doc: Doc): string {
  if (typeof doc === 'string') return doc;
  // A lone wrapped item (`Type.Optional(...)`, `items: ...`) never needs inner spaces.
  const single = doc.items.length === 1 && !/[[{]$/.test(doc.open);
  const inner = doc.items.map(flat).join(', ');
  if (single || doc.items.length === 0) return `${doc.open}${inner}${doc.close}`;
  const pad = doc.open.endsWith('{') ? ' ' : '';
  return `${doc.open}${pad}${inner}${pad}${doc.close}`;
}

/**
 * Lays a doc out within `width` columns, starting at `column` with `level` two-space
 * indents: flat when it fits, else one item per line, recursively.
 */
export function layout(doc: Doc, level: number, column = level * 2, width = 100): string {
  const one = flat(doc);
  if (typeof doc === 'string' || column + one.length <= width) return one;
  if (doc.items.length === 1 && !/[[{]$/.test(doc.open)) {
    return `${doc.open}${layout(doc.items[0]!, level, column + doc.open.length, width)}${doc.close}`;
  }
  const pad = '  '.repeat(level + 1);
  const lines = doc.items.map((item) => `${pad}${layout(item, level + 1, pad.length, width)},`);
  return `${doc.open}\n${lines.join('\n')}\n${'  '.repeat(level)}${doc.close}`;
}

function options(constraints: Constraints): string {
  const entries = Object.entries(constraints).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '';
  return `{ ${entries.map(([k, v]) => `${k}: ${typeof v === 'string' ? quote(v) : String(v)}`).join(', ')} }`;
}

export function quote(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'").replaceAll('\n', '\\n')}'`;
}

export function propertyKey(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : quote(name);
}

// ── Declarations in order ──────────────────────────────────────────────────────────

/** A declaration, or a group of mutually recursive ones that share one `$defs`. */
export type DeclarationGroup = { cyclic: false; declaration: Declaration } | { cyclic: true; declarations: Declaration[] };

/** The types a type is made of, one level down. */
export function childrenOf(node: TypeNode): readonly TypeNode[] {
  switch (node.kind) {
    case 'union':
    case 'intersection':
      return node.members;
    case 'array':
      return [node.element];
    case 'tuple':
      return node.elements.map((e) => e.type);
    case 'object':
      return node.properties.map((p) => p.type);
    case 'record':
      return [node.value];
    default:
      return [];
  }
}

/** Names a type refers to, directly. */
function references(node: TypeNode, into: Set<string>): Set<string> {
  if (node.kind === 'ref') into.add(node.name);
  for (const child of childrenOf(node)) references(child, into);
  return into;
}

/**
 * Strongly connected components (Tarjan), emitted dependencies first. Order is stable:
 * declarations are visited in the order they were met.
 */
export function orderDeclarations(declarations: readonly Declaration[]): DeclarationGroup[] {
  const byName = new Map(declarations.map((d) => [d.name, d]));
  const edges = new Map(declarations.map((d) => [d.name, [...references(d.type, new Set())].filter((n) => byName.has(n))]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: DeclarationGroup[] = [];
  let counter = 0;

  const visit = (name: string) => {
    index.set(name, counter);
    low.set(name, counter++);
    stack.push(name);
    onStack.add(name);
    for (const next of edges.get(name)!) {
      if (!index.has(next)) {
        visit(next);
        low.set(name, Math.min(low.get(name)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(name, Math.min(low.get(name)!, index.get(next)!));
      }
    }
    if (low.get(name) === index.get(name)) {
      const members: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        members.unshift(member);
      } while (member !== name);
      const selfLoop = edges.get(name)!.includes(name);
      if (members.length === 1 && !selfLoop) groups.push({ cyclic: false, declaration: byName.get(name)! });
      else groups.push({ cyclic: true, declarations: members.map((m) => byName.get(m)!) });
    }
  };
  for (const declaration of declarations) if (!index.has(declaration.name)) visit(declaration.name);
  return groups;
}

export function schemaName(name: string): string {
  return `${name}Schema`;
}

// ── Doc comments ───────────────────────────────────────────────────────────────────

/** The constraint tags in their documented order; `@integer` is a type, not a keyword. */
const keywordOrder = constraintTags.filter((tag) => tag !== 'integer') as Array<keyof Constraints>;

/**
 * The constraint tags a type carries (`@integer`, `@minimum 1`), for the generated doc
 * comments: an editor's hover then shows what the validator will check.
 */
export function constraintTagsOf(node: TypeNode): string[] {
  if (node.kind === 'union') return node.members.flatMap(constraintTagsOf);
  if (node.kind !== 'number' && node.kind !== 'string' && node.kind !== 'array') return [];
  const tags = node.kind === 'number' && node.integer ? ['@integer'] : [];
  for (const key of keywordOrder) {
    const value = node.constraints[key];
    if (value !== undefined) tags.push(`@${key} ${value}`);
  }
  return tags;
}
