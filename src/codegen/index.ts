/**
 * zrpc's code generator: typed clients and server stubs from TypeScript service
 * interfaces. `zrpc generate` is a thin shell over `generate`.
 */
export { generate, findTsconfig, type GenerateOptions, type GenerateResult, type GeneratedFile } from './generate.js';
export { expandInputs, type ExpandOptions } from './inputs.js';
export { Code, GeneratorError, formatDiagnostic, type Category, type Diagnostic } from './diagnostics.js';
export { watchAndGenerate, type WatchHandle } from './watch.js';
export { version } from './version.js';
