/**
 * The call context (WIRE.md, "Call context") under attack, on real sockets: crafted
 * context frames and cancels from raw peers (direct and through a ROUTER-DEALER proxy),
 * deadline timers, interceptors that misbehave, hostile metadata from user code, a
 * malicious server echoing context frames to a zrpc client, and forged CURVE proofs.
 *
 * Every test states what must hold. Several began as failing tests of defects an attack
 * review found in the change that added the context; they stay as regression tests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Dealer, Router } from 'zeromq';
import {
  HEALTH_METHOD,
  CallAbortedError,
  CallContext,
  connectPipeline,
  connectRpc,
  generateKeyPair,
  method,
  Packer,
  ProtocolError,
  RpcTimeoutError,
  runProxy,
  servePipeline,
  serveRpc,
  type Interceptor,
} from 'zrpc';
import { encodeReplyHeader, encodeRequestHeader, REPLY_HEADER_SIZE } from '../src/runtime/wire/header.js';
import { callIndexWork } from '../src/runtime/patterns/call-index.js';
import { CANCEL_FRAME, encodeCallContext } from '../src/runtime/wire/context-frame.js';
import { curveProof } from '../src/runtime/socket/curve-proof.js';
import { heapMiB, misbehavingRouter, rssMiB, stubbornService, watchRejections } from './support/attacks.js';
import { endpoint, recordingLogger, waitFor } from './support/helpers.js';

const packer = new Packer();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const withContext = { context: true } as const;
const EMPTY_ARGS = Buffer.from([0x90]);
const NO_KWARGS = Buffer.from([0x80]);
const local = 'tcp://127.0.0.1:0';

/** Timers keeping the event loop alive now (what would hold up the process's exit). */
function liveTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

/**
 * Runs `body`, then asserts that fewer than 5 timers more than `baseline` keep the
 * process alive. Whatever the outcome, the deadline timers of `contexts` are cleared
 * (aborting clears them), so the file's process can exit while a leak stands.
 */
async function expectNoTimerLeft(baseline: number, contexts: CallContext[], what: string, body: () => unknown): Promise<void> {
  try {
    await body();
    assert.ok(liveTimers() - baseline < 5, `${liveTimers() - baseline} ${what}`);
  } finally {
    for (const ctx of contexts) ctx.abort(new Error('test cleanup'));
  }
}

/** A call's frames as a DEALER sends them, with an optional context frame in front. */
function callFrames(context: Buffer | undefined, id: number, name: string, args: unknown[] = []): Buffer[] {
  const frames = [encodeRequestHeader(1, id), Buffer.from(name), Buffer.from(packer.encode(args)), NO_KWARGS];
  return context ? [context, ...frames] : frames;
}

/** A cancel naming request `id` (WIRE.md, "Cancel"). */
function cancelFrames(id: number): Buffer[] {
  return [CANCEL_FRAME, encodeRequestHeader(1, id), Buffer.from('zrpc:cancel'), EMPTY_ARGS, NO_KWARGS];
}

/** A context frame: the fixed part with `ms`, then `extensions` as raw msgpack bytes. */
function contextWith(ms: number, extensions?: Uint8Array): Buffer {
  const fixed = Buffer.from([0x00, 0x7a, 0x72, 0x70, 0x63, 1, 1, 0, 0, 0, 0]);
  fixed.writeUInt32LE(ms >>> 0, 7);
  return extensions ? Buffer.concat([fixed, extensions]) : fixed;
}

/** A raw DEALER that collects the replies it gets by request id. */
class Peer {
  readonly socket: Dealer;
  readonly replies = new Map<number, { isError: boolean; body: unknown; frames: number }>();
  readonly #reading: Promise<void>;

  constructor(address: string, options: ConstructorParameters<typeof Dealer>[0] = {}) {
    const socket = new Dealer({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0, ...options });
    socket.connect(address);
    this.socket = socket;
    this.#reading = (async () => {
      for await (const frames of socket) {
        const header = frames.at(-2)!;
        if (header.byteLength !== REPLY_HEADER_SIZE) continue;
        let body: unknown;
        try {
          body = packer.decode(frames.at(-1)!);
        } catch {
          body = undefined;
        }
        this.replies.set(header.readUInt32LE(4), { isError: header[16] === 1, body, frames: frames.length });
      }
    })().catch(() => {});
  }

  send(frames: Array<Buffer | Uint8Array | string>): Promise<void> {
    return this.socket.send(frames);
  }

  async reply(id: number, timeout = 5000): Promise<{ isError: boolean; body: unknown; frames: number }> {
    await waitFor(() => this.replies.has(id), timeout, `the reply to request ${id}`);
    return this.replies.get(id)!;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.socket.closed) this.socket.close();
    await this.#reading;
  }
}

/** The repr of an error reply body. */
function repr(body: unknown): string {
  return String((body as unknown[])[2]);
}

/** A service whose `hold` runs until its signal aborts, recording every context and abort. */
function holding(label = 'server') {
  const started: CallContext[] = [];
  const aborts: Array<{ ctx: CallContext; reason: unknown }> = [];
  const handler = {
    hold: method((ctx: CallContext): Promise<string> => {
      started.push(ctx);
      return new Promise((_, reject) =>
        ctx.signal.addEventListener('abort', () => {
          aborts.push({ ctx, reason: ctx.signal.reason });
          reject(ctx.signal.reason);
        }),
      );
    }, withContext),
    echo: method((x: unknown) => x),
    who: method(() => label),
    look: method((ctx: CallContext) => ({ deadline: ctx.deadline ?? null, metadata: { ...ctx.metadata }, aborted: ctx.aborted }), withContext),
  };
  return { handler, started, aborts };
}

