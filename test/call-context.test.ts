/**
 * Deadlines, cancellation and metadata across the wire (WIRE.md, "Call context"), on
 * real sockets: what a handler's `ctx` sees, what a raw peer's crafted context frames
 * get, and a chain A -> B -> C of servers whose calls inherit from the handler making them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Dealer, Router } from 'zeromq';
import {
  CallAbortedError,
  CallContext,
  connectRpc,
  currentContext,
  HEALTH_METHOD,
  generateKeyPair,
  method,
  Packer,
  RpcTimeoutError,
  serveRpc,
  type RpcClient,
  type RpcServer,
} from 'zrpc';
import { encodeRequestHeader, REPLY_HEADER_SIZE } from '../src/runtime/wire/header.js';
import { CANCEL_FRAME, encodeCallContext, isContextFrame } from '../src/runtime/wire/context-frame.js';
import { z85Decode } from '../src/runtime/socket/z85.js';
import { randomBytes } from 'node:crypto';
import { endpoint, recordingLogger, waitFor } from './support/helpers.js';

const packer = new Packer();
const withContext = { context: true } as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when `signal` aborts, with the time it did (performance.now()) and its reason. */
function aborted(signal: AbortSignal): Promise<{ at: number; reason: unknown }> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve({ at: performance.now(), reason: signal.reason }), { once: true }));
}

/** A handler whose `hold` runs until its signal aborts, reporting what it saw. */
function holdingService() {
  const seen: CallContext[] = [];
  let abortedAt: Promise<{ at: number; reason: unknown }> | undefined;
  const handler = {
    hold: method((ctx: CallContext): Promise<string> => {
      seen.push(ctx);
      abortedAt = aborted(ctx.signal);
      return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
    }, withContext),
    look: method((ctx: CallContext) => {
      seen.push(ctx);
      return { deadline: ctx.deadline ?? null, metadata: { ...ctx.metadata }, curveKey: ctx.curveKey ?? null };
    }, withContext),
  };
  return { handler, seen, abortedAt: () => abortedAt };
}

async function serve(handler: object, options: Parameters<typeof serveRpc>[1] = { bind: endpoint() }) {
  const server = await serveRpc(handler, options);
  return server;
}

/** A raw DEALER speaking the wire by hand, for crafted context frames. */
async function rawDealer(address: string) {
  const dealer = new Dealer({ linger: 0 });
  dealer.connect(address);
  return {
    dealer,
    async call(context: Buffer | undefined, id: number, name: string, args: unknown[] = []) {
      const frames = [encodeRequestHeader(1, id), name, packer.encode(args), Buffer.from([0x80])];
      await dealer.send(context ? [context, ...frames] : frames);
    },
    async reply(): Promise<{ isError: boolean; body: unknown; frames: number }> {
      const frames = await dealer.receive();
      const header = frames.at(-2)!;
      assert.equal(header.byteLength, REPLY_HEADER_SIZE);
      return { isError: header[16] === 1, body: packer.decode(frames.at(-1)!), frames: frames.length };
    },
    [Symbol.dispose]() {
      dealer.close();
    },
  };
}

