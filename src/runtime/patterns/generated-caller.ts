/**
 * What a generated function (`connectShop`, `serveShop`) hands the factory it calls:
 * its own name, for errors about the options, and its module's tables, which go under
 * the caller's. The options themselves pass untouched, so the factory checks them as
 * the caller gave them (`connectShop(undefined)` is told it needs an options object).
 */
import { checkOptionKeys } from '../socket/option-keys.js';
import { mergeErrorTables, type ErrorTable } from '../wire/error-table.js';
import type { TranslationTable } from '../wire/packer.js';
import { mergeTranslationTables } from '../wire/translators.js';

export interface GeneratedCaller {
  /** The generated function, named in errors about the options it was given. */
  readonly name: string;
  /** The module's declared errors (clients): the caller's `errorTable` wins on a shared name. */
  readonly errorTable?: ErrorTable;
  /** The module's translators: the caller's `translationTable` wins on a shared code. */
  readonly translationTable?: TranslationTable;
}

type Tables = { errorTable?: ErrorTable; translationTable?: TranslationTable };

/**
 * What a factory (`connectRpc`, ...) makes its service with: `options` checked as the
 * caller gave them (`known`: the keys it reads), then the generated module's tables
 * merged under the caller's.
 */
export function factoryOptions<T extends Tables>(options: T, known: object, factory: string, generated: GeneratedCaller | undefined): T {
  checkOptionKeys(options, known, factory, generated?.name);
  if (generated === undefined) return options;
  const merged: T = { ...options, translationTable: mergeTranslationTables(generated.translationTable, options.translationTable) };
  if (generated.errorTable !== undefined) merged.errorTable = mergeErrorTables(generated.errorTable, options.errorTable);
  return merged;
}