describe('attack: cancels', () => {
  let rss0 = 0;
  before(() => {
    rss0 = rssMiB();
  });
  after(() => {
    assert.ok(rssMiB() - rss0 < 256, `RSS grew ${(rssMiB() - rss0).toFixed(0)} MiB over the cancel attacks`);
  });

  it('takes 50,000 cancels for unknown ids (and malformed ones) with one acknowledgement each, no growth, and no missed call', async () => {
    const logger = recordingLogger();
    const service = holding();
    // A ROUTER drops what a peer does not read in time (past its 1,000-message high-water
    // mark): on a loaded machine the attacker's own reader lags. Counting every
    // acknowledgement needs them all kept; what the server holds per cancel is the point.
    const socket = { sendHighWaterMark: 0 };
    await using server = await serveRpc(service.handler, { bind: endpoint(), logger, socket });
    await using attacker = new Peer(server.transport.bindings[0]!);
    await using owner = new Peer(server.transport.bindings[0]!);
    await owner.send(callFrames(undefined, 1, 'hold'));
    await waitFor(() => server.running === 1, 2000, 'the owner call to run');
    const heap0 = heapMiB();
    const started = performance.now();
    for (let i = 0; i < 50_000; i++) await attacker.send(cancelFrames(1_000_000 + i));
    // A cancel of the wrong size is a malformed context frame: answered, not run.
    const longCancel = Buffer.concat([CANCEL_FRAME, Buffer.alloc(100)]);
    await attacker.send([longCancel, encodeRequestHeader(1, 7), 'zrpc:cancel', EMPTY_ARGS, NO_KWARGS]);
    // Behind 50,000 cancels: time, on a loaded machine; the rate is printed, not bounded.
    assert.match(repr((await attacker.reply(7, 60_000)).body), /a cancel frame is 7 bytes, got 107/);
    await attacker.send(callFrames(undefined, 8, 'echo', ['still here']));
    assert.deepEqual((await attacker.reply(8)).body, 'still here');
    const seconds = (performance.now() - started) / 1000;
    console.log(`# 50,000 unknown cancels taken in ${seconds.toFixed(2)} s (${Math.round(50_000 / seconds)}/s), heap +${(heapMiB() - heap0).toFixed(1)} MiB`);
    // Each cancel is acknowledged (WIRE.md), as any request is answered; none runs anything.
    assert.equal(attacker.replies.size, 50_002, 'every cancel acknowledged, the two calls answered');
    assert.equal(server.running, 1, "the owner's call still runs");
    assert.ok(heapMiB() - heap0 < 16, 'nothing is kept per cancel');
    await owner.send(cancelFrames(1));
    await waitFor(() => server.running === 0, 2000, 'the owner to cancel its own call');
    assert.ok(service.aborts[0]!.reason instanceof CallAbortedError);
  });

  it("ignores a cancel naming another client's call through a ROUTER-DEALER proxy (envelope of two frames)", async () => {
    const service = holding();
    await using proxy = await runProxy({ frontend: local, backend: local });
    await using server = await serveRpc(service.handler, { connect: proxy.backend[0]! });
    await using owner = new Peer(proxy.frontend[0]!);
    await using stranger = new Peer(proxy.frontend[0]!);
    await owner.send(callFrames(undefined, 42, 'hold'));
    await waitFor(() => server.running === 1, 3000, 'the call to run behind the proxy');
    const peer = service.started[0]!.peer!;
    // The stranger names the owner's id, and also tries to forge the owner's routing id
    // as an extra envelope frame: the proxy puts the stranger's own id in front.
    await stranger.send(cancelFrames(42));
    await stranger.send([Buffer.from(peer), ...cancelFrames(42)]);
    await sleep(100);
    assert.equal(server.running, 1, "another client's cancel does not reach the call");
    await owner.send(cancelFrames(42));
    await waitFor(() => server.running === 0, 2000, "the owner's cancel through the proxy");
  });

  // A known limit, documented in README "Many servers": libzmq's proxy hands every
  // message, a cancel too, to the next server in turn. The caller's deadline still
  // travels with the call and ends it where it runs.
  it('through a proxy with two servers, the deadline ends the call where it runs, whichever server the cancel reached', async () => {
    const a = holding('a');
    const b = holding('b');
    await using proxy = await runProxy({ frontend: local, backend: local });
    await using _serverA = await serveRpc(a.handler, { connect: proxy.backend[0]! });
    await using _serverB = await serveRpc(b.handler, { connect: proxy.backend[0]! });
    await using client = await connectRpc({ connect: proxy.frontend[0]!, timeout: 300 });
    // Both servers are connected to the proxy before the call.
    const answered = new Set<unknown>();
    await waitFor(async () => (answered.add(await client.withTimeout(5000).call.who()), answered.size === 2), 10_000, 'both servers to answer');
    const call = client.call.hold();
    await waitFor(() => a.started.length + b.started.length === 1, 3000, 'the call to start on one of the servers');
    const running = a.started.length ? a : b;
    await assert.rejects(call, RpcTimeoutError);
    await waitFor(() => running.aborts.length === 1, 1500, "the running server's ctx.signal to abort by the deadline or the cancel");
  });

  it('keeps cancel keys apart: routing id "a" plus an envelope frame "b" does not cancel the call of routing id "a\\0b"', async () => {
    const service = holding();
    await using server = await serveRpc(service.handler, { bind: endpoint() });
    const address = server.transport.bindings[0]!;
    await using victim = new Peer(address, { routingId: 'a\u0000b' });
    await using attacker = new Peer(address, { routingId: 'a' });
    await victim.send(callFrames(undefined, 9, 'hold'));
    await waitFor(() => server.running === 1, 2000, "the victim's call to run");
    // Envelope ['a', 'b'] and envelope ['a\0b'] make the same key: "\0a\0b".
    await attacker.send([Buffer.from('b'), ...cancelFrames(9)]);
    await sleep(150);
    assert.equal(service.aborts.length, 0, "a peer cancelled another peer's call: the key must encode frame boundaries (length-prefix each frame)");
    assert.equal(server.running, 1);
  });

  it('keeps cancel keys apart when their numbers collide: envelopes that differ only past the bytes hashed (tcp)', async () => {
    const service = holding();
    await using server = await serveRpc(service.handler, { bind: endpoint() });
    await using peer = new Peer(server.transport.bindings[0]!);
    // Extra envelope frames of 100 bytes, alike for their first 64: one number, three keys.
    const forged = (last: number) => Buffer.concat([Buffer.alloc(99, 0x61), Buffer.from([last])]);
    for (const last of [1, 2, 3]) await peer.send([forged(last), ...callFrames(undefined, 7, 'hold')]);
    await waitFor(() => server.running === 3, 2000, 'the three calls to run');
    await peer.send([forged(2), ...cancelFrames(7)]);
    await waitFor(() => service.aborts.length === 1, 2000, 'the cancel of the second call');
    await sleep(50);
    assert.equal(server.running, 2, 'only the call the cancel named ended');
    await peer.send([forged(9), ...cancelFrames(7)]);
    await sleep(100);
    assert.equal(server.running, 2, 'a cancel with no matching envelope ends nothing');
    for (const last of [3, 1]) await peer.send([forged(last), ...cancelFrames(7)]);
    await waitFor(() => server.running === 0, 2000, 'the cancels of the other two');
    assert.equal(service.aborts.length, 3);
  });

  it('reads cancels while running as many calls as it may: calls their callers gave up on end, and the server serves again', async () => {
    const service = holding();
    await using server = await serveRpc(service.handler, { bind: endpoint(), concurrency: 4 });
    // The default timeout sends no deadline: only a cancel can end these calls.
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    const controllers = Array.from({ length: 4 }, () => new AbortController());
    const calls = controllers.map((c) => client.withSignal(c.signal).call.hold());
    await waitFor(() => server.running === 4, 2000, 'the four calls to run');
    for (const c of controllers) c.abort();
    for (const call of calls) await assert.rejects(call, CallAbortedError);
    // The server reads on while full (holding other calls), so the cancels get through.
    await waitFor(() => server.running === 0, 2000, `the cancels to end the calls (running ${server.running}, ${service.aborts.length} aborted)`);
    assert.equal(await client.withTimeout(1000).call.echo('served again'), 'served again');
  });

  it('ends calls waiting for a slot as it ends running ones: a cancel or a deadline passed while held means the call never runs', async () => {
    const logger = recordingLogger();
    const ran: Array<{ n: number; remaining: number }> = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await using server = await serveRpc(
      {
        gate: method(() => gate),
        note: method((n: number, ctx: CallContext) => (ran.push({ n, remaining: ctx.remaining }), n), withContext),
      },
      { bind: endpoint(), concurrency: 1, logger },
    );
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    // A raw peer, connected first (a health call skips the line for a slot).
    await using peer = new Peer(server.transport.bindings[0]!);
    await peer.send(callFrames(undefined, 90, HEALTH_METHOD));
    await peer.reply(90);
    const busy = client.call.gate();
    await waitFor(() => server.running === 1, 2000, 'the call that takes the one slot');
    const controller = new AbortController();
    const cancelled = client.withSignal(controller.signal).call.note(2);
    const expiring = client.withTimeout(150).call.note(3);
    const sentAt = performance.now();
    const waiting = client.withTimeout(5000).call.note(4);
    // The peer's call with a 100 ms deadline, which no cancel follows; the health call
    // behind it shows the server has read it.
    await peer.send(callFrames(contextWith(100), 7, 'note', [7]));
    await peer.send(callFrames(undefined, 91, HEALTH_METHOD));
    await peer.reply(91);
    await sleep(50);
    controller.abort();
    await assert.rejects(cancelled, CallAbortedError);
    await assert.rejects(expiring, RpcTimeoutError);
    await sleep(100);
    const releasedAt = performance.now();
    release();
    await busy;
    assert.equal(await waiting, 4);
    await sleep(50);
    assert.deepEqual(ran.map((r) => r.n), [4], 'only the call whose caller still waits runs once the slot frees');
    assert.ok(!peer.replies.has(7), 'a call past its deadline is not answered');
    // Its deadline counts from its arrival, not from when the slot freed (transit allowed 100 ms).
    const held = releasedAt - sentAt;
    assert.ok(ran[0]!.remaining <= 5000 - held + 100, `the held call had ${ran[0]!.remaining.toFixed(0)} ms left after ${held.toFixed(0)} ms held`);
    assert.ok(logger.lines.some((l) => l.message.includes('deadline passed while it waited for a free slot')), 'the dropped call is logged');
  });

  it('answers a call across a wall-clock step (deadlines run on the monotonic clock)', async () => {
    const realNow = Date.now;
    await using server = await serveRpc(
      {
        slow: method(async () => {
          await sleep(30);
          // NTP steps the clock forward an hour (or a VM resumes) while the handler runs.
          const step = realNow() + 3_600_000 - realNow();
          Date.now = () => realNow() + step;
          return 'done';
        }),
      },
      { bind: endpoint() },
    );
    await using peer = new Peer(server.transport.bindings[0]!);
    try {
      await peer.send(callFrames(contextWith(5000), 1, 'slow'));
      // 30 ms of a 5 s deadline have passed on the monotonic clock. (Waited for on that
      // clock too: waitFor reads Date.now, which this test moves.)
      const until = performance.now() + 1000;
      while (!peer.replies.has(1) && performance.now() < until) await sleep(5);
      assert.ok(peer.replies.has(1), 'the reply (the caller still waits 4.9 s)');
    } finally {
      Date.now = realNow;
    }
  });

  it('keeps nothing once 3,000 calls are cancelled, timed out or answered (running 0, heap back)', async () => {
    const service = holding();
    await using server = await serveRpc(service.handler, { bind: endpoint(), timeout: 2000 });
    await using peer = new Peer(server.transport.bindings[0]!);
    const heap0 = heapMiB();
    for (let round = 0; round < 3; round++) {
      const base = round * 1000;
      for (let i = 0; i < 1000; i++) {
        const kind = i % 3;
        const ctx = kind === 1 ? contextWith(5) : undefined;
        await peer.send(callFrames(ctx, base + i, kind === 2 ? 'echo' : 'hold', kind === 2 ? [i] : []));
      }
      await waitFor(() => service.started.length >= (round + 1) * 667, 5000, 'the holds to start');
      for (let i = 0; i < 1000; i += 3) await peer.send(cancelFrames(base + i));
      await waitFor(() => server.running === 0, 5000, `every call of round ${round} to end (running ${server.running})`);
    }
    service.started.length = 0;
    service.aborts.length = 0;
    const grown = heapMiB() - heap0;
    console.log(`# 3,000 calls cancelled / past deadline / answered: heap +${grown.toFixed(1)} MiB`);
    assert.ok(grown < 8, `heap grew ${grown.toFixed(1)} MiB`);
  });
});