describe('deadlines', () => {
  it('gives the handler the caller timeout as ctx.deadline, and none for a call on the default timeout', async () => {
    const { handler } = holdingService();
    await using server = await serve(handler);
    await using timed = await connectRpc({ connect: server.transport.bindings[0], timeout: 2000 });
    await using plain = await connectRpc({ connect: server.transport.bindings[0] });
    const before = Date.now();
    const seen = (await timed.call.look()) as { deadline: number };
    assert.ok(seen.deadline >= before + 1900 && seen.deadline <= Date.now() + 2000, `deadline ${seen.deadline - before} ms ahead`);
    // Counted from the server's receipt: no earlier than the call's start, no later than its end.
    const start = Date.now();
    const perCall = (await plain.with({ timeout: 500 }).call.look()) as { deadline: number };
    assert.ok(perCall.deadline >= start + 490 && perCall.deadline <= Date.now() + 500, `deadline ${perCall.deadline - start} ms after the call started`);
    // The default timeout is the client's own business: such a call is sent as aiozmq sends it.
    assert.equal(((await plain.call.look()) as { deadline: unknown }).deadline, null);
  });

  it("aborts ctx.signal at the caller's deadline when no cancel comes (a raw peer that never cancels)", async () => {
    const service = holdingService();
    await using server = await serve(service.handler);
    using raw = await rawDealer(server.transport.bindings[0]!);
    const sent = performance.now();
    await raw.call(encodeCallContext(150, undefined, undefined), 1, 'hold');
    await waitFor(() => service.abortedAt() !== undefined, 2000, 'the handler to start');
    const { at, reason } = await service.abortedAt()!;
    assert.ok(reason instanceof RpcTimeoutError && /deadline/.test(reason.message), String(reason));
    assert.ok(at - sent >= 140 && at - sent < 1000, `aborted after ${at - sent} ms`);
    // The caller stopped waiting at its deadline: no reply comes (it would be late).
    const reply = await Promise.race([raw.reply(), sleep(200)]);
    assert.equal(reply, undefined);
  });

  it("aborts at the server's own timeout when that comes first", async () => {
    const service = holdingService();
    await using server = await serve(service.handler, { bind: endpoint(), timeout: 50 });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 5000 });
    await assert.rejects(client.call.hold(), (e: unknown) => e instanceof RpcTimeoutError && /handler took longer than 50 ms/.test(e.message));
  });

  it('does not run a call whose deadline passed before it arrived', async () => {
    let ran = false;
    await using server = await serve({ work: method(() => (ran = true)) });
    using raw = await rawDealer(server.transport.bindings[0]!);
    await raw.call(encodeCallContext(0, undefined, undefined), 7, 'work');
    const reply = await raw.reply();
    assert.equal(reply.isError, true);
    assert.match(String((reply.body as unknown[])[2]), /deadline passed before the call arrived/);
    assert.equal(ran, false);
  });

  it('sends the time left when the call goes out, not when it was made (it waited for a server to come up)', async () => {
    const address = endpoint('ipc');
    const remaining: number[] = [];
    await using client = await connectRpc({ connect: address });
    const madeAt = performance.now();
    const call = client.with({ timeout: 3000 }).call.left();
    await sleep(300);
    const server = await serve({ left: method((ctx: CallContext) => void remaining.push(ctx.remaining), withContext) }, { bind: address });
    await call.finally(() => server.close());
    const waited = performance.now() - madeAt;
    assert.equal(remaining.length, 1);
    assert.ok(remaining[0]! <= 3000 - 300 + 5, `the server saw ${remaining[0]!.toFixed(0)} ms left of 3000 after the call waited ${waited.toFixed(0)} ms for it`);
    assert.ok(remaining[0]! >= 3000 - waited - 5, `the server saw ${remaining[0]!.toFixed(0)} ms left, less than the caller had`);
  });
});

