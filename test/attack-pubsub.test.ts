/**
 * A pub/sub subscriber under attack from a publisher: a flood it cannot keep up with
 * (a slow consumer: PUB drops at the high-water mark, the subscriber must not queue it
 * all), floods of unknown and long names, bombs and malformed messages, hostile thrown
 * values. After each: alive, RSS under the stated bound, a good call runs, few log lines.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Publisher } from 'zeromq';
import { Packer, connectPubSub, method, servePubSub } from 'zrpc';
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
  rssMiB,
  watchRejections,
} from './support/attacks.js';
import { endpoint, recordingLogger, waitFor } from './support/helpers.js';
import { EVENT_LOG_PERIOD_MS } from '../src/runtime/socket/logger.js';

const packer = new Packer();
const none = Buffer.from([0x80]);

/** A raw PUB connected to `address`, publishing until a probe has reached the subscriber. */
async function rawPublisher(address: string, probed: () => boolean): Promise<Publisher> {
  const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });
  pub.connect(address);
  await waitFor(async () => {
    await pub.send(['t', 'probe', packer.encode([]), none]);
    return probed();
  }, 5000, 'the subscription to reach the publisher');
  return pub;
}

describe('pub/sub subscriber under attack', () => {
  it('keeps at most `concurrency` calls of a flood it cannot keep up with: RSS +64 MiB at most, then serves again', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let probes = 0;
    let started = 0;
    let good = 0;
    const server = await servePubSub(
      {
        probe: method(() => void probes++),
        slow: method(async (_pad: string) => {
          started++;
          await gate;
        }),
        good: method(() => void good++),
      },
      { bind: endpoint(), subscribe: '', concurrency: 100 },
    );
    const client = await connectPubSub({ connect: server.transport.bindings[0] });
    try {
      await waitFor(async () => (await client.publish('t').probe(), probes > 0), 5000, 'the subscription');
      const before = rssMiB();
      const pad = 'x'.repeat(1024);
      const n = 50_000;
      // PUB never waits: past the high-water mark ZeroMQ drops, so every publish resolves.
      for (let i = 0; i < n; i++) await client.publish('t').slow(pad);
      await waitFor(() => server.running === 100, 10_000, 'the subscriber to reach its bound');
      assert.equal(started, 100);
      const grown = rssMiB() - before;
      assert.ok(grown < 64, `RSS grew ${grown.toFixed(1)} MiB over ${n} publications`);
      console.log(`# RSS +${grown.toFixed(1)} MiB (bound 64)`);
      release();
      await waitFor(() => server.running === 0, 10_000, 'the subscriber to drain');
      console.log(`# slow subscriber: ${started} of ${n} publications ran; RSS +${grown.toFixed(1)} MiB`);
      // What ran is what ZeroMQ kept, not the flood.
      assert.ok(started < n, `${started} ran`);
      await waitFor(async () => (await client.publish('t').good(), good > 0), 5000, 'a good call after the flood');
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('survives name floods, bombs and malformed messages from a raw publisher: RSS +128 MiB at most, few lines', async () => {
    const logger = recordingLogger();
    let probes = 0;
    let good = 0;
    const server = await servePubSub(
      { probe: method(() => void probes++), good: method((_x: unknown) => void good++) },
      { bind: endpoint(), subscribe: '', logger, logExceptions: true },
    );
    const pub = await rawPublisher(server.transport.bindings[0]!, () => probes > 0);
    try {
      const before = rssMiB();
      const started = performance.now();
      const args = packer.encode([1]);
      for (let i = 0; i < 100_000; i++) await pub.send(['t', `no.such${i}`, args, none]);
      const long = 'n'.repeat(100 * 1024);
      for (let i = 0; i < 300; i++) await pub.send([`${i}${long}`, `${i}${long}`, args, none]);
      const bombs = [bomb995, deepBomb995, header15, mapHeader15, nestedMapBomb(150), longLengthBomb('str'), longLengthBomb('bin'), deepNesting(5000)];
      for (let round = 0; round < 200; round++) for (const bomb of bombs) await pub.send(['t', 'good', bomb, none]);
      for (let i = 0; i < 10_000; i++) await pub.send(['t', 'good']);
      // PUB drops past its high-water mark: publish good calls until one is seen.
      await waitFor(async () => (await pub.send(['t', 'good', args, none]), good > 0), 20_000, 'a good call after the floods');
      const grown = rssMiB() - before;
      assert.ok(grown < 128, `RSS grew ${grown.toFixed(1)} MiB`);
      console.log(`# RSS +${grown.toFixed(1)} MiB (bound 128)`);
      // NotFoundError, ProtocolError, malformed message: one line each per log period
      // (a slow machine takes more than one period over the floods).
      const periods = 1 + Math.floor((performance.now() - started) / EVENT_LOG_PERIOD_MS);
      assert.ok(logger.lines.length <= 3 * periods, `${logger.lines.length} lines in ${periods} log periods: ${logger.lines.map((l) => l.message.slice(0, 60)).join(' | ')}`);
      for (const line of logger.lines) assert.ok(line.message.length < 2000, `a line of ${line.message.length} characters`);
    } finally {
      pub.close();
      await server.close();
    }
  });

  it('survives whatever a handler throws, without an unhandled rejection', async () => {
    const rejections = watchRejections();
    const throwables = hostileThrowables();
    const logger = recordingLogger();
    let probes = 0;
    let good = 0;
    const server = await servePubSub(
      {
        probe: method(() => void probes++),
        ...throwingMethods(throwables, method),
        good: method(() => void good++),
      },
      { bind: endpoint(), subscribe: '', logger, logExceptions: true },
    );
    const pub = await rawPublisher(server.transport.bindings[0]!, () => probes > 0);
    try {
      for (const name of ['sync', 'async']) for (let i = 0; i < throwables.length; i++) await pub.send(['t', name, packer.encode([i]), none]);
      await pub.send(['t', 'good', packer.encode([]), none]);
      await waitFor(() => good === 1 && server.running === 0, 5000, 'the good call');
      assert.ok(logger.lines.length <= throwables.length + 2, `${logger.lines.length} lines`);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(rejections.stop(), []);
    } finally {
      pub.close();
      await server.close();
    }
  });
});
