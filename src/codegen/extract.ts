/**
 * Services from an input file: every exported interface tagged `@rpc`, `@pipeline` or
 * `@pubsub`. Its methods are remote methods; a property whose type is an interface is a
 * namespace (`billing.refund` on the wire).
 */
import type { InterfaceDeclaration, SourceFile, Type } from 'ts-morph';
import { Node } from './morph.js';
import { Code, diagnosticAt, diagnosticAtPos } from './diagnostics.js';
import { shadows } from './names.js';
import { checkTags, tagsOf } from './tags.js';
import { allMethods, type ErrorModel, type MethodModel, type ModuleModel, type NamespaceModel, type ParamModel, type Pattern, type ServiceModel, type ThrowsModel, type TypeNode } from './model.js';
import { declaredType, docOf, withoutUndefined, type TypeMapper } from './type-mapper.js';

const patterns: Record<string, Pattern> = { rpc: 'rpc', pipeline: 'pipeline', pubsub: 'pubsub' };

/** The pattern tag on an interface, or undefined if it is not a service. */
function patternOf(declaration: InterfaceDeclaration, mapper: TypeMapper): Pattern | undefined {
  const tags = tagsOf(declaration).map((t) => t.name).filter((n) => n in patterns);
  if (tags.length > 1) {
    mapper.diagnostics.push(diagnosticAt(declaration, Code.TwoPatterns, `service ${declaration.getName()} has ${tags.map((t) => `@${t}`).join(' and ')}; choose one pattern`));
  }
  return tags[0] ? patterns[tags[0]] : undefined;
}

export interface Extracted {
  /** The input's model: its services and everything they use; undefined without services. */
  module: ModuleModel | undefined;
  services: ServiceModel[];
  /** Exported interfaces with methods and no service tag: services, unless a service uses them as a namespace or a data type. */
  untagged: InterfaceDeclaration[];
  /** Declarations of the interfaces the services use as namespaces. */
  namespaces: Set<Node>;
}

/**
 * The model of one input file: its services, the declarations they use (collected by
 * `mapper` while it maps their types), the error classes they declare and the classes
 * that travel through translators. This is the one place a module's model is built.
 */
export function extractModule(file: SourceFile, mapper: TypeMapper): Extracted {
  const found = extractServices(file, mapper);
  if (found.services.length === 0) return found;
  const throws = [...new Set(found.services.flatMap((s) => allMethods(s.root)).flatMap((m) => m.throws.map((t) => t.name)))].sort();
  const errors: ErrorModel[] = throws.map((name) => {
    const declared = file.getClass(name) ?? file.getInterface(name);
    return { name, doc: declared ? docOf(declared) : undefined };
  });
  const translators = [...mapper.translators].map(([name, t]) => ({ name, code: t.code, file: t.file })).sort((a, b) => a.code - b.code);
  const module = { input: file.getFilePath(), declarations: [...mapper.declarations.values()], services: found.services, errors, translators };
  return { ...found, module };
}

function extractServices(file: SourceFile, mapper: TypeMapper): Extracted {
  const found: Extracted = { module: undefined, services: [], untagged: [], namespaces: new Set() };
  for (const declaration of file.getInterfaces()) {
    const pattern = patternOf(declaration, mapper);
    if (!pattern) {
      if (declaration.isExported() && declaration.getType().getProperties().some((p) => p.getTypeAtLocation(declaration).getCallSignatures().length > 0)) {
        checkTags(declaration, 'interface', mapper.diagnostics);
        found.untagged.push(declaration);
      }
      continue;
    }
    checkTags(declaration, 'service', mapper.diagnostics);
    const name = declaration.getName();
    if (!declaration.isExported()) {
      mapper.diagnostics.push(diagnosticAt(declaration, Code.ServiceNotExported, `service ${name} is tagged @${pattern} but not exported; export it`));
      continue;
    }
    if (declaration.getTypeParameters().length > 0) {
      mapper.diagnostics.push(diagnosticAt(declaration, Code.GenericService, `service ${name} is generic; a service interface cannot have type parameters`));
      continue;
    }
    const root = new ServiceReader(name, pattern, mapper, found.namespaces).namespace(declaration.getType(), [], declaration, new Set());
    found.services.push({ name, pattern, doc: docOf(declaration), root });
  }
  return found;
}