/**
 * Envelopes a raw DEALER makes share one number of the cancel index (call-index.ts): 30
 * frames of 64 like bytes, then a 4 KiB frame alike but for its last four bytes (past
 * the bytes hashed). `n` makes each envelope its own.
 */
function sharedNumberEnvelope(n: number): Buffer[] {
  const last = Buffer.alloc(4096, 0x61);
  last.writeUInt32LE(n >>> 0, 4092);
  return [...Array.from({ length: 30 }, () => Buffer.alloc(64, 0x62)), last];
}
/** Bytes in one of them. */
const SHARED_ENVELOPE_BYTES = 30 * 64 + 4096;

/** Bytes of envelopes the cancel index compared or digested while `phase` ran, per message it sent. */
async function indexWorkPer(messages: number, phase: () => Promise<void>): Promise<number> {
  const before = callIndexWork.bytes;
  await phase();
  return (callIndexWork.bytes - before) / messages;
}

describe('attack: cancel keys that share a number', () => {
  it('a cancelled call among keys that share a number, ending late, leaves the later call of its key cancellable', async () => {
    const { handler, finishers, aborted } = stubbornService();
    await using server = await serveRpc(handler, { bind: endpoint() });
    await using peer = new Peer(server.transport.bindings[0]!);
    // Calls 0, 1, 2 share one number; the caller cancels 1, then sends its key again (3).
    for (const n of [0, 1, 2]) await peer.send([...sharedNumberEnvelope(n), ...callFrames(undefined, 7, 'stubborn')]);
    await waitFor(() => server.running === 3, 2000, 'the three calls to run');
    await peer.send([...sharedNumberEnvelope(1), ...cancelFrames(7)]);
    await waitFor(() => aborted[1] === true, 2000, 'the cancel of call 1');
    await peer.send([...sharedNumberEnvelope(1), ...callFrames(undefined, 7, 'stubborn')]);
    await waitFor(() => finishers.length === 4, 2000, 'call 3 (the key of 1 again) to run');
    finishers[1]!('1, too late'); // ignoring its signal
    await sleep(20);
    await peer.send([...sharedNumberEnvelope(1), ...cancelFrames(7)]);
    await waitFor(() => aborted[3] === true, 2000, "the cancel of call 3: call 1's late end must not have removed it");
    assert.deepEqual(aborted, [false, true, false, true], 'only calls 1 and 3 were cancelled');
    for (const finish of finishers) finish('done');
  });

  // The work is counted, not timed: a lookup among N keys that share a number must look
  // at its own envelope and the one it matches, never at each of the N byte for byte.
  it('1,000 running calls on one number: each call, cancel naming none, and cancel looks at about one envelope, not 1,000', async () => {
    const service = holding();
    await using server = await serveRpc(service.handler, { bind: endpoint() });
    await using peer = new Peer(server.transport.bindings[0]!);
    const N = 1000;
    const calls = await indexWorkPer(N, async () => {
      for (let i = 0; i < N; i++) await peer.send([...sharedNumberEnvelope(i), ...callFrames(undefined, 7, 'hold')]);
      await waitFor(() => server.running === N, 60_000, `the ${N} calls to run (running ${server.running})`);
    });
    const missed = await indexWorkPer(200, async () => {
      for (let i = 0; i < 200; i++) await peer.send([...sharedNumberEnvelope(N + i), ...cancelFrames(7)]);
      await peer.send(callFrames(undefined, 1_000_001, HEALTH_METHOD));
      await peer.reply(1_000_001, 60_000);
    });
    assert.equal(server.running, N, 'a cancel naming no envelope ends nothing');
    const cancels = await indexWorkPer(N, async () => {
      for (let i = 0; i < N; i++) await peer.send([...sharedNumberEnvelope(i), ...cancelFrames(7)]);
      await waitFor(() => server.running === 0, 60_000, `the cancels to end the calls (running ${server.running})`);
    });
    assert.equal(service.aborts.length, N, 'each cancel ended its own call');
    const envelopes = (bytes: number) => (bytes / SHARED_ENVELOPE_BYTES).toFixed(1);
    // A call: its digest, and each later lookup's; a cancel: its digest, the match, and the forget's check.
    assert.ok(calls <= 3 * SHARED_ENVELOPE_BYTES, `each call looked at ${envelopes(calls)} envelopes`);
    assert.ok(missed <= 3 * SHARED_ENVELOPE_BYTES, `each cancel naming none looked at ${envelopes(missed)} envelopes`);
    assert.ok(cancels <= 4 * SHARED_ENVELOPE_BYTES, `each cancel looked at ${envelopes(cancels)} envelopes`);
  });

  it('1,000 held calls on one number at concurrency 1: the cancelled never run, the others run in order, each cancel looks at about one envelope', async () => {
    const ran: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await using server = await serveRpc({ gate: method(() => gate), note: method((n: number) => void ran.push(n)) }, { bind: endpoint(), concurrency: 1 });
    await using peer = new Peer(server.transport.bindings[0]!);
    await peer.send(callFrames(undefined, 1_000_001, 'gate'));
    await waitFor(() => server.running === 1, 2000, 'the call that takes the one slot');
    const N = 1000;
    const cancelled = N - N / 10 + 200;
    const work = await indexWorkPer(N + cancelled, async () => {
      for (let i = 0; i < N; i++) await peer.send([...sharedNumberEnvelope(i), ...callFrames(undefined, 7, 'note', [i])]);
      for (let i = 0; i < 200; i++) await peer.send([...sharedNumberEnvelope(N + i), ...cancelFrames(7)]);
      // Every call but each tenth is cancelled while held.
      for (let i = 0; i < N; i++) if (i % 10 !== 0) await peer.send([...sharedNumberEnvelope(i), ...cancelFrames(7)]);
      await peer.send(callFrames(undefined, 1_000_002, HEALTH_METHOD));
      await peer.reply(1_000_002, 60_000);
    });
    release();
    await peer.reply(1_000_001);
    await waitFor(() => ran.length >= N / 10, 60_000, `the calls not cancelled to run (${ran.length} ran)`);
    await sleep(50);
    assert.deepEqual(ran, Array.from({ length: N / 10 }, (_, k) => k * 10), 'only the calls not cancelled ran, in the order they came');
    assert.ok(work <= 4 * SHARED_ENVELOPE_BYTES, `each message looked at ${(work / SHARED_ENVELOPE_BYTES).toFixed(1)} envelopes`);
  });
});

