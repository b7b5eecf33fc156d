/**
 * `npm run bench [-- --quick]`: zrpc against raw zeromq.js, Python aiozmq.rpc and grpc-js,
 * servers and clients in separate processes on loopback. Prints a table with each row's
 * ratio to raw zeromq.js from the same run, and how long `import 'zrpc'` takes next to
 * `import 'zeromq'`; writes bench/results/latest.{json,md}
 * and a calls-per-second chart, bench/results/calls-per-second.svg.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineProcess } from './line-process.js';
import { generatorRows } from './generator.js';
import { importTimeRows } from './import-time.js';
import { manyServerRows } from './many-servers.js';
import { renderChart, renderMarkdown, renderTable, type Row } from './report.js';

const quick = process.argv.includes('--quick');
const seconds = quick ? 0.5 : 2;
const root = fileURLToPath(new URL('../../', import.meta.url));
const worker = join(root, 'dist/bench/worker.js');
const pythonPeer = join(root, 'bench/python_peer.py');
const ipcDir = mkdtempSync(join(tmpdir(), 'zrpc-bench-'));

type Impl = 'zrpc' | 'raw' | 'python' | 'grpc';
const label: Record<Impl, string> = { zrpc: 'zrpc (generated, validated)', raw: 'raw zeromq.js', python: 'Python aiozmq.rpc', grpc: 'grpc-js' };

function start(impl: Impl, config: Record<string, unknown>): LineProcess {
  const json = JSON.stringify({ ...config, impl: impl === 'python' ? 'zrpc' : impl });
  return impl === 'python' ? new LineProcess('/usr/bin/python3', [pythonPeer, json]) : new LineProcess(process.execPath, ['--expose-gc', worker, json]);
}

function endpointFor(transport: 'tcp' | 'ipc', impl: Impl): string {
  if (impl === 'grpc') return '127.0.0.1:0';
  return transport === 'tcp' ? 'tcp://127.0.0.1:0' : `ipc://${join(ipcDir, `${impl}-${Math.random().toString(36).slice(2)}.sock`)}`;
}

interface RpcResult {
  calls: number;
  rate: number;
  p50: number;
  p99: number;
}

/** One server, `clients` client processes at once; the rates add up. */
async function rpc(impl: Impl, transport: 'tcp' | 'ipc', options: { inflight: number; clients?: number; payload?: number; calls?: number }, server?: LineProcess): Promise<RpcResult> {
  const own = !server;
  server ??= start(impl, { role: 'rpc-server', endpoint: endpointFor(transport, impl) });
  try {
    const endpoint = await server.value('READY');
    const clients = Array.from({ length: options.clients ?? 1 }, () =>
      start(impl, { role: 'rpc-client', endpoint, inflight: options.inflight, seconds, payload: options.payload ?? 0, calls: options.calls }),
    );
    const results = await Promise.all(clients.map(async (c) => JSON.parse(await c.value('RESULT', 600_000)) as RpcResult));
    await Promise.all(clients.map((c) => c.finish()));
    return {
      calls: results.reduce((n, r) => n + r.calls, 0),
      rate: results.reduce((n, r) => n + r.rate, 0),
      p50: Math.max(...results.map((r) => r.p50)),
      p99: Math.max(...results.map((r) => r.p99)),
    };
  } finally {
    if (own) await server.finish();
  }
}

/** One sender sending for `seconds`, `receivers` receiving processes; the rate is what each receiver got. */
async function oneWay(impl: Impl, pattern: 'pipeline' | 'pubsub', receivers: number): Promise<{ rate: number; delivered: number }> {
  const procs: LineProcess[] = [];
  try {
    let endpoint: string;
    let sender: LineProcess;
    if (pattern === 'pipeline') {
      const sink = start(impl, { role: 'sink-server', pattern, endpoint: endpointFor('tcp', impl) });
      procs.push(sink);
      endpoint = await sink.value('READY');
      sender = start(impl, { role: 'sink-client', pattern, endpoint, seconds });
      procs.push(sender);
      await sender.value('READY');
    } else {
      sender = start(impl, { role: 'sink-client', pattern, endpoint: endpointFor('tcp', impl), seconds });
      procs.push(sender);
      endpoint = await sender.value('READY');
      for (let i = 0; i < receivers; i++) procs.push(start(impl, { role: 'sink-server', pattern, endpoint }));
    }
    const sinks = procs.filter((p) => p !== sender);
    await Promise.all(sinks.map((s) => s.line('FIRST', 30_000)));
    sender.send('go');
    const results = await Promise.all(sinks.map(async (s) => JSON.parse(await s.value('RESULT', 300_000)) as { count: number; rate: number }));
    const { sent } = JSON.parse(await sender.value('RESULT', 300_000)) as { sent: number };
    return { rate: Math.min(...results.map((r) => r.rate)), delivered: Math.min(...results.map((r) => r.count)) / sent };
  } finally {
    await Promise.all(procs.map((p) => p.finish()));
  }
}