describe('cancellation', () => {
  it("aborts the server's ctx.signal a few ms after the caller aborts, and sends no reply", async () => {
    const service = holdingService();
    await using server = await serve(service.handler);
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    const latencies: number[] = [];
    for (let round = 0; round < 20; round++) {
      const controller = new AbortController();
      const call = client.withSignal(controller.signal).call.hold();
      await waitFor(() => service.seen.length === round + 1, 2000, 'the handler to start');
      const waiting = service.abortedAt()!;
      const abortAt = performance.now();
      controller.abort(new Error('user gave up'));
      await assert.rejects(call, CallAbortedError);
      const { at, reason } = await waiting;
      assert.ok(reason instanceof CallAbortedError && /cancelled by the caller/.test(reason.message));
      latencies.push(at - abortAt);
    }
    latencies.sort((a, b) => a - b);
    const median = latencies[latencies.length >> 1]!;
    console.log(`# abort -> server ctx.signal on tcp loopback: median ${median.toFixed(2)} ms, max ${latencies.at(-1)!.toFixed(2)} ms (20 calls)`);
    // A few ms on loopback; the bound leaves room for a loaded machine, not for a missed cancel (which would wait forever).
    assert.ok(median < 50, `median ${median} ms`);
    await waitFor(() => server.running === 0, 1000, 'the cancelled calls to be released');
    assert.equal(client.pending, 0);
  });

  it('cancels on the client timeout too, also for a call on the default timeout (no context frame)', async () => {
    const service = holdingService();
    await using server = await serve(service.handler);
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 100 });
    await using plain = await connectRpc({ connect: server.transport.bindings[0] });
    // Connected first, so the 100 ms are the call's and not the handshake's.
    await client.invoke(HEALTH_METHOD, [], undefined, { timeout: 10_000 });
    await assert.rejects(client.call.hold(), RpcTimeoutError);
    await waitFor(() => service.abortedAt() !== undefined, 5000, 'the call to reach the server');
    // The cancel and the server's own deadline (the 100 ms were sent) race: either ends it.
    const first = (await service.abortedAt()!).reason;
    assert.ok(first instanceof CallAbortedError || first instanceof RpcTimeoutError, String(first));
    const controller = new AbortController();
    const call = plain.withSignal(controller.signal).call.hold();
    await waitFor(() => service.seen.length === 2, 2000, 'the second handler to start');
    const waiting = service.abortedAt()!;
    controller.abort();
    await assert.rejects(call, CallAbortedError);
    assert.ok((await waiting).reason instanceof CallAbortedError);
  });

  for (const timeout of [undefined, 5000]) {
    it(`sends no reply when a cancelled handler answers anyway, and releases it at once (server timeout ${timeout ?? 'none'})`, async () => {
      let finish!: (value: string) => void;
      const late = new Promise<string>((resolve) => (finish = resolve));
      let aborted: unknown;
      const handler = { stubborn: method((ctx: CallContext) => (ctx.signal.addEventListener('abort', () => (aborted = ctx.signal.reason)), late), withContext) };
      await using server = await serve(handler, { bind: endpoint(), timeout });
      using raw = await rawDealer(server.transport.bindings[0]!);
      await raw.call(undefined, 9, 'stubborn');
      await waitFor(() => server.running === 1, 2000, 'the call to run');
      await raw.dealer.send([CANCEL_FRAME, encodeRequestHeader(1, 9), 'zrpc:cancel', Buffer.from([0x90]), Buffer.from([0x80])]);
      const ack = await raw.dealer.receive();
      assert.ok(isContextFrame(ack[0]!), 'the cancel is acknowledged');
      assert.equal(server.running, 0, 'released before its handler ends');
      assert.ok(aborted instanceof CallAbortedError);
      finish('too late');
      await raw.call(undefined, 10, 'stubborn');
      const next = await raw.dealer.receive();
      assert.equal(next.at(-2)!.readUInt32LE(4), 10, "the next reply is the next call's: none came for the cancelled one");
    });
  }

  it("ignores a cancel for a call it does not run, or another client's call of the same id", async () => {
    const service = holdingService();
    await using server = await serve(service.handler);
    using owner = await rawDealer(server.transport.bindings[0]!);
    using stranger = await rawDealer(server.transport.bindings[0]!);
    await owner.call(undefined, 5, 'hold');
    await waitFor(() => server.running === 1, 2000, 'the call to run');
    await stranger.dealer.send([CANCEL_FRAME, encodeRequestHeader(1, 5), 'zrpc:cancel', Buffer.from([0x90]), Buffer.from([0x80])]);
    await stranger.dealer.send([CANCEL_FRAME, encodeRequestHeader(1, 999), 'zrpc:cancel', Buffer.from([0x90]), Buffer.from([0x80])]);
    await sleep(50);
    assert.equal(server.running, 1);
    await owner.dealer.send([CANCEL_FRAME, encodeRequestHeader(1, 5), 'zrpc:cancel', Buffer.from([0x90]), Buffer.from([0x80])]);
    await waitFor(() => server.running === 0, 1000, 'the owner to cancel it');
  });
});

