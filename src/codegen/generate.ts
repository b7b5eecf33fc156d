/**
 * `generate`: input files in, generated modules out. Loads the inputs with ts-morph,
 * extracts services and types, reports every problem at once, and writes only what
 * changed (or, with `check`, writes nothing and reports what is stale).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { InterfaceDeclaration } from 'ts-morph';
import { Project, ts, type Node, type TS } from './morph.js';
import { Code, diagnosticAt, GeneratorError, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { extractModule } from './extract.js';
import { checkGenerateOptions, type GenerateOptions } from './options.js';
import type { ModuleModel } from './model.js';
import { renderModule } from './render.js';
import { TypeMapper } from './type-mapper.js';

export type { GenerateOptions } from './options.js';

export interface GeneratedFile {
  /** Absolute path of the output. */
  path: string;
  /** The input it was generated from. */
  source: string;
  content: string;
  /** Whether the file on disk differed (or was missing). */
  changed: boolean;
  /** `missing`: not on disk; `stale`: on disk with other content; `current`: as generated. */
  status: 'missing' | 'stale' | 'current';
}

export interface GenerateResult {
  files: GeneratedFile[];
  /** Outputs that differ from disk: written, or (with `check`) left stale. */
  changed: string[];
  /** Every source file of the user's that the inputs read (for `--watch`). */
  read: string[];
  /** Problems that did not stop generation (interfaces with methods but no service tag). */
  warnings: Diagnostic[];
  /** The tsconfig.json the inputs were read with, if any. */
  project: string | undefined;
}

// Types are read with strictNullChecks whatever the project says (optional and nullable
// types must be exact on the wire); lint-like options are the user's build's business.
const requiredOptions: TS.CompilerOptions = { strictNullChecks: true, noEmit: true, noUnusedLocals: false, noUnusedParameters: false };

const defaultOptions: TS.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
  // The language's own types, not the browser's: the DOM's declarations are most of what
  // a default program parses, and a service interface has no use for them.
  lib: ['lib.es2022.d.ts'],
};

export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  checkGenerateOptions(options, 'generate');
  const cwd = options.cwd ?? process.cwd();
  const inputs = [...new Set(options.inputs.map((p) => resolve(cwd, p)))].sort();
  if (inputs.length === 0) throw new GeneratorError([noInput('no input files given')]);
  const outDir = resolve(cwd, options.outDir);
  const tsconfig = options.project === false ? undefined : options.project ? resolve(cwd, options.project) : findTsconfig(cwd);
  const project = openProject(tsconfig, cwd);
  const diagnostics: Diagnostic[] = [];
  const sources = inputs.map((path) => {
    try {
      return project.addSourceFileAtPath(path);
    } catch (cause) {
      throw new Error(`cannot read ${relative(cwd, path)}: ${(cause as Error).message}`, { cause });
    }
  });
  project.resolveSourceFileDependencies();
  const runtime = runtimeFolder(project, inputs[0]!);
  const isUserFile = (path: string) =>
    !path.includes(`${sep}node_modules${sep}`) && !path.includes('/node_modules/') && !path.endsWith('.d.ts') && !(runtime && path.startsWith(runtime));

  const base = commonFolder(inputs);
  const modules: Array<{ output: string; model: ModuleModel }> = [];
  const untagged: InterfaceDeclaration[] = [];
  // Interfaces a service uses as a namespace or as a data type: not forgotten services.
  const used = new Set<Node>();
  let serviceCount = 0;
  for (const source of sources) {
    const compileErrors = typeErrors(project, source.getFilePath());
    if (compileErrors.length > 0) {
      // What the checker cannot type would only come back as noise about `any`.
      diagnostics.push(...compileErrors);
      serviceCount++; // the file may well declare services; "no service" would mislead
      continue;
    }
    const mapper = new TypeMapper(isUserFile);
    const found = extractModule(source, mapper);
    untagged.push(...found.untagged);
    found.namespaces.forEach((n) => used.add(n));
    mapper.dataInterfaces.forEach((d) => used.add(d));
    serviceCount += found.services.length;
    diagnostics.push(...mapper.diagnostics);
    if (found.module) modules.push({ output: resolve(outDir, relative(base, source.getFilePath())), model: found.module });
  }
  const warnings = untagged
    .filter((d) => !used.has(d))
    .map((d) =>
      diagnosticAt(
        d,
        Code.UntaggedInterface,
        `interface ${d.getName()} has methods but no service tag, so nothing is generated for it; to make it a service, tag it /** @rpc */ (request/reply), /** @pipeline */ or /** @pubsub */`,
        'warning',
      ),
    );
  if (serviceCount === 0) {
    diagnostics.push(noInput(`no service in ${inputs.length === 1 ? relative(cwd, inputs[0]!) || inputs[0] : `the ${inputs.length} input files`}: tag an exported interface /** @rpc */, /** @pipeline */ or /** @pubsub */`));
  }
  if (diagnostics.length > 0) throw new GeneratorError([...diagnostics, ...warnings]);

  const files: GeneratedFile[] = [];
  for (const { output, model } of modules) {
    const content = renderModule(model, output);
    const current = await readFile(output, 'utf8').catch(() => undefined);
    const status = current === undefined ? 'missing' : current === content ? 'current' : 'stale';
    files.push({ path: output, source: model.input, content, changed: status !== 'current', status });
  }
  const changed = files.filter((f) => f.changed).map((f) => f.path);
  const read = project.getSourceFiles().map((f) => f.getFilePath() as string).filter(isUserFile).sort();
  if (!options.check) {
    for (const file of files.filter((f) => f.changed)) {
      await mkdir(dirname(file.path), { recursive: true });
      await writeFile(file.path, file.content);
    }
  }
  return { files, changed, read, warnings: sortDiagnostics(warnings), project: tsconfig };
}

