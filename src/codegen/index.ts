/**
 * zrpc's code generator: typed clients and server stubs from TypeScript service
 * interfaces. `zrpc generate` is a thin shell over `generate`.
 */
export { generate, type GenerateOptions, type GenerateResult, type GeneratedFile } from './generate.js';
export { GeneratorError, formatDiagnostic, type Diagnostic } from './diagnostics.js';
export { watchAndGenerate, type WatchHandle } from './watch.js';