describe('attack: context frames from a raw peer', () => {
  it('takes deadlines 0, 1, 0xfffffffe and 0xffffffff as the spec says', async () => {
    const service = holding();
    await using server = await serveRpc(service.handler, { bind: endpoint() });
    await using peer = new Peer(server.transport.bindings[0]!);
    await peer.send(callFrames(contextWith(0), 1, 'look'));
    assert.match(repr((await peer.reply(1)).body), /deadline passed before the call arrived/);
    await peer.send(callFrames(contextWith(1), 2, 'hold'));
    await waitFor(() => server.running === 0 && service.aborts.length === 1, 2000, 'the 1 ms call to end at its deadline');
    assert.ok(service.aborts[0]!.reason instanceof RpcTimeoutError);
    await sleep(50);
    assert.equal(peer.replies.has(2), false, 'no reply past the deadline');
    // 0xfffffffe: 49.7 days, the longest deadline; Node's timer must not fire it after 1 ms.
    const timers = liveTimers();
    await peer.send(callFrames(contextWith(0xfffffffe), 3, 'hold'));
    await waitFor(() => service.started.length === 2, 2000);
    await sleep(50);
    assert.equal(service.aborts.length, 1, 'a 49-day deadline is not past after 50 ms');
    const ctx = service.started[1]!;
    assert.ok(ctx.remaining > 4_000_000_000 && ctx.remaining <= 0xfffffffe);
    await peer.send(cancelFrames(3));
    await waitFor(() => service.aborts.length === 2, 2000);
    await waitFor(() => liveTimers() <= timers, 1000, 'the long deadline timer to be cleared');
    await peer.send(callFrames(contextWith(0xffffffff), 4, 'look'));
    assert.equal(((await peer.reply(4)).body as { deadline: unknown }).deadline, null, '0xffffffff is no deadline');
  });

  it('answers hostile extension maps with ProtocolError or skips them, and keeps serving', async () => {
    const service = holding();
    await using server = await serveRpc(service.handler, { bind: endpoint() });
    await using peer = new Peer(server.transport.bindings[0]!);
    const raw = (...bytes: number[]) => Buffer.from(bytes);
    const str = (s: string) => Buffer.concat([raw(0xd9, s.length), Buffer.from(s, 'latin1')]);
    const map16 = (n: number) => raw(0xde, n >> 8, n & 0xff);
    const cases: Array<[label: string, extensions: Buffer, expect: RegExp | 'ok']> = [
      // 8 KiB of nesting under a key the reader skips: the decoder must not recurse.
      ['8 KiB of nested arrays under an unknown key (skipped)', Buffer.concat([raw(0x81, 0xa1, 0x7a), Buffer.alloc(8000, 0x91), raw(0xc0)]), 'ok'],
      ['__proto__ in the metadata', Buffer.concat([raw(0x81, 0xa1, 0x6d, 0x81), str('__proto__'), raw(0xa1, 0x78)]), /not valid msgpack/],
      ['__proto__ at the top', Buffer.concat([raw(0x81), str('__proto__'), raw(0x81, 0xa1, 0x6d, 0x80)]), /not valid msgpack/],
      ['constructor as a metadata key', Buffer.concat([raw(0x81, 0xa1, 0x6d, 0x81), str('constructor'), raw(0xa1, 0x78)]), 'ok'],
      ['duplicate metadata keys', raw(0x81, 0xa1, 0x6d, 0x82, 0xa1, 0x6b, 0xa1, 0x31, 0xa1, 0x6b, 0xa1, 0x32), 'ok'],
      ['duplicate "m" keys, the second malformed', raw(0x82, 0xa1, 0x6d, 0x80, 0xa1, 0x6d, 0xc0), /metadata is malformed/],
      ['an integer metadata key', raw(0x81, 0xa1, 0x6d, 0x81, 0x07, 0xa1, 0x78), 'ok'],
      ['a negative integer metadata key', raw(0x81, 0xa1, 0x6d, 0x81, 0xff, 0xa1, 0x78), /metadata is malformed/],
      ['a binary metadata key', raw(0x81, 0xa1, 0x6d, 0x81, 0xc4, 0x01, 0x61, 0xa1, 0x78), /not valid msgpack/],
      ['a nil metadata key', raw(0x81, 0xa1, 0x6d, 0x81, 0xc0, 0xa1, 0x78), /not valid msgpack/],
      ['a map as a metadata key', raw(0x81, 0xa1, 0x6d, 0x81, 0x80, 0xa1, 0x78), /not valid msgpack/],
      ['an ext value', raw(0x81, 0xa1, 0x6d, 0x81, 0xa1, 0x6b, 0xd4, 0x05, 0x00), /not valid msgpack/],
      ['an empty ext value', raw(0x81, 0xa1, 0x6d, 0x81, 0xa1, 0x6b, 0xc7, 0x00, 0x05), /metadata is malformed/],
      ['a timestamp ext value', raw(0x81, 0xa1, 0x6d, 0x81, 0xa1, 0x6b, 0xd6, 0xff, 0, 0, 0, 0), /not valid msgpack/],
      ['nil metadata', raw(0x81, 0xa1, 0x6d, 0xc0), /metadata is malformed/],
      ['an array as metadata', raw(0x81, 0xa1, 0x6d, 0x90), /metadata is malformed/],
      ['65 metadata entries', Buffer.concat([raw(0x81, 0xa1, 0x6d), map16(65), ...Array.from({ length: 65 }, (_, i) => Buffer.concat([str(`k${i}`), raw(0xa0)]))]), /not valid msgpack/],
      ['a map32 declaring 4 billion entries', raw(0x81, 0xa1, 0x6d, 0xdf, 0xff, 0xff, 0xff, 0xff), /not valid msgpack/],
      ['a str32 declaring 2 GiB', raw(0x81, 0xa1, 0x6d, 0x81, 0xa1, 0x6b, 0xdb, 0x7f, 0xff, 0xff, 0xff, 0x61), /not valid msgpack/],
      ['a CURVE proof of three items', raw(0x81, 0xa1, 0x6b, 0x93, 0xc0, 0xc0, 0xc0), /not valid msgpack/],
      ['trailing bytes after the map', raw(0x80, 0x80), /not valid msgpack/],
      ['a bare integer', raw(0x05), /must end in a msgpack map/],
    ];
    let id = 1;
    for (const [label, extensions, expect] of cases) {
      await peer.send(callFrames(contextWith(5000, extensions), id, 'look'));
      const reply = await peer.reply(id);
      if (expect === 'ok') assert.equal(reply.isError, false, `${label}: ${repr(reply.body)}`);
      else {
        assert.equal(reply.isError, true, `${label} was accepted`);
        assert.match(String((reply.body as unknown[])[0]), /ProtocolError/, label);
        assert.match(repr(reply.body), expect, label);
      }
      id++;
    }
    // Only proper calls ran.
    assert.equal(service.started.length, 0);
    await peer.send(callFrames(undefined, id, 'echo', ['alive']));
    assert.equal((await peer.reply(id)).body, 'alive');
  });

  it('holds 500 concurrent calls carrying 64 metadata entries of the largest values allowed in bounded memory', async () => {
    const service = holding();
    // The default limit: a frame of 8192 bytes at most, so 64 entries of about 120 bytes.
    await using server = await serveRpc(service.handler, { bind: endpoint() });
    await using peer = new Peer(server.transport.bindings[0]!);
    const metadata = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${String(i).padStart(61, '0')}`, 'v'.repeat(60)]));
    const frame = encodeCallContext(10_000, metadata, undefined);
    assert.ok(frame.byteLength > 8000 && frame.byteLength <= 8192, `frame of ${frame.byteLength} bytes`);
    const heap0 = heapMiB();
    for (let i = 0; i < 500; i++) await peer.send(callFrames(frame, i, 'hold'));
    await waitFor(() => service.started.length === 500, 5000, 'the calls to start');
    const held = heapMiB() - heap0;
    console.log(`# 500 calls holding 8 KiB context frames: heap +${held.toFixed(1)} MiB`);
    assert.ok(held < 64, `heap grew ${held.toFixed(1)} MiB`);
    for (let i = 0; i < 500; i++) await peer.send(cancelFrames(i));
    await waitFor(() => server.running === 0, 5000);
  });

  it('takes a 9,000-byte metadata value when maxMetadataBytes is raised to 64 KiB', async () => {
    const service = holding();
    await using server = await serveRpc(service.handler, { bind: endpoint(), maxMetadataBytes: 65_536 });
    await using peer = new Peer(server.transport.bindings[0]!);
    const extensions = Buffer.from(packer.encode({ m: { blob: 'x'.repeat(9000) } }));
    await peer.send(callFrames(contextWith(5000, extensions), 1, 'look'));
    const reply = await peer.reply(1);
    // The decoder's string limit is fixed at 8192 whatever the server's option says.
    assert.equal(reply.isError, false, `refused: ${repr(reply.body)}`);
  });

  it('aborts 5,000 concurrent calls at 5 ms deadlines, answers none of them, and leaves no timer or running call', async () => {
    const service = holding();
    await using server = await serveRpc(service.handler, { bind: endpoint(), concurrency: 10_000 });
    await using peer = new Peer(server.transport.bindings[0]!);
    const timers = liveTimers();
    const heap0 = heapMiB();
    const started = performance.now();
    for (let i = 0; i < 5000; i++) await peer.send(callFrames(contextWith(5), i, i % 2 ? 'hold' : 'look'));
    await waitFor(() => service.aborts.length === 2500 && server.running === 0, 8000, `the holds to abort (${service.aborts.length})`);
    console.log(`# 5,000 calls with 5 ms deadlines ended in ${(performance.now() - started).toFixed(0)} ms`);
    await sleep(50);
    // A call is answered only if it ended within its deadline: 'look' may be, 'hold' should
    // not be (the timer and the reply check read the same monotonic clock).
    const holdsAnswered = [...peer.replies.keys()].filter((id) => id % 2 === 1).length;
    console.log(`# ${holdsAnswered} of 2,500 holds answered after their signal aborted`);
    assert.equal(holdsAnswered, 0, 'a call aborted by its deadline is not answered');
    assert.ok(service.aborts.every((a) => a.reason instanceof RpcTimeoutError));
    service.started.length = 0;
    service.aborts.length = 0;
    assert.ok(liveTimers() <= timers, `${liveTimers() - timers} timers left`);
    assert.ok(heapMiB() - heap0 < 16);
  });
});

