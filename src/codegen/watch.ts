/**
 * `generate --watch`: generate, then again whenever an input or a file it imports
 * changes. Errors are reported and watching goes on.
 */
import { watch, type FSWatcher } from 'node:fs';
import { generate, type GenerateOptions, type GenerateResult } from './generate.js';

export interface WatchHandle {
  close(): void;
}

export function watchAndGenerate(
  options: GenerateOptions,
  report: (result: GenerateResult | Error) => void,
  debounceMs = 100,
): WatchHandle {
  let watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let running = Promise.resolve();

  const run = () => {
    running = running.then(async () => {
      if (closed) return;
      let watched = [...options.inputs];
      try {
        const result = await generate(options);
        watched = result.read;
        report(result);
      } catch (error) {
        report(error as Error);
      }
      rewatch(watched);
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
