/**
 * Generator errors that read like compiler diagnostics: file:line:column, the offending
 * text, and what to do instead.
 */
import { relative } from 'node:path';
import type { Node } from 'ts-morph';

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  message: string;
}

export function diagnosticAt(node: Node, message: string): Diagnostic {
  const source = node.getSourceFile();
  const { line, column } = source.getLineAndColumnAtPos(node.getStart());
  return { file: source.getFilePath(), line, column, message };
}

/** `api/ledger.ts:12:3 – message`, with the path relative to `cwd`. */
export function formatDiagnostic(d: Diagnostic, cwd = process.cwd()): string {
  return `${relative(cwd, d.file) || d.file}:${d.line}:${d.column} – ${d.message}`;
}

/** Thrown by `generate` when the input has errors; lists every one of them. */
export class GeneratorError extends Error {
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    const sorted = [...diagnostics].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
    super(`${sorted.length} error${sorted.length === 1 ? '' : 's'} in the service definitions:\n${sorted.map((d) => formatDiagnostic(d)).join('\n')}`);
    this.diagnostics = sorted;
  }

  override get name(): string {
    return 'GeneratorError';
  }
}
