/**
 * TypeScript types (from the checker, through ts-morph) to wire types. Named interfaces,
 * aliases and enums become declarations referenced by name; everything that cannot
 * cross the wire becomes a diagnostic that says what to do instead.
 */
import type { ClassDeclaration, Symbol as MorphSymbol, Type } from 'ts-morph';
import { Node, ts, type TS } from './morph.js';
import { constraintsOf, applyConstraints } from './constraints.js';
import { Code, diagnosticAt, type Diagnostic, type Site } from './diagnostics.js';
import { shadows } from './names.js';
import { checkTags } from './tags.js';
import type { Declaration, PropertyNode, RuntimeClass, TupleElement, TypeNode } from './model.js';

const runtimeClasses = new Set<RuntimeClass>(['PyDate', 'PyTime', 'PyTimedelta', 'PyTimezone', 'PyDateTime']);

/**
 * What to declare instead of a Map or a numeric index signature. Typed parameters and
 * results refuse a Map (a msgpack map with a non-string key) wherever their schema asks
 * for an object or a record; only unknown lets one through.
 */
const stringKeysOnly =
  'typed methods take maps with string keys only: declare Record<string, T> (a number key such as 1 travels as "1"), or unknown to take a Python dict with other keys, which arrives as a Map';

/**
 * How many instantiations of one generic declaration may be open inside each other while
 * it is written out. Deeper is taken for one whose type arguments grow at each level
 * (`Rec<T>` holding `Rec<T[]>`), which never ends; nesting through type arguments
 * (`Pair<Pair<number>>`) rarely goes past two or three.
 */
const maxNesting = 10;

/** A generic instantiation or anonymous object type being written out, and where it is used. */
interface Expansion {
  origin: TS.Symbol;
  type: Type;
  site: Site;
}

export class TypeMapper {
  readonly declarations = new Map<string, Declaration>();
  readonly diagnostics: Diagnostic[] = [];
  readonly #names = new Map<TS.Symbol, string>();
  /** The expansions open now, outermost first. */
  readonly #expanding: Expansion[] = [];
  /** Origins already reported as never ending, while an expansion of them is open. */
  readonly #runaway = new Set<TS.Symbol>();
  /** Interfaces met as data types (a method in one is an error, not a forgotten service tag). */
  readonly dataInterfaces = new Set<Node>();
  /** Classes with `@translator <code>`, by name: their code and the file that declares them. */
  readonly translators = new Map<string, { code: number; file: string }>();

  constructor(private readonly isUserFile: (path: string) => boolean) {}

  error(site: Site, code: number, message: string): TypeNode {
    this.diagnostics.push(diagnosticAt(site.node, code, `${site.what} ${message}`));
    return { kind: 'unknown' };
  }

  /** Maps a property's or parameter's type, with the JSDoc constraints written on it. */
  mapWithConstraints(type: Type, site: Site, docNode: Node | undefined, place: 'parameter' | 'property'): TypeNode {
    const node = this.map(type, site);
    const constraints = docNode ? constraintsOf(docNode, place, site, this.diagnostics) : undefined;
    if (!constraints || (constraints.integer === undefined && Object.keys(constraints.keywords).length === 0)) return node;
    return applyConstraints(node, constraints, site, this.diagnostics);
  }

  map(type: Type, site: Site): TypeNode {
    const text = () => type.getText(site.node, ts.TypeFormatFlags.NoTruncation);
    if (type.isAny()) return this.error(site, Code.AnyType, `has type any; any cannot be checked on the wire: use unknown, or a precise type`);
    if (type.isUnknown()) return { kind: 'unknown' };
    if (type.isNever()) return this.error(site, Code.NeverType, `has type never, which no value has`);
    if (type.isTypeParameter()) {
      return this.error(site, Code.TypeParameter, `has the generic type "${text()}"; a type parameter cannot be checked on the wire: use a concrete type`);
    }

    if (type.isEnum() || type.isEnumLiteral()) return this.#enum(type);
    const alias = this.#namedAlias(type);
    if (alias) return this.#reference(alias, () => this.#expand(type, site, true));
    return this.#expand(type, site, false);
  }

