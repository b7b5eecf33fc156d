/**
 * Runs every sample end to end: what `npm run sample` does. Exits non-zero if any fails.
 */
import { main as dynamic } from './dynamic/main.js';

const samples: Array<[string, () => Promise<void>]> = [['dynamic (runtime only)', dynamic]];

for (const [name, run] of samples) {
  console.log(`\n── ${name}`);
  await run();
}
console.log('\nall samples ran');
