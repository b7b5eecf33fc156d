/**
 * The translation table every service starts from: the user's entries, plus the
 * predefined Python date/time translators on the codes aiozmq reserves for them.
 */
import { datetimeTranslators } from './datetime.js';
import { Packer, type DecodeLimits, type TranslationTable, type Translator } from './packer.js';

/** Translators zrpc registers unless the user's table takes the same code. */
const predefined: ReadonlyMap<number, Translator> = datetimeTranslators;

/** One table from several, later ones winning: generated modules put theirs under the user's. */
export function mergeTranslationTables(...tables: Array<TranslationTable | undefined>): ReadonlyMap<number, Translator> {
  const merged = new Map<number, Translator>();
  for (const table of tables) {
    if (!table) continue;
    const entries = table instanceof Map ? [...table] : Object.entries(table).map(([k, v]) => [Number(k), v] as const);
    for (const [code, translator] of entries) merged.set(code, translator);
  }
  return merged;
}

export function createPacker(table: TranslationTable | undefined, limits?: DecodeLimits): Packer {
  return new Packer(mergeTranslationTables(predefined, table), limits);
}
