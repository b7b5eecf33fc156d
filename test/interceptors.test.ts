/**
 * Interceptors on clients and servers of all three patterns, on real sockets: what they
 * see, the order they run in, and what they may change or refuse.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  builtins,
  CallContext,
  connectPipeline,
  connectPubSub,
  connectRpc,
  method,
  RpcTimeoutError,
  servePipeline,
  servePubSub,
  serveRpc,
  type Call,
  type Interceptor,
} from 'zrpc';
import { endpoint, recordingLogger, waitFor } from './support/helpers.js';

/** An interceptor that records what it sees, in `log`, under `label`. */
function recorder(label: string, log: string[], seen: Call[] = []): Interceptor {
  return (next) => async (call) => {
    seen.push(call);
    log.push(`${label} > ${call.side} ${call.pattern} ${call.method}`);
    try {
      const result = await next(call);
      log.push(`${label} < ${JSON.stringify(result ?? null)}`);
      return result;
    } catch (error) {
      log.push(`${label} ! ${(error as Error).constructor.name}`);
      throw error;
    }
  };
}

const service = {
  add: method((a: number, b: number) => a + b),
  fail: method(() => {
    throw new RangeError('no');
  }),
  whoami: method((ctx: CallContext) => ctx.metadata.user ?? 'nobody', { context: true }),
};