function noInput(message: string): Diagnostic {
  return { file: undefined, line: 0, column: 0, category: 'error', code: `ZRPC${Code.NoService}`, message };
}

/**
 * The folder of zrpc's runtime as the inputs see it. Usually inside node_modules; in a
 * checkout of zrpc itself, TypeScript maps the package to its sources, which are still
 * not the user's files (`PyDate` there is the runtime's class, not one to translate).
 */
function runtimeFolder(project: Project, from: string): string | undefined {
  const resolved = ts.resolveModuleName('zrpc', from, project.getCompilerOptions(), ts.sys).resolvedModule?.resolvedFileName;
  return resolved && `${dirname(resolved)}${sep}`;
}

/** The nearest tsconfig.json in `dir` or a folder above it. */
export function findTsconfig(dir: string): string | undefined {
  for (let current = resolve(dir); ; current = dirname(current)) {
    const candidate = join(current, 'tsconfig.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(current) === current) return undefined;
  }
}

function openProject(tsconfig: string | undefined, cwd: string): Project {
  if (!tsconfig) return new Project({ compilerOptions: { ...defaultOptions, ...requiredOptions }, skipAddingFilesFromTsConfig: true });
  if (!existsSync(tsconfig)) throw new Error(`--project ${relative(cwd, tsconfig) || tsconfig}: no such file`);
  try {
    return new Project({ tsConfigFilePath: tsconfig, compilerOptions: requiredOptions, skipAddingFilesFromTsConfig: true });
  } catch (cause) {
    throw new Error(`cannot read ${relative(cwd, tsconfig) || tsconfig}: ${(cause as Error).message}`, { cause });
  }
}

/** The input's own TypeScript errors: generating from code that does not compile helps nobody. */
function typeErrors(project: Project, path: string): Diagnostic[] {
  const program = project.getProgram().compilerObject;
  const file = program.getSourceFile(path);
  if (!file) return [];
  const found = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)].filter((d) => d.category === ts.DiagnosticCategory.Error);
  return found.map((d) => {
    const { line, character } = file.getLineAndCharacterOfPosition(d.start ?? 0);
    const category = d.category === ts.DiagnosticCategory.Error ? 'error' : 'warning';
    return { file: path, line: line + 1, column: character + 1, category, code: `TS${d.code}`, message: ts.flattenDiagnosticMessageText(d.messageText, '\n') };
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

