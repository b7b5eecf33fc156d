// Packs the two packages this repository publishes, from a built dist/:
//   zrpc          the runtime (this package.json): zeromq, @msgpack/msgpack; typebox as a peer
//   zrpc-codegen  the generator and the `zrpc` command: ts-morph, mustache, commander; zrpc as a peer
// An app installs only the first; the generator is a dev dependency. Usage:
//   node scripts/pack.mjs [destination folder]   (default: dist/packages; prints the tarballs)
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const generatorDependencies = ['commander', 'mustache', 'ts-morph'];

/** The generator's manifest, derived from this repository's so versions never drift apart. */
export function codegenManifest() {
  const main = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return {
    name: 'zrpc-codegen',
    version: main.version,
    description: 'zrpc generate: typed zrpc clients and servers, with TypeBox validators, from TypeScript interfaces',
    license: main.license,
    repository: main.repository,
    homepage: main.homepage,
    bugs: main.bugs,
    keywords: main.keywords,
    type: 'module',
    engines: main.engines,
    bin: { zrpc: './dist/cli/zrpc.js' },
    exports: {
      '.': { types: './dist/src/codegen/index.d.ts', default: './dist/src/codegen/index.js' },
      './tools': { types: './dist/src/tools/index.d.ts', default: './dist/src/tools/index.js' },
      './package.json': './package.json',
    },
    types: './dist/src/codegen/index.d.ts',
    files: ['dist', 'src', 'cli', 'templates'],
    dependencies: Object.fromEntries(generatorDependencies.map((name) => [name, main.devDependencies[name]])),
    // Generated code imports zrpc and typebox; `zrpc keygen`, `call`, `describe`... run on zrpc.
    peerDependencies: { zrpc: `^${main.version}`, typebox: main.peerDependencies.typebox },
  };
}

/** Lays out zrpc-codegen under `dir`: manifest, README, LICENSE, the built generator and CLI, templates. */
export function stageCodegen(dir) {
  rmSync(dir, { recursive: true, force: true });
  const copy = (path) => cpSync(join(root, path), join(dir, path), { recursive: true });
  // The sources ship with the source maps, so stack traces and "go to definition" land on them.
  copy('dist/src/codegen');
  copy('src/codegen');
  // zrpc describe/call/notify/publish/subscribe: terminal tools over the runtime (the peer zrpc).
  copy('dist/src/tools');
  copy('src/tools');
  copy('dist/cli');
  copy('cli');
  copy('templates');
  copy('LICENSE');
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(codegenManifest(), null, 2)}\n`);
  writeFileSync(
    join(dir, 'README.md'),
    [
      '# zrpc-codegen',
      '',
      'The code generator and the `zrpc` command of [zrpc](https://www.npmjs.com/package/zrpc): typed',
      'clients, server stubs and TypeBox validators from TypeScript service interfaces.',
      '',
      '```sh',
      'npm install zrpc typebox          # what your app runs',
      'npm install -D zrpc-codegen       # this: zrpc generate, zrpc keygen',
      'npx zrpc generate "src/api/*.ts" --out src/generated',
      'npx zrpc describe tcp://127.0.0.1:5555               # a running server\'s methods',
      'npx zrpc call tcp://127.0.0.1:5555 add \'[1, 2]\'     # call one, print the result as JSON',
      '```',
      '',
      "See zrpc's README for the service syntax, the options and the diagnostics.",
      '',
    ].join('\n'),
  );
  return dir;
}

/** Packs both packages into `dest`: `{ name, tarball, files }` for each, runtime first. */
export function packAll(dest) {
  mkdirSync(dest, { recursive: true });
  const staged = stageCodegen(join(root, 'dist/packages/zrpc-codegen'));
  const pack = (cwd) => {
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [info] = JSON.parse(out);
    return { name: info.name, tarball: join(dest, info.filename), files: info.files.map((f) => f.path) };
  };
  return [pack(root), pack(staged)];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const { tarball } of packAll(resolve(process.argv[2] ?? join(root, 'dist/packages')))) console.log(tarball);
}