async function rss(): Promise<Row[]> {
  const server = start('zrpc', { role: 'rpc-server', endpoint: endpointFor('tcp', 'zrpc') });
  const rows: Row[] = [];
  try {
    const read = async () => {
      const before = server.lines.length;
      server.send('rss');
      for (;;) {
        const line = server.lines.slice(before).find((l) => l.startsWith('RSS '));
        if (line) return Number(line.slice(4));
        await server.line('RSS ');
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const marks = quick ? [100_000, 300_000] : [100_000, 1_000_000];
    let done = 0;
    const sizes: number[] = [];
    for (const mark of marks) {
      await rpc('zrpc', 'tcp', { inflight: 100, calls: mark - done }, server);
      done = mark;
      sizes.push(await read());
      rows.push({ group: 'server memory', name: `zrpc server RSS after ${mark.toLocaleString('en')} calls`, impl: 'zrpc', value: sizes.at(-1)! / 2 ** 20, unit: 'MiB' });
    }
    const growth = sizes.at(-1)! / sizes[0]! - 1;
    rows.push({ group: 'server memory', name: `RSS growth, ${marks[0]!.toLocaleString('en')} → ${marks[1]!.toLocaleString('en')} calls`, impl: 'zrpc', value: growth * 100, unit: '%', targets: [{ text: 'within 10%', met: Math.abs(growth) <= 0.1 }] });
  } finally {
    await server.finish();
  }
  return rows;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const impls: Impl[] = ['zrpc', 'raw', 'python', 'grpc'];
  const progress = (text: string) => process.stderr.write(`bench: ${text}\n`);

  for (const transport of quick ? (['tcp'] as const) : (['tcp', 'ipc'] as const)) {
    for (const impl of impls) {
      if (impl === 'grpc' && transport === 'ipc') continue;
      progress(`${impl} over ${transport}`);
      const seq = await rpc(impl, transport, { inflight: 1 });
      rows.push({ group: `sequential add, ${transport}`, name: 'calls/s', impl, value: seq.rate, unit: 'calls/s' });
      rows.push({ group: `sequential add, ${transport}`, name: 'p50 latency', impl, value: seq.p50, unit: 'µs', lowerIsBetter: true });
      rows.push({ group: `sequential add, ${transport}`, name: 'p99 latency', impl, value: seq.p99, unit: 'µs', lowerIsBetter: true });
      const many = await rpc(impl, transport, { inflight: 100 });
      rows.push({ group: `100 in flight, add, ${transport}`, name: 'calls/s', impl, value: many.rate, unit: 'calls/s' });
    }
  }
  for (const impl of impls) {
    progress(`${impl}: 4 client processes, payloads`);
    const four = await rpc(impl, 'tcp', { inflight: 100, clients: 4 });
    rows.push({ group: '4 client processes × 100 in flight, tcp', name: 'calls/s', impl, value: four.rate, unit: 'calls/s' });
    for (const [size, name] of quick ? ([[16, '16 B']] as const) : ([[16, '16 B'], [1024, '1 KiB'], [65536, '64 KiB']] as const)) {
      const r = await rpc(impl, 'tcp', { inflight: 100, payload: size });
      rows.push({ group: `echo ${name}, 100 in flight, tcp`, name: 'calls/s', impl, value: r.rate, unit: 'calls/s' });
    }
  }
  for (const impl of ['zrpc', 'raw', 'python'] as const) {
    progress(`${impl}: pipeline and pub/sub`);
    const pipe = await oneWay(impl, 'pipeline', 1);
    rows.push({ group: 'pipeline notifications, tcp', name: 'messages/s', impl, value: pipe.rate, unit: 'msg/s' });
    for (const receivers of quick ? [1] : [1, 4]) {
      const pub = await oneWay(impl, 'pubsub', receivers);
      rows.push({ group: `pub/sub to ${receivers} subscriber${receivers > 1 ? 's' : ''}, tcp`, name: 'messages/s each', impl, value: pub.rate, unit: 'msg/s', note: pub.delivered < 1 ? `${(pub.delivered * 100).toFixed(2)}% delivered` : undefined });
    }
  }
  progress('server memory');
  rows.push(...(await manyServerRows(seconds)));
  rows.push(...(await rss()));
  progress('import time');
  rows.push(...(await importTimeRows(root, quick ? 5 : 9)));
  progress('generator');
  rows.push(...(await generatorRows(root)));

  addTargets(rows);
  const date = new Date().toISOString();
  const table = renderTable(rows, label);
  console.log(table);
  const results = join(root, 'bench/results');
  mkdirSync(results, { recursive: true });
  const name = quick ? 'quick' : 'latest';
  writeFileSync(join(results, `${name}.json`), `${JSON.stringify({ date, quick, rows }, null, 2)}\n`);
  writeFileSync(join(results, `${name}.md`), renderMarkdown(rows, label, date, quick));
  if (!quick) writeFileSync(join(results, 'calls-per-second.svg'), renderChart(rows, label));
  rmSync(ipcDir, { recursive: true, force: true });
}

/** The issue's targets, judged on this run's rows. */
function addTargets(rows: Row[]): void {
  const find = (group: string, name: string, impl: Impl) => rows.find((r) => r.group === group && r.name === name && r.impl === impl)?.value;
  const judge = (group: string, name: string, target: string, test: (zrpc: number, other: number) => boolean, against: Impl) => {
    const zrpc = find(group, name, 'zrpc');
    const other = find(group, name, against);
    const row = rows.find((r) => r.group === group && r.name === name && r.impl === 'zrpc');
    if (zrpc === undefined || other === undefined || !row) return;
    (row.targets ??= []).push({ text: target, met: test(zrpc, other) });
  };
  judge('100 in flight, add, tcp', 'calls/s', '≥ 0.8 × raw', (z, o) => z >= 0.8 * o, 'raw');
  judge('100 in flight, add, tcp', 'calls/s', '≥ 3 × Python', (z, o) => z >= 3 * o, 'python');
  judge('100 in flight, add, tcp', 'calls/s', '≥ 5 × grpc-js', (z, o) => z >= 5 * o, 'grpc');
  judge('sequential add, tcp', 'p50 latency', '≤ 1.25 × raw', (z, o) => z <= 1.25 * o, 'raw');
}

await main();