describe('RPC interceptors', () => {
  it('run in order around the call on both sides, seeing method, arguments, metadata, deadline, result and error', async () => {
    const log: string[] = [];
    const clientSeen: Call[] = [];
    const serverSeen: Call[] = [];
    await using server = await serveRpc(service, { bind: endpoint(), interceptors: [recorder('s1', log, serverSeen), recorder('s2', log)] });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 2000, interceptors: [recorder('c1', log, clientSeen), recorder('c2', log)] });
    const start = Date.now();
    assert.equal(await client.with({ metadata: { tenant: 'acme' } }).call.add(2, 3), 5);
    const took = Date.now() - start;
    assert.deepEqual(log, ['c1 > client rpc add', 'c2 > client rpc add', 's1 > server rpc add', 's2 > server rpc add', 's2 < 5', 's1 < 5', 'c2 < 5', 'c1 < 5']);
    const [c] = clientSeen;
    assert.deepEqual([c!.args, c!.metadata, c!.context], [[2, 3], { tenant: 'acme' }, undefined]);
    assert.ok(c!.deadline! > Date.now() && c!.deadline! <= Date.now() + 2000);
    const [s] = serverSeen;
    assert.deepEqual([s!.args, s!.metadata.tenant, s!.context!.method], [[2, 3], 'acme', 'add']);
    // The server counts from its receipt: later than the client's count by the transit (and the first handshake), no more.
    const lag = s!.deadline! - c!.deadline!;
    assert.ok(lag >= -5 && lag <= took + 5, `the server's deadline is ${lag} ms after the client's; the call took ${took} ms`);
    assert.ok(s!.signal instanceof AbortSignal);

    log.length = 0;
    await assert.rejects(client.call.fail(), RangeError);
    assert.deepEqual(log, ['c1 > client rpc fail', 'c2 > client rpc fail', 's1 > server rpc fail', 's2 > server rpc fail', 's2 ! RangeError', 's1 ! RangeError', 'c2 ! ValueError', 'c1 ! ValueError']);

    log.length = 0;
    await assert.rejects(client.call.missing(), (e: unknown) => e instanceof Error && e.name === 'NotFoundError');
    assert.deepEqual(log.slice(2, 4), ['s1 > server rpc missing', 's2 > server rpc missing'], 'a server interceptor sees calls to unknown methods too');
  });

  it('may add metadata (client), refuse a call before the handler runs, and replace arguments (server)', async () => {
    let ran = 0;
    const auth: Interceptor = (next) => async (call) => {
      if (call.metadata.authorization !== 'Bearer good') throw new builtins.PermissionError('who are you?');
      return next(call);
    };
    const double: Interceptor = (next) => (call) => {
      call.args = call.args.map((a) => (a as number) * 2);
      return next(call);
    };
    const counted = { add: method((a: number, b: number) => (ran++, a + b)), whoami: service.whoami };
    await using server = await serveRpc(counted, { bind: endpoint(), interceptors: [auth, double] });
    const token = (value: string): Interceptor => (next) => (call) => {
      call.metadata.authorization = value;
      call.metadata.user = 'ada';
      return next(call);
    };
    await using good = await connectRpc({ connect: server.transport.bindings[0], interceptors: [token('Bearer good')] });
    await using bad = await connectRpc({ connect: server.transport.bindings[0], interceptors: [token('Bearer bad')] });
    await using none = await connectRpc({ connect: server.transport.bindings[0] });
    assert.equal(await good.call.add(1, 2), 6);
    assert.equal(await good.call.whoami(), 'ada');
    await assert.rejects(bad.call.add(1, 2), (e: unknown) => e instanceof builtins.PermissionError && /who are you/.test((e as Error).message));
    await assert.rejects(none.call.add(1, 2), builtins.PermissionError);
    assert.equal(ran, 1);
  });

  it('sees the context of the handler a call is made from, and the time each call took', async () => {
    const timings: Array<[string, number]> = [];
    const timing: Interceptor = (next) => async (call) => {
      const start = performance.now();
      try {
        return await next(call);
      } finally {
        timings.push([`${call.side} ${call.method}`, performance.now() - start]);
      }
    };
    await using back = await serveRpc(service, { bind: endpoint() });
    const parents: Array<CallContext | undefined> = [];
    await using client = await connectRpc({
      connect: back.transport.bindings[0],
      interceptors: [timing, (next) => (call) => (parents.push(call.context), next(call))],
    });
    await using front = await serveRpc(
      { relay: method((a: number, ctx: CallContext) => client.call.add(a, 1), { context: true }) },
      { bind: endpoint(), interceptors: [timing] },
    );
    await using caller = await connectRpc({ connect: front.transport.bindings[0] });
    assert.equal(await caller.call.relay(41), 42);
    assert.equal(parents[0]?.method, 'relay');
    assert.deepEqual(timings.map(([name]) => name), ['client add', 'server relay']);
    assert.ok(timings.every(([, ms]) => ms >= 0 && ms < 5000));
  });

  it("counts the time client interceptors take against the call's timeout (a slow token fetch, a second try)", async () => {
    const told: number[] = [];
    const slowService = {
      wait: method(
        async (ms: number, ctx: CallContext) => {
          told.push(ctx.remaining);
          await new Promise((resolve) => setTimeout(resolve, ms));
          return ms;
        },
        { context: true },
      ),
    };
    await using server = await serveRpc(slowService, { bind: endpoint() });
    const fetchToken: Interceptor = (next) => async (call) => (await new Promise((resolve) => setTimeout(resolve, 300)), next(call));
    const twice: Interceptor = (next) => async (call) => {
      try {
        return await next(call);
      } catch {
        return next(call);
      }
    };
    await using slowStart = await connectRpc({ connect: server.transport.bindings[0], interceptors: [fetchToken] });
    // 300 ms in the interceptor and 300 in the handler: more than the 500 the caller allows.
    // The server is told what is left after the interceptor (a stall only makes it less);
    // counted from after it, the call would have its whole 500 ms.
    await assert.rejects(slowStart.with({ timeout: 500 }).call.wait(300), (error: Error) => error instanceof RpcTimeoutError && /after 500 ms/.test(error.message));
    // (A stall past 500 ms sends it with nothing left, and the server does not run it.)
    assert.ok(told.length <= 1 && told.every((ms) => ms <= 200 + 2), `the server was told ${told.join()} ms were left of 500, 300 of them spent in the interceptor`);
    // Two tries share one timeout: the first times out at 400 ms, the second has nothing
    // left. Timers never fire early, so a fresh timeout per try would take 800 ms or more.
    await using retrying = await connectRpc({ connect: server.transport.bindings[0], interceptors: [twice] });
    const again = performance.now();
    await assert.rejects(retrying.with({ timeout: 400 }).call.wait(1000), RpcTimeoutError);
    assert.ok(performance.now() - again < 790, `two tries took ${(performance.now() - again).toFixed(0)} ms of a 400 ms timeout`);
  });

  it("see the server's timeout end a call through call.signal, while next settles with the handler, which keeps its concurrency slot", async () => {
    let finished = 0;
    const slow = {
      // Ignores its signal and ends at 600 ms: a handler the timeout cannot stop.
      stubborn: method(async () => (await new Promise((resolve) => setTimeout(resolve, 600)), finished++, 'late')),
      quick: method(() => (finished++, 'now')),
    };
    const seen: string[] = [];
    const watching: Interceptor = (next) => async (call) => {
      const start = performance.now();
      call.signal!.addEventListener('abort', () => seen.push(`abort ${(call.signal!.reason as Error).constructor.name} ${performance.now() - start < 500}`));
      const result = await next(call);
      seen.push(`next ${String(result)} ${performance.now() - start >= 590}`);
      return result;
    };
    await using server = await serveRpc(slow, { bind: endpoint(), timeout: 200, concurrency: 1, interceptors: [watching] });
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    const started = performance.now();
    await assert.rejects(client.call.stubborn(), RpcTimeoutError);
    assert.deepEqual(seen, ['abort RpcTimeoutError true'], 'the signal aborted at the timeout, with the error the caller got');
    // With concurrency 1, the next call waits for the stubborn handler to really end.
    assert.equal(await client.call.quick(), 'now');
    assert.ok(performance.now() - started >= 590, 'quick ran before the stubborn handler ended');
    assert.deepEqual(seen, ['abort RpcTimeoutError true', 'next late true', 'next now false']);
    assert.equal(finished, 2);
  });

  it('a call whose timeout passed while an interceptor waited is not run', async () => {
    let ran = 0;
    const late: Interceptor = (next) => async (call) => (await new Promise((resolve) => setTimeout(resolve, 300)), next(call));
    await using server = await serveRpc({ add: method((a: number, b: number) => (ran++, a + b)) }, { bind: endpoint(), timeout: 100, interceptors: [late] });
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    await assert.rejects(client.call.add(1, 2), RpcTimeoutError);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(ran, 0, 'the handler ran for a call already answered with a timeout');
  });

  it('refuses an interceptor list that is not made of functions, naming the bad one', async () => {
    await assert.rejects(serveRpc(service, { bind: endpoint(), interceptors: [42 as never] }), /interceptors\[0\] must be a function/);
    await assert.rejects(connectRpc({ connect: 'tcp://127.0.0.1:9', interceptors: [() => 'nope' as never] }), /interceptors\[0\] must return a function/);
    await assert.rejects(connectRpc({ connect: 'tcp://127.0.0.1:9', interceptors: {} as never }), /interceptors must be an array/);
  });

  it("logExceptions logs no call ended by a cancel or the server's timeout, but a handler's own late error", async () => {
    const logger = recordingLogger();
    const slowly: Interceptor = (next) => async (call) => (await new Promise((resolve) => setTimeout(resolve, 150)), next(call));
    const handlers = {
      add: method((a: number, b: number) => a + b),
      // Throws its own error after the timeout has answered the call.
      buggy: method(async () => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        throw new TypeError('the real bug');
      }),
    };
    await using server = await serveRpc(handlers, { bind: endpoint(), timeout: 100, logExceptions: true, logger, interceptors: [slowly] });
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    await assert.rejects(client.call.add(1, 2), RpcTimeoutError);
    const controller = new AbortController();
    const cancelled = client.with({ signal: controller.signal }).call.add(1, 2);
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(cancelled, /aborted/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(logger.lines.map((l) => l.message), [], 'a timeout or a cancel is no handler error');
    await using direct = await serveRpc(handlers, { bind: endpoint(), timeout: 100, logExceptions: true, logger });
    await using toDirect = await connectRpc({ connect: direct.transport.bindings[0] });
    await assert.rejects(toDirect.call.buggy(), RpcTimeoutError);
    await waitFor(() => logger.lines.some((l) => /call buggy raised .*the real bug/.test(l.message)), 1000, "the handler's own error");
  });

  it('logExceptions is an interceptor: it logs what handlers raise, not what callers get wrong', async () => {
    const logger = recordingLogger();
    await using server = await serveRpc(service, { bind: endpoint(), logExceptions: true, logger });
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    await assert.rejects(client.call.fail(), RangeError);
    await assert.rejects(client.call.add('x'), Error);
    await waitFor(() => logger.lines.some((l) => /call fail raised/.test(l.message)), 1000, 'the log line');
    assert.equal(logger.lines.filter((l) => l.level === 'error').length, 1);
  });
});

