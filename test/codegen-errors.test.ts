/**
 * What the generator says about input it cannot handle: every problem at once, in tsc's
 * format (file(line,col): error ZRPCnnnn: ...), with the offending type and what to do
 * instead; and the CLI around it: inputs, --project, --check, --watch, --version.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { dirname, join, relative } from 'node:path';
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Code, expandInputs, generate, GeneratorError, formatDiagnostic, watchAndGenerate, type GenerateOptions } from '../src/codegen/index.js';
import { globToRegExp } from '../src/codegen/inputs.js';
import { repoRoot, waitFor } from './support/helpers.js';

const bad = 'test/fixtures/bad.ts';
const expected = [
  'test/fixtures/bad.ts(8,12): error ZRPC2007: parameter "cb" of Bad.callback has a function type "(x: number) => void"; functions cannot cross the wire: pass data, or split the method',
  'test/fixtures/bad.ts(9,10): error ZRPC2001: parameter "value" of Bad.anyArg has type any; any cannot be checked on the wire: use unknown, or a precise type',
  'test/fixtures/bad.ts(10,10): error ZRPC2009: parameter "w" of Bad.widget has the class type "Widget"; class instances cannot cross the wire: mark the class /** @translator <code 0..122> */ with static pack(value): Uint8Array and unpack(data: Uint8Array) methods, or declare an interface for its data',
  'test/fixtures/bad.ts(11,3): error ZRPC1009: method Bad.generic is generic; remote methods need concrete types',
  'test/fixtures/bad.ts(12,10): error ZRPC2005: parameter "s" of Bad.symbol has the symbol type "symbol"; symbols cannot cross the wire: use a string',
  'test/fixtures/bad.ts(13,7): error ZRPC2012: parameter "items" of Bad.set has the type "Set<string>"; a Set cannot cross the wire: use an array',
  'test/fixtures/bad.ts(14,3): error ZRPC1008: method Bad.overloaded is overloaded; a remote method has one signature: give each variant its own name',
  'test/fixtures/bad.ts(16,3): error ZRPC1005: Bad.close: "close" is taken by the generated client (caller, constructor, close, transport, with, withTimeout); rename it or move it into a namespace',
  'test/fixtures/bad.ts(17,18): error ZRPC2007: parameter "fn" of Bad.nested.deep has a function type "() => void"; functions cannot cross the wire: pass data, or split the method',
  'test/fixtures/bad.ts(18,7): error ZRPC4002: @minLength constrains a property or a parameter, not a method: to constrain a parameter, write it just before the parameter, f(/** @minLength … */ x)',
  'test/fixtures/bad.ts(19,29): error ZRPC4005: parameter "n" of Bad.wrong has @minLength, which applies to strings, but its type is number',
  'test/fixtures/bad.ts(24,3): error ZRPC1013: the return type of Returns.value is "number", but pipeline methods send nothing back: declare void',
  'test/fixtures/bad.ts(28,1): error ZRPC1002: service Hidden is tagged @rpc but not exported; export it',
];

