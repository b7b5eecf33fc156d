#!/usr/bin/env node
/**
 * The `zrpc` command: a thin commander shell over the library functions that do the work.
 */
import { Command } from 'commander';
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

await program.parseAsync();
