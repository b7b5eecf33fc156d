/**
 * The version of zrpc this generator belongs to, from package.json (zrpc-codegen's is
 * derived from zrpc's, so they are the same). Read at generation time, so a generated
 * file names the release that made it.
 */
import { readFileSync } from 'node:fs';

// dist/src/codegen/version.js -> the package root.
export const version: string = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