describe('one-way interceptors', () => {
  it('pipeline: run on the sending and the receiving side, with no metadata on the wire', async () => {
    const log: string[] = [];
    const got: number[] = [];
    const serverSeen: Call[] = [];
    await using server = await servePipeline({ push: method((n: number) => void got.push(n)) }, { bind: endpoint(), interceptors: [recorder('s', log, serverSeen)] });
    await using client = await connectPipeline({
      connect: server.transport.bindings[0],
      interceptors: [recorder('c', log), (next) => (call) => ((call.metadata.ignored = 'x'), next(call))],
    });
    await client.notify.push(7);
    await waitFor(() => got.length === 1, 2000, 'the notification');
    await waitFor(() => log.length === 4, 1000, 'the server interceptor to finish');
    assert.deepEqual(log, ['c > client pipeline push', 'c < null', 's > server pipeline push', 's < null']);
    assert.deepEqual(serverSeen[0]!.metadata, {});
  });

  it('pub/sub: see the topic on both sides, and may drop a message before it is sent', async () => {
    const log: string[] = [];
    const got: string[] = [];
    const topics: unknown[] = [];
    await using server = await servePubSub(
      { item: method((s: string) => void got.push(s)) },
      { bind: endpoint(), subscribe: '', interceptors: [(next) => (call) => (topics.push(Buffer.from(call.topic as Uint8Array).toString()), next(call))] },
    );
    const filter: Interceptor = (next) => async (call) => {
      if (call.args[0] === 'secret') return undefined;
      return next(call);
    };
    await using client = await connectPubSub({ connect: server.transport.bindings[0], interceptors: [recorder('c', log), filter] });
    await waitFor(async () => {
      await client.publish('news').item('hello');
      return got.length > 0;
    }, 3000, 'the subscription');
    await client.publish('news').item('secret');
    await client.publish('news').item('last');
    await waitFor(() => got.includes('last'), 2000, 'the last message');
    assert.ok(!got.includes('secret'));
    assert.equal(topics[0], 'news');
    assert.ok(log.includes('c > client pubsub item'));
  });
});