describe('metadata', () => {
  it('carries string and byte values to ctx.metadata; calls without keep an empty one', async () => {
    const { handler } = holdingService();
    await using server = await serve(handler);
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    const bytes = new Uint8Array([0, 1, 255]);
    const seen = (await client.with({ metadata: { tenant: 'acme', 'x-token': 'secret', 'trace.bin': bytes } }).call.look()) as { metadata: Record<string, unknown> };
    const { 'trace.bin': received, ...text } = seen.metadata;
    assert.deepEqual(text, { tenant: 'acme', 'x-token': 'secret' });
    assert.ok(received instanceof Uint8Array);
    assert.deepEqual([...received], [0, 1, 255]);
    assert.deepEqual(((await client.call.look()) as { metadata: object }).metadata, {});
    // Views add up key by key; the call's own metadata comes last.
    const view = client.with({ metadata: { tenant: 'acme', user: 'ada' } }).with({ metadata: { user: 'bob' } });
    const stacked = (await view.invoke('look', [], undefined, { metadata: { trace: '1' } })) as { metadata: object };
    assert.deepEqual(stacked.metadata, { tenant: 'acme', user: 'bob', trace: '1' });
  });

  it('refuses bad keys, values and sizes before sending, naming what is wrong', async () => {
    const { handler, seen } = holdingService();
    await using server = await serve(handler);
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    const cases: Array<[unknown, RegExp]> = [
      [{ Tenant: 'x' }, /metadata key "Tenant"/],
      [{ '': 'x' }, /metadata key ""/],
      [{ ok: 5 }, /metadata ok must be a string or Uint8Array, got number/],
      [{ ok: null }, /got null/],
      [['a'], /got an array/],
      [Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])), /more than 64 entries/],
      [{ big: 'x'.repeat(9000) }, /at most 8192 may be sent/],
    ];
    for (const [metadata, message] of cases) {
      await assert.rejects(client.invoke('look', [], undefined, { metadata: metadata as never }), (e: unknown) => e instanceof Error && message.test(e.message), String(message));
    }
    assert.equal(seen.length, 0);
  });

  it('answers a context frame over maxMetadataBytes, of an unknown version or kind, or malformed, with ProtocolError', async () => {
    const { handler, seen } = holdingService();
    await using server = await serve(handler, { bind: endpoint(), maxMetadataBytes: 64 });
    using raw = await rawDealer(server.transport.bindings[0]!);
    const big = encodeCallContext(1000, { k: 'v'.repeat(100) }, undefined);
    const newer = Buffer.from(encodeCallContext(1000, undefined, undefined));
    newer[5] = 2;
    const kind = Buffer.from(newer);
    kind[5] = 1;
    kind[6] = 9;
    const garbage = Buffer.concat([encodeCallContext(1000, undefined, undefined), Buffer.from([0xc1])]);
    const notMap = Buffer.concat([encodeCallContext(1000, undefined, undefined), packer.encode([1, 2])]);
    const badKey = Buffer.concat([encodeCallContext(1000, undefined, undefined), packer.encode({ m: { 'Bad Key': 'v' } })]);
    const badProof = Buffer.concat([encodeCallContext(1000, undefined, undefined), packer.encode({ k: [new Uint8Array(3), new Uint8Array(32)] })]);
    const expected: Array<[Buffer, RegExp]> = [
      [big, /takes at most 64/],
      [newer, /version 2; this server reads version 1/],
      [kind, /unknown context frame kind 9/],
      [garbage, /not valid msgpack/],
      [notMap, /must end in a msgpack map/],
      [badKey, /metadata is malformed/],
      [badProof, /CURVE proof must be/],
    ];
    let id = 1;
    for (const [frame, message] of expected) {
      await raw.call(frame, id++, 'look');
      const reply = await raw.reply();
      assert.equal(reply.isError, true);
      const [type, , repr] = reply.body as [string, unknown[], string];
      assert.match(type, /ProtocolError/);
      assert.match(repr, message);
      assert.equal(reply.frames, 2, 'the context frame is not echoed');
    }
    assert.equal(seen.length, 0);
    // Unknown keys of version 1 are skipped (a later revision may add some).
    await raw.call(Buffer.concat([encodeCallContext(1000, undefined, undefined), packer.encode({ z: 1 })]), id++, 'look');
    assert.equal((await raw.reply()).isError, false);
  });
});