describe('attack: deadline timers of finished calls', () => {
  it("does not abort ctx.signal before the caller's deadline when the handler was busy before first reading it", async () => {
    const handler = {
      crunch: method(async (ctx: CallContext) => {
        const spinUntil = Date.now() + 150;
        while (Date.now() < spinUntil) {
          // CPU work before the handler first looks at its signal.
        }
        const signal = ctx.signal;
        await sleep(20);
        await sleep(20);
        seen = { aborted: signal.aborted, msLeft: ctx.deadline! - Date.now(), reason: String(signal.reason) };
      }, withContext),
    };
    // Read where the handler left it: a stall of 200 ms on a loaded machine really does
    // pass the deadline, and then no reply comes.
    let seen: { aborted: boolean; msLeft: number; reason: string } | undefined;
    await using server = await serveRpc(handler, { bind: endpoint() });
    await using peer = new Peer(server.transport.bindings[0]!);
    await peer.send(callFrames(contextWith(400), 1, 'crunch'));
    await waitFor(() => seen !== undefined, 5000, 'the handler to finish');
    console.log(`# signal aborted: ${seen!.aborted} with ${seen!.msLeft} ms of the caller's 400 left (${seen!.reason})`);
    assert.ok(!seen!.aborted || seen!.msLeft <= 0, `the signal said "deadline passed" with ${seen!.msLeft} ms still left`);
  });

  it('clears the deadline timer of a synchronous handler that reads ctx.signal and throws', async () => {
    const kept: CallContext[] = [];
    const handler = {
      fail: method((ctx: CallContext) => {
        kept.push(ctx);
        void ctx.signal;
        throw new RangeError('no');
      }, withContext),
    };
    await using server = await serveRpc(handler, { bind: endpoint() });
    await using peer = new Peer(server.transport.bindings[0]!);
    const timers = liveTimers();
    await expectNoTimerLeft(timers, kept, 'deadline timers outlive their answered calls', async () => {
      for (let i = 1; i <= 20; i++) await peer.send(callFrames(contextWith(0xfffffffe), i, 'fail'));
      await waitFor(() => peer.replies.size === 20, 3000, 'the 20 error replies');
      assert.ok([...peer.replies.values()].every((r) => r.isError && /no/.test(repr(r.body))));
    });
  });

  it('starts no deadline timer when ctx.signal is first read after the call was answered', async () => {
    const kept: CallContext[] = [];
    await using server = await serveRpc({ keep: method((ctx: CallContext) => (kept.push(ctx), 'ok'), withContext) }, { bind: endpoint() });
    await using peer = new Peer(server.transport.bindings[0]!);
    for (let i = 1; i <= 20; i++) await peer.send(callFrames(contextWith(0xfffffffe), i, 'keep'));
    await waitFor(() => peer.replies.size === 20, 3000);
    const timers = liveTimers();
    await expectNoTimerLeft(timers, kept, 'timers started for calls already answered', () => {
      for (const ctx of kept) assert.equal(ctx.signal.aborted, false);
    });
  });

  it('starts no parent deadline timer for a nested call made by background work after its parent was answered', async () => {
    await using back = await serveRpc({ echo: method((x: unknown) => x) }, { bind: endpoint() });
    await using client = await connectRpc({ connect: back.transport.bindings[0], timeout: 5000 });
    const later: Array<Promise<unknown>> = [];
    const parents: CallContext[] = [];
    const handler = {
      spawn: method((n: number, ctx: CallContext) => {
        parents.push(ctx);
        // Fire-and-forget work started by the handler, running after it returned.
        later.push(sleep(20).then(() => client.call.echo(n)));
        return 'spawned';
      }, withContext),
    };
    await using front = await serveRpc(handler, { bind: endpoint() });
    await using peer = new Peer(front.transport.bindings[0]!);
    await client.call.echo(0); // the client's own timers exist before the baseline
    const timers = liveTimers();
    for (let i = 1; i <= 20; i++) await peer.send(callFrames(contextWith(0xfffffffe), i, 'spawn', [i]));
    await waitFor(() => later.length === 20, 3000);
    await expectNoTimerLeft(timers, parents, 'timers of finished parents are live', async () => {
      // The finished parent is not aborted: the late calls still run (with its deadline).
      assert.deepEqual(await Promise.all(later), Array.from({ length: 20 }, (_, i) => i + 1));
      await sleep(20);
    });
  });

  it('fails a late nested call at once when its parent was cancelled (the inherited signal is aborted)', async () => {
    await using back = await serveRpc({ echo: method((x: unknown) => x) }, { bind: endpoint() });
    await using client = await connectRpc({ connect: back.transport.bindings[0], timeout: 5000 });
    let late: Promise<unknown> | undefined;
    let inListener: Promise<unknown> | undefined;
    let cancelled!: () => void;
    const afterCancel = new Promise<void>((resolve) => (cancelled = resolve));
    const handler = {
      park: method((ctx: CallContext) => {
        // Started in the handler's own context (a reaction keeps the context it was made
        // in), once the test has seen the cancel arrive.
        void afterCancel.then(() => (late = client.call.echo(1).then((v) => v, (e: unknown) => e)));
        return new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => {
            // An abort listener runs in the context of whatever aborted (the cancel), not the handler's.
            inListener = client.call.echo(2).then((v) => v, (e: unknown) => e);
            reject(ctx.signal.reason);
          }),
        );
      }, withContext),
    };
    await using front = await serveRpc(handler, { bind: endpoint() });
    await using peer = new Peer(front.transport.bindings[0]!);
    await peer.send(callFrames(undefined, 1, 'park'));
    await waitFor(() => front.running === 1, 2000);
    await peer.send(cancelFrames(1));
    await waitFor(() => inListener !== undefined, 5000, 'the cancel');
    cancelled();
    await waitFor(() => late !== undefined, 2000);
    assert.ok((await late!) instanceof CallAbortedError);
    // Documented here, not judged: a call made from the abort listener does not inherit.
    assert.equal(await inListener, 2);
  });
});

