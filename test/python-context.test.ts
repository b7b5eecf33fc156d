/**
 * Call context (deadlines, metadata, cancellation, CURVE proof, interceptors) against the
 * real Python aiozmq.rpc 1.0, live on tcp loopback: aiozmq clients and servers work
 * unchanged, and nothing zrpc sends for these features reaches an aiozmq server as a call
 * it would run. The Python side (test/python/context_peer.py) prints every message its
 * ROUTER hands aiozmq, every name looked up in its handler, every method it runs, how it
 * answers and what aiozmq logs; the assertions below count those lines.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  builtins,
  CallAbortedError,
  connectRpc,
  generateKeyPair,
  kwargs,
  method,
  NotFoundError,
  RpcTimeoutError,
  serveRpc,
  type Call,
  type CallContext,
  type Interceptor,
  type RpcClient,
} from 'zrpc';
import { LineProcess } from '../bench/line-process.js';
import { PYTHON } from './support/python-peer.js';
import { endpoint, recordingLogger, repoRoot, waitFor } from './support/helpers.js';

const script = join(repoRoot, 'test/python/context_peer.py');
const NOT_FOUND = 'aiozmq.rpc.base.NotFoundError';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** One line the Python side printed, split into its fields. */
type Line = string[];

/** The instrumented aiozmq server (context_peer.py serve), with its printed lines as records. */
class AiozmqServer implements AsyncDisposable {
  private constructor(
    readonly peer: LineProcess,
    readonly endpoint: string,
  ) {}

  static async start(curveSecretKey?: string): Promise<AiozmqServer> {
    const peer = new LineProcess(PYTHON, [script, 'serve', ...(curveSecretKey ? [curveSecretKey] : [])]);
    return new AiozmqServer(peer, await peer.value('READY'));
  }

  /** Lines of one kind (RECV, LOOKUP, RAN, DONE, ANSWER, LOG), fields after the kind. */
  records(kind: string): Line[] {
    return this.peer.lines.filter((l) => l.startsWith(`${kind} `)).map((l) => l.slice(kind.length + 1).split(' '));
  }

  /** Messages received: peer, frame count, context kind, method. */
  get received() {
    return this.records('RECV').map(([peer, frames, context, name]) => ({ peer: peer!, frames: Number(frames), context: context!, name: name! }));
  }

  /** Answers sent: peer, method, outcome (ok or the exception's name), frames echoed ahead of the reply. */
  get answers() {
    return this.records('ANSWER').map(([peer, name, outcome, pre]) => ({ peer: peer!, name: name!, outcome: outcome!, pre: Number(pre) }));
  }

  /** Names of the handler methods that ran, in order. */
  get ran(): string[] {
    return this.records('RAN').map(([name]) => name!);
  }

  get cancels() {
    return this.received.filter((r) => r.context === 'cancel');
  }

  /** aiozmq's own log lines (log_exceptions is on). */
  get log(): string[] {
    return this.peer.lines.filter((l) => l.startsWith('LOG '));
  }

  /** Waits until `n` answers to `name` have gone out. */
  async answered(name: string, n: number, timeout = 5000): Promise<void> {
    await waitFor(() => this.answers.filter((a) => a.name === name).length >= n, timeout, `${n} answers to ${name} from aiozmq:\n${this.peer.lines.join('\n')}`);
  }

  /** Nothing that arrived ran as anything but a method of the handler; every cancel got NotFoundError. */
  assertNoCancelRan(): void {
    assert.ok(!this.ran.some((name) => name.startsWith('zrpc')), `aiozmq ran ${this.ran.join(', ')}`);
    for (const answer of this.answers.filter((a) => a.name === 'zrpc:cancel')) {
      assert.equal(answer.outcome, NOT_FOUND, 'a cancel is answered NotFoundError');
      assert.equal(answer.pre, 2, "the cancel's context frame is echoed after the peer's identity");
    }
    const cancelLookups = this.records('LOOKUP').filter(([name]) => name === 'zrpc:cancel').length;
    assert.equal(cancelLookups, this.cancels.length, 'each cancel was looked up once, and not found');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.peer.finish(5000);
  }
}

