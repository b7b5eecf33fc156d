/**
 * Imported first by the `zrpc` command: from Node 22.1, compiled code is kept on disk
 * (in the system's temporary folder, as tsc does), so each later run skips compiling
 * TypeScript's 9 MB compiler again, about a quarter of a second. Node 20 lacks it and
 * runs as before. It must run before ts-morph loads, hence a module of its own.
 */
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