  /**
   * Maps a type that is written out where it is used (a generic instantiation or an
   * anonymous object type) while watching for one that contains itself or keeps growing:
   * either would never end, so each is reported once, where it recurs.
   */
  #expand(type: Type, site: Site, viaAlias: boolean): TypeNode {
    const origin = expansionOrigin(type);
    if (!origin) return this.#mapStructure(type, site, viaAlias);
    const open = this.#expanding.filter((e) => e.origin === origin);
    // Reported where it was found; the other branches of it would only repeat that.
    if (open.length > 0 && this.#runaway.has(origin)) return { kind: 'unknown' };
    if (open.some((e) => e.type.compilerType === type.compilerType)) return this.#containsItself(type, origin, site);
    if (open.length >= maxNesting) {
      this.#runaway.add(origin);
      return this.#grows(open[1]!, open[0]!);
    }
    this.#expanding.push({ origin, type, site });
    try {
      return this.#mapStructure(type, site, viaAlias);
    } finally {
      this.#expanding.pop();
      if (!this.#expanding.some((e) => e.origin === origin)) this.#runaway.delete(origin);
    }
  }

  #containsItself(type: Type, origin: TS.Symbol, site: Site): TypeNode {
    const text = type.getText(site.node, ts.TypeFormatFlags.NoTruncation);
    const name = pascalName(text);
    const [kind, example] = isAlias(origin) ? ['type alias', `type ${name} = …`] : ['interface', `interface ${name} { … }`];
    const remedy = `declare a non-generic ${kind} for it that refers to itself by name (${example}, with ${name} in place of ${text})`;
    return this.error(site, Code.RecursiveGeneric, `has the recursive generic type "${text}", which contains itself; generic types are written out where used, so ${remedy}`);
  }