/** An aiozmq client driven line by line (context_peer.py client). */
class AiozmqClient implements AsyncDisposable {
  readonly peer: LineProcess;
  #next = 0;
  /** `curve`: the server's public key and the client's key pair, for CURVE. */
  constructor(address: string, curve?: { serverKey: string; publicKey: string; secretKey: string }) {
    this.peer = new LineProcess(PYTHON, [script, 'client', address, ...(curve ? [curve.serverKey, curve.publicKey, curve.secretKey] : [])]);
  }

  /** Makes a call from Python; resolves with `{ ok }` or `{ error, args }` as Python saw it. */
  async call(name: string, args: unknown[] = [], named: Record<string, unknown> = {}, timeout?: number): Promise<{ ok?: unknown; error?: string; args?: unknown[] }> {
    const label = `c${this.#next++}`;
    this.peer.send(JSON.stringify({ label, method: name, args, kwargs: named, timeout: timeout ?? null }));
    return JSON.parse(await this.peer.value(`RESULT ${label}`, 9000)) as { ok?: unknown; error?: string; args?: unknown[] };
  }

  /** The frame count of every reply aiozmq's client read. */
  get replyFrames(): number[] {
    return this.peer.lines.filter((l) => l.startsWith('FRAMES ')).map((l) => Number(l.slice(7)));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.peer.finish(5000);
  }
}

interface Seen {
  side: string;
  method: string;
  metadata: Record<string, unknown>;
  deadline: number | undefined;
  outcome: string;
}

/** An interceptor recording each call it sees and how it ended. */
function recorder(): { seen: Seen[]; interceptor: Interceptor } {
  const seen: Seen[] = [];
  const interceptor: Interceptor = (next) => async (call: Call) => {
    const entry: Seen = { side: call.side, method: call.method, metadata: { ...call.metadata }, deadline: call.deadline, outcome: 'pending' };
    seen.push(entry);
    try {
      const value = await next(call);
      entry.outcome = 'ok';
      return value;
    } catch (error) {
      entry.outcome = (error as Error).constructor.name;
      throw error;
    }
  };
  return { seen, interceptor };
}

/** A client interceptor adding W3C trace context to every call's metadata. */
const tracing: Interceptor = (next) => (call) => {
  (call.metadata as Record<string, string>).traceparent = TRACEPARENT;
  return next(call);
};

const isValueError = (message: string) => (e: unknown) =>
  e instanceof builtins.ValueError && assert.deepEqual(e.arguments, [message, 42]) === undefined;

/** Starts calls of Python's `sleep(seconds)` and waits until aiozmq runs them all, so each is surely sent. */
async function sleeping(server: AiozmqServer, calls: Array<() => Promise<unknown>>): Promise<Array<Promise<unknown>>> {
  const before = server.ran.filter((n) => n === 'sleep').length;
  const started = calls.map((call) => call());
  for (const call of started) call.catch(() => {});
  await waitFor(() => server.ran.filter((n) => n === 'sleep').length >= before + calls.length, 5000, 'aiozmq to run the sleeps');
  return started;
}

