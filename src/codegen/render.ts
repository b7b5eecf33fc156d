/**
 * The model, turned into the view the templates in `templates/` loop over. Everything
 * that decides text (names, types, schemas, doc comments) happens here; the templates
 * place it and own the layout. What a module imports is recorded where it is written:
 * by the type emitters, by the view code that writes a runtime name, and by each
 * template in its `{{! imports: ... }}` line for the names in its own text.
 */
import { readFileSync } from 'node:fs';
import { dirname, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import Mustache from 'mustache';
import { constraintTagsOf, layout, orderDeclarations, propertyKey, quote, schemaDoc, schemaName, tsType, type Doc, type RefWriter, type Uses } from './emit-types.js';
import { version } from './version.js';
import { allMethods, type Declaration, type MethodModel, type ModuleModel, type NamespaceModel, type ParamModel, type ServiceModel, type TypeNode } from './model.js';

const templateDir = new URL('../../../templates/', import.meta.url);
const templateNames = ['head', 'module.ts', 'doc', 'error', 'handler', 'client', 'rpc', 'pipeline', 'pubsub'] as const;

let templates: Record<string, string> | undefined;
function loadTemplates(): Record<string, string> {
  templates ??= Object.fromEntries(
    templateNames.map((name) => [name.replace('.ts', ''), readFileSync(fileURLToPath(new URL(`${name}.mustache`, templateDir)), 'utf8')]),
  );
  return templates;
}

/** Renders one generated module, to be written at `output`. */
export function renderModule(model: ModuleModel, output: string): string {
  const { head, module: main, ...partials } = loadTemplates();
  const emit = new Emit();
  const render = (template: string, view: object) => {
    emit.useAll(declaredImports(template));
    // Partials are looked up as they are rendered, so only the templates used count.
    const partial = (name: string) => {
      const text = partials[name];
      if (text !== undefined) emit.useAll(declaredImports(text));
      return text;
    };
    return Mustache.render(template, view, partial, { escape: (text: string) => text });
  };
  // The body first: the head's import list is what the body wrote.
  const body = render(main!, moduleView(model, output, emit));
  const text = emit.layOut(render(head!, headView(model, output, emit.uses)) + body);
  // Templates leave at most one blank line between blocks; collapse any doubles.
  return `${text.replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

/** The names a template writes from zrpc/generated: its `{{! imports: a, type B }}` line. */
export function declaredImports(template: string): string[] {
  const line = /\{\{!\s*imports:([^}]*)\}\}/.exec(template)?.[1];
  return line ? line.split(',').map((name) => name.trim()).filter(Boolean) : [];
}

/**
 * What the view code writes: TypeScript types and schemas, recording the names they
 * use; schemas are placed as markers and laid out once the templates have put them on
 * their lines, so the width limit counts the real column and indentation.
 */
class Emit {
  readonly uses: Uses = new Set();
  readonly #schemas: Doc[] = [];

  use(name: string): string {
    this.uses.add(name);
    return name.replace(/^type /, '');
  }

  useAll(names: readonly string[]): void {
    for (const name of names) this.uses.add(name);
  }

  ts(node: TypeNode): string {
    return tsType(node, this.uses);
  }

  schema(node: TypeNode, ref: RefWriter = schemaName): string {
    this.#schemas.push(schemaDoc(node, ref, this.uses));
    return `\u0000${this.#schemas.length - 1}\u0000`;
  }

  /** Replaces each schema marker by its layout, at the marker's column and its line's indentation. */
  layOut(text: string): string {
    return text.replace(/\u0000(\d+)\u0000/g, (_, index: string, offset: number) => {
      const lineStart = text.lastIndexOf('\n', offset) + 1;
      const indent = /^ */.exec(text.slice(lineStart, offset))![0].length;
      return layout(this.#schemas[Number(index)]!, Math.floor(indent / 2), offset - lineStart);
    });
  }
}

const patternTitles = { rpc: 'request/reply', pipeline: 'pipeline', pubsub: 'publish/subscribe' } as const;

/** A path as an import from the output's folder sees it, `.ts` written as `.js`. */
function importPath(output: string, file: string): string {
  const path = relative(dirname(output), file).split(sep).join('/').replace(/\.(c|m)?tsx?$/, (_, m: string | undefined) => `.${m ?? ''}js`);
  return path.startsWith('.') ? path : `./${path}`;
}

/** The header and the imports: what the body used, and the classes with translators. */
function headView(model: ModuleModel, output: string, uses: Uses) {
  return {
    source: sourceOf(model, output),
    version,
    usesType: uses.has('Type'),
    runtimeImports: importList(new Set([...uses].filter((name) => name !== 'Type'))),
    translatorImports: [...groupBy(model.translators, (t) => importPath(output, t.file))].map(([path, list]) => ({ path, names: list.map((t) => t.name).sort().join(', ') })),
  };
}

/** The input path as the output's folder sees it, for the header and doc comments. */
function sourceOf(model: ModuleModel, output: string): string {
  return relative(dirname(output), model.input).split(sep).join('/');
}

function moduleView(model: ModuleModel, output: string, emit: Emit) {
  const source = sourceOf(model, output);
  const declarationView = (d: Declaration) => declarationViewOf(d, emit);
  const groups = orderDeclarations(model.declarations).map((group) => {
    if (!group.cyclic) {
      const d = group.declaration;
      return { declarations: [declarationView(d)], defs: [], schemas: [{ name: d.name, schema: emit.schema(d.type) }] };
    }
    const names = group.declarations.map((d) => d.name);
    const defsName = `${lowerFirst(names[0]!)}Definitions`;
    const inGroup = new Set(names);
    const ref = (name: string) => (inGroup.has(name) ? `${emit.use('Type')}.Ref(${quote(name)})` : schemaName(name));
    return {
      declarations: group.declarations.map(declarationView),
      defs: [{ defsName, names: names.join(', '), members: group.declarations.map((d) => ({ name: propertyKey(d.name), schema: emit.schema(d.type, ref) })) }],
      schemas: names.map((name) => ({ name, schema: `${emit.use('Type')}.Cyclic(${defsName}, ${quote(name)})` })),
    };
  });
  const services = model.services.map((service) => serviceView(service, emit));
  return {
    translators: model.translators.map((t) => ({ code: t.code, name: t.name })),
    hasTranslators: model.translators.length > 0,
    hasTypes: groups.length > 0,
    groups,
    hasErrors: model.errors.length > 0,
    errors: model.errors.map((e) => ({ name: e.name, wireLiteral: quote(e.name), docBlock: docBlock(e.doc ?? `Declared with @throws by a service in ${source}.`) })),
    services,
  };
}

function declarationViewOf(d: Declaration, emit: Emit) {
  const base = { name: d.name, docBlock: docBlock(d.doc) };
  if (d.form === 'interface' && d.type.kind === 'object') {
    return {
      ...base,
      isInterface: true,
      isAlias: false,
      properties: d.type.properties.map((p) => ({
        docBlock: docBlock([p.doc, ...constraintTagsOf(p.type)].filter(Boolean).join('\n') || undefined),
        signature: `${p.readonly ? 'readonly ' : ''}${propertyKey(p.name)}${p.optional ? '?' : ''}: ${emit.ts(p.type)}`,
      })),
    };
  }
  return { ...base, isInterface: false, isAlias: true, type: emit.ts(d.type) };
}

function serviceView(service: ServiceModel, emit: Emit) {
  const camel = lowerFirst(service.name);
  const methods = allMethods(service.root);
  const throws = [...new Set(methods.flatMap((m) => m.throws.map((t) => t.name)))].sort();
  const clientSuffix = service.pattern === 'pubsub' ? 'Publisher' : 'Client';
  const namespaces = flatten(service.root).map((ns) => {
    const prefix = service.name + ns.path.map(upperFirst).join('');
    const isRoot = ns.path.length === 0;
    return {
      handlerName: `${prefix}Handler`,
      clientName: `${prefix}${clientSuffix}`,
      handlerDoc: docBlock(isRoot ? service.doc ?? `What the ${service.name} server implements: each method returns its result or a promise of it.` : ns.doc),
      clientDoc: docBlock(isRoot ? defaultClientDoc(service) : ns.doc),
      hasChildren: ns.namespaces.length > 0,
      base: isRoot && service.pattern !== 'pubsub' ? emit.use(service.pattern === 'rpc' ? 'TypedRpcClient' : 'TypedClient') : undefined,
      methods: ns.methods.map((m) => methodView(m, service, emit)),
      children: ns.namespaces.map((child) => {
        const childPrefix = prefix + upperFirst(child.name);
        return { name: child.name, handlerName: `${childPrefix}Handler`, clientName: `${childPrefix}${clientSuffix}`, docBlock: docBlock(child.doc) };
      }),
    };
  });
  return {
    name: service.name,
    patternTitle: patternTitles[service.pattern],
    isRpc: service.pattern === 'rpc',
    isPipeline: service.pattern === 'pipeline',
    isPubsub: service.pattern === 'pubsub',
    rootHandler: `${service.name}Handler`,
    rootClient: `${service.name}${clientSuffix}`,
    specsName: `${camel}Methods`,
    errorsName: `${camel}Errors`,
    errorNames: throws.join(', '),
    namespaces,
    specs: methods.map((m) => specView(m, emit)),
  };
}

function defaultClientDoc(service: ServiceModel): string {
  const what = { rpc: 'calls', pipeline: 'notifies', pubsub: 'publishes to' }[service.pattern];
  return service.doc ?? `A typed client that ${what} ${service.name}.`;
}

/** `@param qty how many (@integer @minimum 1)`, or nothing when there is nothing to say. */
function paramTag(p: ParamModel): string | undefined {
  const tags = constraintTagsOf(p.type);
  const text = [p.doc, tags.length > 0 ? `(${tags.join(' ')})` : undefined].filter(Boolean).join(' ');
  return text ? `@param ${p.name} ${text}` : undefined;
}

function methodView(method: MethodModel, service: ServiceModel, emit: Emit) {
  const params = method.params.map((p) => `${p.name}${p.optional ? '?' : ''}: ${emit.ts(p.type)}`);
  const handlerParams = method.params.map((p) => `${p.name}: ${emit.ts(p.type)}${p.optional ? ' | undefined' : ''}`);
  const rest = method.rest ? `...${method.rest.name}: ${emit.ts({ kind: 'array', element: method.rest.type, readonly: false, constraints: {} })}` : undefined;
  const hasOptions = service.pattern === 'rpc' && !rest;
  const clientParams = [...params, ...(rest ? [rest] : hasOptions ? [`options?: ${emit.use('type CallOptions')}`] : [])];
  const returns = service.pattern === 'rpc' ? emit.ts(method.returns) : 'void';
  const throws = method.throws.map((t) => `@throws {${t.name}}${t.text ? ` ${t.text}` : ''}`);
  if (throws.length > 0) throws.push('@throws {RpcError} when the call itself fails: timeout, transport, arguments');
  const doc = [method.doc, ...method.params.map(paramTag).filter(Boolean), ...throws].filter(Boolean).join('\n');
  return {
    name: method.name,
    wireLiteral: quote(method.wireName),
    docBlock: docBlock(doc || undefined),
    handlerParams: [...handlerParams, ...(rest ? [rest] : [`ctx: ${emit.use('type CallContext')}`])].join(', '),
    handlerReturn: `${returns} | Promise<${returns}>`,
    clientParams: clientParams.join(', '),
    clientReturn: returns,
    argNames: [...method.params.map((p) => p.name), ...(method.rest ? [`...${method.rest.name}`] : [])].join(', '),
    hasOptions,
    // Without a rest parameter, arguments past the declared ones (plain JavaScript callers) are refused.
    arity: rest ? undefined : { max: method.params.length + (hasOptions ? 1 : 0) },
  };
}

function specView(method: MethodModel, emit: Emit) {
  const param = (p: ParamModel) => ({ nameLiteral: quote(p.name), schema: emit.schema(p.type), optional: p.optional, docLiteral: p.doc ? quote(p.doc) : undefined });
  const checksReturn = method.returns.kind !== 'void' && method.returns.kind !== 'undefined' && method.returns.kind !== 'unknown';
  return {
    key: quote(method.wireName),
    hasParams: method.params.length > 0,
    params: method.params.map(param),
    rest: method.rest ? [param(method.rest)] : [],
    returns: checksReturn ? [emit.schema(method.returns)] : [],
    // For `zrpc:describe`: what a server tells a terminal or another tool about itself.
    docLiteral: method.doc ? quote(method.doc) : undefined,
    throwsList: method.throws.length > 0 ? `[${method.throws.map((t) => `{ name: ${quote(t.name)}${t.text ? `, doc: ${quote(t.text)}` : ''} }`).join(', ')}]` : undefined,
    idempotent: method.idempotent,
  };
}

function flatten(ns: NamespaceModel): NamespaceModel[] {
  return [ns, ...ns.namespaces.flatMap((c) => flatten(c.namespace))];
}

/** Values first, then types, each alphabetical: one stable import list. */
function importList(used: ReadonlySet<string>): string[] {
  const key = (name: string) => name.replace(/^type /, '');
  const values = [...used].filter((n) => !n.startsWith('type ')).sort((a, b) => key(a).localeCompare(key(b)));
  // A name used as a value is imported as one, even where it is also used as a type.
  const types = [...used].filter((n) => n.startsWith('type ') && !used.has(key(n))).sort((a, b) => key(a).localeCompare(key(b)));
  return [...values, ...types];
}

/** A JSDoc block as lines, or none. */
function docBlock(doc: string | undefined): string[] {
  if (!doc) return [];
  const lines = doc.split('\n').map((l) => l.trimEnd().replaceAll('*/', '*\\/'));
  if (lines.length === 1) return [`/** ${lines[0]} */`];
  return ['/**', ...lines.map((l) => (l ? ` * ${l}` : ' *')), ' */'];
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of [...items].sort((a, b) => key(a).localeCompare(key(b)))) {
    const list = groups.get(key(item)) ?? [];
    list.push(item);
    groups.set(key(item), list);
  }
  return groups;
}

function lowerFirst(name: string): string {
  return name[0]!.toLowerCase() + name.slice(1);
}

function upperFirst(name: string): string {
  return name[0]!.toUpperCase() + name.slice(1);
}
