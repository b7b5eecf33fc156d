/** The generator's own benchmark: a cold run over a 1,000-method interface, then --check. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { median, type Row } from './report.js';

const METHODS = 1000;
const RUNS = 5;

/** An input with METHODS methods over a few shared types, in ten namespaces. */
function bigInterface(): string {
  const lines = [
    'export interface Item { id: string; /** @minimum 0 */ qty: number; tags: string[]; at: Date }',
    "export type Kind = 'a' | 'b' | 'c';",
    '/** @rpc */',
    'export interface Big {',
    ...Array.from({ length: 10 }, (_, n) => `  ns${n}: Ns${n};`),
    '}',
  ];
  for (let n = 0; n < 10; n++) {
    lines.push(`export interface Ns${n} {`);
    for (let m = 0; m < METHODS / 10; m++) {
      lines.push(`  /** Method ${m} of namespace ${n}. */`, `  m${m}(item: Item, kind: Kind, count?: number): Promise<Item[]>;`);
    }
    lines.push('}');
  }
  return `${lines.join('\n')}\n`;
}

export async function generatorRows(root: string): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'zrpc-gen-bench-'));
  try {
    writeFileSync(join(dir, 'big.ts'), bigInterface());
    const cli = join(root, 'dist/cli/zrpc.js');
    const run = promisify(execFile);
    const time = async (args: string[]) => {
      const start = performance.now();
      await run(process.execPath, [cli, 'generate', 'big.ts', ...args], { cwd: dir });
      return (performance.now() - start) / 1000;
    };
    // Each a median of five fresh processes: one run swings by a third on a shared machine.
    // Every "cold" run writes into a fresh folder, so it finds nothing to compare with.
    const runs = async (args: (n: number) => string[]) => {
      const seconds: number[] = [];
      for (let n = 0; n < RUNS; n++) seconds.push(await time(args(n)));
      return seconds;
    };
    const cold = median(await runs((n) => ['--out', `out${n}`]));
    const check = median(await runs(() => ['--out', 'out0', '--check']));
    return [
      { group: 'generator', name: `cold zrpc generate, ${METHODS.toLocaleString('en')} methods (whole process, median of ${RUNS})`, impl: 'zrpc', value: cold, unit: 's', lowerIsBetter: true, targets: [{ text: 'under 1 s', met: cold < 1 }] },
      { group: 'generator', name: `--check on unchanged outputs (writes nothing, median of ${RUNS})`, impl: 'zrpc', value: check, unit: 's', lowerIsBetter: true },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
