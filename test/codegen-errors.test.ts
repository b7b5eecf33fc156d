/**
 * What the generator says about input it cannot handle: every problem at once, each with
 * file:line:column, the offending type and what to do instead.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { generate, GeneratorError, formatDiagnostic } from 'zrpc/codegen';
import { repoRoot } from './helpers.js';

const bad = 'test/fixtures/bad.ts';
const expected = [
  'test/fixtures/bad.ts:8:12 – parameter "cb" of Bad.callback has a function type "(x: number) => void"; functions cannot cross the wire: pass data, or split the method',
  'test/fixtures/bad.ts:9:10 – parameter "value" of Bad.anyArg has type any; any cannot be checked on the wire: use unknown, or a precise type',
  'test/fixtures/bad.ts:10:10 – parameter "w" of Bad.widget has the class type "Widget"; class instances cannot cross the wire: mark the class /** @translator <code 0..122> */ with static pack(value): Uint8Array and unpack(data: Uint8Array) methods, or declare an interface for its data',
  'test/fixtures/bad.ts:11:3 – method Bad.generic is generic; remote methods need concrete types',
  'test/fixtures/bad.ts:12:10 – parameter "s" of Bad.symbol has the symbol type "symbol"; symbols cannot cross the wire: use a string',
  'test/fixtures/bad.ts:13:7 – parameter "items" of Bad.set has the type "Set<string>"; a Set cannot cross the wire: use an array',
  'test/fixtures/bad.ts:14:3 – method Bad.overloaded is overloaded; a remote method has one signature: give each variant its own name',
  'test/fixtures/bad.ts:16:3 – Bad.close: "close" is taken by the generated client (caller, constructor, close, transport, with, withTimeout); rename it or move it into a namespace',
  'test/fixtures/bad.ts:17:18 – parameter "fn" of Bad.nested.deep has a function type "() => void"; functions cannot cross the wire: pass data, or split the method',
  'test/fixtures/bad.ts:19:29 – parameter "n" of Bad.wrong has @minLength, which applies to strings, but its type is number',
  'test/fixtures/bad.ts:24:3 – the return type of Returns.value is "number", but pipeline methods send nothing back: declare void',
  'test/fixtures/bad.ts:28:1 – service Hidden is tagged @rpc but not exported; export it',
];

describe('generator errors', () => {
  it('reports every unsupported type with file, line, column and a remedy', async () => {
    await assert.rejects(generate({ inputs: [bad], outDir: 'dist/never', cwd: repoRoot }), (error: unknown) => {
      assert.ok(error instanceof GeneratorError);
      assert.deepEqual(error.diagnostics.map((d) => formatDiagnostic(d, repoRoot)), expected);
      assert.match(error.message, /^12 errors in the service definitions:/);
      return true;
    });
  });

  it('reports TypeScript errors in the input itself', async () => {
    const { writeFile, mkdir } = await import('node:fs/promises');
    const dir = join(repoRoot, 'dist/golden-broken');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'broken.ts'), '/** @rpc */\nexport interface Broken { f(x: Missing): void }\n');
    await assert.rejects(generate({ inputs: ['broken.ts'], outDir: 'out', cwd: dir }), (error: unknown) => {
      assert.ok(error instanceof GeneratorError);
      assert.deepEqual(error.diagnostics.map((d) => formatDiagnostic(d, dir)), ["broken.ts:2:32 – Cannot find name 'Missing'."]);
      return true;
    });
  });

  it('the CLI prints them and exits 1; --check exits 1 on stale output', async () => {
    const run = promisify(execFile);
    const cli = join(repoRoot, 'dist/cli/zrpc.js');
    await assert.rejects(run(process.execPath, [cli, 'generate', bad, '--out', 'dist/never'], { cwd: repoRoot }), (error: unknown) => {
      const { code, stderr } = error as { code: number; stderr: string };
      assert.equal(code, 1);
      assert.equal(stderr.trim().split('\n').length, 1 + expected.length);
      assert.ok(stderr.includes(expected[0]!));
      return true;
    });
    const inputs = ['test/golden/inputs/kitchen.ts', 'test/golden/inputs/common.ts', 'test/golden/inputs/point.ts'];
    await rm(join(repoRoot, 'dist/golden-cli'), { recursive: true, force: true });
    const { stdout } = await run(process.execPath, [cli, 'generate', ...inputs, '--out', 'dist/golden-cli'], { cwd: repoRoot });
    assert.match(stdout, /1 file generated, 1 changed/);
    const check = await run(process.execPath, [cli, 'generate', ...inputs, '--out', 'dist/golden-cli', '--check'], { cwd: repoRoot });
    assert.match(check.stdout, /up to date/);
    await assert.rejects(run(process.execPath, [cli, 'generate', ...inputs, '--out', 'dist/golden-cli-missing', '--check'], { cwd: repoRoot }), (error: unknown) => {
      assert.equal((error as { code: number }).code, 1);
      assert.match((error as { stderr: string }).stderr, /stale generated files/);
      return true;
    });
    await assert.rejects(run(process.execPath, [cli, 'generate', 'x.ts'], { cwd: repoRoot }), /required option '-o, --out <dir>'/);
  });
});
