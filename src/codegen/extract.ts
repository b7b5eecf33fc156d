/**
 * Services from an input file: every exported interface tagged `@rpc`, `@pipeline` or
 * `@pubsub`. Its methods are remote methods; a property whose type is an interface is a
 * namespace (`billing.refund` on the wire).
 */
import { Node, type InterfaceDeclaration, type SourceFile, type Type } from 'ts-morph';
import { diagnosticAt } from './diagnostics.js';
import type { MethodModel, NamespaceModel, ParamModel, Pattern, ServiceModel, ThrowsModel, TypeNode } from './model.js';
import { declaredType, docOf, withoutUndefined, type TypeMapper } from './type-mapper.js';

const patterns: Record<string, Pattern> = { rpc: 'rpc', pipeline: 'pipeline', pubsub: 'pubsub' };

/** The pattern tag on an interface, or undefined if it is not a service. */
function patternOf(declaration: InterfaceDeclaration, mapper: TypeMapper): Pattern | undefined {
  const tags = declaration.getJsDocs().flatMap((d) => d.getTags()).map((t) => t.getTagName()).filter((n) => n in patterns);
  if (tags.length > 1) {
    mapper.diagnostics.push(diagnosticAt(declaration, `service ${declaration.getName()} has ${tags.map((t) => `@${t}`).join(' and ')}; choose one pattern`));
  }
  return tags[0] ? patterns[tags[0]] : undefined;
}

export function extractServices(file: SourceFile, mapper: TypeMapper): ServiceModel[] {
  const services: ServiceModel[] = [];
  for (const declaration of file.getInterfaces()) {
    const pattern = patternOf(declaration, mapper);
    if (!pattern) continue;
    const name = declaration.getName();
    if (!declaration.isExported()) {
      mapper.diagnostics.push(diagnosticAt(declaration, `service ${name} is tagged @${pattern} but not exported; export it`));
      continue;
    }
    if (declaration.getTypeParameters().length > 0) {
      mapper.diagnostics.push(diagnosticAt(declaration, `service ${name} is generic; a service interface cannot have type parameters`));
      continue;
    }
    const root = new ServiceReader(name, pattern, mapper).namespace(declaration.getType(), [], declaration, new Set());
    services.push({ name, pattern, doc: docOf(declaration), root });
  }
  return services;
}

class ServiceReader {
  constructor(
    private readonly service: string,
    private readonly pattern: Pattern,
    private readonly mapper: TypeMapper,
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
        this.mapper.diagnostics.push(diagnosticAt(declaration, `${label}: "${name}" is not an identifier; remote names are identifiers (Python calls them as attributes)`));
        continue;
      }
      if (this.#reserved(path).has(name)) {
        this.mapper.diagnostics.push(diagnosticAt(declaration, `${label}: "${name}" is taken by the generated client (${[...this.#reserved(path)].join(', ')}); rename it or move it into a namespace`));
        continue;
      }
      if (memberType.getCallSignatures().length > 0) {
        const method = this.method(memberType, [...path, name], declaration, label);
        if (method) model.methods.push(method);
      } else if (memberType.isInterface() || (memberType.isObject() && memberType.getProperties().length > 0 && !memberType.isArray())) {
        if (seen.has(memberType.compilerType)) {
          this.mapper.diagnostics.push(diagnosticAt(declaration, `namespace ${label} contains itself; namespaces must form a tree`));
          continue;
        }
        const child = this.namespace(memberType, [...path, name], declaration, new Set(seen));
        child.doc = docOf(declaration);
        model.namespaces.push({ name, doc: child.doc, namespace: child });
      } else {
        this.mapper.diagnostics.push(
          diagnosticAt(declaration, `${label} is neither a method nor a namespace; a service holds methods, and properties whose type is an interface of methods`),
        );
      }
    }
    return model;
  }

  method(type: Type, path: string[], declaration: Node, label: string): MethodModel | undefined {
    const signatures = type.getCallSignatures();
    if (signatures.length > 1) {
      this.mapper.diagnostics.push(diagnosticAt(declaration, `method ${label} is overloaded; a remote method has one signature: give each variant its own name`));
      return undefined;
    }
    const signature = signatures[0]!;
    if (signature.getTypeParameters().length > 0) {
      this.mapper.diagnostics.push(diagnosticAt(declaration, `method ${label} is generic; remote methods need concrete types`));
      return undefined;
    }
    const params: ParamModel[] = [];
    let rest: ParamModel | undefined;
    for (const parameter of signature.getParameters()) {
      const node = parameter.getValueDeclaration() ?? declaration;
      const name = parameter.getName();
      if (!Node.isParameterDeclaration(node)) continue;
      if (!Node.isIdentifier(node.getNameNode())) {
        this.mapper.diagnostics.push(diagnosticAt(node, `a parameter of ${label} is destructured; give it a name, since callers may pass it by name`));
        continue;
      }
      const site = { node, what: `parameter "${name}" of ${label}` };
      const optional = node.isOptional() && !node.isRestParameter();
      let paramType = this.mapper.mapWithConstraints(declaredType(node) ?? parameter.getTypeAtLocation(node), site, node);
      if (optional) paramType = withoutUndefined(paramType);
      if (node.isRestParameter()) {
        const element = paramType.kind === 'array' ? paramType.element : this.mapper.error(site, 'is a rest parameter that is not an array');
        rest = { name, type: element, optional: true, doc: paramDoc(declaration, name) };
      } else {
        if (!optional && params.some((p) => p.optional)) {
          this.mapper.diagnostics.push(diagnosticAt(node, `${site.what} is required but follows an optional one`));
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
      throws: throwsOf(declaration),
    };
  }

  returnType(type: Type, declaration: Node, label: string): TypeNode {
    const site = { node: declaration, what: `the return type of ${label}` };
    let inner = type;
    if (type.getSymbol()?.getName() === 'Promise' && type.getTypeArguments().length === 1) inner = type.getTypeArguments()[0]!;
    const node = this.mapper.map(inner, site);
    if (this.pattern !== 'rpc' && node.kind !== 'void' && node.kind !== 'undefined') {
      this.mapper.error(site, `is "${inner.getText()}", but ${this.pattern} methods send nothing back: declare void`);
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

/** Error classes from `@throws {Name} when ...` tags, with their text. */
function throwsOf(declaration: Node): ThrowsModel[] {
  if (!Node.isJSDocable(declaration)) return [];
  const found: ThrowsModel[] = [];
  for (const tag of declaration.getJsDocs().at(-1)?.getTags() ?? []) {
    if (tag.getTagName() !== 'throws') continue;
    const match = /^\s*\{\s*([A-Za-z_$][\w$]*)\s*\}\s*([\s\S]*)$/.exec(tag.getText().replace(/^@throws/, '').replace(/\s*\*?\s*$/, ''));
    if (match) found.push({ name: match[1]!, text: match[2]!.replace(/\s*\n\s*\*?\s*/g, ' ').trim() || undefined });
  }
  return found;
}