describe('zrpc client with context on, aiozmq server', () => {
  for (const curve of [false, true]) {
    it(`answers calls carrying a deadline, metadata, interceptors${curve ? ' and a CURVE proof' : ''}, each context frame echoed and dropped`, async () => {
      const keys = curve ? { server: generateKeyPair(), client: generateKeyPair() } : undefined;
      await using server = await AiozmqServer.start(keys?.server.secretKey);
      const logger = recordingLogger();
      const { seen, interceptor } = recorder();
      await using client = await connectRpc({
        connect: server.endpoint,
        timeout: 5000,
        interceptors: [tracing, interceptor],
        logger,
        ...(keys ? { curve: { serverKey: keys.server.publicKey, ...keys.client } } : {}),
      });
      const before = Date.now();
      assert.equal(await client.with({ metadata: { tenant: 'acme', blob: new Uint8Array([0, 255]) } }).call.add(1, 2), 3);
      assert.equal(await client.call.add(1, kwargs({ b: 41 })), 42);
      assert.equal(await client.withTimeout(3000).call.billing.refund('r1', kwargs({ amount: 5 })), 'r1:5');
      assert.deepEqual(await client.call.echo({ list: [1, 'x', null], nested: { ok: true } }), { list: [1, 'x', null], nested: { ok: true } });
      await assert.rejects(client.with({ metadata: { tenant: 'acme' } }).call.fail('no'), isValueError('no'));
      await assert.rejects(client.call.nope(), (e: unknown) => e instanceof NotFoundError && e.method === 'nope');

      // aiozmq got every call with the context frame in front (identity, context, four
      // frames), ran the five that exist, and echoed the context frame with each answer.
      await server.answered('nope', 1);
      const calls = ['add', 'add', 'billing.refund', 'echo', 'fail', 'nope'];
      assert.deepEqual(server.received.map((r) => r.name), calls);
      assert.ok(server.received.every((r) => r.frames === 6 && r.context === 'call'), server.peer.lines.join('\n'));
      assert.deepEqual(server.ran, calls.slice(0, 5));
      assert.deepEqual(server.answers.map((a) => [a.name, a.outcome, a.pre]), [
        ['add', 'ok', 2],
        ['add', 'ok', 2],
        ['billing.refund', 'ok', 2],
        ['echo', 'ok', 2],
        ['fail', 'builtins.ValueError', 2],
        ['nope', NOT_FOUND, 2],
      ]);
      assert.equal(server.cancels.length, 0);

      // The interceptors saw each call with its metadata and deadline, and its outcome.
      assert.deepEqual(seen.map((s) => [s.method, s.outcome]), [
        ['add', 'ok'],
        ['add', 'ok'],
        ['billing.refund', 'ok'],
        ['echo', 'ok'],
        ['fail', 'ValueError'],
        ['nope', 'NotFoundError'],
      ]);
      assert.deepEqual(seen[0]!.metadata, { tenant: 'acme', blob: new Uint8Array([0, 255]), traceparent: TRACEPARENT });
      assert.deepEqual(seen[1]!.metadata, { traceparent: TRACEPARENT });
      for (const s of seen) assert.ok(s.deadline! >= before + 2900 && s.deadline! <= Date.now() + 5000, `deadline of ${s.method}`);
      assert.ok(seen[2]!.deadline! <= Date.now() + 3000, 'the per-call timeout is the deadline');
      assert.deepEqual(logger.lines.filter((l) => l.level !== 'debug'), [], 'the echoes are read as replies, not warned about');
      server.assertNoCancelRan();

      if (keys) {
        // CURVE really is on: a client without it never gets through.
        await using plain = await connectRpc({ connect: server.endpoint, timeout: 300, logger: recordingLogger() });
        await assert.rejects(plain.call.add(1, 2), RpcTimeoutError);
        assert.equal(server.received.length, calls.length);
      }
    });
  }

  it("sends one zrpc:cancel on a connection whose first call is abandoned; aiozmq answers NotFoundError, runs nothing, and hears no other", async () => {
    await using server = await AiozmqServer.start();
    const logger = recordingLogger();
    const { seen, interceptor } = recorder();
    await using client = await connectRpc({ connect: server.endpoint, timeout: 5000, interceptors: [tracing, interceptor], logger });

    // The first call on the connection times out before anything came back: the client
    // cannot know yet what the server is, so it sends the one cancel.
    await assert.rejects(client.withTimeout(1000).call.sleep(1.5), RpcTimeoutError);
    await server.answered('zrpc:cancel', 1);
    assert.equal(server.cancels.length, 1);
    // On the same connection, the cancel's answer comes before this one's: once this
    // returns, the client has read the echoed cancel.
    assert.equal(await client.call.add(1, 2), 3);

    // Later calls abandoned there, by abort, by timeout, several at once: no cancel.
    const controller = new AbortController();
    const [aborted] = await sleeping(server, [() => client.with({ signal: controller.signal, metadata: { tenant: 'acme' } }).call.sleep(0.6)]);
    controller.abort();
    await assert.rejects(aborted!, CallAbortedError);
    await assert.rejects(client.withTimeout(300).call.sleep(0.8), RpcTimeoutError);
    const together = new AbortController();
    const many = await sleeping(server, [1, 2, 3].map(() => () => client.withSignal(together.signal).call.sleep(0.6)));
    together.abort();
    for (const call of many) await assert.rejects(call, CallAbortedError);

    // aiozmq ran every sleep to its end (it knows no cancel) and answered; the client
    // dropped those late answers. Still one cancel, never run, one log line for it.
    await server.answered('sleep', 6, 6000);
    assert.equal(await client.call.add(2, 2), 4);
    // What Python prints reaches us by a pipe, which may lag behind the reply.
    await server.answered('add', 2);
    assert.equal(server.cancels.length, 1);
    assert.equal(server.received.length, 9, server.peer.lines.join('\n'));
    assert.deepEqual(new Set(server.ran), new Set(['sleep', 'add']));
    server.assertNoCancelRan();
    assert.equal(server.log.length, 1, server.log.join('\n'));
    assert.match(server.log[0]!, /NotFoundError\('zrpc:cancel'\)/);
    assert.deepEqual(seen.filter((s) => s.method === 'zrpc:cancel'), [], 'a cancel is no call the interceptors see');
    // The client's log: only the late answers it dropped, nothing about the cancel's.
    assert.ok(!logger.lines.some((l) => l.level !== 'debug' && !/reply to no pending call/.test(l.message)), JSON.stringify(logger.lines));
    assert.equal(client.pending, 0);
  });

  it('sends no cancel at all on a connection that already echoed a context frame', async () => {
    await using server = await AiozmqServer.start();
    await using client = await connectRpc({ connect: server.endpoint, timeout: 5000, interceptors: [tracing] });
    assert.equal(await client.call.add(1, 2), 3);
    await assert.rejects(client.withTimeout(300).call.sleep(0.8), RpcTimeoutError);
    const controller = new AbortController();
    const [aborted] = await sleeping(server, [() => client.withSignal(controller.signal).call.sleep(0.5)]);
    controller.abort();
    await assert.rejects(aborted!, CallAbortedError);
    await server.answered('sleep', 2);
    assert.equal(await client.call.add(3, 4), 7);
    await server.answered('add', 2);
    assert.deepEqual(server.received.map((r) => [r.name, r.context]), [
      ['add', 'call'],
      ['sleep', 'call'],
      ['sleep', 'call'],
      ['add', 'call'],
    ]);
    assert.deepEqual(server.log, []);
  });

  // Until a connection's first answer says which kind of server it is, the client sends
  // one cancel and holds the others (ServerLink.cancel); the echo of that one stops them.
  it('sends at most one zrpc:cancel per connection when several calls are abandoned together before any reply', async () => {
    await using server = await AiozmqServer.start();
    await using client = await connectRpc({ connect: server.endpoint, timeout: 5000, logger: recordingLogger() });
    // Both ways of giving up, each on a fresh connection to the same server: three
    // calls aborted at once, three calls timing out together.
    const controller = new AbortController();
    const aborted = await sleeping(server, [1, 2, 3].map(() => () => client.withSignal(controller.signal).call.sleep(0.5)));
    controller.abort();
    for (const call of aborted) await assert.rejects(call, CallAbortedError);
    await using timed = await connectRpc({ connect: server.endpoint, timeout: 5000, logger: recordingLogger() });
    const timing = await sleeping(server, [1, 2, 3].map(() => () => timed.withTimeout(1000).call.sleep(1.5)));
    for (const call of timing) await assert.rejects(call, RpcTimeoutError);
    await server.answered('sleep', 6, 6000);
    const perPeer = new Map<string, number>();
    for (const cancel of server.cancels) perPeer.set(cancel.peer, (perPeer.get(cancel.peer) ?? 0) + 1);
    server.assertNoCancelRan();
    assert.ok([...perPeer.values()].every((n) => n <= 1), `cancels per connection: ${JSON.stringify([...perPeer.values()])}\n${server.peer.lines.join('\n')}`);
    assert.ok(server.log.length <= 2, `aiozmq logged ${server.log.length} lines:\n${server.log.join('\n')}`);
  });
});

