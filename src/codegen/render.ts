/**
 * The model, turned into the view the templates in `templates/` loop over. Everything
 * that decides text (names, types, schemas, doc comments) happens here; the templates
 * only place it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Mustache from 'mustache';
import { childrenOf, constraintTagsOf, orderDeclarations, propertyKey, quote, schemaName, schemaOf, tsType } from './emit-types.js';
import { version } from './version.js';
import { allMethods, type Declaration, type MethodModel, type ModuleModel, type NamespaceModel, type ParamModel, type ServiceModel, type TypeNode } from './model.js';

const templateDir = new URL('../../../templates/', import.meta.url);
const templateNames = ['module.ts', 'doc', 'handler', 'client', 'rpc', 'pipeline', 'pubsub'] as const;

let templates: Record<string, string> | undefined;
function loadTemplates(): Record<string, string> {
  templates ??= Object.fromEntries(
    templateNames.map((name) => [name.replace('.ts', ''), readFileSync(fileURLToPath(new URL(`${name}.mustache`, templateDir)), 'utf8')]),
  );
  return templates;
}

/** Renders one generated module. */
export function renderModule(model: ModuleModel): string {
  const { module: main, ...partials } = loadTemplates();
  const text = Mustache.render(main!, moduleView(model), partials, { escape: (s: string) => s });
  // Templates leave at most one blank line between blocks; collapse any doubles.
  return `${text.replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

const patternTitles = { rpc: 'request/reply', pipeline: 'pipeline', pubsub: 'publish/subscribe' } as const;

function moduleView(model: ModuleModel) {
  const used = new Set<string>();
  const groups = orderDeclarations(model.declarations).map((group) => {
    if (!group.cyclic) {
      const d = group.declaration;
      const column = `export const ${schemaName(d.name)} = `.length;
      return { declarations: [declarationView(d)], defs: [], schemas: [{ name: d.name, schema: schemaOf(d.type, schemaName, 0, column) }] };
    }
    const names = group.declarations.map((d) => d.name);
    const defsName = `${lowerFirst(names[0]!)}Definitions`;
    const inGroup = new Set(names);
    const ref = (name: string) => (inGroup.has(name) ? `Type.Ref(${quote(name)})` : schemaName(name));
    return {
      declarations: group.declarations.map(declarationView),
      defs: [{ defsName, names: names.join(', '), members: group.declarations.map((d) => ({ name: propertyKey(d.name), schema: schemaOf(d.type, ref, 1, 4 + d.name.length) })) }],
      schemas: names.map((name) => ({ name, schema: `Type.Cyclic(${defsName}, ${quote(name)})` })),
    };
  });
  const walk = (node: TypeNode) => collectRuntime(node, used);
  model.declarations.forEach((d) => walk(d.type));
  const services = model.services.map((service) => serviceView(service, used));
  if (model.errors.length > 0) used.add('ServiceError');
  if (model.services.length > 0) used.add('mergeTranslationTables').add('type TranslationTable');
  const usesType = model.declarations.length > 0 || model.services.some((s) => allMethods(s.root).length > 0);
  return {
    source: model.source,
    version,
    usesType,
    translatorImports: [...groupBy(model.translators, (t) => t.importPath)].map(([path, list]) => ({ path, names: list.map((t) => t.name).sort().join(', ') })),
    translators: model.translators.map((t) => ({ code: t.code, name: t.name })),
    hasTranslators: model.translators.length > 0,
    runtimeImports: importList(used),
    hasTypes: groups.length > 0,
    groups,
    hasErrors: model.errors.length > 0,
    errors: model.errors.map((e) => ({ name: e.name, wireLiteral: quote(e.name), docBlock: docBlock(e.doc ?? `Declared with @throws by a service in ${model.source}.`) })),
    services,
  };
}

function declarationView(d: Declaration) {
  const base = { name: d.name, docBlock: docBlock(d.doc) };
  if (d.form === 'interface' && d.type.kind === 'object') {
    return {
      ...base,
      isInterface: true,
      isAlias: false,
      properties: d.type.properties.map((p) => ({
        docBlock: docBlock([p.doc, ...constraintTagsOf(p.type)].filter(Boolean).join('\n') || undefined),
        signature: `${p.readonly ? 'readonly ' : ''}${propertyKey(p.name)}${p.optional ? '?' : ''}: ${tsType(p.type)}`,
      })),
    };
  }
  return { ...base, isInterface: false, isAlias: true, type: tsType(d.type) };
}

function serviceView(service: ServiceModel, used: Set<string>) {
  const camel = lowerFirst(service.name);
  const patternImports = {
    rpc: ['connectRpc', 'serveRpc', 'mergeErrorTables', 'type CallOptions', 'type ErrorTable', 'type RpcClientOptions', 'type RpcServer', 'type RpcServerOptions'],
    pipeline: ['connectPipeline', 'servePipeline', 'type PipelineClientOptions', 'type PipelineServer', 'type PipelineServerOptions'],
    pubsub: ['connectPubSub', 'servePubSub', 'type PubSubClientOptions', 'type PubSubServer', 'type PubSubServerOptions', 'type Topic'],
  }[service.pattern];
  for (const name of [...patternImports, 'TypedCaller', 'typedHandler', 'type MethodSpecs', 'type Send']) used.add(name);
  used.add({ rpc: 'TypedRpcClient', pipeline: 'TypedClient', pubsub: 'TypedPublisher' }[service.pattern]);

  const methods = allMethods(service.root);
  if (methods.some(() => true)) used.add('type CallContext');
  for (const method of methods) {
    for (const p of [...method.params, ...(method.rest ? [method.rest] : [])]) collectRuntime(p.type, used);
    collectRuntime(method.returns, used);
  }
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
      base: isRoot && service.pattern !== 'pubsub' ? (service.pattern === 'rpc' ? 'TypedRpcClient' : 'TypedClient') : undefined,
      methods: ns.methods.map((m) => methodView(m, service)),
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
    specs: methods.map(specView),
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

function methodView(method: MethodModel, service: ServiceModel) {
  const params = method.params.map((p) => `${p.name}${p.optional ? '?' : ''}: ${tsType(p.type)}`);
  const handlerParams = method.params.map((p) => `${p.name}: ${tsType(p.type)}${p.optional ? ' | undefined' : ''}`);
  const rest = method.rest ? `...${method.rest.name}: ${tsType({ kind: 'array', element: method.rest.type, readonly: false, constraints: {} })}` : undefined;
  const hasOptions = service.pattern === 'rpc' && !rest;
  const clientParams = [...params, ...(rest ? [rest] : hasOptions ? ['options?: CallOptions'] : [])];
  const returns = service.pattern === 'rpc' ? tsType(method.returns) : 'void';
  const throws = method.throws.map((t) => `@throws {${t.name}}${t.text ? ` ${t.text}` : ''}`);
  if (throws.length > 0) throws.push('@throws {RpcError} when the call itself fails: timeout, transport, arguments');
  const doc = [method.doc, ...method.params.map(paramTag).filter(Boolean), ...throws].filter(Boolean).join('\n');
  return {
    name: method.name,
    wireLiteral: quote(method.wireName),
    docBlock: docBlock(doc || undefined),
    handlerParams: [...handlerParams, ...(rest ? [rest] : ['ctx: CallContext'])].join(', '),
    handlerReturn: `${returns} | Promise<${returns}>`,
    clientParams: clientParams.join(', '),
    clientReturn: returns,
    argNames: [...method.params.map((p) => p.name), ...(method.rest ? [`...${method.rest.name}`] : [])].join(', '),
    hasOptions,
    // Without a rest parameter, arguments past the declared ones (plain JavaScript callers) are refused.
    arity: rest ? undefined : { max: method.params.length + (hasOptions ? 1 : 0) },
  };
}

function specView(method: MethodModel) {
  const param = (p: ParamModel) => ({ nameLiteral: quote(p.name), schema: schemaOf(p.type, schemaName, 3, 24 + p.name.length), optional: p.optional });
  const checksReturn = method.returns.kind !== 'void' && method.returns.kind !== 'undefined' && method.returns.kind !== 'unknown';
  return {
    key: quote(method.wireName),
    hasParams: method.params.length > 0,
    params: method.params.map(param),
    rest: method.rest ? [param(method.rest)] : [],
    returns: checksReturn ? [schemaOf(method.returns, schemaName, 2, 13)] : [],
  };
}

function flatten(ns: NamespaceModel): NamespaceModel[] {
  return [ns, ...ns.namespaces.flatMap((c) => flatten(c.namespace))];
}

/** Runtime names a type needs in scope: `Wire`, and classes such as `PyDate`. */
function collectRuntime(node: TypeNode, used: Set<string>): void {
  if (node.kind === 'date' || node.kind === 'bytes') used.add('Wire');
  if (node.kind === 'runtime') used.add('Wire').add(node.name);
  if (node.kind === 'class') used.add('Wire');
  for (const child of childrenOf(node)) collectRuntime(child, used);
}

/** Values first, then types, each alphabetical: one stable import list. */
function importList(used: Set<string>): string[] {
  const key = (name: string) => name.replace(/^type /, '');
  const values = [...used].filter((n) => !n.startsWith('type ')).sort((a, b) => key(a).localeCompare(key(b)));
  const types = [...used].filter((n) => n.startsWith('type ')).sort((a, b) => key(a).localeCompare(key(b)));
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
