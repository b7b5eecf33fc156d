/**
 * `npm run soak [-- --minutes 2]`: many clients mixing all three patterns against one
 * server process for a bounded time, reporting calls, errors and both sides' RSS.
 * Opt-in (not part of npm test); exits non-zero on wrong answers or growing memory.
 */
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { connectPipeline, connectPubSub, connectRpc, method, servePipeline, servePubSub, serveRpc, type CallContext } from 'zrpc';
import { LineProcess } from './line-process.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

async function serve(): Promise<void> {
  let notified = 0;
  let published = 0;
  const rpc = await serveRpc(
    {
      add: method((a: number, b: number) => a + b),
      echo: method((v: unknown) => v),
      slow: method((ms: number, ctx: CallContext) => new Promise((r) => {
        const t = setTimeout(r, ms, ms);
        ctx.signal.addEventListener('abort', () => clearTimeout(t));
      }), { context: true }),
    },
    { bind: 'tcp://127.0.0.1:0', timeout: 1000 },
  );
  const pipeline = await servePipeline({ take: method((_n: number) => void notified++) }, { bind: "tcp://127.0.0.1:0", logExceptions: true });
  const pubsub = await servePubSub({ tick: method((_at: number) => void published++) }, { bind: "tcp://127.0.0.1:0", subscribe: "", logExceptions: true });
  console.log(`READY ${rpc.transport.bindings[0]} ${pipeline.transport.bindings[0]} ${pubsub.transport.bindings[0]}`);
  process.stdin.setEncoding('utf8').on('data', () => {
    (globalThis as { gc?: () => void }).gc?.();
    console.log(`STATS ${JSON.stringify({ rss: process.memoryUsage().rss, notified, published, running: rpc.running })}`);
  });
  await new Promise((r) => process.stdin.on('end', r));
  await Promise.all([rpc.close(), pipeline.close(), pubsub.close()]);
}

async function drive(): Promise<void> {
  const minutes = arg('minutes', 2);
  const clients = arg('clients', 16);
  const script = fileURLToPath(import.meta.url);
  const server = new LineProcess(process.execPath, ['--expose-gc', script, '--serve']);
  const [rpcAt, pipelineAt, pubsubAt] = (await server.value('READY')).split(' ');
  const stats = async () => {
    const before = server.lines.length;
    server.send('stats');
    for (;;) {
      const line = server.lines.slice(before).find((l) => l.startsWith('STATS '));
      if (line) return JSON.parse(line.slice(6)) as { rss: number; notified: number; published: number; running: number };
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const deadline = performance.now() + minutes * 60_000;
  const counts = { calls: 0, wrong: 0, errors: 0, notifications: 0, publications: 0 };
  const rpcs = await Promise.all(Array.from({ length: clients }, () => connectRpc({ connect: rpcAt, timeout: 2000 })));
  const notifiers = await Promise.all(Array.from({ length: 4 }, () => connectPipeline({ connect: pipelineAt })));
  const publisher = await connectPubSub({ connect: pubsubAt });
  const lanes = [
    ...rpcs.flatMap((client, c) =>
      Array.from({ length: 8 }, async (_, k) => {
        for (let i = 0; performance.now() < deadline; i++) {
          try {
            const kind = i % 10;
            if (kind < 7) (await client.call.add(c, k)) === c + k ? counts.calls++ : counts.wrong++;
            else if (kind < 9) JSON.stringify(await client.call.echo({ c, k, list: [i, 'x'.repeat(i % 200)] })).includes('"x') || i % 200 === 0 ? counts.calls++ : counts.wrong++;
            else (await client.withTimeout(50).call.slow(i % 3 === 0 ? 100 : 1), counts.calls++);
          } catch (error) {
            // The deliberate slow calls time out; anything else is an error.
            if ((error as Error).name !== 'RpcTimeoutError') counts.errors++;
          }
        }
      }),
    ),
    ...notifiers.map(async (n) => {
      while (performance.now() < deadline) (await n.notify.take(1), counts.notifications++);
    }),
    (async () => {
      while (performance.now() < deadline) {
        await publisher.publish('t').tick(Date.now());
        counts.publications++;
        await new Promise((r) => setImmediate(r));
      }
    })(),
  ];
  const samples: number[] = [];
  const report = setInterval(async () => {
    const s = await stats();
    samples.push(s.rss);
    console.log(
      `${new Date().toISOString().slice(11, 19)} calls ${counts.calls.toLocaleString('en')}, wrong ${counts.wrong}, errors ${counts.errors}, ` +
        `notified ${s.notified.toLocaleString('en')}/${counts.notifications.toLocaleString('en')}, published ${s.published.toLocaleString('en')}/${counts.publications.toLocaleString('en')}, ` +
        `server RSS ${(s.rss / 2 ** 20).toFixed(1)} MiB, client RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)} MiB`,
    );
  }, 10_000);
  await Promise.all(lanes);
  clearInterval(report);
  await Promise.all([...rpcs.map((c) => c.close()), ...notifiers.map((n) => n.close()), publisher.close()]);
  const final = await stats();
  await server.finish();
  const growth = samples.length > 2 ? final.rss / samples[1]! - 1 : 0;
  console.log(`done: ${JSON.stringify(counts)}; server RSS growth after warm-up ${(growth * 100).toFixed(1)} %`);
  if (counts.wrong > 0 || counts.errors > 0 || growth > 0.1) process.exitCode = 1;
}

await (process.argv.includes('--serve') ? serve() : drive());
