/**
 * The runtime, generator and CLI are separate rooms: an app that imports `zrpc` never
 * loads ts-morph, TypeScript, commander or mustache.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot } from './support/helpers.js';

const allowed = new Set(['zeromq', '@msgpack/msgpack', 'typebox', 'typebox/compile']);

/** Every bare specifier reachable from a module through relative imports. */
function reachableImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, spec] of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      if (!spec) continue;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else bare.add(spec);
    }
  };
  visit(entry);
  return bare;
}

describe('separate rooms', () => {
  it('the runtime imports only its runtime dependencies and node builtins', () => {
    // Both entry points: zrpc, and zrpc/generated, which generated modules import.
    const imports = ['index.js', 'generated.js'].flatMap((entry) => [...reachableImports(join(repoRoot, 'dist/src/runtime', entry))]);
    const foreign = imports.filter((spec) => !spec.startsWith('node:') && !allowed.has(spec));
    assert.deepEqual(foreign, []);
  });

  it('importing zrpc loads no generator module at run time', async () => {
    const script = [
      "import 'zrpc';",
      "import { createRequire } from 'node:module';",
      'const loaded = Object.keys(createRequire(import.meta.url).cache);',
      "console.log(JSON.stringify(loaded.filter((p) => /ts-morph|typescript|commander|mustache/.test(p))));",
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot });
    assert.deepEqual(JSON.parse(stdout), []);
    // The same probe does see the generator when it is imported: the check can fail.
    const { stdout: withGenerator } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script.replace("import 'zrpc';", "import './dist/src/codegen/index.js';")], { cwd: repoRoot });
    assert.ok((JSON.parse(withGenerator) as string[]).some((p) => p.includes('ts-morph')));
  });
});
