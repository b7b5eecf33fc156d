/**
 * How long `import 'zrpc'` takes in a fresh process, next to `import 'zeromq'` alone: the
 * runtime's own cost at start-up. Median of several runs, alternating the two.
 * `node dist/bench/import-time.js` runs just this part.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median, type Row } from './report.js';

const probe = (specifier: string) =>
  `const start = performance.now(); await import(${JSON.stringify(specifier)}); console.log(performance.now() - start);`;

async function importMs(root: string, specifier: string): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', probe(specifier)], { cwd: root });
  return Number(stdout.trim());
}

export async function importTimeRows(root: string, runs = 9): Promise<Row[]> {
  const zeromq: number[] = [];
  const zrpc: number[] = [];
  for (let i = 0; i < runs; i++) {
    zeromq.push(await importMs(root, 'zeromq'));
    zrpc.push(await importMs(root, 'zrpc'));
  }
  const extra = median(zrpc) - median(zeromq);
  return [
    { group: 'start-up (fresh process, median)', name: "import 'zeromq' alone", impl: 'raw', value: median(zeromq), samples: zeromq, unit: 'ms', lowerIsBetter: true },
    { group: 'start-up (fresh process, median)', name: "import 'zrpc'", impl: 'zrpc', value: median(zrpc), samples: zrpc, unit: 'ms', lowerIsBetter: true },
    {
      group: 'start-up (fresh process, median)',
      name: "import 'zrpc' minus import 'zeromq'",
      impl: 'zrpc',
      value: extra,
      unit: 'ms',
      lowerIsBetter: true,
      targets: [{ text: 'at most 150 ms', met: extra <= 150 }],
    },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  for (const row of await importTimeRows(root)) console.log(`${row.name}: ${row.value.toFixed(1)} ${row.unit}${row.targets ? ` (${row.targets.map((t) => `${t.text}: ${t.met ? 'met' : 'missed'}`).join(', ')})` : ''}`);
}