const tags = 'test/fixtures/tags.ts';
const expectedTags = [
  'test/fixtures/tags.ts(4,16): error ZRPC4001: unknown tag @minimun on a property; did you mean @minimum?',
  'test/fixtures/tags.ts(6,7): error ZRPC4003: property "note" of parameter "line" of Orders.place: @maxLength needs a whole number of at least 0, got "lots"',
  'test/fixtures/tags.ts(8,7): error ZRPC4003: property "count" of parameter "line" of Orders.place: @integer takes no value, got "3"',
  'test/fixtures/tags.ts(10,7): error ZRPC4003: property "code" of parameter "line" of Orders.place: @pattern "^[" is not a valid regular expression',
  'test/fixtures/tags.ts(27,1): error ZRPC5001: type Date would shadow the global Date in the generated module; rename it (for example DateData)',
  'test/fixtures/tags.ts(33,4): error ZRPC4001: unknown tag @sevrice on a service; it is neither a zrpc tag (@rpc, @pipeline, @pubsub, @throws, @translator, constraints such as @minimum) nor a standard doc tag',
  'test/fixtures/tags.ts(36,7): error ZRPC4001: unknown tag @throw on a method; did you mean @throws?',
  'test/fixtures/tags.ts(38,7): error ZRPC4006: @throws needs the error class in braces, as in @throws {Nope} when …; got "@throws Nope when never"',
  'test/fixtures/tags.ts(39,25): error ZRPC4001: unknown tag @frobnicate on a parameter; it is neither a zrpc tag (@rpc, @pipeline, @pubsub, @throws, @translator, constraints such as @minimum) nor a standard doc tag',
  'test/fixtures/tags.ts(40,7): error ZRPC5001: @throws {Error}: the generated error class would shadow the global Error; give the error its own name (e.g. OrdersError)',
  'test/fixtures/tags.ts(42,7): error ZRPC4002: @rpc marks a service interface, not a method',
  'test/fixtures/tags.ts(47,6): error ZRPC4002: @minimum constrains a property or a parameter, not a method: to constrain a parameter, write it just before the parameter, f(/** @minimum … */ x)',
  'test/fixtures/tags.ts(53,1): warning ZRPC1015: interface Forgotten has methods but no service tag, so nothing is generated for it; to make it a service, tag it /** @rpc */ (request/reply), /** @pipeline */ or /** @pubsub */',
];

