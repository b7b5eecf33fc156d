/**
 * Input arguments to files: a file as is, a folder as the TypeScript files under it, a
 * glob (`src/api/*.ts`, `src/**\/api.ts`, `src/{a,b}/*.ts`) as the files it matches.
 * zrpc expands globs itself, so a quoted glob in an npm script works in every shell;
 * Node 20 has no fs.glob.
 */
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

export interface ExpandOptions {
  /** Resolves relative patterns. Default: `process.cwd()`. */
  cwd?: string;
  /** Folders whose files are never inputs (the output folder). */
  exclude?: readonly string[];
}

const magic = /[*?[\]{}]/;
const typescript = /\.(c|m)?tsx?$/;

/** The files the inputs name, sorted, each once; throws when an input names nothing. */
export async function expandInputs(patterns: readonly string[], options: ExpandOptions = {}): Promise<string[]> {
  const cwd = options.cwd ?? process.cwd();
  const excluded = (options.exclude ?? []).map((dir) => `${resolve(cwd, dir)}${sep}`);
  const keep = (file: string) => typescript.test(file) && !/\.d\.(c|m)?ts$/.test(file) && !excluded.some((dir) => file.startsWith(dir));
  const found = new Set<string>();
  for (const pattern of patterns) {
    const before = found.size;
    const normalized = sep === '\\' ? pattern.replaceAll('\\', '/') : pattern;
    if (!magic.test(normalized)) {
      const path = resolve(cwd, pattern);
      const info = await stat(path).catch(() => undefined);
      if (!info) throw new Error(`input ${pattern}: no such file or folder`);
      if (info.isDirectory()) for (const file of await walk(path)) keep(file) && found.add(file);
      else found.add(path);
      if (info.isDirectory() && found.size === before) throw new Error(`input ${pattern}: no TypeScript files in this folder`);
      continue;
    }
    const { base, rest } = splitGlob(normalized);
    const root = resolve(cwd, base);
    const matcher = globToRegExp(rest);
    for (const file of await walk(root)) {
      const path = relative(root, file).split(sep).join('/');
      if (matcher.test(path) && keep(file)) found.add(file);
    }
    if (found.size === before) throw new Error(`input ${pattern}: no file matches`);
  }
  return [...found].sort();
}

/** `src/api/*.ts` → base `src/api`, rest `*.ts`: the walk starts below the last plain folder. */
function splitGlob(pattern: string): { base: string; rest: string } {
  const parts = pattern.split('/');
  const first = parts.findIndex((p) => magic.test(p));
  const base = parts.slice(0, first).join('/') || (isAbsolute(pattern) ? '/' : '.');
  return { base, rest: parts.slice(first).join('/') };
}

/** A glob's regular expression: `**` spans folders, `*` and `?` stay within one, `{a,b}` and `[…]` as in shells. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      source += slash ? '(?:[^/]+/)*' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) source += '\\[';
      else {
        source += `[${glob.slice(i + 1, end).replace(/^!/, '^').replaceAll('\\', '\\\\')}]`;
        i = end;
      }
    } else if (c === '{') {
      braces++;
      source += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      source += ')';
    } else if (c === ',' && braces > 0) source += '|';
    else source += c.replace(/[.+^$()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Every file under `dir`, skipping node_modules and hidden folders. */
async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) files.push(...(await walk(path)));
    } else if (entry.isFile()) files.push(path);
  }
  return files;
}
