/**
 * The generator's output for representative inputs, checked in under test/golden and
 * compared byte for byte; then compiled with tsc --strict. UPDATE_GOLDEN=1 rewrites the
 * expected files (review the diff).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ts from 'typescript';
import { generate, watchAndGenerate, type GenerateResult } from '../src/codegen/index.js';
import { repoRoot, waitFor } from './support/helpers.js';

const inputs = ['test/golden/inputs/kitchen.ts', 'test/golden/inputs/common.ts', 'test/golden/inputs/point.ts'];
const outDir = join(repoRoot, 'dist/golden-out');
const expectedDir = join(repoRoot, 'test/golden/expected');

describe('generator output', () => {
  it('matches the golden files', async () => {
    await rm(outDir, { recursive: true, force: true });
    const result = await generate({ inputs, outDir, cwd: repoRoot });
    assert.deepEqual(result.files.map((f) => f.path), [join(outDir, 'kitchen.ts')], 'common.ts declares no service, so no module');
    for (const file of result.files) {
      const expectedPath = join(expectedDir, 'kitchen.ts');
      if (process.env.UPDATE_GOLDEN) await writeFile(expectedPath, file.content);
      assert.equal(file.content, await readFile(expectedPath, 'utf8'), 'generated output differs from test/golden/expected (UPDATE_GOLDEN=1 to accept)');
    }
  });

  it('is stable: the same input gives the same bytes, and --check writes nothing', async () => {
    const first = await generate({ inputs, outDir, cwd: repoRoot });
    const path = first.files[0]!.path;
    const before = await stat(path);
    const second = await generate({ inputs, outDir, cwd: repoRoot, check: true });
    assert.equal(second.files[0]!.content, first.files[0]!.content);
    assert.deepEqual(second.changed, []);
    assert.equal((await stat(path)).mtimeMs, before.mtimeMs, '--check did not touch the file');
    await writeFile(path, `${first.files[0]!.content}// edited by hand\n`);
    const stale = await generate({ inputs, outDir, cwd: repoRoot, check: true });
    assert.deepEqual(stale.changed, [path]);
    assert.match(await readFile(path, 'utf8'), /edited by hand/, '--check left the stale file alone');
    await generate({ inputs, outDir, cwd: repoRoot });
  });

  it('compiles under tsc --strict with no any', async () => {
    await generate({ inputs, outDir, cwd: repoRoot });
    const file = join(outDir, 'kitchen.ts');
    const text = await readFile(file, 'utf8');
    assert.doesNotMatch(text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ''), /\bany\b/, 'generated code mentions any');
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      noUnusedLocals: true,
      noImplicitOverride: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: true,
      types: [],
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    assert.deepEqual(diagnostics, []);
  });

  it('--watch generates again when an input changes, and reports errors without stopping', async () => {
    const dir = join(repoRoot, 'dist/golden-watch');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const input = join(dir, 'api.ts');
    await writeFile(input, '/** @rpc */\nexport interface Api { one(): string }\n');
    const results: Array<GenerateResult | Error> = [];
    const handle = watchAndGenerate({ inputs: [input], outDir: join(dir, 'out') }, (r) => results.push(r), 20);
    try {
      await waitFor(() => results.length === 1, 10_000, 'the first run');
      await writeFile(input, '/** @rpc */\nexport interface Api { one(): string; two(n: (x: number) => void): void }\n');
      await waitFor(() => results.some((r) => r instanceof Error), 10_000, 'the error run');
      assert.match(String(results.find((r) => r instanceof Error)), /api\.ts\(2,43\): error ZRPC2007: parameter "n" of Api\.two has a function type/);
      await writeFile(input, '/** @rpc */\nexport interface Api { one(): string; two(n: number): void }\n');
      await waitFor(() => results.filter((r) => !(r instanceof Error)).length === 2, 10_000, 'the fixed run');
      assert.match(await readFile(join(dir, 'out/api.ts'), 'utf8'), /two\(n: number, options\?: CallOptions\): Promise<void>/);
    } finally {
      handle.close();
    }
  });

  it('writes inputs from several folders under their common folder', async () => {
    const dir = join(repoRoot, 'dist/golden-tree');
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(dir, 'in/a'), { recursive: true });
    await mkdir(join(dir, 'in/b'), { recursive: true });
    await writeFile(join(dir, 'in/a/one.ts'), '/** @rpc */\nexport interface One { ping(): string }\n');
    await writeFile(join(dir, 'in/b/two.ts'), '/** @pipeline */\nexport interface Two { poke(n: number): void }\n');
    const result = await generate({ inputs: ['in/a/one.ts', 'in/b/two.ts'], outDir: 'out', cwd: dir });
    assert.deepEqual(result.files.map((f) => f.path).sort(), [join(dir, 'out/a/one.ts'), join(dir, 'out/b/two.ts')]);
    assert.match(result.files[0]!.content, /^\/\/ Generated by zrpc generate \d+\.\d+\.\d+\S* from \.\.\/\.\.\/in\/a\/one\.ts\./);
  });
});