describe('generator errors', () => {
  it('reports every unsupported type with file, line, column, code and a remedy', async () => {
    await assert.rejects(generate({ inputs: [bad], outDir: 'dist/never', cwd: repoRoot }), (error: unknown) => {
      assert.ok(error instanceof GeneratorError);
      assert.deepEqual(error.diagnostics.map((d) => formatDiagnostic(d, repoRoot)), expected);
      assert.match(error.message, /^13 errors in the service definitions:/);
      return true;
    });
  });

  it('refuses unknown, malformed and misplaced tags and names that shadow globals; warns about untagged interfaces', async () => {
    await assert.rejects(generate({ inputs: [tags], outDir: 'dist/never', cwd: repoRoot }), (error: unknown) => {
      assert.ok(error instanceof GeneratorError);
      assert.deepEqual(error.diagnostics.map((d) => formatDiagnostic(d, repoRoot)), expectedTags);
      return true;
    });
  });

  it('reports TypeScript errors in the input itself with their TS code', async () => {
    const dir = await scratch('broken');
    await writeFile(join(dir, 'broken.ts'), '/** @rpc */\nexport interface Broken { f(x: Missing): void }\n');
    await assert.rejects(generate({ inputs: ['broken.ts'], outDir: 'out', cwd: dir }), (error: unknown) => {
      assert.ok(error instanceof GeneratorError);
      assert.deepEqual(error.diagnostics.map((d) => formatDiagnostic(d, dir)), ["broken.ts(2,32): error TS2304: Cannot find name 'Missing'."]);
      return true;
    });
  });

  it('an input set with no service at all is an error; an untagged interface alone is a warning', async () => {
    const dir = await scratch('no-service');
    await writeFile(join(dir, 'api.ts'), 'export interface Api {\n  ping(): string;\n}\n');
    await assert.rejects(generate({ inputs: ['api.ts'], outDir: 'out', cwd: dir }), (error: unknown) => {
      assert.ok(error instanceof GeneratorError);
      assert.deepEqual(error.diagnostics.map((d) => formatDiagnostic(d, dir)), [
        'error ZRPC1014: no service in api.ts: tag an exported interface /** @rpc */, /** @pipeline */ or /** @pubsub */',
        'api.ts(1,1): warning ZRPC1015: interface Api has methods but no service tag, so nothing is generated for it; to make it a service, tag it /** @rpc */ (request/reply), /** @pipeline */ or /** @pubsub */',
      ]);
      return true;
    });
    // A namespace interface is not "untagged": the service uses it.
    await writeFile(join(dir, 'ok.ts'), '/** @rpc */\nexport interface Shop {\n  billing: Billing;\n}\nexport interface Billing {\n  refund(id: string): number;\n}\n');
    const result = await generate({ inputs: ['ok.ts'], outDir: 'out', cwd: dir });
    assert.deepEqual(result.warnings, []);
    assert.equal(result.files.length, 1);
  });

  it('advises Record<string, T> for numeric index signatures and Maps, and that advice generates', async () => {
    const dir = await scratch('map-advice');
    await writeFile(join(dir, 'api.ts'), '/** @rpc */\nexport interface Names {\n  byId(m: { [id: number]: string }): void;\n  byKey(m: Map<number, string>): void;\n}\n');
    const advice = 'typed methods take maps with string keys only: declare Record<string, T> (a number key such as 1 travels as "1"), or unknown to take a Python dict with other keys, which arrives as a Map';
    await assert.rejects(generate({ inputs: ['api.ts'], outDir: 'out', cwd: dir }), (error: unknown) => {
      assert.ok(error instanceof GeneratorError, String(error));
      assert.deepEqual(error.diagnostics.map((d) => formatDiagnostic(d, dir)), [
        `api.ts(3,8): error ZRPC2013: parameter "m" of Names.byId has a numeric index signature; ${advice}`,
        `api.ts(4,9): error ZRPC2010: parameter "m" of Names.byKey has the type "Map<number, string>"; ${advice}`,
      ]);
      return true;
    });
    // Both ways out that the advice names.
    await writeFile(join(dir, 'api.ts'), '/** @rpc */\nexport interface Names {\n  byId(m: Record<string, string>): void;\n  byKey(m: unknown): void;\n}\n');
    const [file] = (await generate({ inputs: ['api.ts'], outDir: 'out', cwd: dir })).files;
    assert.match(file!.content, /byId\(m: Record<string, string>, ctx: CallContext\)/);
    assert.match(file!.content, /byKey\(m: unknown, ctx: CallContext\)/);
  });

  it('a data type with a method gets ZRPC2014 only, not the untagged-interface warning', async () => {
    const dir = await scratch('method-in-data');
    await writeFile(join(dir, 'point.ts'), 'export interface Point {\n  x: number;\n  norm(): number;\n}\n');
    await writeFile(join(dir, 'api.ts'), "import type { Point } from './point.js';\nexport interface Line {\n  from: Point;\n  length(): number;\n}\n/** @rpc */\nexport interface Geo {\n  move(l: Line): void;\n}\n");
    await assert.rejects(generate({ inputs: ['api.ts', 'point.ts'], outDir: 'out', cwd: dir }), (error: unknown) => {
      assert.ok(error instanceof GeneratorError, String(error));
      assert.deepEqual(error.diagnostics.map((d) => formatDiagnostic(d, dir)), [
        'api.ts(4,3): error ZRPC2014: property "length" of parameter "l" of Geo.move is a method; functions cannot cross the wire: pass data, or split the method',
        'point.ts(3,3): error ZRPC2014: property "norm" of property "from" of parameter "l" of Geo.move is a method; functions cannot cross the wire: pass data, or split the method',
      ]);
      return true;
    });
  });

  it('refuses options it does not know, naming those it takes, and inputs or outDir of the wrong kind', async () => {
    const call = (options: unknown) => generate(options as GenerateOptions);
    const takes = 'it takes check, cwd, inputs, outDir, project';
    await assert.rejects(call({ inputs: ['api.ts'], out: 'gen' }), { name: 'TypeError', message: `generate: unknown option "out" (did you mean outDir?); ${takes}` });
    await assert.rejects(call({ inputs: ['api.ts'], outDir: 'gen', verbose: true }), { name: 'TypeError', message: `generate: unknown option "verbose"; ${takes}` });
    await assert.rejects(call({ inputs: ['api.ts'], outdir: 'gen' }), { name: 'TypeError', message: `generate: unknown option "outdir" (did you mean outDir?); ${takes}` });
    const inputs = "generate: inputs must be an array of file paths, such as ['src/api/shop.ts'] (expandInputs turns folders and globs into them)";
    await assert.rejects(call({ outDir: 'gen' }), { name: 'TypeError', message: `${inputs}; got undefined` });
    await assert.rejects(call({ inputs: 'api.ts', outDir: 'gen' }), { name: 'TypeError', message: `${inputs}; got a string` });
    await assert.rejects(call({ inputs: ['api.ts', 3], outDir: 'gen' }), { name: 'TypeError', message: `${inputs}; got a number at inputs[1]` });
    const outDir = "generate: outDir must be the folder for the generated modules, such as 'src/generated'";
    await assert.rejects(call({ inputs: ['api.ts'] }), { name: 'TypeError', message: `${outDir}; got undefined` });
    await assert.rejects(call({ inputs: ['api.ts'], outDir: ['gen'] }), { name: 'TypeError', message: `${outDir}; got an array` });
    await assert.rejects(call({ inputs: ['api.ts'], outDir: 'gen', project: true }), { name: 'TypeError', message: 'generate: project must be the path of a tsconfig.json, or false for none; got true' });
    await assert.rejects(call(null), { name: 'TypeError', message: "generate takes an options object, such as { inputs: ['src/api/shop.ts'], outDir: 'src/generated' }; got null" });
    assert.throws(() => watchAndGenerate({ inputs: ['api.ts'], out: 'gen' } as unknown as GenerateOptions, () => {}), {
      name: 'TypeError',
      message: `watchAndGenerate: unknown option "out" (did you mean outDir?); ${takes}`,
    });
  });

  it('lists every diagnostic code in the README', async () => {
    const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
    const missing = Object.values(Code).filter((code) => !readme.includes(`ZRPC${code}`));
    assert.deepEqual(missing, [], 'codes missing from the README');
  });
});

