import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttrHandler,
  CallAbortedError,
  ConnectionLostError,
  CallContext,
  GenericError,
  NotFoundError,
  ParameterError,
  RpcTimeoutError,
  ServiceClosedError,
  builtins,
  connectRpc,
  kwargs,
  method,
  serveRpc,
  type RpcClient,
  type RpcServer,
} from 'zrpc';
import { endpoint, recordingLogger, waitFor, type Transport } from './support/helpers.js';

class Calculator extends AttrHandler {
  calls = 0;

  @method
  add(a: number, b: number): number {
    this.calls++;
    return a + b;
  }

  @method
  scale(x: number, factor = 2): number {
    return x * factor;
  }

  @method
  async sleep(ms: number): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    return `slept ${ms}`;
  }

  @method({ context: true })
  async wait(ms: number, ctx: CallContext): Promise<string> {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      ctx.signal.addEventListener('abort', () => (clearTimeout(timer), reject(ctx.signal.reason)));
    });
    return 'done';
  }

  @method
  fail(kind: string): never {
    if (kind === 'type') throw new TypeError('wrong type');
    if (kind === 'range') throw new RangeError('out of range');
    if (kind === 'custom') throw new InsufficientFunds(10, 3);
    throw new Error(kind);
  }

  notRemote(): string {
    return 'secret';
  }

  readonly billing = new Billing();
}

class Billing extends AttrHandler {
  @method
  refund(id: string, amount: number): string {
    return `${id}:${amount}`;
  }

  readonly audit = { log: method((line: string) => `logged ${line}`) };
}

class InsufficientFunds extends Error {
  constructor(
    readonly wanted: number,
    readonly available: number,
  ) {
    super(`wanted ${wanted}, have ${available}`);
  }

  get args(): unknown[] {
    return [this.wanted, this.available];
  }
}

async function pair(kind: Transport = 'tcp', clientOptions: Parameters<typeof connectRpc>[0] = {}) {
  const handler = new Calculator();
  const server = await serveRpc(handler, { bind: endpoint(kind) });
  const client = await connectRpc({ connect: server.transport.bindings[0], ...clientOptions });
  return {
    handler,
    server,
    client,
    async [Symbol.asyncDispose]() {
      await client.close();
      await server.close();
    },
  };
}

