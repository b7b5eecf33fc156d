/**
 * `npm run soak [-- --minutes 2]`: many clients mixing all three patterns against one
 * server process for a bounded time, reporting calls, errors and both sides' RSS.
 * Opt-in (not part of npm test); exits non-zero on wrong answers or growing memory.
 *
 * `npm run soak -- --attack [--minutes 2] [--names 1000000] [--hold 30]`: the heavy
 * versions of the attack tests against a server process with default settings
 * (concurrency 1000): a flood of a million unknown names to the RPC server and the
 * pipeline worker, then 50,000 1 KiB notifications to handlers that hold for 30 s, then
 * msgpack bombs until the time is up. Exits non-zero if a good call goes unanswered,
 * more than 1000 handlers run, the server logs more than a few lines, or its RSS grows
 * by more than 256 MiB.
 */
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { connectPipeline, connectPubSub, connectRpc, method, servePipeline, servePubSub, serveRpc, type CallContext } from 'zrpc';
import { Dealer, Push } from 'zeromq';
import { LineProcess } from './line-process.js';
import { bomb995, deepBomb995, deepNesting, header15, longLengthBomb, mapHeader15, nestedMapBomb, request } from '../test/support/attacks.js';

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

/** The attacked side: default options, handlers that hold, counting what it logs. */
async function serveAttacked(): Promise<void> {
  const holdMs = arg('hold', 30) * 1000;
  let lines = 0;
  let held = 0;
  let peak = 0;
  const logger = { warn: () => void lines++, error: () => void lines++ };
  const rpc = await serveRpc({ echo: method((v: unknown) => v) }, { bind: 'tcp://127.0.0.1:0', logger, logExceptions: true });
  const pipeline = await servePipeline(
    {
      hold: method(async (_pad: string) => {
        held++;
        await new Promise((r) => setTimeout(r, holdMs));
      }),
    },
    { bind: 'tcp://127.0.0.1:0', logger, logExceptions: true },
  );
  const watch = setInterval(() => (peak = Math.max(peak, pipeline.running)), 10);
  console.log(`READY ${rpc.transport.bindings[0]} ${pipeline.transport.bindings[0]}`);
  process.stdin.setEncoding('utf8').on('data', () => {
    (globalThis as { gc?: () => void }).gc?.();
    console.log(`STATS ${JSON.stringify({ rss: process.memoryUsage().rss, running: pipeline.running, peak, held, lines })}`);
  });
  await new Promise((r) => process.stdin.on('end', r));
  clearInterval(watch);
  await Promise.all([rpc.close(), pipeline.close()]);
}

