/**
 * A pipeline worker under attack from its senders: more notifications than it may run
 * (the PUSH side must wait), floods of unknown and long names, msgpack bombs, hostile
 * thrown values with a throwing logger. After each: alive, RSS under the stated bound,
 * a good call runs, and the log holds a handful of lines.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Push } from 'zeromq';
import { Packer, connectPipeline, method, servePipeline } from 'zrpc';
import {
  bomb995,
  deepBomb995,
  deepNesting,
  header15,
  hostileThrowables,
  throwingMethods,
  longLengthBomb,
  mapHeader15,
  nestedMapBomb,
  heapMiB,
  rssMiB,
  watchRejections,
} from './support/attacks.js';
import { endpoint, recordingLogger, waitFor } from './support/helpers.js';

const packer = new Packer();
const none = Buffer.from([0x80]);

/** Waits until `count()` has not changed for `polls` polls in a row: the sender is stuck. */
async function settled(count: () => number, polls = 40): Promise<number> {
  let last = -1;
  let same = 0;
  while (same < polls) {
    await new Promise((r) => setTimeout(r, 25));
    const now = count();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

describe('pipeline worker under attack', () => {
  it('pushes back: 50,000 1 KiB notifications to blocked handlers stall the sender, then all drain (RSS +64 MiB at most)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    let done = 0;
    const server = await servePipeline(
      {
        take: method(async (_pad: string) => {
          started++;
          await gate;
          done++;
        }),
      },
      { bind: endpoint(), concurrency: 100 },
    );
    const client = await connectPipeline({ connect: server.transport.bindings[0] });
    try {
      const before = rssMiB();
      const pad = 'x'.repeat(1024);
      let sent = 0;
      const n = 50_000;
      // One notification at a time, each awaited: the sender holds nothing of its own,
      // so what the process gains is the worker's (and ZeroMQ's queues).
      const sending = (async () => {
        for (let i = 0; i < n; i++) (await client.notify.take(pad), sent++);
      })();
      await waitFor(() => server.running === 100, 10_000, 'the worker to reach its bound');
      const stuck = await settled(() => sent);
      assert.equal(server.running, 100, 'no more than concurrency handlers run');
      assert.equal(started, 100);
      // What ZeroMQ took is bounded by its high-water marks (and socket buffers), not n.
      assert.ok(stuck < n / 2, `${stuck} of ${n} notifications were taken while the worker was blocked`);
      const grown = rssMiB() - before;
      assert.ok(grown < 64, `RSS grew ${grown.toFixed(1)} MiB`);
      console.log(`# RSS +${grown.toFixed(1)} MiB (bound 64)`);
      console.log(`# blocked worker: ${stuck} of ${n} notifications left the sender; RSS +${grown.toFixed(1)} MiB`);
      release();
      await sending;
      await waitFor(() => done === n, 20_000, `all ${n} to run (ran ${done})`);
      assert.equal(server.running, 0);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('survives 100,000 unknown names and 300 of 100 KiB: RSS +128 MiB at most, one line per kind', async () => {
    const logger = recordingLogger();
    let ran = 0;
    const server = await servePipeline({ take: method((_x: number) => void ran++) }, { bind: endpoint(), logger, logExceptions: true });
    const push = new Push({ linger: 0 });
    push.connect(server.transport.bindings[0]!);
    try {
      const before = rssMiB();
      const heapBefore = heapMiB();
      const args = packer.encode([1]);
      for (let i = 0; i < 100_000; i++) await push.send([`no.such${i}`, args, none]);
      const long = 'n'.repeat(100 * 1024);
      for (let i = 0; i < 300; i++) await push.send([`${i}${long}`, args, none]);
      await push.send(['take', args, none]);
      await waitFor(() => ran === 1, 30_000, 'the good call after the flood');
      const grown = rssMiB() - before;
      assert.ok(grown < 128, `RSS grew ${grown.toFixed(1)} MiB`);
      console.log(`# RSS +${grown.toFixed(1)} MiB (bound 128)`);
      // Nothing of the names is kept: the heap after a GC is where it was.
      const kept = heapMiB() - heapBefore;
      assert.ok(kept < 8, `the heap kept ${kept.toFixed(1)} MiB after the flood`);
      console.log(`# heap kept +${kept.toFixed(1)} MiB (bound 8)`);
      assert.ok(logger.lines.length <= 2, `${logger.lines.length} lines: ${logger.lines.map((l) => l.message.slice(0, 60)).join(' | ')}`);
      // Each line is clipped, whatever the name's length.
      for (const line of logger.lines) assert.ok(line.message.length < 2000, `a line of ${line.message.length} characters`);
    } finally {
      push.close();
      await server.close();
    }
  });

  it('refuses msgpack bombs and 10,000 malformed messages in a few lines', async () => {
    const logger = recordingLogger();
    let ran = 0;
    const server = await servePipeline({ take: method((_x: unknown) => void ran++) }, { bind: endpoint(), logger });
    const push = new Push({ linger: 0 });
    push.connect(server.transport.bindings[0]!);
    try {
      const before = rssMiB();
      const bombs = [bomb995, deepBomb995, header15, mapHeader15, nestedMapBomb(150), longLengthBomb('str'), longLengthBomb('bin'), deepNesting(5000)];
      for (let round = 0; round < 200; round++) {
        for (const bomb of bombs) {
          await push.send(['take', bomb, none]);
          await push.send(['take', packer.encode([]), bomb]);
        }
      }
      for (let i = 0; i < 10_000; i++) await push.send(['take', 'two frames']);
      await push.send(['take', packer.encode([1]), none]);
      await waitFor(() => ran === 1, 20_000, 'the good call');
      const grown = rssMiB() - before;
      assert.ok(grown < 64, `RSS grew ${grown.toFixed(1)} MiB`);
      console.log(`# RSS +${grown.toFixed(1)} MiB (bound 64)`);
      // One line for the refused calls (ProtocolError), one for the malformed messages.
      assert.ok(logger.lines.length <= 2, `${logger.lines.length} lines: ${logger.lines.map((l) => l.message.slice(0, 60)).join(' | ')}`);
    } finally {
      push.close();
      await server.close();
    }
  });

  it('logs whatever a handler throws, sync or async, without an unhandled rejection, even when the logger throws', async () => {
    const rejections = watchRejections();
    const throwables = hostileThrowables();
    const recorded = recordingLogger();
    const throwing = {
      warn: () => {
        throw new Error('logger down');
      },
      error: () => {
        throw new Error('logger down');
      },
    };
    for (const logger of [recorded, throwing]) {
      let good = 0;
      const server = await servePipeline(
        {
          // A value the server cannot send back, from a sync and an async handler.
          ...throwingMethods(throwables, method),
          good: method(() => void good++),
        },
        { bind: endpoint(), logger, logExceptions: true },
      );
      const client = await connectPipeline({ connect: server.transport.bindings[0] });
      try {
        for (const name of ['sync', 'async', 'returns']) for (let i = 0; i < throwables.length; i++) await client.invoke(name, [i]);
        await client.notify.good();
        await waitFor(() => good === 1, 5000, 'the good call');
        await waitFor(() => server.running === 0);
      } finally {
        await client.close();
        await server.close();
      }
    }
    // One line per kind of thrown value, and the one-time "returned a value" warning.
    assert.ok(recorded.lines.length <= throwables.length + 3, `${recorded.lines.length} lines`);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(rejections.stop(), []);
  });
});
