/**
 * Runs every sample end to end: what `npm run sample` does after generating the clients
 * and servers in samples/generated from samples/api. Exits non-zero if any fails.
 */
import { main as dynamic } from './dynamic/main.js';
import { main as feed } from './feed/main.js';
import { main as jobs } from './jobs/main.js';
import { main as shop } from './shop/main.js';

const samples: Array<[string, () => Promise<void>]> = [
  ['shop: request/reply, generated from samples/api/shop.ts', shop],
  ['jobs: pipeline, generated from samples/api/jobs.ts', jobs],
  ['feed: publish/subscribe, generated from samples/api/feed.ts', feed],
  ['dynamic: the runtime alone, no generated code', dynamic],
];

for (const [name, run] of samples) {
  console.log(`\n── ${name}`);
  await run();
}
console.log('\nall samples ran');
