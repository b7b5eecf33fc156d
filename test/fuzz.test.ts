/**
 * Tens of thousands of random and mutated messages thrown at each server kind, then a
 * well-formed call that must still be answered. Seeded: ZRPC_FUZZ_SEED=<n> replays a run.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Dealer, Publisher, Push } from 'zeromq';
import { Packer, connectPipeline, connectPubSub, connectRpc, method, servePipeline, servePubSub, serveRpc } from 'zrpc';
import { encodeRequestHeader } from '../src/runtime/wire/header.js';
import { endpoint, recordingLogger, vectorsFile, unhex, waitFor } from './support/helpers.js';

const seed = Number(process.env.ZRPC_FUZZ_SEED ?? 20261124);
const perServer = Number(process.env.ZRPC_FUZZ_MESSAGES ?? 20_000);

/** mulberry32: small, fast and good enough to pick mutations reproducibly. */
function prng(state: number) {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const packer = new Packer();
const vectors = JSON.parse(readFileSync(vectorsFile, 'utf8')) as { values: Record<string, { msgpack: string }> };
const samples: Buffer[] = Object.values(vectors.values).map((v) => unhex(v.msgpack));

/** Hostile shapes that random bytes rarely hit on their own. */
const nasty: Buffer[] = [
  Buffer.from('dbffffffff', 'hex'), // str 32 claiming 4 GiB
  Buffer.from('c6ffffffff', 'hex'), // bin 32 claiming 4 GiB
  Buffer.from('ddffffffff', 'hex'), // array 32 claiming 4 G items
  Buffer.from('dfffffffff', 'hex'), // map 32 claiming 4 G entries
  Buffer.from('c9ffffffff10', 'hex'), // ext 32 claiming 4 GiB
  Buffer.concat([Buffer.alloc(5000, 0x91), Buffer.from([0x01])]), // 5000 nested arrays
  Buffer.from('a4ff fe fd fc'.replaceAll(' ', ''), 'hex'), // invalid UTF-8 in a str
  Buffer.from('d40a07', 'hex'), // unknown ext code
  Buffer.from('c7057e0102030405', 'hex'), // datetime ext with a garbage pickle
  Buffer.from('81c0c0', 'hex'), // nil as a map key
];

/**
 * Past the servers' maxMessageSize: ZeroMQ drops the sender's connection and whatever
 * follows on it, so these come rarely, or the run would measure reconnects. Not sent to
 * the SUB, which connected out: libzmq 4.3.5 does not reconnect it after that (README).
 */
const oversized = Buffer.alloc(70_000, 0x41);

function mutate(random: () => number, base: Buffer): Buffer {
  const bytes = Buffer.from(base);
  switch (Math.floor(random() * 4)) {
    case 0: // flip bytes
      for (let i = 0; i < 1 + random() * 4 && bytes.length > 0; i++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      return bytes;
    case 1: // truncate
      return bytes.subarray(0, Math.floor(random() * bytes.length));
    case 2: // extend with noise
      return Buffer.concat([bytes, Buffer.from(Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * 256)))]);
    default: // splice two samples
      return Buffer.concat([bytes.subarray(0, Math.floor(random() * bytes.length)), samples[Math.floor(random() * samples.length)]!]);
  }
}

/** A message of `frames` frames around a real call's, each frame possibly mangled. */
function hostile(random: () => number, realFrames: Buffer[], withOversized = true): Buffer[] {
  const pick = random();
  if (pick < 0.0005 && withOversized) return [...realFrames.slice(0, -1), oversized];
  if (pick < 0.1) return [nasty[Math.floor(random() * nasty.length)]!];
  const frames = realFrames.map((frame) => {
    const r = random();
    if (r < 0.35) return frame;
    if (r < 0.5) return nasty[Math.floor(random() * nasty.length)]!;
    if (r < 0.9) return mutate(random, frame);
    return Buffer.from(Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256)));
  });
  const shape = random();
  if (shape < 0.1) frames.pop();
  else if (shape < 0.2) frames.push(mutate(random, realFrames[0]!));
  else if (shape < 0.25) frames.splice(0, frames.length, ...frames, ...frames);
  return frames;
}

function realCall(random: () => number): Buffer[] {
  const value = samples[Math.floor(random() * samples.length)]!;
  return [Buffer.from('echo'), Buffer.concat([Buffer.from([0x91]), value]), Buffer.from(packer.encode({ k: 1 }))];
}

/** Sends `probe` every 100 ms until `done()`; fails after a minute. */
async function until(done: () => boolean, probe: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('the server never took the last message');
    await probe();
    await waitFor(done, 100).catch(() => {});
  }
}

function guardUncaught() {
  const caught: unknown[] = [];
  const onError = (error: unknown) => caught.push(error);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return { caught, release: () => (process.off('uncaughtException', onError), process.off('unhandledRejection', onError)) };
}