async function attack(): Promise<void> {
  const minutes = arg('minutes', 2);
  const names = arg('names', 1_000_000);
  const script = fileURLToPath(import.meta.url);
  const server = new LineProcess(process.execPath, ['--expose-gc', script, '--serve-attacked', '--hold', String(arg('hold', 30))]);
  const [rpcAt, pipelineAt] = (await server.value('READY')).split(' ');
  type Stats = { rss: number; running: number; peak: number; held: number; lines: number };
  const stats = async (): Promise<Stats> => {
    const before = server.lines.length;
    server.send('stats');
    for (;;) {
      const line = server.lines.slice(before).find((l) => l.startsWith('STATS '));
      if (line) return JSON.parse(line.slice(6)) as Stats;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  const report = async (phase: string) => {
    const s = await stats();
    console.log(`${new Date().toISOString().slice(11, 19)} ${phase}: server RSS ${mib(s.rss)}, running ${s.running} (peak ${s.peak}), held ${s.held}, log lines ${s.lines}`);
    return s;
  };
  const deadline = performance.now() + minutes * 60_000;
  const base = await report('start');
  const client = await connectRpc({ connect: rpcAt, timeout: 5000 });
  const failures: string[] = [];
  const goodCall = async (phase: string) => {
    try {
      if ((await client.call.echo(phase)) !== phase) failures.push(`${phase}: wrong answer`);
    } catch (error) {
      failures.push(`${phase}: ${(error as Error).message}`);
    }
  };

  // 1. A flood of unknown names to both servers, while they are free to read it.
  const dealer = new Dealer({ linger: 0 });
  dealer.connect(rpcAt!);
  let answered = 0;
  const reading = (async () => {
    for await (const _ of dealer) answered++;
  })().catch(() => {});
  const push = new Push({ linger: 0, sendTimeout: 50 });
  push.connect(pipelineAt!);
  const args = Buffer.from([0x91, 0x01]);
  const none = Buffer.from([0x80]);
  // Half the time at most, so the other phases get their turn.
  const namesUntil = performance.now() + (deadline - performance.now()) / 2;
  let flooded = 0;
  for (let i = 0; i < names && performance.now() < namesUntil; i++, flooded++) {
    await dealer.send(request(i + 1, `no.such.method${i}`, args));
    await push.send([`no.such.method${i}`, args, none]).catch(() => {});
    if (i % 200_000 === 199_999) await report(`${i + 1} unknown names, ${answered} answered`);
  }
  await report(`${flooded.toLocaleString('en')} unknown names sent to each server`);
  await goodCall('after the name flood');

  // 2. 50,000 1 KiB notifications, one at a time, to handlers that hold: the sender stalls.
  const notifier = await connectPipeline({ connect: pipelineAt });
  const pad = 'x'.repeat(1024);
  let sent = 0;
  const sending = (async () => {
    for (let i = 0; i < 50_000; i++) (await notifier.notify.hold(pad), sent++);
  })();
  await new Promise((r) => setTimeout(r, 5000));
  const stalled = await report(`50k notifications, ${sent} taken by ZeroMQ so far`);
  if (stalled.peak > 1000) failures.push(`peak running ${stalled.peak} > 1000`);
  await goodCall('during the stall');

  // 3. Bombs until the time is up.
  const bombs = [bomb995, deepBomb995, header15, mapHeader15, nestedMapBomb(150), longLengthBomb('str'), longLengthBomb('bin'), deepNesting(5000)];
  let bombed = 0;
  let id = names + 1;
  let nextReport = performance.now() + 10_000;
  while (performance.now() < deadline) {
    for (const bomb of bombs) {
      await dealer.send(request(++id, 'echo', bomb));
      // The worker may still be saturated by the held notifications, its queue full:
      // a bomb that ZeroMQ will not take within the send timeout is skipped.
      await push.send(['hold', bomb, none]).catch(() => {});
      bombed++;
    }
    if (performance.now() > nextReport) {
      nextReport += 10_000;
      await report(`${bombed.toLocaleString('en')} bombs`);
      await goodCall('during the bombs');
    }
  }
  await goodCall('at the end');
  const end = await report('end');
  dealer.close();
  push.close();
  await reading;
  await Promise.all([client.close(), notifier.close()]);
  await sending.catch(() => {});
  await server.finish();
  const growth = end.rss - base.rss;
  console.log(`done: ${sent} notifications taken, ${flooded.toLocaleString('en')} unknown names (${answered.toLocaleString('en')} replies), ${bombed.toLocaleString('en')} bomb rounds; server RSS +${mib(growth)}, peak running ${end.peak}, ${end.lines} log lines${failures.length ? `; failures: ${failures.join('; ')}` : ''}`);
  // A line per kind per 10 s: a generous ceiling for the run's length.
  const maxLines = 10 * Math.ceil((minutes * 60) / 10);
  if (failures.length > 0 || growth > 256 * 2 ** 20 || end.peak > 1000 || end.lines > maxLines) process.exitCode = 1;
}

await (process.argv.includes('--serve')
  ? serve()
  : process.argv.includes('--serve-attacked')
    ? serveAttacked()
    : process.argv.includes('--attack')
      ? attack()
      : drive());