  /** Reported at the first level that recurs, `inner`, inside the outermost, `outer`. */
  #grows(inner: Expansion, outer: Expansion): TypeNode {
    const text = (e: Expansion) => e.type.getText(e.site.node, ts.TypeFormatFlags.NoTruncation);
    const kind = isAlias(inner.origin) ? 'type alias' : 'interface';
    const message = `has the recursive generic type "${text(inner)}" inside "${text(outer)}": each level has other type arguments, so written out it never ends; give it a type that does not grow, such as a non-generic ${kind} that refers to itself`;
    return this.error(inner.site, Code.RecursiveGeneric, message);
  }

  #mapStructure(type: Type, site: Site, viaAlias: boolean): TypeNode {
    const text = () => type.getText(site.node, ts.TypeFormatFlags.NoTruncation);
    const flags = type.getFlags();
    if (type.isString()) return { kind: 'string', constraints: {} };
    if (type.isNumber()) return { kind: 'number', integer: false, constraints: {} };
    if (type.isBoolean()) return { kind: 'boolean' };
    if (type.isNull()) return { kind: 'null' };
    if (type.isUndefined()) return { kind: 'undefined' };
    if (type.isVoid()) return { kind: 'void' };
    if (flags & ts.TypeFlags.BigInt) return { kind: 'bigint' };
    if (flags & ts.TypeFlags.BigIntLiteral) return this.error(site, Code.BigIntLiteral, `has the bigint literal type ${text()}; use bigint`);
    if (type.isStringLiteral() || type.isNumberLiteral()) return { kind: 'literal', value: type.getLiteralValue() as string | number };
    if (type.isBooleanLiteral()) return { kind: 'literal', value: text() === 'true' };
    if (type.isEnum() || type.isEnumLiteral()) return this.#enum(type);
    if (flags & (ts.TypeFlags.ESSymbol | ts.TypeFlags.UniqueESSymbol)) {
      return this.error(site, Code.SymbolType, `has the symbol type "${text()}"; symbols cannot cross the wire: use a string`);
    }
    if (type.isUnion()) return this.#union(type.getUnionTypes(), site);
    if (type.isIntersection()) return { kind: 'intersection', members: type.getIntersectionTypes().map((t) => this.map(t, site)) };
    if (type.isTuple()) return this.#tuple(type, site);
    if (type.isArray() || type.isReadonlyArray()) {
      const element = type.getArrayElementTypeOrThrow();
      return { kind: 'array', element: this.map(element, site), readonly: type.isReadonlyArray(), constraints: {} };
    }
    if (type.isObject()) return this.#object(type, site, viaAlias);
    return this.error(site, Code.UnsupportedType, `has the type "${text()}", which zrpc cannot send: use JSON-like data, Date, Uint8Array or bigint`);
  }

  /** A type alias declared in the user's files, not generic: referenced by its name. */
  #namedAlias(type: Type): MorphSymbol | undefined {
    const alias = type.getAliasSymbol();
    if (!alias || type.getAliasTypeArguments().length > 0) return undefined;
    const declaration = alias.getDeclarations()[0];
    return declaration && this.isUserFile(declaration.getSourceFile().getFilePath()) ? alias : undefined;
  }

  #reference(symbol: MorphSymbol, body: () => TypeNode): TypeNode {
    const key = symbol.compilerSymbol;
    let name = this.#names.get(key);
    if (name !== undefined) return { kind: 'ref', name };
    name = this.#uniqueName(symbol.getName());
    this.#names.set(key, name);
    const declaration = symbol.getDeclarations()[0];
    if (declaration) {
      checkTags(declaration, 'type', this.diagnostics);
      const taken = shadows(symbol.getName());
      if (taken) {
        const message = `type ${symbol.getName()} would shadow ${taken} in the generated module; rename it (for example ${symbol.getName()}Data)`;
        this.diagnostics.push(diagnosticAt(declaration, Code.ShadowsGlobal, message));
      }
    }
    const doc = declaration ? docOf(declaration) : undefined;
    // Registered before the body is mapped, so a recursive reference finds it.
    const entry: Declaration = { name, type: { kind: 'unknown' }, doc, form: 'alias' };
    this.declarations.set(name, entry);
    entry.type = body();
    entry.form = entry.type.kind === 'object' ? 'interface' : 'alias';
    return { kind: 'ref', name };
  }

  #uniqueName(base: string): string {
    let name = base;
    for (let i = 2; this.declarations.has(name) || name.endsWith('Schema'); i++) name = `${base}${i}`;
    return name;
  }

  #enum(type: Type): TypeNode {
    const literal = (t: Type): TypeNode => ({ kind: 'literal', value: t.getLiteralValue() as string | number });
    // One member of an enum (`Color.Red`) is its literal value.
    if (!type.isUnion()) return literal(type);
    const members = type.getUnionTypes().map(literal);
    const symbol = type.getSymbol();
    if (!symbol?.getDeclarations().some(Node.isEnumDeclaration)) return { kind: 'union', members };
    return this.#reference(symbol, () => ({ kind: 'union', members }));
  }

  #union(types: Type[], site: Site): TypeNode {
    const members: TypeNode[] = [];
    let sawTrue = false;
    let sawFalse = false;
    for (const t of types) {
      if (t.isBooleanLiteral()) {
        if (t.getText() === 'true') sawTrue = true;
        else sawFalse = true;
        continue;
      }
      members.push(this.map(t, site));
    }
    // The checker spells `boolean` as `true | false`; put it back.
    if (sawTrue && sawFalse) members.push({ kind: 'boolean' });
    else if (sawTrue || sawFalse) members.push({ kind: 'literal', value: sawTrue });
    // null and undefined read best last: `string | null`.
    const empty = (m: TypeNode) => m.kind === 'null' || m.kind === 'undefined';
    const ordered = [...members.filter((m) => !empty(m)), ...members.filter(empty)];
    return ordered.length === 1 ? ordered[0]! : { kind: 'union', members: ordered };
  }

  #tuple(type: Type, site: Site): TypeNode {
    const target = (type.compilerType as TS.TupleTypeReference).target;
    const elements: TupleElement[] = type.getTupleElements().map((element, i) => {
      const flags = target.elementFlags[i] ?? ts.ElementFlags.Required;
      const label = target.labeledElementDeclarations?.[i];
      const optional = (flags & ts.ElementFlags.Optional) !== 0;
      const mapped = this.map(element, site);
      return {
        type: optional ? withoutUndefined(mapped) : mapped,
        optional,
        rest: (flags & ts.ElementFlags.Variable) !== 0,
        name: label && ts.isIdentifier(label.name) ? label.name.text : undefined,
      };
    });
    return { kind: 'tuple', elements, readonly: target.readonly };
  }

  #object(type: Type, site: Site, viaAlias: boolean): TypeNode {
    const text = () => type.getText(site.node, ts.TypeFormatFlags.NoTruncation);
    const symbol = type.getSymbol();
    const name = symbol?.getName();
    const declaration = symbol?.getDeclarations()[0];
    // Mapped and literal types (`Record<string, T>` among them) have no name of their own.
    const anonymous = !name || name.startsWith('__');
    const fromLib = !anonymous && declaration ? !this.isUserFile(declaration.getSourceFile().getFilePath()) : false;

    if (fromLib && name) {
      const known = this.#libObject(type, name, site);
      if (known) return known;
    }
    if (type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0) {
      return this.error(site, Code.FunctionType, `has a function type "${text()}"; functions cannot cross the wire: pass data, or split the method`);
    }
    const classDeclaration = symbol?.getDeclarations().find(Node.isClassDeclaration);
    if (classDeclaration) return this.#translatedClass(classDeclaration, text(), site);
    if (fromLib) return this.error(site, Code.UnsupportedType, `has the type "${text()}", which zrpc cannot send: use JSON-like data, Date, Uint8Array or bigint`);

    const isNamedInterface = !viaAlias && type.isInterface() && symbol && (type.getTargetType() === undefined || type.getTargetType() === type);
    if (isNamedInterface) return this.#reference(symbol, () => this.#members(type, site));

    // Anonymous object types and generic instantiations are written out where used
    // (`#expand` stops those that would never end).
    return this.#members(type, site);
  }

  /**
   * A class travels only through a translator: marked `@translator <code>` (0..122) with
   * static `pack(value): Uint8Array` and `unpack(data): Class` methods.
   */
  #translatedClass(declaration: ClassDeclaration, text: string, site: Site): TypeNode {
    const name = declaration.getName();
    const tag = declaration.getJsDocs().at(-1)?.getTags().find((t) => t.getTagName() === 'translator');
    const howTo = 'mark the class /** @translator <code 0..122> */ with static pack(value): Uint8Array and unpack(data: Uint8Array) methods, or declare an interface for its data';
    if (!tag || !name) return this.error(site, Code.ClassType, `has the class type "${text}"; class instances cannot cross the wire: ${howTo}`);
    const code = Number(tag.getCommentText()?.trim());
    if (!Number.isInteger(code) || code < 0 || code > 122) {
      return this.error(site, Code.TranslatorCode, `uses class ${name}, whose @translator code "${tag.getCommentText() ?? ''}" is not a whole number in 0..122 (123..127 are Python's date/time types)`);
    }
    const statics = new Set(declaration.getStaticMethods().map((m) => m.getName()));
    if (!statics.has('pack') || !statics.has('unpack')) return this.error(site, Code.TranslatorMethods, `uses class ${name}, which has @translator but lacks static pack and unpack methods`);
    if (!declaration.isExported()) return this.error(site, Code.TranslatorNotExported, `uses class ${name}, which has @translator but is not exported`);
    const file = declaration.getSourceFile().getFilePath();
    const known = this.translators.get(name);
    if (known && (known.file !== file || known.code !== code)) return this.error(site, Code.TranslatorClash, `uses class ${name}, but another class of that name or code is a translator here too`);
    for (const [other, entry] of this.translators) {
      if (other !== name && entry.code === code) return this.error(site, Code.TranslatorClash, `uses class ${name} with @translator ${code}, which ${other} already has`);
    }
    this.translators.set(name, { code, file });
    return { kind: 'class', name };
  }

  #libObject(type: Type, name: string, site: Site): TypeNode | undefined {
    switch (name) {
      case 'Date':
        return { kind: 'date' };
      case 'Uint8Array':
      case 'Buffer':
        return { kind: 'bytes' };
      case 'Map':
      case 'ReadonlyMap':
        return this.error(site, Code.MapType, `has the type "${type.getText()}"; ${stringKeysOnly}`);
      case 'Promise':
        return this.error(site, Code.PromiseValue, `has a Promise type "${type.getText()}" where a value is expected: only a method's return type may be a Promise`);
      case 'Set':
      case 'ReadonlySet':
        return this.error(site, Code.SetType, `has the type "${type.getText()}"; a Set cannot cross the wire: use an array`);
    }
    if (runtimeClasses.has(name as RuntimeClass)) return { kind: 'runtime', name: name as RuntimeClass };
    return undefined;
  }

  #members(type: Type, site: Site): TypeNode {
    for (const declaration of type.getSymbol()?.getDeclarations() ?? []) {
      if (Node.isInterfaceDeclaration(declaration)) this.dataInterfaces.add(declaration);
    }
    const properties: PropertyNode[] = [];
    const indexType = type.getStringIndexType();
    if (type.getNumberIndexType() && !indexType) {
      return this.error(site, Code.NumericIndex, `has a numeric index signature; ${stringKeysOnly}`);
    }
    for (const property of type.getProperties()) {
      const declaration = property.getValueDeclaration() ?? property.getDeclarations()[0];
      const at = declaration ?? site.node;
      const propertySite = { node: at, what: `property "${property.getName()}" of ${site.what}` };
      if (declaration && (Node.isMethodSignature(declaration) || Node.isMethodDeclaration(declaration))) {
        this.error(propertySite, Code.MethodInData, `is a method; functions cannot cross the wire: pass data, or split the method`);
        continue;
      }
      const optional = property.isOptional();
      let propertyType = this.mapWithConstraints(declaredType(declaration) ?? property.getTypeAtLocation(site.node), propertySite, declaration, 'property');
      if (optional) propertyType = withoutUndefined(propertyType);
      properties.push({
        name: property.getName(),
        type: propertyType,
        optional,
        readonly: !!declaration && Node.isPropertySignature(declaration) && declaration.isReadonly(),
        doc: declaration ? docOf(declaration) : undefined,
      });
    }
    if (indexType) {
      if (properties.length > 0) {
        return this.error(site, Code.MixedIndex, `mixes named properties with an index signature; use one or the other`);
      }
      return { kind: 'record', value: this.map(indexType, site) };
    }
    return { kind: 'object', properties };
  }
}