describe('aiozmq client, zrpc server with interceptors, logExceptions and a timeout', () => {
  it('serves aiozmq calls unchanged: no metadata, no deadline, two-frame replies', async () => {
    const logger = recordingLogger();
    const { seen, interceptor } = recorder();
    const contexts: CallContext[] = [];
    let slowAbort: unknown;
    const handler = {
      add: method((a: number, b = 1) => a + b),
      look: method((ctx: CallContext) => {
        contexts.push(ctx);
        return { deadline: ctx.deadline ?? null, metadata: { ...ctx.metadata }, curveKey: ctx.curveKey ?? null, remaining: String(ctx.remaining) };
      }, { context: true }),
      fail: method((message: string): never => {
        throw new RangeError(message);
      }),
      slow: method(
        (seconds: number, ctx: CallContext) =>
          new Promise((resolve) => {
            contexts.push(ctx);
            const timer = setTimeout(() => resolve(seconds), seconds * 1000);
            ctx.signal.addEventListener('abort', () => {
              slowAbort = ctx.signal.reason;
              clearTimeout(timer);
              resolve('stopped');
            });
          }),
        { context: true },
      ),
    };
    await using server = await serveRpc(handler, { bind: endpoint(), interceptors: [interceptor], logExceptions: true, timeout: 400, logger });
    await using python = new AiozmqClient(server.transport.bindings[0]!);

    assert.deepEqual(await python.call('add', [1, 2]), { ok: 3 });
    assert.deepEqual(await python.call('add', [1], { b: 41 }), { ok: 42 });
    assert.deepEqual(await python.call('look'), { ok: { deadline: null, metadata: {}, curveKey: null, remaining: 'Infinity' } });
    assert.deepEqual(await python.call('fail', ['bad']), { error: 'builtins.ValueError', args: ['bad'] });
    assert.deepEqual(await python.call('nope'), { error: NOT_FOUND, args: ['nope'] });
    const badParams = await python.call('add', [1, 2, 3]);
    assert.equal(badParams.error, 'aiozmq.rpc.base.ParametersError');
    const timedOut = await python.call('slow', [5]);
    assert.equal(timedOut.error, 'builtins.TimeoutError', JSON.stringify(timedOut));
    assert.ok(slowAbort instanceof RpcTimeoutError, String(slowAbort));
    assert.deepEqual(await python.call('zrpc:health'), { ok: { status: 'serving', running: 0 } });

    // Every reply aiozmq's client read was the two frames it expects.
    assert.deepEqual(python.replyFrames, [2, 2, 2, 2, 2, 2, 2, 2]);
    for (const ctx of contexts) {
      assert.equal(ctx.deadline, undefined);
      assert.deepEqual(ctx.metadata, {});
      assert.equal(ctx.curveKey, undefined);
    }
    // The interceptors saw each call (not the health probe, zrpc's own), plain.
    assert.deepEqual(seen.map((s) => [s.side, s.method, s.outcome]), [
      ['server', 'add', 'ok'],
      ['server', 'add', 'ok'],
      ['server', 'look', 'ok'],
      ['server', 'fail', 'RangeError'],
      ['server', 'nope', 'NotFoundError'],
      ['server', 'add', 'ParameterError'],
      ['server', 'slow', 'ok'],
      ['server', 'zrpc:health', 'ok'],
    ]);
    for (const s of seen) {
      assert.deepEqual(s.metadata, {});
      assert.equal(s.deadline, undefined);
    }
    // logExceptions reported the handler's own error, not the caller's mistakes.
    const errors = logger.lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, JSON.stringify(logger.lines));
    assert.match(errors[0]!.message, /fail.*bad/);
  });
  it('serves an aiozmq client over CURVE: it sends no key proof, so ctx.curveKey stays undefined', async () => {
    const serverKeys = generateKeyPair();
    const clientKeys = generateKeyPair();
    const { seen, interceptor } = recorder();
    const look = method((ctx: CallContext) => ({ deadline: ctx.deadline ?? null, metadata: { ...ctx.metadata }, curveKey: ctx.curveKey ?? null }), { context: true });
    await using server = await serveRpc(
      { look },
      { bind: endpoint(), curve: { secretKey: serverKeys.secretKey, allow: [clientKeys.publicKey] }, interceptors: [interceptor], logExceptions: true, timeout: 2000 },
    );
    await using python = new AiozmqClient(server.transport.bindings[0]!, { serverKey: serverKeys.publicKey, ...clientKeys });
    assert.deepEqual(await python.call('look'), { ok: { deadline: null, metadata: {}, curveKey: null } });
    assert.deepEqual(python.replyFrames, [2]);
    assert.deepEqual(seen.map((s) => [s.method, s.outcome, s.deadline, s.metadata]), [['look', 'ok', undefined, {}]]);
  });
});

