/**
 * ts-morph's values, loaded with require(). ts-morph is CommonJS: an ESM `import` of it
 * makes Node scan its bundle for export names before running it, about 85 ms of every
 * `zrpc generate`. Types still come from `import type ... from 'ts-morph'`.
 */
import { createRequire } from 'node:module';
import type * as TsMorph from 'ts-morph';

const morph = createRequire(import.meta.url)('ts-morph') as typeof TsMorph;

export const { Project, Node, ts } = morph;
/** `Node` and `Project` are types too, as the classes' instances. */
export type Node<T extends TsMorph.ts.Node = TsMorph.ts.Node> = TsMorph.Node<T>;
export type Project = TsMorph.Project;
/** TypeScript's own types (`TS.CompilerOptions`), beside the `ts` value. */
export type { ts as TS } from 'ts-morph';