class ServiceReader {
  constructor(
    private readonly service: string,
    private readonly pattern: Pattern,
    private readonly mapper: TypeMapper,
    private readonly namespaces: Set<Node>,
  ) {}

  /** Names the generated client classes use for themselves. */
  #reserved(path: string[]): ReadonlySet<string> {
    if (path.length > 0 || this.pattern === 'pubsub') return new Set(['caller', 'constructor']);
    const lifecycle = ['caller', 'constructor', 'close', 'transport'];
    return new Set(this.pattern === 'rpc' ? [...lifecycle, 'with', 'withTimeout'] : lifecycle);
  }

  namespace(type: Type, path: string[], at: Node, seen: Set<unknown>): NamespaceModel {
    const model: NamespaceModel = { path, doc: undefined, methods: [], namespaces: [] };
    seen.add(type.compilerType);
    for (const member of type.getProperties()) {
      const declaration = member.getValueDeclaration() ?? member.getDeclarations()[0] ?? at;
      const name = member.getName();
      const label = [this.service, ...path, name].join('.');
      const memberType = member.getTypeAtLocation(at);
      if (!/^[A-Za-z_$][\w$]*$/.test(name)) {
        this.mapper.diagnostics.push(diagnosticAt(declaration, Code.NotAnIdentifier, `${label}: "${name}" is not an identifier; remote names are identifiers (Python calls them as attributes)`));
        continue;
      }
      if (this.#reserved(path).has(name)) {
        this.mapper.diagnostics.push(diagnosticAt(declaration, Code.ReservedMember, `${label}: "${name}" is taken by the generated client (${[...this.#reserved(path)].join(', ')}); rename it or move it into a namespace`));
        continue;
      }
      if (memberType.getCallSignatures().length > 0) {
        const method = this.method(memberType, [...path, name], declaration, label);
        if (method) model.methods.push(method);
      } else if (memberType.isInterface() || (memberType.isObject() && memberType.getProperties().length > 0 && !memberType.isArray())) {
        if (seen.has(memberType.compilerType)) {
          this.mapper.diagnostics.push(diagnosticAt(declaration, Code.NamespaceCycle, `namespace ${label} contains itself; namespaces must form a tree`));
          continue;
        }
        checkTags(declaration, 'namespace', this.mapper.diagnostics);
        for (const d of memberType.getSymbol()?.getDeclarations() ?? []) {
          if (Node.isInterfaceDeclaration(d) && !this.namespaces.has(d)) {
            this.namespaces.add(d);
            checkTags(d, 'namespace', this.mapper.diagnostics);
          }
        }
        const child = this.namespace(memberType, [...path, name], declaration, new Set(seen));
        child.doc = docOf(declaration);
        model.namespaces.push({ name, doc: child.doc, namespace: child });
      } else {
        this.mapper.diagnostics.push(
          diagnosticAt(declaration, Code.NotMethodOrNamespace, `${label} is neither a method nor a namespace; a service holds methods, and properties whose type is an interface of methods`),
        );
      }
    }
    return model;
  }

  method(type: Type, path: string[], declaration: Node, label: string): MethodModel | undefined {
    const signatures = type.getCallSignatures();
    if (signatures.length > 1) {
      this.mapper.diagnostics.push(diagnosticAt(declaration, Code.Overloaded, `method ${label} is overloaded; a remote method has one signature: give each variant its own name`));
      return undefined;
    }
    const signature = signatures[0]!;
    const tags = checkTags(declaration, 'method', this.mapper.diagnostics);
    if (signature.getTypeParameters().length > 0) {
      this.mapper.diagnostics.push(diagnosticAt(declaration, Code.GenericMethod, `method ${label} is generic; remote methods need concrete types`));
      return undefined;
    }
    const params: ParamModel[] = [];
    let rest: ParamModel | undefined;
    for (const parameter of signature.getParameters()) {
      const node = parameter.getValueDeclaration() ?? declaration;
      const name = parameter.getName();
      if (!Node.isParameterDeclaration(node)) continue;
      if (!Node.isIdentifier(node.getNameNode())) {
        this.mapper.diagnostics.push(diagnosticAt(node, Code.DestructuredParameter, `a parameter of ${label} is destructured; give it a name, since callers may pass it by name`));
        continue;
      }
      const site = { node, what: `parameter "${name}" of ${label}` };
      const optional = node.isOptional() && !node.isRestParameter();
      let paramType = this.mapper.mapWithConstraints(declaredType(node) ?? parameter.getTypeAtLocation(node), site, node, 'parameter');
      if (optional) paramType = withoutUndefined(paramType);
      if (node.isRestParameter()) {
        const element = paramType.kind === 'array' ? paramType.element : this.mapper.error(site, Code.RestNotArray, 'is a rest parameter that is not an array');
        rest = { name, type: element, optional: true, doc: paramDoc(declaration, name) };
      } else {
        if (!optional && params.some((p) => p.optional)) {
          this.mapper.diagnostics.push(diagnosticAt(node, Code.RequiredAfterOptional, `${site.what} is required but follows an optional one`));
        }
        params.push({ name, type: paramType, optional, doc: paramDoc(declaration, name) });
      }
    }
    const returns = this.returnType(signature.getReturnType(), declaration, label);
    return {
      name: path[path.length - 1]!,
      wireName: path.join('.'),
      doc: docOf(declaration),
      params,
      rest,
      returns,
      throws: this.throwsOf(declaration),
      idempotent: tags.some((tag) => tag.name === 'idempotent'),
    };
  }

  /** Error classes from `@throws {Name} when ...` tags, with their text. */
  throwsOf(declaration: Node): ThrowsModel[] {
    const found: ThrowsModel[] = [];
    for (const tag of tagsOf(declaration)) {
      if (tag.name !== 'throws') continue;
      const match = /^\{\s*([A-Za-z_$][\w$]*)\s*\}\s*([\s\S]*)$/.exec(tag.value);
      if (!match) {
        const given = tag.value.split(/\s/)[0] ?? '';
        const example = /^[A-Za-z_$][\w$]*$/.test(given) ? given : 'OutOfStock';
        const message = `@throws needs the error class in braces, as in @throws {${example}} when …; got "@throws ${tag.value.split('\n')[0]}"`;
        this.mapper.diagnostics.push(diagnosticAtPos(declaration.getSourceFile(), tag.pos, Code.BadThrows, message));
        continue;
      }
      const taken = shadows(match[1]!);
      if (taken) {
        const message = `@throws {${match[1]}}: the generated error class would shadow ${taken}; give the error its own name (e.g. ${this.service}${match[1]})`;
        this.mapper.diagnostics.push(diagnosticAtPos(declaration.getSourceFile(), tag.pos, Code.ShadowsGlobal, message));
        continue;
      }
      found.push({ name: match[1]!, text: match[2]!.replace(/\s*\n\s*/g, ' ').trim() || undefined });
    }
    return found;
  }

  returnType(type: Type, declaration: Node, label: string): TypeNode {
    const site = { node: declaration, what: `the return type of ${label}` };
    let inner = type;
    if (type.getSymbol()?.getName() === 'Promise' && type.getTypeArguments().length === 1) inner = type.getTypeArguments()[0]!;
    const node = this.mapper.map(inner, site);
    if (this.pattern !== 'rpc' && node.kind !== 'void' && node.kind !== 'undefined') {
      this.mapper.error(site, Code.OneWayReturnsValue, `is "${inner.getText()}", but ${this.pattern} methods send nothing back: declare void`);
    }
    return node;
  }
}

/** `@param name description` from the method's JSDoc. */
function paramDoc(declaration: Node, name: string): string | undefined {
  if (!Node.isJSDocable(declaration)) return undefined;
  for (const tag of declaration.getJsDocs().at(-1)?.getTags() ?? []) {
    if (Node.isJSDocParameterTag(tag) && tag.getName() === name) {
      const text = tag.getCommentText()?.replace(/^\s*-\s*/, '').trim();
      return text || undefined;
    }
  }
  return undefined;
}