describe('request/reply', () => {
  for (const kind of ['tcp', 'ipc', 'inproc'] as const) {
    it(`calls a method over ${kind}`, async () => {
      await using p = await pair(kind);
      assert.equal(await p.client.call.add(1, 2), 3);
    });
  }

  it('calls through namespaces, nested handlers and plain objects', async () => {
    await using p = await pair();
    assert.equal(await p.client.call.billing.refund('r1', 5), 'r1:5');
    assert.equal(await p.client.call.billing.audit.log('x'), 'logged x');
  });

  it('binds named arguments like Python, with defaults', async () => {
    await using p = await pair();
    assert.equal(await p.client.call.add(1, kwargs({ b: 2 })), 3);
    assert.equal(await p.client.call.add(kwargs({ b: 2, a: 40 })), 42);
    assert.equal(await p.client.call.scale(5), 10);
    assert.equal(await p.client.call.scale(5, kwargs({ factor: 3 })), 15);
    assert.equal(await p.client.invoke('add', [1], { b: 41 }), 42);
  });

  it('answers ParameterError for arguments that do not fit the signature', async () => {
    await using p = await pair();
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [() => p.client.call.add(1, 2, 3), /add: too many positional arguments \(takes 2, got 3\)/],
      [() => p.client.call.add(1), /add: missing a required argument: 'b'/],
      [() => p.client.call.add(1, kwargs({ c: 1 })), /add: got an unexpected keyword argument 'c'/],
      [() => p.client.call.add(1, 2, kwargs({ a: 1 })), /too many positional|multiple values/],
      [() => p.client.call.add(1, kwargs({ a: 1 })), /add: multiple values for argument 'a'/],
    ];
    for (const [call, message] of cases) {
      await assert.rejects(call, (error: unknown) => error instanceof ParameterError && message.test(error.message));
    }
    assert.equal(p.handler.calls, 0, 'no bad call reached the handler');
  });

  it('answers NotFoundError for unknown and unmarked names', async () => {
    await using p = await pair();
    // The empty name is refused before sending (calls.test.ts); a server still answers it NotFoundError (hostile input).
    for (const name of ['nope', 'notRemote', 'billing', 'billing.nope', 'constructor', '__proto__.add', 'add.x', 'calls']) {
      await assert.rejects(p.client.invoke(name), (error: unknown) => {
        assert.ok(error instanceof NotFoundError, `${name}: ${String(error)}`);
        assert.equal(error.method, name);
        return true;
      });
    }
  });

  it('re-raises remote errors as their classes, with args', async () => {
    await using p = await pair(
      'tcp',
      { errorTable: { InsufficientFunds } },
    );
    await assert.rejects(p.client.call.fail('type'), (e: unknown) => e instanceof builtins.TypeError && e.message === 'wrong type' && e.excRepr === "TypeError('wrong type')");
    await assert.rejects(p.client.call.fail('range'), (e: unknown) => e instanceof builtins.ValueError && e.arguments[0] === 'out of range');
    await assert.rejects(p.client.call.fail('plain'), (e: unknown) => e instanceof builtins.Exception && e.excType === 'builtins.Exception');
    await assert.rejects(p.client.call.fail('custom'), (e: unknown) => {
      assert.ok(e instanceof InsufficientFunds);
      assert.deepEqual([e.wanted, e.available], [10, 3]);
      return true;
    });
  });

  it('raises GenericError for an error type not in any table', async () => {
    await using p = await pair();
    await assert.rejects(p.client.call.fail('custom'), (e: unknown) => {
      assert.ok(e instanceof GenericError);
      assert.equal(e.excType, 'InsufficientFunds');
      assert.deepEqual(e.arguments, [10, 3]);
      assert.equal(e.excRepr, 'InsufficientFunds(10, 3)');
      return true;
    });
  });

  it('keeps many calls in flight on one client and matches every reply', async () => {
    await using p = await pair();
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => p.client.call.add(i, i)));
    assert.deepEqual(results, Array.from({ length: 2000 }, (_, i) => 2 * i));
    assert.equal(p.client.pending, 0);
  });

  it('runs async handlers concurrently', async () => {
    // Each handler waits until all twenty are running at once: only concurrency lets them finish.
    let active = 0;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const handler = {
      meet: method(async () => {
        if (++active === 20) openGate();
        await gate;
        return active;
      }),
    };
    await using server = await serveRpc(handler, { bind: endpoint() });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 5000 });
    const results = await Promise.all(Array.from({ length: 20 }, () => client.call.meet()));
    assert.deepEqual(results, Array(20).fill(20));
  });

  it('routes replies to the right client among many', async () => {
    const server = await serveRpc(new Calculator(), { bind: endpoint() });
    const clients: RpcClient[] = [];
    try {
      for (let i = 0; i < 8; i++) clients.push(await connectRpc({ connect: server.transport.bindings[0] }));
      const all = await Promise.all(
        clients.flatMap((client, c) => Array.from({ length: 100 }, (_, i) => client.call.add(c * 1000, i).then((r) => [c, i, r]))),
      );
      for (const [c, i, r] of all) assert.equal(r, (c as number) * 1000 + (i as number));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    }
  });

  it('times out on the client, which cancels the call on the server: no late reply comes', async () => {
    const logger = recordingLogger();
    await using p = await pair('tcp', { timeout: 50, logger });
    await assert.rejects(p.client.call.sleep(300), (e: unknown) => e instanceof RpcTimeoutError && /sleep timed out after 50 ms/.test(e.message));
    assert.equal(p.client.pending, 0);
    await waitFor(() => p.server.running === 0, 1000, 'the server to drop the cancelled call');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(logger.lines.filter((l) => /dropped a reply/.test(l.message)), []);
    // A per-call timeout overrides the client's default.
    assert.equal(await p.client.withTimeout(1000).call.sleep(100), 'slept 100');
    assert.equal(await p.client.with({ timeout: undefined }).call.sleep(60), 'slept 60');
  });

  it('aborts the handler when the server timeout expires and tells the caller', async () => {
    const server = await serveRpc(new Calculator(), { bind: endpoint(), timeout: 50 });
    const client = await connectRpc({ connect: server.transport.bindings[0] });
    try {
      await assert.rejects(client.call.wait(5000), (e: unknown) => e instanceof RpcTimeoutError && /wait: handler took longer than 50 ms/.test(e.message));
      await waitFor(() => server.running === 0, 1000, 'handler to be released');
      assert.equal(await client.call.wait(1), 'done');
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('cancels a call through its AbortSignal', async () => {
    await using p = await pair();
    const controller = new AbortController();
    const call = p.client.withSignal(controller.signal).call.sleep(500);
    setTimeout(() => controller.abort(new Error('user gave up')), 20);
    await assert.rejects(call, (e: unknown) => {
      assert.ok(e instanceof CallAbortedError);
      assert.equal(e.name, 'AbortError');
      assert.equal((e.cause as Error).message, 'user gave up');
      return true;
    });
    await assert.rejects(p.client.invoke('add', [1, 2], undefined, { signal: AbortSignal.abort() }), CallAbortedError);
    assert.equal(p.client.pending, 0);
  });

  it('settles pending calls on close and refuses use after it', async () => {
    const p = await pair();
    const pending = p.client.call.sleep(1000);
    await p.client.close();
    await assert.rejects(pending, (e) => e instanceof ServiceClosedError && /close\(\) was called/.test(e.message));
    await assert.rejects(p.client.call.add(1, 2), (e) => e instanceof ServiceClosedError && /^cannot call add: it is closed .*open a new one/.test(e.message));
    assert.throws(() => p.client.transport, ServiceClosedError);
    await p.client.waitClosed();
    await p.server.close();
    await p.server.close();
  });

  it('aborts running handlers when the server closes', async () => {
    const handler = new Calculator();
    const server: RpcServer = await serveRpc(handler, { bind: endpoint() });
    const client = await connectRpc({ connect: server.transport.bindings[0], timeout: 10_000 });
    const call = client.call.wait(10_000);
    await waitFor(() => server.running === 1, 2000, 'handler to start');
    await server.close();
    assert.equal(server.running, 0);
    await assert.rejects(call, ConnectionLostError);
    await client.close();
  });

  it('binds, connects and unbinds endpoints at run time', async () => {
    await using p = await pair();
    const second = await p.server.transport.bind(endpoint('ipc'));
    assert.equal(p.server.transport.bindings.length, 2);
    const client = await connectRpc({ connect: second });
    assert.equal(await client.call.add(2, 2), 4);
    await client.close();
    await p.server.transport.unbind(second);
    assert.deepEqual(p.server.transport.bindings.length, 1);
    const first = p.server.transport.bindings[0]!;
    p.client.transport.disconnect(first);
    assert.deepEqual(p.client.transport.connections, []);
    p.client.transport.connect(first);
    // ZeroMQ may hand a message sent in the instant a disconnect takes effect to the
    // dying connection (README, Faults): such a call fails by its timeout, and the next works.
    let sum: unknown;
    for (let attempt = 0; attempt < 20 && sum === undefined; attempt++) {
      sum = await p.client.withTimeout(250).call.add(3, 3).catch((e: unknown) => assert.ok(e instanceof RpcTimeoutError, String(e)));
    }
    assert.equal(sum, 6);
  });

  it('binds several endpoints at once and takes socket options', async () => {
    const server = await serveRpc(new Calculator(), {
      bind: [endpoint('tcp'), endpoint('inproc')],
      socket: { maxMessageSize: 1 << 20, receiveHighWaterMark: 5000 },
    });
    try {
      assert.equal(server.transport.bindings.length, 2);
      assert.equal((server.transport.socket as unknown as { maxMessageSize: number }).maxMessageSize, 1 << 20);
      const client = await connectRpc({ connect: server.transport.bindings[1] });
      assert.equal(await client.call.add(1, 1), 2);
      await client.close();
    } finally {
      await server.close();
    }
  });

  it('refuses values it cannot encode before sending', async () => {
    await using p = await pair();
    await assert.rejects(p.client.call.add(new Set([1]), 2), /cannot encode an instance of Set/);
    assert.equal(p.client.pending, 0);
  });

  it('logs handler errors when asked, except excluded classes', async () => {
    const logger = recordingLogger();
    const server = await serveRpc(new Calculator(), {
      bind: endpoint(),
      logger,
      logExceptions: true,
      excludeLogExceptions: [RangeError],
    });
    const client = await connectRpc({ connect: server.transport.bindings[0] });
    try {
      await assert.rejects(client.call.fail('range'));
      await assert.rejects(client.call.fail('type'));
      const errors = logger.lines.filter((l) => l.level === 'error');
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, /call fail raised/);
      assert.ok(errors[0]!.fields?.error instanceof TypeError);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
