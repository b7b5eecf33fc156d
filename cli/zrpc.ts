#!/usr/bin/env node
/**
 * The `zrpc` command: a thin commander shell over the library functions that do the work.
 */
import { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { generate, GeneratorError, watchAndGenerate, type GenerateResult } from '../src/codegen/index.js';

const program = new Command()
  .name('zrpc')
  .description('Typed RPC over ZeroMQ, wire-compatible with Python aiozmq.rpc')
  .showHelpAfterError();

program
  .command('generate')
  .description('write typed clients and server stubs for the @rpc, @pipeline and @pubsub interfaces in <inputs>')
  .argument('<inputs...>', 'TypeScript files that declare services')
  .requiredOption('-o, --out <dir>', 'folder for the generated modules')
  .option('--check', 'write nothing; fail if any output is missing or stale (for CI)')
  .option('--watch', 'generate again whenever an input or a file it imports changes')
  .action(async (inputs: string[], options: { out: string; check?: boolean; watch?: boolean }) => {
    const run = { inputs, outDir: options.out, check: options.check };
    if (options.watch) {
      watchAndGenerate(run, (result) => {
        if (result instanceof Error) console.error(describeError(result));
        else console.log(summary(result, false));
      });
      return;
    }
    try {
      const result = await generate(run);
      if (options.check && result.changed.length > 0) {
        console.error(`stale generated files (run zrpc generate):\n${result.changed.map((p) => `  ${relative(process.cwd(), p)}`).join('\n')}`);
        process.exitCode = 1;
        return;
      }
      console.log(summary(result, !!options.check));
    } catch (error) {
      console.error(describeError(error));
      process.exitCode = 1;
    }
  });

program
  .command('keygen')
  .description('make a CURVE key pair (Z85) for the curve option of zrpc services')
  .option('-o, --out <file>', 'write { publicKey, secretKey } as JSON to <file> (mode 600) and print the public key')
  .action(async (options: { out?: string }) => {
    // Loaded here so that `zrpc generate` never loads ZeroMQ's native addon.
    const { generateKeyPair } = await import('../src/runtime/curve.js');
    const pair = generateKeyPair();
    if (!options.out) {
      console.log(`publicKey=${pair.publicKey}\nsecretKey=${pair.secretKey}`);
      return;
    }
    await writeFile(options.out, `${JSON.stringify(pair, null, 2)}\n`, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
      throw new Error(error.code === 'EEXIST' ? `${options.out} exists; not overwriting a key` : error.message, { cause: error });
    });
    console.log(`publicKey=${pair.publicKey}\n(secret key in ${options.out})`);
  });

function summary(result: GenerateResult, check: boolean): string {
  const total = result.files.length;
  if (check) return `zrpc: ${total} generated file${total === 1 ? '' : 's'} up to date`;
  const written = result.changed.map((p) => `  wrote ${relative(process.cwd(), p)}`);
  return [`zrpc: ${total} file${total === 1 ? '' : 's'} generated, ${result.changed.length} changed`, ...written].join('\n');
}

function describeError(error: unknown): string {
  if (error instanceof GeneratorError) return error.message;
  return `zrpc: ${error instanceof Error ? error.message : String(error)}`;
}

try {
  await program.parseAsync();
} catch (error) {
  console.error(`zrpc: ${(error as Error).message}`);
  process.exitCode = 1;
}
