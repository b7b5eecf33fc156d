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
    if (table === undefined) continue;
    if (table === null || typeof table !== 'object') {
      throw new TypeError(`translationTable must map ext codes 0..127 to [class, pack, unpack], as an object or a Map (got ${table === null ? 'null' : typeof table})`);
    }
    const entries = table instanceof Map ? [...table] : Object.entries(table).map(([k, v]) => [Number(k), v] as const);
    for (const [code, translator] of entries) {
      if (!isTranslator(translator)) {
        throw new TypeError(`translationTable entry ${String(code)} must be [class, pack, unpack], three functions`);
      }
      merged.set(code, translator);
    }
  }
  return merged;
}

function isTranslator(value: unknown): value is Translator {
  return Array.isArray(value) && value.length === 3 && value.every((part) => typeof part === 'function');
}

export function createPacker(table: TranslationTable | undefined, limits?: DecodeLimits): Packer {
  return new Packer(mergeTranslationTables(predefined, table), limits);
}
