/**
 * Bounds that hold at the edges a review found: the handler bound with a server timeout,
 * close while the reader waits at that bound, messages of empty containers, explanations
 * of failures under unions, maps under unions, sends with a send timeout, and log lines
 * from names with line breaks.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Dealer, Push } from 'zeromq';
import Type from 'typebox';
import { ErrorTranslator, Packer, ParameterError, ProtocolError, RpcTimeoutError, connectPipeline, connectRpc, method, servePipeline, serveRpc, type CallContext } from 'zrpc';
import { decodeReplyHeader, encodeRequestHeader } from '../src/runtime/wire/header.js';
import { endpoint, recordingLogger, waitFor } from './support/helpers.js';

const packer = new Packer();
const NO_KWARGS = Buffer.from([0x80]);

/** A handler that waits until the test lets it go (or its signal aborts). */
function gate() {
  let started = 0;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const wait = method(
    async (ctx: CallContext) => {
      started++;
      await Promise.race([released, new Promise((r) => ctx.signal.addEventListener('abort', r))]);
      return 'done';
    },
    { context: true },
  );
  return { wait, release, get started() { return started; } };
}

async function rawCall(dealer: Dealer, id: number, name: string | Buffer, args: Uint8Array, kwargs: Uint8Array = NO_KWARGS) {
  await dealer.send([encodeRequestHeader(0, id), name, args, kwargs]);
  const [header, body] = await dealer.receive();
  const fields = decodeReplyHeader(header!)!;
  assert.equal(fields.requestId, id);
  return { isError: fields.isError, value: packer.decode(body!) };
}

describe('server bounds', () => {
  it('counts a handler until it really ends, even after its timeout answered the caller', async () => {
    const g = gate();
    await using server = await serveRpc({ wait: g.wait, slow: method(() => new Promise(() => {})) }, { bind: endpoint(), concurrency: 2, timeout: 30 });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 5000 });
    // Handlers that ignore their signal keep running after the timeout answers.
    const calls = Array.from({ length: 10 }, () => client.call.slow().catch((e: unknown) => e));
    await waitFor(async () => (await Promise.race([calls[1]!, new Promise((r) => setTimeout(r, 10, 'pending'))])) !== 'pending', 3000, 'first two to time out');
    assert.ok((await calls[0]) instanceof RpcTimeoutError);
    // The bound still counts the two stuck handlers: nothing else was started.
    await new Promise((r) => setTimeout(r, 200));
    const settled = await Promise.all(calls.slice(2).map((c) => Promise.race([c, new Promise((r) => setTimeout(r, 0, 'pending'))])));
    assert.ok(settled.every((s) => s === 'pending'), 'calls beyond the bound wait unread');
  });

  it('closes while its reader waits at the bound, starting no handler after close', async () => {
    const g = gate();
    const server = await serveRpc({ wait: g.wait }, { bind: endpoint(), concurrency: 1 });
    const client = await connectRpc({ connect: server.transport.bindings[0], timeout: 2000 });
    const calls = [client.call.wait(), client.call.wait(), client.call.wait()].map((c) => c.catch((e: unknown) => e));
    await waitFor(() => g.started === 1, 2000, 'the first handler');
    await new Promise((r) => setTimeout(r, 50)); // the others are queued in ZeroMQ
    await server.close();
    assert.equal(g.started, 1, 'no handler started after close');
    await client.close();
    await Promise.all(calls);
  });

  it('refuses a message of four million empty containers (maxItems), which would take ~64 bytes of heap per byte', async () => {
    await using server = await serveRpc({ echo: method((x: unknown) => x) }, { bind: endpoint() });
    const dealer = new Dealer({ linger: 0, receiveTimeout: 5000 });
    dealer.connect(server.transport.bindings[0]!);
    try {
      const count = 4 * 2 ** 20 + 16;
      const bomb = Buffer.alloc(5 + count, 0x90); // [[], [], ...]
      bomb[0] = 0xdd;
      bomb.writeUInt32BE(count, 1);
      const before = process.memoryUsage().heapUsed;
      const reply = await rawCall(dealer, 1, 'echo', packer.encode([null]), bomb);
      assert.equal(reply.isError, true);
      const error = new ErrorTranslator().fromWire(reply.value);
      assert.ok(error instanceof ProtocolError, String(error));
      assert.match(error.message, /Max items exceeded/);
      assert.ok(process.memoryUsage().heapUsed - before < 64 * 2 ** 20, 'the refusal did not build the containers');
      assert.deepEqual(await rawCall(dealer, 2, 'echo', packer.encode(['ok'])), { isError: false, value: 'ok' });
    } finally {
      dealer.close();
    }
  });

  it('explains a failure under a nullable array by its first bad item, without walking the rest', async () => {
    const spec = { params: [{ name: 'xs', schema: Type.Union([Type.Array(Type.Number()), Type.Null()]) }] };
    const strict = { params: [{ name: 'o', schema: Type.Object({ a: Type.Number() }, { additionalProperties: false }) }] };
    await using server = await serveRpc({ sum: method((xs: number[] | null) => xs?.length ?? 0, spec), take: method((_o: unknown) => 1, strict) }, { bind: endpoint() });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 10_000 });
    const bad = Array.from({ length: 200_000 }, () => 'x');
    await assert.rejects(client.call.sum(bad), (e: unknown) => e instanceof ParameterError && /parameter "xs" at \/0: must be number \(got "x"\)/.test(e.message));
    const wide: Record<string, number> = { a: 1 };
    for (let i = 0; i < 50_000; i++) wide[`k${i}`] = i;
    await assert.rejects(client.call.take(wide), (e: unknown) => e instanceof ParameterError && /has a property "k0" the type does not declare/.test(e.message));
  });

  it('refuses a map with non-string keys where a nullable object is declared', async () => {
    const spec = { params: [{ name: 'o', schema: Type.Union([Type.Object({ a: Type.Optional(Type.Object({ b: Type.Optional(Type.String()) })) }), Type.Null()]) }] };
    let ran = 0;
    await using server = await serveRpc({ take: method((_o: unknown) => ++ran, spec) }, { bind: endpoint() });
    const dealer = new Dealer({ linger: 0, receiveTimeout: 3000 });
    dealer.connect(server.transport.bindings[0]!);
    try {
      const args = packer.encode([{ a: new Map([[1, 'x']]) }]);
      const reply = await rawCall(dealer, 1, 'take', args);
      assert.equal(reply.isError, true);
      assert.ok(new ErrorTranslator().fromWire(reply.value) instanceof ParameterError);
      assert.equal(ran, 0);
    } finally {
      dealer.close();
    }
  });

  it('gives a one-way send with a send timeout back to its sender when no peer takes it', async () => {
    await using client = await connectPipeline({ connect: 'tcp://127.0.0.1:1', socket: { sendTimeout: 50, immediate: true } });
    await assert.rejects(client.notify.anything(), (e: unknown) => (e as { code?: string }).code === 'EAGAIN');
  });

  it('logs names with line breaks on one escaped line', async () => {
    const logger = recordingLogger();
    await using server = await servePipeline({}, { bind: endpoint(), logger });
    const push = new Push({ linger: 0 });
    push.connect(server.transport.bindings[0]!);
    try {
      await push.send(['evil\nzrpc: forged line', packer.encode([]), NO_KWARGS]);
      await waitFor(() => logger.lines.length > 0, 3000, 'the refusal line');
      assert.ok(logger.lines.every((l) => !l.message.includes('\n')), JSON.stringify(logger.lines));
      assert.match(logger.lines[0]!.message, /evil\\nzrpc: forged line/);
    } finally {
      push.close();
    }
  });
});
