#!/usr/bin/env node
/**
 * The `zrpc` command: a thin commander shell over the library functions that do the work.
 * It ships with the generator package; `keygen` loads the runtime only when run.
 */
import './compile-cache.js';
import { Command, InvalidArgumentError } from 'commander';
import { statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import {
  expandInputs,
  formatDiagnostic,
  generate,
  GeneratorError,
  watchAndGenerate,
  type Diagnostic,
  type GenerateOptions,
  type GenerateResult,
  version,
} from '../src/codegen/index.js';

const program = new Command()
  .name('zrpc')
  .description('Typed RPC over ZeroMQ, wire-compatible with Python aiozmq.rpc')
  .version(version, '-v, --version', 'print the version')
  .showHelpAfterError();

interface GenerateFlags {
  out: string;
  project?: string;
  check?: boolean;
  watch?: boolean;
}

program
  .command('generate')
  .description('write typed clients and server stubs for the @rpc, @pipeline and @pubsub interfaces in <inputs>')
  .argument('<inputs...>', 'TypeScript files, folders, or quoted globs ("src/api/*.ts") that declare services')
  .requiredOption('-o, --out <dir>', 'folder for the generated modules')
  .option('-p, --project <tsconfig>', 'read the inputs with this tsconfig.json (default: the nearest one)')
  .option('--check', 'write nothing; fail if any output is missing or stale (for CI)')
  .option('--watch', 'generate again whenever an input or a file it imports changes')
  .action(async (patterns: string[], flags: GenerateFlags) => {
    const inputs = await expandInputs(patterns, { exclude: [flags.out] });
    const options: GenerateOptions = { inputs, outDir: flags.out, check: flags.check, ...(flags.project ? { project: flags.project } : {}) };
    if (flags.watch) return watch(options, patterns.some((p) => /[*?[\]{}]/.test(p) || statSync(p, { throwIfNoEntry: false })?.isDirectory()));
    try {
      const result = await generate(options);
      printWarnings(result.warnings);
      if (flags.check) return check(result);
      console.log(summary(result));
    } catch (error) {
      fail(error);
    }
  });

program
  .command('keygen')
  .description('make a CURVE key pair (Z85) for the curve option of zrpc services')
  .option('-o, --out <file>', 'write { publicKey, secretKey } as JSON to <file> (mode 600) and print the public key')
  .action(async (options: { out?: string }) => {
    // Loaded here so that `zrpc generate` never loads ZeroMQ's native addon.
    const { generateKeyPair } = await import('zrpc');
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

// ── Terminal tools: describe, call, notify, publish, subscribe (src/tools) ─────────────
// Loaded when run, like keygen, so that `zrpc generate` never loads ZeroMQ's native addon.
const tools = () => import('../src/tools/index.js');
const TOOLS_HELP = `
Values are JSON; bigint, bytes, dates and maps use {"$bigint":"123"}, {"$bytes":"<base64>"},
{"$date":"<ISO>"}, {"$map":[[k,v],...]}, in arguments and in results.
Exit codes: 0 done, 1 the call failed (remote error), 2 bad input or arguments refused
before sending, 3 no answer in time, 4 (describe) the server does not describe itself.`;

function milliseconds(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('expected a positive number of milliseconds');
  return value;
}

function wholeNumber(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return value;
}

/** Bad usage of these commands exits 2, as bad input does (commander's own default is 1). */
function toolCommand(name: string): Command {
  return program
    .command(name)
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .addHelpText('after', TOOLS_HELP);
}

const withConnection = (command: Command) =>
  command
    .option('-t, --timeout <ms>', 'milliseconds to wait for an answer (default 10000)', milliseconds)
    .option('--curve <keys.json>', "this side's CURVE key pair, as zrpc keygen --out writes it")
    .option('--server-key <key>', "the server's CURVE public key (Z85), with --curve");

/** Request/reply only: pipeline and pub/sub calls carry no metadata on the wire. */
const withMetadata = (command: Command) =>
  command.option('-m, --metadata <key=value>', 'metadata sent with the call (auth tokens, tenants: ctx.metadata on the server); repeatable', (pair: string, pairs: string[] = []) => [...pairs, pair]);

const ARGS_HELP = 'positional arguments as one JSON array (\'[1, "a"]\'), then named ones as name=value (JSON, or plain text)';
const withArguments = (command: Command) =>
  command
    .option('--kw <json>', 'named arguments as a JSON object (\'{"b": 2}\')')
    .option('--no-check', "send without checking the arguments against the server's description");

withMetadata(withConnection(toolCommand('describe')))
  .description("print a running zrpc server's methods: signatures, docs and declared errors")
  .argument('<endpoint>', 'where the server listens (tcp://host:port, ipc://path)')
  .option('--json', 'print the description as JSON, for tools')
  .action(async (endpoint: string, flags) => {
    const t = await tools();
    process.exitCode = await t.describeCommand(endpoint, flags, t.consoleOutput);
  });

withArguments(withMetadata(withConnection(toolCommand('call'))))
  .description('call a method of a request/reply server and print the result as JSON')
  .argument('<endpoint>', 'where the server listens')
  .argument('<method>', 'dotted method name (billing.refund)')
  .argument('[args...]', ARGS_HELP)
  .action(async (endpoint: string, method: string, words: string[], flags) => {
    const t = await tools();
    process.exitCode = await t.callCommand(endpoint, method, words, flags, t.consoleOutput);
  });

withArguments(withConnection(toolCommand('notify')))
  .description('send one call to a pipeline worker (no reply; arguments unchecked unless --describe-from)')
  .argument('<endpoint>', 'where the worker listens (or, with --bind, where to bind)')
  .argument('<method>', 'dotted method name')
  .argument('[args...]', ARGS_HELP)
  .option('--describe-from <endpoint>', 'check the arguments against the description of this request/reply server')
  .option('--bind', 'bind the endpoint rather than connect to it')
  .action(async (endpoint: string, method: string, words: string[], flags) => {
    const t = await tools();
    process.exitCode = await t.notifyCommand(endpoint, method, words, flags, t.consoleOutput);
  });

withArguments(withConnection(toolCommand('publish')))
  .description('publish one call under <topic> to subscribers (no reply; arguments unchecked unless --describe-from)')
  .argument('<endpoint>', 'where the subscribers listen (or, with --bind, where to bind)')
  .argument('<topic>', 'the topic (subscribers match its prefix)')
  .argument('<method>', 'dotted method name')
  .argument('[args...]', ARGS_HELP)
  .option('--describe-from <endpoint>', 'check the arguments against the description of this request/reply server')
  .option('--bind', 'bind the endpoint rather than connect to it')
  .option('--settle <ms>', 'wait this long after connecting, for subscriptions to arrive (default 500)', milliseconds)
  .action(async (endpoint: string, topic: string, method: string, words: string[], flags) => {
    const t = await tools();
    process.exitCode = await t.publishCommand(endpoint, topic, method, words, flags, t.consoleOutput);
  });

toolCommand('subscribe')
  .description('bind (or --connect) a subscriber and print each call it receives as one JSON line')
  .argument('<endpoint>', 'where to bind, or with --connect the publisher to connect to')
  .option('--connect', 'connect to a publisher rather than bind')
  .option('--topic <prefix...>', 'topic prefixes to receive (default: every topic)')
  .option('-n, --count <n>', 'stop after n calls', wholeNumber)
  .option('-t, --timeout <ms>', 'stop after this many milliseconds (exit 3 if --count was not reached)', milliseconds)
  .option('--curve <keys.json>', "this side's CURVE key pair, as zrpc keygen --out writes it")
  .option('--server-key <key>', "with --connect: the publisher's CURVE public key")
  .action(async (endpoint: string, flags: { connect?: boolean; topic?: string[]; count?: number; timeout?: number; curve?: string; serverKey?: string }) => {
    const t = await tools();
    process.exitCode = await t.subscribeCommand(
      endpoint,
      {
        ...flags,
        ...(flags.topic ? { topics: flags.topic } : {}),
        // A bound tcp://...:0 picks a port: say which, for whoever starts the publisher.
        onListening: (bound) => console.error(`zrpc: subscribed at ${bound.join(' ')}`),
      },
      t.consoleOutput,
    );
  });

program
  .command('proxy')
  .description('one address for many servers: clients connect to --frontend, servers connect to --backend (libzmq proxy; it rotates calls over the servers)')
  .requiredOption('--frontend <endpoints...>', 'where clients connect, e.g. tcp://*:5555')
  .requiredOption('--backend <endpoints...>', 'where servers connect, e.g. tcp://*:5556')
  .option('--curve-keys <file>', "CURVE for clients: the proxy's key pair as written by zrpc keygen --out; clients give its public key as serverKey")
  .action(async (options: { frontend: string[]; backend: string[]; curveKeys?: string }) => {
    try {
      // Loaded here so that `zrpc generate` never loads ZeroMQ's native addon.
      const { runProxy } = await import('zrpc');
      const keys = options.curveKeys ? (JSON.parse(await readFile(options.curveKeys, 'utf8')) as { secretKey?: unknown }) : undefined;
      if (keys && typeof keys.secretKey !== 'string') throw new Error(`${options.curveKeys} has no secretKey (make one with zrpc keygen --out)`);
      const proxy = await runProxy({
        frontend: options.frontend,
        backend: options.backend,
        ...(keys ? { curve: { frontend: { secretKey: keys.secretKey as string } } } : {}),
        logger: console,
      });
      const stop = () => void proxy.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      console.log(`zrpc: proxy running; clients connect to ${proxy.frontend.join(', ')}, servers to ${proxy.backend.join(', ')}`);
    } catch (error) {
      fail(error);
    }
  });

const here = (path: string) => relative(process.cwd(), path) || path;

function summary(result: GenerateResult): string {
  const total = result.files.length;
  const written = result.files.filter((f) => f.changed).map((f) => `  wrote ${here(f.path)}`);
  return [`zrpc: ${total} file${total === 1 ? '' : 's'} generated, ${written.length} changed`, ...written].join('\n');
}

/** `--check`: each missing or stale output on its own line, and exit 1 if there is one. */
function check(result: GenerateResult): void {
  const outdated = result.files.filter((f) => f.status !== 'current');
  if (outdated.length === 0) {
    console.log(`zrpc: ${result.files.length} generated file${result.files.length === 1 ? '' : 's'} up to date`);
    return;
  }
  const lines = outdated.map((f) => `  ${f.status.padEnd(7)} ${here(f.path)}  (from ${here(f.source)})`);
  console.error(`zrpc: generated files out of date; run zrpc generate without --check:\n${lines.join('\n')}`);
  process.exitCode = 1;
}

function watch(options: GenerateOptions, expanded: boolean): void {
  // Folders and globs are expanded once, at start.
  const note = expanded ? '; a new input file needs a restart' : '';
  let watched = '';
  watchAndGenerate(options, (outcome, watching) => {
    if (outcome instanceof Error) describeError(outcome);
    else {
      printWarnings(outcome.warnings);
      console.log(summary(outcome));
    }
    const list = watching.map(here).join(', ');
    if (list !== watched) console.log(`zrpc: watching ${watching.length} file${watching.length === 1 ? '' : 's'} (the inputs and what they import): ${list}${note}`);
    watched = list;
  });
  process.on('SIGINT', () => process.exit(0));
}

function printWarnings(warnings: readonly Diagnostic[]): void {
  for (const w of warnings) console.error(formatDiagnostic(w));
}

function describeError(error: unknown): void {
  if (error instanceof GeneratorError) {
    for (const d of error.diagnostics) console.error(formatDiagnostic(d));
    const errors = error.diagnostics.filter((d) => d.category === 'error').length;
    console.error(`zrpc: ${errors} error${errors === 1 ? '' : 's'}; nothing written`);
  } else {
    console.error(`zrpc: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function fail(error: unknown): void {
  describeError(error);
  process.exitCode = 1;
}

try {
  await program.parseAsync();
} catch (error) {
  fail(error);
}