describe('CURVE key in the context', () => {
  it("gives the handler the caller's proven public key; a forged proof leaves it undefined, with a warning", async () => {
    const serverKeys = generateKeyPair();
    const clientKeys = generateKeyPair();
    const { handler } = holdingService();
    const logger = recordingLogger();
    await using server = await serve(handler, { bind: endpoint(), curve: { secretKey: serverKeys.secretKey }, logger });
    await using client = await connectRpc({ connect: server.transport.bindings[0], curve: { serverKey: serverKeys.publicKey, ...clientKeys } });
    assert.equal(((await client.call.look()) as { curveKey: string }).curveKey, clientKeys.publicKey);
    // A peer with a working CURVE connection claiming another's key cannot make the proof.
    const other = generateKeyPair();
    const dealer = new Dealer({ linger: 0, curveServerKey: serverKeys.publicKey, curvePublicKey: clientKeys.publicKey, curveSecretKey: clientKeys.secretKey });
    try {
      dealer.connect(server.transport.bindings[0]!);
      const forged = encodeCallContext(1000, undefined, { key: z85Decode(other.publicKey), proof: randomBytes(32) });
      await dealer.send([forged, encodeRequestHeader(1, 1), 'look', packer.encode([]), Buffer.from([0x80])]);
      const [header, body] = await dealer.receive();
      assert.equal(header![16], 0);
      assert.equal((packer.decode(body!) as { curveKey: unknown }).curveKey, null);
      assert.ok(logger.lines.some((l) => l.level === 'warn' && /CURVE key proof does not hold/.test(l.message)));
    } finally {
      dealer.close();
    }
  });

  it('leaves curveKey undefined without CURVE', async () => {
    const { handler } = holdingService();
    await using server = await serve(handler);
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    assert.equal(((await client.call.look()) as { curveKey: unknown }).curveKey, null);
  });
});

describe('plain calls stay aiozmq.rpc calls', () => {
  it('sends a call with nothing to carry as exactly four frames, and one with context as five', async () => {
    const router = new Router({ linger: 0 });
    await router.bind('tcp://127.0.0.1:*');
    await using client = await connectRpc({ connect: router.lastEndpoint!, timeout: 200 });
    await using plain = await connectRpc({ connect: router.lastEndpoint! });
    try {
      void plain.call.add(1, 2).catch(() => {});
      const [, ...frames] = await router.receive();
      assert.equal(frames.length, 4);
      assert.equal(frames[0]!.byteLength, 16);
      assert.deepEqual([frames[1]!.toString(), [...frames[2]!], [...frames[3]!]], ['add', [0x92, 1, 2], [0x80]]);
      void client.call.add(1, 2).catch(() => {});
      const [, ...withContext] = await router.receive();
      assert.equal(withContext.length, 5);
      assert.deepEqual([...withContext[0]!.subarray(0, 7)], [0, 0x7a, 0x72, 0x70, 0x63, 1, 1]);
    } finally {
      router.close();
    }
  });
});

