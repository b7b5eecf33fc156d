/**
 * `generate --watch`: generate, then again whenever an input or a file it imports
 * changes. Errors are reported and watching goes on.
 */
import { watch, type FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import { generate, type GenerateOptions, type GenerateResult } from './generate.js';
import { checkGenerateOptions } from './options.js';

export interface WatchHandle {
  close(): void;
}

/**
 * Generates now and on every change. `report` gets each run's result or error, and the
 * files now watched: the inputs and every file of the user's they import (only the
 * inputs after a failed run).
 */
export function watchAndGenerate(
  options: GenerateOptions,
  report: (result: GenerateResult | Error, watching: readonly string[]) => void,
  debounceMs = 100,
): WatchHandle {
  // At once, as the caller's mistake: a report would leave the watch running on nothing.
  checkGenerateOptions(options, 'watchAndGenerate');
  let watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let running = Promise.resolve();

  const run = () => {
    running = running.then(async () => {
      if (closed) return;
      const cwd = options.cwd ?? process.cwd();
      let watched = options.inputs.map((p) => resolve(cwd, p));
      let outcome: GenerateResult | Error;
      try {
        outcome = await generate(options);
        watched = outcome.read;
      } catch (error) {
        outcome = error as Error;
      }
      rewatch(watched);
      report(outcome, watched);
    });
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(run, debounceMs);
  };
  const rewatch = (files: readonly string[]) => {
    for (const w of watchers) w.close();
    if (closed) return;
    watchers = files.map((file) => watch(file, schedule));
  };
  run();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