describe('attack: interceptors that misbehave (server)', () => {
  const service = {
    add: method((a: number, b: number) => a + b),
    count: method(() => ++counted),
  };
  let counted = 0;

  it('settles a call whose interceptor returns a non-promise (nothing left running)', async () => {
    const notAPromise: Interceptor = () => () => 42 as unknown as Promise<unknown>;
    await using server = await serveRpc(service, { bind: endpoint(), interceptors: [notAPromise] });
    await using peer = new Peer(server.transport.bindings[0]!);
    await peer.send(callFrames(undefined, 1, 'add', [1, 2]));
    const reply = await peer.reply(1);
    console.log(`# an interceptor returning 42 is answered: ${repr(reply.body)}`);
    assert.equal(server.running, 0, 'a call that was answered still counts as running (and against concurrency)');
  });

  it('raises no unhandled rejection when an interceptor returns a non-promise under a server timeout', async () => {
    const watch = watchRejections();
    const notAPromise: Interceptor = () => () => undefined as unknown as Promise<unknown>;
    await using server = await serveRpc(service, { bind: endpoint(), interceptors: [notAPromise], timeout: 30 });
    await using peer = new Peer(server.transport.bindings[0]!);
    await peer.send(callFrames(undefined, 1, 'add', [1, 2]));
    await peer.reply(1);
    await sleep(100);
    const seen = watch.stop();
    assert.deepEqual(seen.map(String), [], 'unhandled rejections (a process without a handler for them exits)');
  });

  it('answers an interceptor that throws synchronously, calls next twice, or replaces args with a non-array; stays up', async () => {
    const logger = recordingLogger();
    const throwsSync: Interceptor = () => (call) => {
      if (call.method === 'add' && (call.args[0] as number) < 0) throw new TypeError('sync throw');
      return Promise.reject(new Error('unreachable'));
    };
    const twice: Interceptor = (next) => async (call) => (call.method === 'count' ? (await next(call), next(call)) : next(call));
    const badArgs: Interceptor = (next) => (call) => {
      if ((call.args[0] as number) === 99) call.args = 5 as never;
      if ((call.args[0] as number) === 98) call.args = null as never;
      return next(call);
    };
    await using server = await serveRpc(service, { bind: endpoint(), interceptors: [twice, badArgs], logger, logExceptions: true });
    await using sync = await serveRpc(service, { bind: endpoint(), interceptors: [throwsSync] });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 2000 });
    await using syncClient = await connectRpc({ connect: sync.transport.bindings[0], timeout: 2000 });
    await assert.rejects(syncClient.call.add(-1, 1), (e: Error) => e instanceof TypeError && /sync throw/.test(e.message));
    counted = 0;
    assert.equal(await client.call.count(), 2, 'next twice runs the handler twice, answers once');
    await assert.rejects(client.call.add(99, 1), (e: Error) => /not iterable|args/i.test(e.message));
    await assert.rejects(client.call.add(98, 1), (e: Error) => /not iterable|null/i.test(e.message));
    assert.equal(await client.call.add(1, 2), 3);
    assert.equal(server.running + sync.running, 0);
  });

  it("answers with the server's timeout when an interceptor never calls next or hangs", async () => {
    const hang: Interceptor = () => () => new Promise(() => {});
    await using server = await serveRpc(service, { bind: endpoint(), interceptors: [hang], timeout: 50 });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 2000 });
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => client.call.add(1, 2)));
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof RpcTimeoutError));
    assert.equal(server.running, 0);
  });

  it("rejects notify's promise (never throws) when a one-way client's interceptor throws synchronously", async () => {
    await using server = await servePipeline({ ping: method(() => 'pong') }, { bind: endpoint() });
    const throwsSync: Interceptor = () => () => {
      throw new RangeError('refused by the interceptor');
    };
    await using push = await connectPipeline({ connect: server.transport.bindings[0], interceptors: [throwsSync] });
    let outcome: unknown;
    try {
      outcome = push.notify.ping();
    } catch (error) {
      assert.fail(`notify threw synchronously: ${(error as Error).message}`);
    }
    await assert.rejects(outcome as Promise<void>, RangeError);
  });
});