describe('a chain mixing both: aiozmq client -> zrpc server -> aiozmq server', () => {
  it('relays through a zrpc client with a timeout, metadata and interceptors', async () => {
    await using back = await AiozmqServer.start();
    const { seen, interceptor } = recorder();
    const outward: RpcClient = await connectRpc({ connect: back.endpoint, timeout: 1000, interceptors: [tracing, interceptor], logger: recordingLogger() });
    const inbound = recorder();
    await using front = await serveRpc(
      {
        relay: method((a: number, b: number, ctx: CallContext) => outward.with({ metadata: { tenant: 'acme', caller: String(ctx.deadline) } }).call.add(a, b), {
          context: true,
        }),
        relayFail: method((message: string) => outward.call.fail(message)),
        relaySleep: method((seconds: number) => outward.call.sleep(seconds)),
      },
      { bind: endpoint(), interceptors: [inbound.interceptor], logger: recordingLogger() },
    );
    await using python = new AiozmqClient(front.transport.bindings[0]!);
    try {
      assert.deepEqual(await python.call('relay', [20, 22]), { ok: 42 });
      // Python's error crosses both hops and arrives as itself, args kept.
      assert.deepEqual(await python.call('relayFail', ['deep']), { error: 'builtins.ValueError', args: ['deep', 42] });
      // The inner call's own timeout (the Python caller sent no deadline) ends it.
      assert.deepEqual(await python.call('relaySleep', [1.5]), { error: 'builtins.TimeoutError', args: ['call sleep timed out after 1000 ms'] });
      assert.deepEqual(await python.call('relay', [1, 1]), { ok: 2 });
      assert.deepEqual(python.replyFrames, [2, 2, 2, 2]);

      await back.answered('sleep', 1, 5000);
      await back.answered('add', 2);
      assert.deepEqual(back.ran, ['add', 'fail', 'sleep', 'add']);
      const calls = back.received.filter((r) => r.context === 'call');
      assert.deepEqual(calls.map((r) => [r.name, r.frames]), [
        ['add', 6],
        ['fail', 6],
        ['sleep', 6],
        ['add', 6],
      ]);
      // The hop out had echoed context before the sleep timed out: no cancel went.
      assert.equal(back.cancels.length, 0);
      back.assertNoCancelRan();
      assert.deepEqual(seen[0]!.metadata, { tenant: 'acme', caller: 'undefined', traceparent: TRACEPARENT });
      assert.deepEqual(seen.map((s) => [s.method, s.outcome]), [
        ['add', 'ok'],
        ['fail', 'ValueError'],
        ['sleep', 'RpcTimeoutError'],
        ['add', 'ok'],
      ]);
      assert.deepEqual(inbound.seen.map((s) => [s.method, s.deadline, s.metadata]), [
        ['relay', undefined, {}],
        ['relayFail', undefined, {}],
        ['relaySleep', undefined, {}],
        ['relay', undefined, {}],
      ]);
    } finally {
      await outward.close();
    }
  });
});
