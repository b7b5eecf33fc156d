/**
 * `generate`: input files in, generated modules out. Loads the inputs with ts-morph,
 * extracts services and types, reports every problem at once, and writes only what
 * changed (or, with `check`, writes nothing and reports what is stale).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import { Project, ts } from 'ts-morph';
import { GeneratorError, type Diagnostic } from './diagnostics.js';
import { extractServices } from './extract.js';
import { allMethods, type ErrorModel, type ModuleModel } from './model.js';
import { renderModule } from './render.js';
import { docOf, TypeMapper } from './type-mapper.js';

export interface GenerateOptions {
  /** Input files declaring services (`@rpc`, `@pipeline`, `@pubsub` interfaces). */
  inputs: readonly string[];
  /** Folder for the generated modules; an input's path under the inputs' common folder is kept. */
  outDir: string;
  /** Compare with what is on disk and write nothing. */
  check?: boolean;
  /** Resolves relative paths. Default: `process.cwd()`. */
  cwd?: string;
}

export interface GeneratedFile {
  /** Absolute path of the output. */
  path: string;
  /** The input it was generated from. */
  source: string;
  content: string;
  /** Whether the file on disk differed (or was missing). */
  changed: boolean;
}

export interface GenerateResult {
  files: GeneratedFile[];
  /** Outputs that differ from disk: written, or (with `check`) left stale. */
  changed: string[];
  /** Every source file of the user's that the inputs read (for `--watch`). */
  read: string[];
}

const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
  noEmit: true,
};

export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const cwd = options.cwd ?? process.cwd();
  const inputs = [...new Set(options.inputs.map((p) => resolve(cwd, p)))].sort();
  if (inputs.length === 0) throw new GeneratorError([]);
  const outDir = resolve(cwd, options.outDir);
  const project = new Project({ compilerOptions, skipAddingFilesFromTsConfig: true });
  const diagnostics: Diagnostic[] = [];
  const sources = inputs.map((path) => {
    try {
      return project.addSourceFileAtPath(path);
    } catch (cause) {
      throw new Error(`cannot read ${relative(cwd, path)}: ${(cause as Error).message}`, { cause });
    }
  });
  project.resolveSourceFileDependencies();
  const isUserFile = (path: string) => !path.includes(`${sep}node_modules${sep}`) && !path.includes('/node_modules/') && !path.endsWith('.d.ts');

  const base = commonFolder(inputs);
  const modules: Array<{ input: string; output: string; model: ModuleModel }> = [];
  for (const source of sources) {
    const compileErrors = typeErrors(project, source.getFilePath());
    if (compileErrors.length > 0) {
      // What the checker cannot type would only come back as noise about `any`.
      diagnostics.push(...compileErrors);
      continue;
    }
    const mapper = new TypeMapper(isUserFile);
    const services = extractServices(source, mapper);
    diagnostics.push(...mapper.diagnostics);
    if (services.length === 0) continue;
    const output = resolve(outDir, relative(base, source.getFilePath()));
    const throws = [...new Set(services.flatMap((s) => allMethods(s.root)).flatMap((m) => m.throws.map((t) => t.name)))].sort();
    const errors: ErrorModel[] = throws.map((name) => {
      const declared = source.getClass(name) ?? source.getInterface(name);
      return { name, doc: declared ? docOf(declared) : undefined };
    });
    const fromOutput = relative(dirname(output), source.getFilePath()).split(sep).join('/');
    const importPath = (file: string) => {
      const path = relative(dirname(output), file).split(sep).join('/').replace(/\.(c|m)?tsx?$/, (_, m: string | undefined) => `.${m ?? ''}js`);
      return path.startsWith('.') ? path : `./${path}`;
    };
    const translators = [...mapper.translators].map(([name, t]) => ({ name, code: t.code, importPath: importPath(t.file) })).sort((a, b) => a.code - b.code);
    modules.push({
      input: source.getFilePath(),
      output,
      model: { source: fromOutput, declarations: [...mapper.declarations.values()], services, errors, translators },
    });
  }
  if (diagnostics.length > 0) throw new GeneratorError(diagnostics);

  const files: GeneratedFile[] = [];
  for (const { input, output, model } of modules) {
    const content = renderModule(model);
    const current = await readFile(output, 'utf8').catch(() => undefined);
    files.push({ path: output, source: input, content, changed: current !== content });
  }
  const changed = files.filter((f) => f.changed).map((f) => f.path);
  const read = project.getSourceFiles().map((f) => f.getFilePath() as string).filter(isUserFile).sort();
  if (!options.check) {
    for (const file of files.filter((f) => f.changed)) {
      await mkdir(dirname(file.path), { recursive: true });
      await writeFile(file.path, file.content);
    }
  }
  return { files, changed, read };
}

/** The input's own TypeScript errors: generating from code that does not compile helps nobody. */
function typeErrors(project: Project, path: string): Diagnostic[] {
  const program = project.getProgram().compilerObject;
  const file = program.getSourceFile(path);
  if (!file) return [];
  const found = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
  return found.map((d) => {
    const { line, character } = file.getLineAndCharacterOfPosition(d.start ?? 0);
    return { file: path, line: line + 1, column: character + 1, message: ts.flattenDiagnosticMessageText(d.messageText, '\n') };
  });
}

function commonFolder(paths: readonly string[]): string {
  const parts = paths.map((p) => dirname(p).split(sep));
  const first = parts[0]!;
  let n = first.length;
  for (const p of parts) {
    let i = 0;
    while (i < n && i < p.length && p[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join(sep) || sep;
}