describe('attack: metadata from user code (client)', () => {
  it('rejects (never throws, never crashes) metadata whose getters, traps or prototype are hostile', async () => {
    const service = holding();
    await using server = await serveRpc(service.handler, { bind: endpoint() });
    const withInterceptor: Interceptor = (next) => (call) => next(call);
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 2000 });
    await using intercepted = await connectRpc({ connect: server.transport.bindings[0], timeout: 2000, interceptors: [withInterceptor] });
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    const trap = () => {
      throw new Error('trap');
    };
    const hostile: Array<[string, unknown]> = [
      ['a throwing getter', { get tenant(): string { throw new Error('getter'); } }],
      ['a proxy whose ownKeys trap throws', new Proxy({}, { ownKeys: trap })],
      ['a proxy whose get trap throws', new Proxy({ a: 'x' }, { get: trap })],
      ['a revoked proxy', revocable.proxy],
    ];
    for (const [label, metadata] of hostile) {
      for (const c of [client, intercepted]) {
        let promise: Promise<unknown> | undefined;
        assert.doesNotThrow(() => (promise = c.invoke('look', [], undefined, { metadata: metadata as never })), label);
        await assert.rejects(promise!, Error, label);
      }
    }
    // Inherited keys are not sent; own ones are.
    const inherited = Object.assign(Object.create({ evil: 'x' }), { tenant: 'acme' });
    assert.deepEqual(((await client.invoke('look', [], undefined, { metadata: inherited })) as { metadata: object }).metadata, { tenant: 'acme' });
    assert.equal(service.started.length, 0);
  });

  it('refuses metadata that is not an object (a string, a number), with or without interceptors', async () => {
    const service = holding();
    await using server = await serveRpc(service.handler, { bind: endpoint() });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 2000 });
    await using intercepted = await connectRpc({ connect: server.transport.bindings[0], timeout: 2000, interceptors: [(next) => (call) => next(call)] });
    const outcomes: string[] = [];
    for (const metadata of ['abc', 5]) {
      for (const [label, c] of [['plain', client], ['intercepted', intercepted]] as const) {
        const result = await c.invoke('look', [], undefined, { metadata: metadata as never }).then(
          (value) => `${label} ${JSON.stringify(metadata)}: sent ${JSON.stringify((value as { metadata: unknown }).metadata)}`,
          (error: Error) => `${label} ${JSON.stringify(metadata)}: ${error.name}`,
        );
        outcomes.push(result);
      }
    }
    console.log(`# ${outcomes.join('; ')}`);
    assert.deepEqual(
      outcomes.map((o) => o.endsWith('TypeError')),
      [true, true, true, true],
      outcomes.join('\n'),
    );
  });

  it('reads each metadata getter once: what is sent is what was checked', async () => {
    const service = holding();
    await using server = await serveRpc(service.handler, { bind: endpoint() });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 2000 });
    let reads = 0;
    const metadata = {
      get tenant(): unknown {
        return ++reads === 1 ? 'acme' : { nested: 'x'.repeat(100) };
      },
    };
    const result = await client.invoke('look', [], undefined, { metadata: metadata as never }).then(
      (value) => ({ value }),
      (error: Error) => ({ error }),
    );
    console.log(`# the getter was read ${reads} times: ${'error' in result ? result.error.message : 'sent'}`);
    // Either the value checked is the value sent, or it is refused here, before sending.
    assert.ok(!('error' in result) || !(result.error instanceof ProtocolError), `the server got a value the client never checked: ${'error' in result ? result.error.message : ''}`);
    assert.equal(reads, 1, 'metadata getters run once');
  });
});

describe('attack: a malicious server against a zrpc client', () => {
  /** A ROUTER that hands each request to `answer`, which sends whatever it likes. */
  async function evil(answer: (id: Buffer, frames: Buffer[], router: Router) => Promise<void>) {
    const requests: Buffer[][] = [];
    const router = await misbehavingRouter(async ([id, ...frames], socket) => {
      requests.push(frames);
      await answer(id!, frames, socket);
    });
    return { address: router.address, requests, [Symbol.asyncDispose]: () => router[Symbol.asyncDispose]() };
  }
  const headerOf = (frames: Buffer[]) => frames.at(-4)!;

  it('survives 20,000 crafted 3-frame replies (garbage first frame, echoed context frames of every kind) in a few log lines, and settles its calls', async () => {
    const logger = recordingLogger();
    let n = 0;
    await using server = await evil(async (id, frames, router) => {
      const request = headerOf(frames);
      const ok = encodeReplyHeader(0, request, false);
      // A reply header naming a call nobody waits for.
      const late = encodeReplyHeader(0, request, true);
      late.writeUInt32LE((late.readUInt32LE(4) + 1000) >>> 0, 4);
      if (n++ === 0) {
        const context = Buffer.from(frames[0]!);
        for (let i = 0; i < 4000; i++) {
          const kind = Buffer.from(context);
          kind[6] = i % 256;
          await router.send([id, randomBytes(1 + (i % 64)), ok, packer.encode('garbage first frame')]);
          await router.send([id, kind, late, randomBytes(i % 32)]);
          await router.send([id, Buffer.concat([CANCEL_FRAME, randomBytes(i % 8)]), ok, packer.encode('echoed cancel')]);
          await router.send([id, context.subarray(0, 7), ok.subarray(0, 10), packer.encode('short header')]);
          await router.send([id, context, context, ok, packer.encode('four frames')]);
        }
        // The real answer, echoing the context frame as aiozmq does.
        await router.send([id, frames[0]!, ok, packer.encode('the answer')]);
      } else if (n === 2) {
        await router.send([id, frames[0]!, ok, packer.encode('second')]);
      }
      // Third and later requests: never answered (the caller's timeout settles them).
    });
    const rss0 = rssMiB();
    await using client = await connectRpc({ connect: server.address, timeout: 10_000, logger });
    assert.equal(await client.with({ metadata: { k: 'v' } }).call.m(), 'the answer');
    assert.equal(await client.with({ metadata: { k: 'v' } }).call.m(), 'second');
    await assert.rejects(client.with({ timeout: 200 }).call.m(), RpcTimeoutError);
    assert.equal(client.pending, 0);
    const grown = rssMiB() - rss0;
    console.log(`# 20,000 crafted replies: RSS +${grown.toFixed(1)} MiB, ${logger.lines.length} log lines`);
    assert.ok(grown < 64, `RSS grew ${grown.toFixed(1)} MiB`);
    assert.ok(logger.lines.length <= 6, logger.lines.map((l) => l.message).join(' | '));
  });

  it('stops sending cancels to a server that echoed a context frame (aiozmq), and settles the call by its timeout', async () => {
    await using server = await evil(async (id, frames, router) => {
      const name = frames.at(-3)!.toString();
      // An aiozmq server: echoes the envelope, answers zrpc:cancel with NotFoundError.
      const envelope = frames.slice(0, -4);
      if (name === 'zrpc:cancel') {
        await router.send([id, ...envelope, encodeReplyHeader(0, headerOf(frames), true), packer.encode(['aiozmq.rpc.base.NotFoundError', ['zrpc:cancel'], 'NotFoundError'])]);
      }
    });
    await using client = await connectRpc({ connect: server.address, timeout: 100 });
    for (let i = 0; i < 5; i++) await assert.rejects(client.call.m(i), RpcTimeoutError);
    await sleep(50);
    const cancels = server.requests.filter((f) => f.at(-3)!.toString() === 'zrpc:cancel').length;
    assert.equal(cancels, 1, 'one cancel per connection to an aiozmq server');
    assert.equal(client.pending, 0);
  });

  it('logs (rate-limited) a flood of echoed cancel frames aimed at pending calls', async () => {
    const logger = recordingLogger();
    await using server = await evil(async (id, frames, router) => {
      const ok = encodeReplyHeader(0, headerOf(frames), false);
      for (let i = 0; i < 1000; i++) await router.send([id, CANCEL_FRAME, ok, packer.encode('hidden')]);
    });
    await using client = await connectRpc({ connect: server.address, timeout: 300, logger });
    await assert.rejects(client.call.m(), RpcTimeoutError);
    assert.equal(client.pending, 0);
    assert.ok(logger.lines.length >= 1, 'a thousand replies were dropped and nothing says so');
  });
});