describe('recursive generic types', () => {
  const recursive = [
    'export type Nest<T> = T | Nest<T>[];',
    'interface Rec<T> { v: T; next?: Rec<T[]> }',
    'type Box<T> = { v: T; inner?: Box<[T]> };',
    'interface Same<T> { v: T; next?: Same<T> }',
    'interface Fork<T> { v: T; a?: Fork<[T, T]>; b?: Fork<T[]> }',
    '/** @rpc */',
    'export interface S {',
    '  nest(r: Nest<number>): void;',
    '  rec(r: Rec<number>): void;',
    '  box(r: Box<number>): void;',
    '  same(r: Same<number>): void;',
    '  fork(r: Fork<string>): void;',
    '}',
    '',
  ].join('\n');
  const grows = (at: string, what: string, inner: string, outer: string, kind: string) =>
    `api.ts(${at}): error ZRPC2008: ${what} has the recursive generic type "${inner}" inside "${outer}": each level has other type arguments, so written out it never ends; give it a type that does not grow, such as a non-generic ${kind} that refers to itself`;
  const contains = (at: string, what: string, type: string, kind: string, example: string, name: string) =>
    `api.ts(${at}): error ZRPC2008: ${what} has the recursive generic type "${type}", which contains itself; generic types are written out where used, so declare a non-generic ${kind} for it that refers to itself by name (${example}, with ${name} in place of ${type})`;
  const expectedRecursive = [
    grows('2,26', 'property "next" of parameter "r" of S.rec', 'Rec<number[]>', 'Rec<number>', 'interface'),
    grows('3,23', 'property "inner" of parameter "r" of S.box', 'Box<[number]>', 'Box<number>', 'type alias'),
    contains('4,27', 'property "next" of parameter "r" of S.same', 'Same<number>', 'interface', 'interface SameNumber { … }', 'SameNumber'),
    grows('5,27', 'property "a" of parameter "r" of S.fork', 'Fork<[string, string]>', 'Fork<string>', 'interface'),
    contains('8,8', 'parameter "r" of S.nest', 'Nest<number>', 'type alias', 'type NestNumber = …', 'NestNumber'),
  ];

  it('reports each one with ZRPC2008 where it recurses, whether its type arguments stay or grow', async () => {
    const dir = await scratch('recursive-generic');
    await writeFile(join(dir, 'api.ts'), recursive);
    await assert.rejects(generate({ inputs: ['api.ts'], outDir: 'out', cwd: dir }), (error: unknown) => {
      assert.ok(error instanceof GeneratorError, String(error));
      assert.deepEqual(error.diagnostics.map((d) => formatDiagnostic(d, dir)), expectedRecursive);
      return true;
    });
  });

  it('the CLI prints them and exits 1 as for any error', async () => {
    const dir = await scratch('recursive-generic-cli');
    await writeFile(join(dir, 'api.ts'), recursive);
    const cli = join(repoRoot, 'dist/cli/zrpc.js');
    await assert.rejects(promisify(execFile)(process.execPath, [cli, 'generate', 'api.ts', '--out', 'out'], { cwd: dir }), (error: unknown) => {
      const { code, stderr } = error as { code: number; stderr: string };
      assert.equal(code, 1);
      assert.deepEqual(stderr.trim().split('\n'), [...expectedRecursive, 'zrpc: 5 errors; nothing written']);
      return true;
    });
  });

  it('still writes out generic types nested in their own type arguments, and recursive non-generic ones', async () => {
    const dir = await scratch('nested-generic');
    const source = [
      'interface Pair<T> { a: T; b: T }',
      'type NestOfNumber = number | NestOfNumber[];',
      'interface Tree { kids: Tree[] }',
      '/** @rpc */',
      'export interface S {',
      '  pairs(p: Pair<Pair<Pair<Pair<Pair<number>>>>>): Record<string, Record<string, Record<string, boolean>>>;',
      '  nest(n: NestOfNumber, t: Tree): void;',
      '}',
      '',
    ].join('\n');
    await writeFile(join(dir, 'api.ts'), source);
    const [file] = (await generate({ inputs: ['api.ts'], outDir: 'out', cwd: dir })).files;
    assert.match(file!.content, /export type NestOfNumber = number \| NestOfNumber\[\];/);
    assert.match(file!.content, /pairs\(p: \{ a: \{ a: \{ a: \{ a: \{ a: number; b: number \}/);
  });
});

describe('inputs', () => {
  it('expands folders and globs (**, *, ?, {a,b}), skipping declarations, node_modules and the output folder', async () => {
    const dir = await scratch('inputs');
    for (const file of ['api/a.ts', 'api/b.ts', 'api/c.d.ts', 'api/deep/d.ts', 'api/x.js', 'node_modules/m/e.ts', 'out/gen.ts', 'other/f.mts']) {
      await mkdir(dirname(join(dir, file)), { recursive: true });
      await writeFile(join(dir, file), '');
    }
    const rel = async (patterns: string[]) => (await expandInputs(patterns, { cwd: dir, exclude: ['out'] })).map((p) => relative(dir, p));
    assert.deepEqual(await rel(['api']), ['api/a.ts', 'api/b.ts', 'api/deep/d.ts']);
    assert.deepEqual(await rel(['api/*.ts']), ['api/a.ts', 'api/b.ts']);
    assert.deepEqual(await rel(['**/*.ts']), ['api/a.ts', 'api/b.ts', 'api/deep/d.ts']);
    assert.deepEqual(await rel(['{api,other}/?.{ts,mts}']), ['api/a.ts', 'api/b.ts', 'other/f.mts']);
    assert.deepEqual(await rel(['api/[ab].ts', 'api/a.ts']), ['api/a.ts', 'api/b.ts']);
    await assert.rejects(expandInputs(['api/*.tss'], { cwd: dir }), /input api\/\*\.tss: no file matches/);
    await assert.rejects(expandInputs(['missing.ts'], { cwd: dir }), /input missing\.ts: no such file or folder/);
    assert.equal(globToRegExp('src/**/api.ts').test('src/api.ts'), true);
    assert.equal(globToRegExp('src/*.ts').test('src/a/b.ts'), false);
  });

  it('reads inputs with the nearest tsconfig.json, so its paths apply; --project picks another', async () => {
    const dir = await scratch('project');
    await mkdir(join(dir, 'lib'), { recursive: true });
    await writeFile(join(dir, 'lib/money.ts'), 'export interface Money {\n  cents: number;\n}\n');
    await writeFile(join(dir, 'api.ts'), "import type { Money } from '@lib/money';\n/** @rpc */\nexport interface Bank {\n  balance(): Money;\n}\n");
    const config = { compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, paths: { '@lib/*': ['./lib/*.ts'] }, allowImportingTsExtensions: true, noEmit: true } };
    await writeFile(join(dir, 'paths.json'), JSON.stringify(config));
    await assert.rejects(generate({ inputs: ['api.ts'], outDir: 'out', cwd: dir, project: false }), /TS2307: Cannot find module '@lib\/money'/);
    const result = await generate({ inputs: ['api.ts'], outDir: 'out', cwd: dir, project: 'paths.json' });
    assert.equal(result.project, join(dir, 'paths.json'));
    assert.match(result.files[0]!.content, /export interface Money \{\n {2}cents: number;\n\}/);
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(config));
    assert.equal((await generate({ inputs: ['api.ts'], outDir: 'out', cwd: dir })).project, join(dir, 'tsconfig.json'));
    await assert.rejects(generate({ inputs: ['api.ts'], outDir: 'out', cwd: dir, project: 'nope.json' }), /--project nope\.json: no such file/);
  });
});

describe('zrpc generate (the CLI)', () => {
  const run = promisify(execFile);
  const cli = join(repoRoot, 'dist/cli/zrpc.js');
  const zrpc = (args: string[], cwd = repoRoot) => run(process.execPath, [cli, ...args], { cwd });
  const failure = (error: unknown) => error as { code: number; stdout: string; stderr: string };

  it('prints its version', async () => {
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    assert.equal((await zrpc(['--version'])).stdout.trim(), version);
  });

  it('prints every diagnostic in tsc format and exits 1', async () => {
    await assert.rejects(zrpc(['generate', bad, '--out', 'dist/never']), (error: unknown) => {
      const { code, stderr } = failure(error);
      assert.equal(code, 1);
      assert.deepEqual(stderr.trim().split('\n'), [...expected, 'zrpc: 13 errors; nothing written']);
      return true;
    });
  });

  it('takes a quoted glob; --check names each missing or stale file and exits 1', async () => {
    const out = 'dist/golden-cli';
    await rm(join(repoRoot, out), { recursive: true, force: true });
    const { stdout } = await zrpc(['generate', 'test/golden/inputs/*.ts', '--out', out]);
    assert.equal(stdout, `zrpc: 1 file generated, 1 changed\n  wrote ${out}/kitchen.ts\n`);
    assert.equal((await zrpc(['generate', 'test/golden/inputs', '--out', out, '--check'])).stdout, 'zrpc: 1 generated file up to date\n');
    await appendFile(join(repoRoot, out, 'kitchen.ts'), '// edited\n');
    await assert.rejects(zrpc(['generate', 'test/golden/inputs', '--out', out, '--check']), (error: unknown) => {
      const { code, stderr } = failure(error);
      assert.equal(code, 1);
      assert.equal(stderr, `zrpc: generated files out of date; run zrpc generate without --check:\n  stale   ${out}/kitchen.ts  (from test/golden/inputs/kitchen.ts)\n`);
      return true;
    });
    await assert.rejects(zrpc(['generate', 'test/golden/inputs', '--out', `${out}-missing`, '--check']), (error: unknown) => {
      assert.match(failure(error).stderr, new RegExp(`\\n  missing ${out}-missing/kitchen\\.ts  \\(from test/golden/inputs/kitchen\\.ts\\)\\n$`));
      return true;
    });
    await assert.rejects(zrpc(['generate', 'x.ts']), /required option '-o, --out <dir>'/);
    await assert.rejects(zrpc(['generate', 'test/golden/*.tsx', '--out', out]), (error: unknown) => {
      assert.equal(failure(error).stderr, 'zrpc: input test/golden/*.tsx: no file matches\n');
      return true;
    });
  });

  it('--watch says what it watches', async () => {
    const dir = await scratch('cli-watch');
    await writeFile(join(dir, 'api.ts'), "import type { Item } from './item.js';\n/** @rpc */\nexport interface Api {\n  get(): Item;\n}\n");
    await writeFile(join(dir, 'item.ts'), 'export interface Item {\n  name: string;\n}\n');
    const child = spawn(process.execPath, [cli, 'generate', '*.ts', '--out', 'out', '--watch'], { cwd: dir });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitFor(() => output.includes('watching'), 15_000, 'the watch message');
      assert.match(output, /zrpc: watching 2 files \(the inputs and what they import\): api\.ts, item\.ts; a new input file needs a restart\n/);
    } finally {
      child.kill();
    }
  });
});

async function scratch(name: string): Promise<string> {
  const dir = join(repoRoot, 'dist/codegen-errors', name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}
