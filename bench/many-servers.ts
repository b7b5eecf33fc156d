/**
 * Bench rows for many servers behind one client: four servers, one slow, reached by the
 * load-aware client (least in flight), by ZeroMQ's own rotation (servers dial a client
 * that binds), and through `zrpc proxy`; and one fast server direct and through the proxy.
 * The client runs in this process; every server is its own process.
 */
import { fileURLToPath } from 'node:url';
import { connectRpc, runProxy, type RpcClient } from 'zrpc';
import { LineProcess } from './line-process.js';
import type { Row } from './report.js';

const serverScript = fileURLToPath(new URL('./balance-server.js', import.meta.url));
const SLOW_MS = 20;
const IN_FLIGHT = 32;

async function servers(mode: 'bind' | 'connect', endpoint: string, delays: number[]): Promise<{ procs: LineProcess[]; endpoints: string[] }> {
  const procs = delays.map((ms) => new LineProcess(process.execPath, [serverScript, mode, endpoint, String(ms)]));
  const endpoints = await Promise.all(procs.map((p) => p.value('READY')));
  return { procs, endpoints };
}

/** `IN_FLIGHT` lanes of back-to-back calls for `seconds`: calls per second and p99 latency (ms). */
async function drive(client: RpcClient, seconds: number): Promise<{ rate: number; p99: number }> {
  for (let i = 0; i < 50; i++) await client.call.work(i); // warm up, and every connection up
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const lane = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await client.call.work(1);
      latencies.push(performance.now() - t);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { rate: latencies.length / elapsed, p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0 };
}

export async function manyServerRows(seconds: number): Promise<Row[]> {
  const rows: Row[] = [];
  const group = `4 servers, one ${SLOW_MS} ms a call, ${IN_FLIGHT} in flight, tcp`;
  const oneSlow = [SLOW_MS, 0, 0, 0];
  const add = (name: string, result: { rate: number; p99: number }, g = group) => {
    rows.push({ group: g, name: `${name}: calls/s`, impl: 'zrpc', value: result.rate, unit: 'calls/s' });
    rows.push({ group: g, name: `${name}: p99 latency`, impl: 'zrpc', value: result.p99 * 1000, unit: 'µs', lowerIsBetter: true });
  };
  {
    const { procs, endpoints } = await servers('bind', 'tcp://127.0.0.1:0', oneSlow);
    const client = await connectRpc({ connect: endpoints, timeout: 10_000 });
    add('least in flight (connect list)', await drive(client, seconds));
    await client.close();
    for (const p of procs) await p.finish();
  }
  {
    const client = await connectRpc({ bind: 'tcp://127.0.0.1:0', timeout: 10_000 });
    const { procs } = await servers('connect', client.transport.bindings[0]!, oneSlow);
    add('ZeroMQ rotation (servers dial the client)', await drive(client, seconds));
    await client.close();
    for (const p of procs) await p.finish();
  }
  {
    const proxy = await runProxy({ frontend: 'tcp://127.0.0.1:0', backend: 'tcp://127.0.0.1:0' });
    const { procs } = await servers('connect', proxy.backend[0]!, oneSlow);
    const client = await connectRpc({ connect: proxy.frontend[0]!, timeout: 10_000 });
    add('zrpc proxy (rotation)', await drive(client, seconds));
    await client.close();
    for (const p of procs) await p.finish();
    await proxy.close();
  }
  const direct = `1 server, ${IN_FLIGHT} in flight, tcp`;
  {
    const { procs, endpoints } = await servers('bind', 'tcp://127.0.0.1:0', [0]);
    const client = await connectRpc({ connect: endpoints[0]!, timeout: 10_000 });
    add('direct (one endpoint)', await drive(client, seconds), direct);
    await client.close();
    for (const p of procs) await p.finish();
  }
  {
    const proxy = await runProxy({ frontend: 'tcp://127.0.0.1:0', backend: 'tcp://127.0.0.1:0' });
    const { procs } = await servers('connect', proxy.backend[0]!, [0]);
    const client = await connectRpc({ connect: proxy.frontend[0]!, timeout: 10_000 });
    add('through zrpc proxy', await drive(client, seconds), direct);
    await client.close();
    for (const p of procs) await p.finish();
    await proxy.close();
  }
  return rows;
}

/** `node dist/bench/many-servers.js [seconds]`: these rows alone. */
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await manyServerRows(Number(process.argv[2] ?? 2));
  for (const r of rows) console.log(`${r.group} | ${r.name} | ${r.value.toFixed(0)} ${r.unit}`);
}
