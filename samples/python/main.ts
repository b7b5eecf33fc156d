/**
 * Talking to Python: a zrpc client calls a Python aiozmq.rpc service, and a Python
 * aiozmq client calls a zrpc service. Run: npm run sample:python
 */
import { spawn, execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Type from 'typebox';
import { PyDate, builtins, connectRpc, kwargs, method, serveRpc } from 'zrpc';

const script = fileURLToPath(new URL('../../../samples/python/inventory.py', import.meta.url));
const python = '/usr/bin/python3'; // Debian's, which has python3-aiozmq

export async function main(): Promise<void> {
  // ── zrpc → Python
  const child = spawn(python, [script, 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(line.replace(/^READY /, '')));
    child.once('exit', (code) => reject(new Error(`inventory.py exited with ${code}`)));
  });
  try {
    await using client = await connectRpc({ connect: ready, timeout: 5000 });
    console.log("zrpc → python: stock.level('apple') =", await client.call.stock.level('apple'));
    const restocked = (await client.call.stock.restock('pear', 5, kwargs({ when: new Date('2024-12-24T09:00:00Z') }))) as Record<string, unknown>;
    console.log('zrpc → python: stock.restock(...) =', { ...restocked, at: (restocked.at as Date).toISOString() });
    try {
      await client.call.stock.level('kiwi');
    } catch (error) {
      if (!(error instanceof builtins.KeyError)) throw error;
      console.log(`zrpc → python: stock.level('kiwi') raised builtins.KeyError(${JSON.stringify(error.arguments[0])})`);
    }
  } finally {
    child.stdin.end();
  }

  // ── Python → zrpc
  const pricing = {
    quote: method(
      (item: string, qty: number, day?: PyDate) => {
        const festive = day?.month === 12 && day.day >= 24;
        const unit = item === 'apple' ? 0.4 : 0.5;
        return Math.round(qty * unit * (festive ? 1.5 : 1) * 100) / 100;
      },
      {
        params: [
          { name: 'item', schema: Type.String() },
          { name: 'qty', schema: Type.Integer({ minimum: 1 }) },
          { name: 'day', optional: true },
        ],
      },
    ),
  };
  await using server = await serveRpc({ pricing }, { bind: 'tcp://127.0.0.1:0' });
  const { stdout } = await promisify(execFile)(python, [script, 'call', server.transport.bindings[0]!]);
  process.stdout.write(stdout);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