describe('a chain of servers A -> B -> C', () => {
  /** C holds until cancelled; B and A pass the call on. Each records the context it ran in. */
  async function chainOf(bInherit = true) {
    const seen: Record<string, CallContext> = {};
    /** Date.now() as each server's handler began: receipt is no later, so a deadline is at most this plus what was left. */
    const entered: Record<string, number> = {};
    const c = holdingService();
    const serverC = await serve({
      hold: method((ctx: CallContext) => ((seen.c = ctx), c.handler.hold(ctx)), withContext),
      look: method((ctx: CallContext) => ((entered.c = Date.now()), (seen.c = ctx), c.handler.look(ctx)), withContext),
    });
    const toC = await connectRpc({ connect: serverC.transport.bindings[0], inherit: bInherit });
    const serverB = await serve({
      hold: method((ctx: CallContext) => ((seen.b = ctx), toC.call.hold()), withContext),
      look: method((ctx: CallContext) => ((entered.b = Date.now()), (seen.b = ctx), toC.call.look()), withContext),
    });
    const toB = await connectRpc({ connect: serverB.transport.bindings[0] });
    const serverA = await serve({
      hold: method((ctx: CallContext) => ((seen.a = ctx), assert.equal(currentContext(), ctx), toB.call.hold()), withContext),
      look: method((ctx: CallContext) => ((entered.a = Date.now()), (seen.a = ctx), toB.call.look()), withContext),
    });
    const toA = await connectRpc({ connect: serverA.transport.bindings[0] });
    const parts: Array<RpcClient | RpcServer> = [toA, serverA, toB, serverB, toC, serverC];
    return {
      seen,
      entered,
      c,
      toA,
      async [Symbol.asyncDispose]() {
        for (const part of parts) await part.close();
      },
    };
  }

  it("gives C the deadline and metadata-free context of A's caller, cut to what is left", async () => {
    await using chain = await chainOf();
    const before = Date.now();
    const result = (await chain.toA.with({ timeout: 3000 }).call.look()) as { deadline: number };
    const { seen, entered } = chain;
    const [a, b, c] = [seen.a!.deadline!, seen.b!.deadline!, result.deadline];
    // A deadline travels as time left, so each hop's transit time is added to it (as with
    // grpc-timeout); what must hold is that no hop gets more time than its caller had left
    // when it sent, give or take 1 ms of rounding on each clock.
    assert.ok(a >= before + 3000 - 2 && a <= entered.a! + 3000 + 2, `A's deadline ${a - before} ms ahead, A began ${entered.a! - before} ms in`);
    assert.ok(b >= a - 2 && b - entered.b! <= a - entered.a! + 2, `B's deadline ${b - a} ms after A's`);
    assert.ok(c >= b - 2 && c - entered.c! <= b - entered.b! + 2, `C's deadline ${c - b} ms after B's`);
    assert.deepEqual(Object.keys(seen.c!.metadata), [], 'metadata is not inherited');
  });

  it("cancels C's handler when A's caller aborts", async () => {
    await using chain = await chainOf();
    const controller = new AbortController();
    const call = chain.toA.withSignal(controller.signal).call.hold();
    await waitFor(() => chain.c.abortedAt() !== undefined, 3000, 'the call to reach C');
    const abortAt = performance.now();
    controller.abort();
    await assert.rejects(call, CallAbortedError);
    const { at, reason } = await chain.c.abortedAt()!;
    assert.ok(reason instanceof CallAbortedError, String(reason));
    console.log(`# abort at A's caller -> C's ctx.signal, two hops: ${(at - abortAt).toFixed(2)} ms`);
  });

  it("times C out with A's caller's deadline, which B and C never set themselves", async () => {
    await using chain = await chainOf();
    // Every hop connected first, so the 200 ms are the call's and not three handshakes'.
    await chain.toA.with({ timeout: 10_000 }).call.look();
    await assert.rejects(chain.toA.with({ timeout: 200 }).call.hold(), RpcTimeoutError);
    await waitFor(() => chain.c.abortedAt() !== undefined, 5000, 'the call to reach C');
    const { reason } = await chain.c.abortedAt()!;
    assert.ok(reason instanceof CallAbortedError || reason instanceof RpcTimeoutError, String(reason));
  });

  it('lets a client opt out (inherit: false): its calls start afresh', async () => {
    await using chain = await chainOf(false);
    await chain.toA.with({ timeout: 3000 }).call.look();
    assert.equal(chain.seen.c!.deadline, undefined);
    const controller = new AbortController();
    const call = chain.toA.withSignal(controller.signal).call.hold();
    await waitFor(() => chain.c.abortedAt() !== undefined, 3000, 'the call to reach C');
    controller.abort();
    await assert.rejects(call, CallAbortedError);
    await waitFor(() => chain.seen.b!.aborted, 5000, "B's cancel");
    await sleep(100);
    assert.equal(chain.seen.c!.aborted, false, 'C goes on: its caller B did not inherit');
  });
});

describe('refusals', () => {
  it('a call from a handler whose caller already gave up fails at once', async () => {
    let inner: Promise<unknown> | undefined;
    await using back = await serve({ echo: method((v: unknown) => v) });
    await using client = await connectRpc({ connect: back.transport.bindings[0] });
    await using front = await serve({
      relay: method(async (ctx: CallContext) => {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        inner = client.call.echo(1);
        return inner.catch(() => 'refused');
      }, withContext),
    });
    await using caller = await connectRpc({ connect: front.transport.bindings[0] });
    const controller = new AbortController();
    const call = caller.withSignal(controller.signal).call.relay();
    await waitFor(() => front.running === 1, 2000, 'relay to run');
    controller.abort();
    await assert.rejects(call, CallAbortedError);
    await waitFor(() => inner !== undefined, 2000, 'the inner call');
    await assert.rejects(inner!, CallAbortedError);
  });
});