/**
 * The declaration a type is an expansion of, when it is written out where used: the
 * generic alias it instantiates (`Nest<number>`), the generic interface or class
 * (`Rec<number>`), or the type literal of an anonymous object type, which all of that
 * literal's instantiations share. Arrays and tuples are not: they are finite by
 * themselves, and what makes them recur is one of the others.
 */
function expansionOrigin(type: Type): TS.Symbol | undefined {
  if (type.getAliasTypeArguments().length > 0) return type.getAliasSymbol()?.compilerSymbol;
  if (!type.isObject() || type.isArray() || type.isReadonlyArray() || type.isTuple()) return undefined;
  const symbol = type.getSymbol();
  const target = type.getTargetType();
  const instantiated = target !== undefined && target.compilerType !== type.compilerType;
  return instantiated || symbol?.getName().startsWith('__') ? symbol?.compilerSymbol : undefined;
}

/** A name to suggest for a declaration of `Nest<number>`: `NestNumber`. */
function pascalName(text: string): string {
  return text
    .split(/[^\w$]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

function isAlias(symbol: TS.Symbol): boolean {
  return (symbol.flags & ts.SymbolFlags.TypeAlias) !== 0;
}

/**
 * The type as written on a declaration, when that is safe to use: it keeps alias names
 * that an optional member's `T | undefined` loses. Not inside generic interfaces, where
 * the written type may name a type parameter.
 */
export function declaredType(declaration: Node | undefined): Type | undefined {
  if (!declaration || !(Node.isPropertySignature(declaration) || Node.isParameterDeclaration(declaration))) return undefined;
  const typeNode = declaration.getTypeNode();
  if (!typeNode) return undefined;
  const generic = declaration.getAncestors().some((a) => Node.isTypeParametered(a) && a.getTypeParameters().length > 0);
  return generic ? undefined : typeNode.getType();
}

/** `T | undefined` → `T`, for optional properties and parameters. */
export function withoutUndefined(node: TypeNode): TypeNode {
  if (node.kind !== 'union') return node;
  const members = node.members.filter((m) => m.kind !== 'undefined');
  return members.length === 1 ? members[0]! : { kind: 'union', members };
}

/** The description part of a node's JSDoc (tags left out), if it has one. */
export function docOf(node: Node): string | undefined {
  // Only the block right before the declaration: an earlier one documents the file.
  const doc = Node.isJSDocable(node) ? node.getJsDocs().at(-1) : undefined;
  return doc?.getDescription().trim() || undefined;
}
