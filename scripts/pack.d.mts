// Types of scripts/pack.mjs, for the packaging test.
export interface Packed {
  name: string;
  tarball: string;
  files: string[];
}
export function codegenManifest(): Record<string, unknown>;
export function stageCodegen(dir: string): string;
export function packAll(dest: string): [Packed, Packed];
