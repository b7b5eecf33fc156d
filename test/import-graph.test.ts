/**
 * The layers of src/, checked from the sources' import statements (no build, no
 * resolver): no import cycles anywhere, the runtime's folders import only downwards,
 * and the wire format and errors know nothing of ZeroMQ, so they stay testable and
 * reusable without a socket.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from './support/helpers.js';

const src = join(repoRoot, 'src');

/** The runtime's layers, lowest first: a file may import its own layer or one below. */
const layers = ['errors', 'wire', 'socket', 'handlers', 'interceptors', 'patterns', ''] as const;

/** Every .ts file under `dir`, as paths relative to src/. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => relative(src, join(e.parentPath, e.name)));
}

/** Specifiers of `import`/`export ... from` and `import()`, type-only ones included. */
function specifiers(text: string): string[] {
  const found = text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g);
  return [...found].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

interface Graph {
  /** File (relative to src/) to the files it imports. */
  edges: Map<string, string[]>;
  /** File to the packages it imports. */
  packages: Map<string, string[]>;
}

function graphOf(files: readonly string[]): Graph {
  const edges = new Map<string, string[]>();
  const packages = new Map<string, string[]>();
  for (const file of files) {
    const specs = specifiers(readFileSync(join(src, file), 'utf8'));
    edges.set(file, specs.filter((s) => s.startsWith('.')).map((s) => relative(src, resolve(src, dirname(file), s)).replace(/\.js$/, '.ts')));
    packages.set(file, specs.filter((s) => !s.startsWith('.')));
  }
  return { edges, packages };
}

/** Each cycle once, as a path that starts and ends at the same file. */
function cycles(edges: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of edges.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...edges.keys()].sort()) if (!state.has(file)) visit(file);
  return found;
}

function layerOf(file: string): number {
  const folder = file.startsWith('runtime/') ? file.split('/').slice(1, -1).join('/') : undefined;
  return layers.indexOf(folder as (typeof layers)[number]);
}

describe('import graph of src/', () => {
  const graph = graphOf(sources(src));

  it('reads the sources it is meant to check', () => {
    assert.ok(graph.edges.has('runtime/index.ts') && graph.edges.has('codegen/generate.ts'));
    assert.ok(graph.edges.get('runtime/patterns/rpc-client.ts')!.includes('runtime/wire/header.ts'));
    assert.ok(graph.packages.get('runtime/socket/service.ts')!.includes('zeromq'));
  });

  it('has no import cycle', () => {
    assert.deepEqual(cycles(graph.edges).map((c) => c.join(' -> ')), []);
  });

  it('finds a cycle when there is one (the check can fail)', () => {
    const edges = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']]]);
    assert.deepEqual(cycles(edges), [['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it('puts every runtime file in a layer, and each imports only its own layer or lower ones', () => {
    const runtime = [...graph.edges.keys()].filter((f) => f.startsWith('runtime/'));
    assert.deepEqual(runtime.filter((f) => layerOf(f) < 0), [], 'runtime files outside the layer folders');
    const upward = runtime.flatMap((file) =>
      graph.edges.get(file)!.filter((target) => layerOf(target) > layerOf(file)).map((target) => `${file} -> ${target}`),
    );
    assert.deepEqual(upward, []);
  });

  it('keeps ZeroMQ out of the wire format and the errors', () => {
    const offenders = [...graph.packages]
      .filter(([file]) => /^runtime\/(wire|errors)\//.test(file))
      .filter(([, packages]) => packages.some((p) => p === 'zeromq' || p.startsWith('zeromq/')))
      .map(([file]) => file);
    assert.deepEqual(offenders, []);
  });

  it('loads @opentelemetry/api (an optional peer) only from zrpc/otel, which nothing else imports', () => {
    const otel = 'runtime/interceptors/otel.ts';
    assert.deepEqual([...graph.packages].filter(([, packages]) => packages.some((p) => p.startsWith('@opentelemetry/'))).map(([file]) => file), [otel]);
    assert.deepEqual([...graph.edges].filter(([, targets]) => targets.includes(otel)).map(([file]) => file), []);
  });

  it('keeps the runtime out of the generator and the generator out of the runtime', () => {
    const crossing = [...graph.edges].flatMap(([file, targets]) =>
      targets.filter((t) => t.split('/')[0] !== file.split('/')[0]).map((t) => `${file} -> ${t}`),
    );
    assert.deepEqual(crossing, []);
  });
});