const echo = { echo: method((x: unknown) => x), take: method((x: unknown) => void x) };
const quiet = { socket: { maxMessageSize: 65_536 } };
const rssBound = 96 * 2 ** 20;

describe(`fuzz (seed ${seed}, ${perServer} messages per server)`, () => {
  it('RPC server: answers or drops every message, then still serves', async () => {
    const random = prng(seed);
    const guard = guardUncaught();
    const logger = recordingLogger();
    await using server = await serveRpc(echo, { bind: endpoint(), logger, ...quiet });
    const dealer = new Dealer({ linger: 0, sendHighWaterMark: 0 });
    dealer.connect(server.transport.bindings[0]!);
    let replies = 0;
    let sentinel = false;
    const SENTINEL = 0xffffffff;
    const reader = (async () => {
      for await (const [header] of dealer) {
        replies++;
        if (header!.byteLength === 17 && header!.readUInt32LE(4) === SENTINEL) sentinel = true;
      }
    })().catch(() => {});
    const rssBefore = process.memoryUsage().rss;
    try {
      for (let i = 0; i < perServer; i++) {
        const call = realCall(random);
        await dealer.send(hostile(random, [encodeRequestHeader(0, i + 1), ...call]));
      }
      // Requests from one peer are handled in order: when this one is answered, all were.
      // An oversized message makes ZeroMQ drop the connection and what follows it, so
      // the sentinel is sent again until one gets through.
      await until(() => sentinel, () => dealer.send([encodeRequestHeader(0, SENTINEL), 'echo', Buffer.from(packer.encode([1])), Buffer.from([0x80])]));
      await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 10_000 });
      assert.deepEqual(await client.call.echo({ still: 'here' }), { still: 'here' });
      // How many get answered depends on how much each oversized message takes down with
      // its connection, which is timing; that the server answers at all, and last, is not.
      assert.ok(replies > 1, `the server answered what it could identify (${replies})`);
      assert.ok(logger.lines.some((l) => /malformed request/.test(l.message)), 'drops were logged');
      assert.ok(process.memoryUsage().rss - rssBefore < rssBound, 'RSS stayed within the bound');
    } finally {
      dealer.close();
      await reader;
      guard.release();
    }
    assert.deepEqual(guard.caught, []);
  });

  for (const kind of ['pipeline', 'pubsub'] as const) {
    it(`${kind} server: survives every message, then still runs a call`, async () => {
      const random = prng(seed + (kind === 'pipeline' ? 1 : 2));
      const guard = guardUncaught();
      const seen: unknown[] = [];
      const handler = { ...echo, ok: method((x: unknown) => void seen.push(x)) };
      const logger = recordingLogger();
      const rssBefore = process.memoryUsage().rss;
      if (kind === 'pipeline') {
        await using server = await servePipeline(handler, { bind: endpoint(), logger, logExceptions: true, ...quiet });
        const push = new Push({ linger: 0, sendHighWaterMark: 0 });
        push.connect(server.transport.bindings[0]!);
        try {
          for (let i = 0; i < perServer; i++) await push.send(hostile(random, realCall(random)));
          // Messages from one peer arrive in order: a good one last proves all were taken.
          await until(() => seen.includes('last'), () => push.send([Buffer.from('ok'), Buffer.from(packer.encode(['last'])), Buffer.from([0x80])]));
          await using client = await connectPipeline({ connect: server.transport.bindings[0] });
          await client.notify.ok('after');
          await waitFor(() => seen.includes('after'), 10_000, 'the good call');
        } finally {
          push.close();
        }
      } else {
        await using client = await connectPubSub({ bind: endpoint() });
        await using server = await servePubSub(handler, { connect: client.transport.bindings[0], subscribe: '', logger, logExceptions: true, ...quiet });
        await waitFor(async () => (await client.publish('t').ok('probe'), seen.length > 0), 10_000, 'subscription');
        const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });
        await pub.bind(endpoint());
        server.transport.connect(pub.lastEndpoint!);
        try {
          // PUB drops what no subscription asks for yet: publish until a marker is seen.
          await until(() => seen.includes('ready'), () => pub.send([Buffer.from('t'), Buffer.from('ok'), Buffer.from(packer.encode(['ready'])), Buffer.from([0x80])]));
          for (let i = 0; i < perServer; i++) await pub.send([Buffer.from('t'), ...hostile(random, realCall(random), false)]);
          await until(() => seen.includes('last'), () => pub.send([Buffer.from('t'), Buffer.from('ok'), Buffer.from(packer.encode(['last'])), Buffer.from([0x80])]));
          await client.publish('t').ok('after');
          await waitFor(() => seen.includes('after'), 10_000, 'the good call');
        } finally {
          pub.close();
        }
      }
      assert.ok(process.memoryUsage().rss - rssBefore < rssBound, 'RSS stayed within the bound');
      assert.ok(logger.lines.length > 0, 'failures were logged');
      guard.release();
      assert.deepEqual(guard.caught, []);
    });
  }
});
