/**
 * What the generator knows about the input, independent of ts-morph and of the output:
 * services, their methods, and the wire types of parameters and results.
 */

/** JSDoc constraints that become schema keywords. */
export interface Constraints {
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minItems?: number;
  maxItems?: number;
}

/** The classes the runtime exports and knows how to carry (ext types 123..127). */
export type RuntimeClass = 'PyDate' | 'PyTime' | 'PyTimedelta' | 'PyTimezone' | 'PyDateTime';

export type TypeNode =
  | { kind: 'number'; integer: boolean; constraints: Constraints }
  | { kind: 'string'; constraints: Constraints }
  | { kind: 'boolean' }
  | { kind: 'null' }
  | { kind: 'undefined' }
  | { kind: 'unknown' }
  | { kind: 'bigint' }
  | { kind: 'void' }
  | { kind: 'literal'; value: string | number | boolean }
  | { kind: 'union'; members: TypeNode[] }
  | { kind: 'intersection'; members: TypeNode[] }
  | { kind: 'array'; element: TypeNode; readonly: boolean; constraints: Constraints }
  | { kind: 'tuple'; elements: TupleElement[]; readonly: boolean }
  | { kind: 'object'; properties: PropertyNode[] }
  | { kind: 'record'; value: TypeNode }
  | { kind: 'date' }
  | { kind: 'bytes' }
  | { kind: 'runtime'; name: RuntimeClass }
  /** A class of the user's marked `@translator <code>`: it travels as that ext type. */
  | { kind: 'class'; name: string }
  | { kind: 'ref'; name: string };

export interface TupleElement {
  type: TypeNode;
  optional: boolean;
  rest: boolean;
  name: string | undefined;
}

export interface PropertyNode {
  name: string;
  type: TypeNode;
  optional: boolean;
  readonly: boolean;
  doc: string | undefined;
}

/** A named type from the input (interface, alias or enum), emitted once and referenced. */
export interface Declaration {
  name: string;
  type: TypeNode;
  doc: string | undefined;
  /** `interface` when `type` is an object; else a `type` alias. */
  form: 'interface' | 'alias';
}

export type Pattern = 'rpc' | 'pipeline' | 'pubsub';

export interface ParamModel {
  name: string;
  type: TypeNode;
  optional: boolean;
  doc: string | undefined;
}

export interface MethodModel {
  name: string;
  /** Dotted name on the wire: `billing.refund`. */
  wireName: string;
  doc: string | undefined;
  params: ParamModel[];
  rest: ParamModel | undefined;
  returns: TypeNode;
  /** Error classes from `@throws {Name} text`. */
  throws: ThrowsModel[];
  /** `@idempotent`: running it twice does no harm, so clients may retry it on another server. */
  idempotent: boolean;
}

export interface ThrowsModel {
  name: string;
  text: string | undefined;
}

export interface NamespaceModel {
  /** Names from the service root to here; empty at the root. */
  path: string[];
  doc: string | undefined;
  methods: MethodModel[];
  namespaces: Array<{ name: string; doc: string | undefined; namespace: NamespaceModel }>;
}

export interface ServiceModel {
  name: string;
  pattern: Pattern;
  doc: string | undefined;
  root: NamespaceModel;
}

/** One input file's worth of output. */
export interface ModuleModel {
  /** The input file's absolute path. */
  input: string;
  declarations: Declaration[];
  services: ServiceModel[];
  /** Error classes named by `@throws`, declared in the input and re-declared for callers. */
  errors: ErrorModel[];
  /** Classes with translators, imported from their own modules. */
  translators: TranslatorModel[];
}

export interface TranslatorModel {
  name: string;
  code: number;
  /** The absolute path of the file that declares the class. */
  file: string;
}

export interface ErrorModel {
  name: string;
  doc: string | undefined;
}

/** Every method of a namespace and of the namespaces inside it, in declaration order. */
export function allMethods(ns: NamespaceModel): MethodModel[] {
  return [...ns.methods, ...ns.namespaces.flatMap((c) => allMethods(c.namespace))];
}