describe('attack: CURVE key proofs', () => {
  it('stays responsive under forged proofs from random keys; reports the cost of each against a valid one', async () => {
    const serverKeys = generateKeyPair();
    const clientKeys = generateKeyPair();
    // The proof is checked when a handler reads ctx.curveKey: this one always does.
    const echo = method((x: unknown, ctx: CallContext) => (ctx.curveKey === undefined ? `unknown ${String(x)}` : x), { context: true });
    await using server = await serveRpc({ echo }, { bind: endpoint(), curve: { secretKey: serverKeys.secretKey }, logger: recordingLogger() });
    const address = server.transport.bindings[0]!;
    const curve = { curveServerKey: serverKeys.publicKey, curvePublicKey: clientKeys.publicKey, curveSecretKey: clientKeys.secretKey };
    await using peer = new Peer(address, curve);
    const valid = encodeCallContext(5000, undefined, curveProof(clientKeys.publicKey, clientKeys.secretKey, serverKeys.publicKey));
    // Warm up: the connection and the proof cache.
    await peer.send(callFrames(valid, 0, 'echo', [0]));
    assert.equal((await peer.reply(0)).body, 0);
    const N = 3000;
    const rate = async (frame: (i: number) => Buffer, base: number) => {
      const start = performance.now();
      for (let i = 0; i < N; i++) await peer.send(callFrames(frame(i), base + i, 'echo', [i]));
      await waitFor(() => peer.replies.has(base + N - 1), 8000, 'the replies');
      return N / ((performance.now() - start) / 1000);
    };
    const validRate = await rate(() => valid, 10_000);
    const forgedFrames = Array.from({ length: N }, () => encodeCallContext(5000, undefined, { key: randomBytes(32), proof: randomBytes(32) }));
    const forgedRate = await rate((i) => forgedFrames[i]!, 20_000);
    const unknown = [...peer.replies.entries()].filter(([id, r]) => id >= 20_000 && !r.isError && /^unknown /.test(String(r.body))).length;
    console.log(`# CURVE proof: ${Math.round(validRate)} calls/s with a valid (cached) proof, ${Math.round(forgedRate)} calls/s with forged proofs of random keys, read by the handler (${(validRate / forgedRate).toFixed(1)}x the cost)`);
    assert.equal(unknown, N, 'a forged proof leaves the caller unknown');
    // An X25519 agreement per forged call: dearer, but bounded; a flood cannot stall the server.
    assert.ok(forgedRate > validRate / 20, `forged proofs cost ${(validRate / forgedRate).toFixed(1)}x a call`);
    await peer.send(callFrames(valid, 99_999, 'echo', ['after']));
    assert.equal((await peer.reply(99_999)).body, 'after');
  });

  it("serves a CURVE client through a CURVE proxy to a CURVE server with its own key pair (the proof names the proxy's key: no caller key, no refusal)", async () => {
    const front = generateKeyPair();
    const serverKeys = generateKeyPair();
    const proxyClient = generateKeyPair();
    const clientKeys = generateKeyPair();
    await using proxy = await runProxy({
      frontend: local,
      backend: local,
      // Each hop its own CURVE connection: the proxy is a CURVE client of the server.
      curve: { frontend: { secretKey: front.secretKey }, backend: { serverKey: serverKeys.publicKey, ...proxyClient } },
    });
    await using server = await serveRpc({ add: method((a: number, b: number) => a + b) }, { connect: proxy.backend[0]!, curve: { secretKey: serverKeys.secretKey } });
    // A client without CURVE context (no timeout, no metadata... but CURVE always sends the proof).
    await using client = await connectRpc({ connect: proxy.frontend[0]!, timeout: 5000, curve: { serverKey: front.publicKey, ...clientKeys } });
    assert.ok(server.transport.bindings !== undefined);
    // Before the context frame this deployment worked: calls went through untouched.
    assert.equal(await client.call.add(2, 3), 5);
  });
});

describe('attack: an abort racing the reply', () => {
  it('settles each of 2,000 calls exactly once when the abort lands around the reply', async () => {
    const watch = watchRejections();
    // The handler answers after about 2 ms; the aborts land from before the send to after the reply.
    await using server = await serveRpc({ echo: method(async (x: unknown) => (await sleep(2), x)) }, { bind: endpoint() });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 2000 });
    let resolved = 0;
    let aborted = 0;
    for (let round = 0; round < 20; round++) {
      const calls: Array<Promise<void>> = [];
      for (let k = 0; k < 100; k++) {
        const i = round * 100 + k;
        const controller = new AbortController();
        let settled = 0;
        calls.push(
          client
            .withSignal(controller.signal)
            .call.echo(i)
            .then(
              (v) => (assert.equal(v, i), resolved++, settled++),
              (e) => (assert.ok(e instanceof CallAbortedError, String(e)), aborted++, settled++),
            )
            .then(() => assert.equal(settled, 1)),
        );
        const when = k % 6;
        if (when === 0) queueMicrotask(() => controller.abort());
        else if (when === 1) setImmediate(() => controller.abort());
        else setTimeout(() => controller.abort(), when);
      }
      await Promise.all(calls);
    }
    console.log(`# 2,000 aborts racing replies: ${resolved} answered, ${aborted} aborted`);
    assert.equal(resolved + aborted, 2000);
    assert.ok(resolved > 0 && aborted > 0, 'the aborts landed on both sides of the reply');
    assert.equal(client.pending, 0);
    await waitFor(() => server.running === 0, 2000);
    assert.deepEqual(watch.stop(), []);
  });
});
