/**
 * Generator errors and warnings in the TypeScript compiler's plain format,
 * `file(line,col): error ZRPC2001: message`, so editors' problem matchers and CI
 * annotations read them as they read tsc's. Every kind has a stable code (listed in the
 * README); errors from the TypeScript checker keep their own `TS` codes.
 */
import { relative } from 'node:path';
import type { Node, SourceFile } from 'ts-morph';

/** The code of each kind of problem; numbers never change meaning. */
export const Code = {
  // 1xxx: services, namespaces and methods
  TwoPatterns: 1001,
  ServiceNotExported: 1002,
  GenericService: 1003,
  NotAnIdentifier: 1004,
  ReservedMember: 1005,
  NamespaceCycle: 1006,
  NotMethodOrNamespace: 1007,
  Overloaded: 1008,
  GenericMethod: 1009,
  DestructuredParameter: 1010,
  RestNotArray: 1011,
  RequiredAfterOptional: 1012,
  OneWayReturnsValue: 1013,
  NoService: 1014,
  UntaggedInterface: 1015,
  // 2xxx: types that cannot cross the wire
  AnyType: 2001,
  NeverType: 2002,
  TypeParameter: 2003,
  BigIntLiteral: 2004,
  SymbolType: 2005,
  UnsupportedType: 2006,
  FunctionType: 2007,
  RecursiveGeneric: 2008,
  ClassType: 2009,
  MapType: 2010,
  PromiseValue: 2011,
  SetType: 2012,
  NumericIndex: 2013,
  MethodInData: 2014,
  MixedIndex: 2015,
  // 3xxx: translator classes
  TranslatorCode: 3001,
  TranslatorMethods: 3002,
  TranslatorNotExported: 3003,
  TranslatorClash: 3004,
  // 4xxx: JSDoc tags and constraints
  UnknownTag: 4001,
  MisplacedTag: 4002,
  BadTagValue: 4003,
  ConstraintOnUnion: 4004,
  ConstraintType: 4005,
  BadThrows: 4006,
  // 5xxx: names in the generated module
  ShadowsGlobal: 5001,
} as const;

export type Category = 'error' | 'warning';

export interface Diagnostic {
  /** Absolute path, or undefined for a problem with the run as a whole. */
  file: string | undefined;
  line: number;
  column: number;
  category: Category;
  /** `ZRPC2001`, or `TS2304` for the TypeScript checker's own errors. */
  code: string;
  message: string;
}

export function diagnosticAt(node: Node, code: number, message: string, category: Category = 'error'): Diagnostic {
  return diagnosticAtPos(node.getSourceFile(), node.getStart(), code, message, category);
}

export function diagnosticAtPos(source: SourceFile, pos: number, code: number, message: string, category: Category = 'error'): Diagnostic {
  const { line, column } = source.getLineAndColumnAtPos(pos);
  return { file: source.getFilePath(), line, column, category, code: `ZRPC${code}`, message };
}

/** `api/ledger.ts(12,3): error ZRPC2007: message`, with the path relative to `cwd`. */
export function formatDiagnostic(d: Diagnostic, cwd = process.cwd()): string {
  const where = d.file === undefined ? '' : `${relative(cwd, d.file) || d.file}(${d.line},${d.column}): `;
  return `${where}${d.category} ${d.code}: ${d.message}`;
}

/** In file order, each once (a type used twice is reported once). */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const unique = new Map(diagnostics.map((d) => [formatDiagnostic(d, '/'), d]));
  return [...unique.values()].sort(
    (a, b) => (a.file ?? '').localeCompare(b.file ?? '') || a.line - b.line || a.column - b.column || a.code.localeCompare(b.code),
  );
}

/** Thrown by `generate` when the input has errors; lists every problem, warnings too. */
export class GeneratorError extends Error {
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    const sorted = sortDiagnostics(diagnostics);
    const errors = sorted.filter((d) => d.category === 'error').length;
    super(`${errors} error${errors === 1 ? '' : 's'} in the service definitions:\n${sorted.map((d) => formatDiagnostic(d)).join('\n')}`);
    this.diagnostics = sorted;
  }

  override get name(): string {
    return 'GeneratorError';
  }
}

/** Where a type is used, for messages: `parameter "cb" of Ledger.watch`. */
export interface Site {
  node: Node;
  what: string;
}
