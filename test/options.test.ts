/**
 * Options no service could use are refused with an error that names them, before any
 * socket is left behind; a bad ZeroMQ socket option once killed the process at exit.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connectPipeline, connectPubSub, connectRpc, method, runProxy, servePipeline, servePubSub, serveRpc } from '../src/runtime/index.js';
import { endpoint } from './support/helpers.js';

const run = promisify(execFile);
const nowhere = 'tcp://127.0.0.1:1';

describe('unusable options', () => {
  it('names a socket option the socket type does not have, or a value ZeroMQ refuses', async () => {
    await assert.rejects(connectPipeline({ connect: nowhere, socket: { receiveBufferSize: 1024 } }), {
      name: 'TypeError',
      message: 'socket option "receiveBufferSize" does not exist on a Push socket; use a zeromq.js option name of that socket type (e.g. sendHighWaterMark, linger)',
    });
    await assert.rejects(serveRpc({}, { bind: endpoint(), socket: { linger: 'long' } }), {
      name: 'TypeError',
      message: 'socket option linger cannot be "long" on a Router socket: Option value must be a number',
    });
    await assert.rejects(connectRpc({ connect: nowhere, socket: { sendHighWaterMark: -5 } }), (error: unknown) => {
      assert.ok(error instanceof RangeError);
      assert.equal(error.message, 'socket option sendHighWaterMark cannot be -5 on a Dealer socket: Invalid argument');
      assert.ok(error.cause instanceof Error, 'ZeroMQ’s own error is the cause');
      return true;
    });
    await assert.rejects(connectRpc({ connect: nowhere, socket: { type: 3 } }), /socket option type cannot be 3 on a Dealer socket/);
    // A secret is never repeated in the message (messages end up in logs); a value that
    // cannot be printed does not take the option's name with it.
    await assert.rejects(connectRpc({ connect: nowhere, socket: { curveSecretKey: 'x'.repeat(39) } }), {
      name: 'RangeError',
      message: 'socket option curveSecretKey cannot be the value given on a Dealer socket: Invalid argument',
    });
    await assert.rejects(connectRpc({ connect: nowhere, socket: { linger: Object.create(null) } }), {
      message: 'socket option linger cannot be a value of type object on a Dealer socket: Option value must be a number',
    });
    // The proxy gives one set of options to both of its sockets; the second is closed too.
    await assert.rejects(runProxy({ frontend: endpoint(), backend: endpoint(), socket: { mandatory: true } }), /"mandatory" does not exist on a Dealer socket/);
    await assert.rejects(servePubSub({}, { connect: nowhere, subscribe: 'feed', socket: { conflate: 'yes' } }), /socket option conflate cannot be "yes" on a Subscriber socket/);
  });

  it('names an options key the factory does not read, and the keys it does', async () => {
    await assert.rejects(connectRpc({ connect: nowhere, timout: 500 } as never), {
      name: 'TypeError',
      message:
        'connectRpc: unknown option "timout"; it takes attemptTimeout, bind, connect, curve, decodeLimits, errorTable, heartbeat, inherit, interceptors, logger, sendQueueBytes, sendQueueLimit, socket, timeout, translationTable',
    });
    await assert.rejects(serveRpc({}, { bind: endpoint(), concurency: 4 } as never), /^TypeError: serveRpc: unknown option "concurency"; it takes bind, concurrency,/);
    // Another pattern's option is refused too: a pipeline server subscribes to nothing.
    await assert.rejects(servePipeline({}, { bind: endpoint(), subscribe: '' } as never), /^TypeError: servePipeline: unknown option "subscribe"; it takes bind, concurrency,/);
    await assert.rejects(servePubSub({}, { bind: endpoint(), subscibe: '' } as never), /servePubSub: unknown option "subscibe"; it takes .*, subscribe, /);
    await assert.rejects(connectPipeline({ connect: nowhere, Timeout: 5 } as never), /connectPipeline: unknown option "Timeout"; it takes bind, connect,/);
    await assert.rejects(connectPubSub({ bind: endpoint(), intercepters: [] } as never), /connectPubSub: unknown option "intercepters"; it takes .*, interceptors, /);
    await assert.rejects(runProxy({ frontend: endpoint(), backend: endpoint(), hearbeat: { interval: 100 } } as never), { name: 'TypeError', message: 'runProxy: unknown option "hearbeat"; it takes backend, curve, frontend, heartbeat, logger, socket' });
    await assert.rejects(connectRpc(null as never), { name: 'TypeError', message: "connectRpc takes an options object, such as { connect: 'tcp://127.0.0.1:5555' } (got null)" });
    // Generated clients pass their own checkArguments on: taken, and not offered to others.
    await using client = await connectRpc({ connect: nowhere, checkArguments: true } as never);
    await using push = await connectPipeline({ connect: nowhere, checkArguments: false } as never);
    assert.ok(client && push);
  });

  it("a generated module's functions name themselves, and list the checkArguments they take", async () => {
    const { connectShop, serveShop } = await import('../samples/generated/shop.js');
    const { connectThumbnails } = await import('../samples/generated/jobs.js');
    const { ShopImpl } = await import('../samples/shop/main.js');
    await assert.rejects(connectShop({ connect: nowhere, timout: 500 } as never), {
      name: 'TypeError',
      message:
        'connectShop: unknown option "timout"; it takes attemptTimeout, bind, checkArguments, connect, curve, decodeLimits, errorTable, heartbeat, inherit, interceptors, logger, sendQueueBytes, sendQueueLimit, socket, timeout, translationTable',
    });
    await assert.rejects(serveShop(new ShopImpl(), { bind: endpoint(), concurency: 4 } as never), /^TypeError: serveShop: unknown option "concurency"; it takes bind, concurrency,/);
    await assert.rejects(connectThumbnails({ connect: nowhere, Timeout: 5 } as never), /^TypeError: connectThumbnails: unknown option "Timeout"; it takes bind, checkArguments, connect,/);
    // The options reach the runtime untouched, so no options at all are named as such.
    await assert.rejects(connectShop(undefined as never), { name: 'TypeError', message: "connectShop takes an options object, such as { connect: 'tcp://127.0.0.1:5555' } (got undefined)" });
    await assert.rejects(connectShop('tcp://127.0.0.1:5555' as never), /^TypeError: connectShop takes an options object, .* \(got string\)$/);
    await assert.rejects(serveShop(new ShopImpl(), null as never), /^TypeError: serveShop takes an options object, such as \{ bind: /);
  });

  it('refuses queue limits, loggers and tables that could not work', async () => {
    await assert.rejects(connectRpc({ connect: nowhere, sendQueueLimit: -1 }), { name: 'RangeError', message: 'sendQueueLimit must be a whole number >= 0, or Infinity (got -1)' });
    await assert.rejects(connectPubSub({ bind: endpoint(), sendQueueBytes: '1MB' as unknown as number }), { name: 'RangeError', message: 'sendQueueBytes must be a whole number >= 0, or Infinity (got string)' });
    await assert.rejects(serveRpc({}, { bind: endpoint(), logger: 5 as never }), {
      name: 'TypeError',
      message: 'logger must be console-like or pino-like, an object with warn and error methods and optionally debug (got number)',
    });
    await assert.rejects(serveRpc({}, { bind: endpoint(), logger: { info() {} } as never }), /logger must be .* \(got an object without them\)/);
    await assert.rejects(serveRpc({}, { bind: endpoint(), translationTable: 5 as never }), /translationTable must map ext codes 0\.\.127 to \[class, pack, unpack\]/);
    await assert.rejects(connectRpc({ connect: nowhere, translationTable: { 3: [Date] } as never }), { name: 'TypeError', message: 'translationTable entry 3 must be [class, pack, unpack], three functions' });
    await assert.rejects(connectRpc({ connect: nowhere, errorTable: { Oops: 'OopsError' } as never }), { name: 'TypeError', message: 'errorTable entry "Oops" must be an Error class (got string)' });
    // Limits that do work still do.
    await using client = await connectRpc({ connect: nowhere, sendQueueLimit: 0, sendQueueBytes: Infinity, logger: { warn() {}, error() {} } });
    assert.ok(client);
  });

  it('refuses call options no call could use, and keeps nothing of the refused call', async () => {
    await using server = await serveRpc({ add: method((a: number, b: number) => a + b) }, { bind: endpoint() });
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    assert.throws(() => client.with({ timout: 5 } as never), {
      name: 'TypeError',
      message: 'unknown call option "timout"; call options are timeout, signal, idempotent, attemptTimeout, metadata, inherit',
    });
    assert.throws(() => client.with({ idempotent: 'yes' } as never), { name: 'TypeError', message: 'idempotent must be true or false (got string)' });
    assert.throws(() => client.with({ inherit: 0 } as never), { name: 'TypeError', message: 'inherit must be true or false (got number)' });
    assert.throws(() => client.with(null as never), { name: 'TypeError', message: 'call options must be an object (got null)' });
    assert.throws(() => client.with({ attemptTimeout: -1 }), /attemptTimeout must be a number of milliseconds >= 0/);
    // A signal that is no AbortSignal was kept as a pending call whose release threw
    // again when the client closed.
    const notASignal = { aborted: false, addEventListener() {} } as unknown as AbortSignal;
    assert.throws(() => client.withSignal(notASignal), /signal must be an AbortSignal/);
    // Options given to invoke() directly are held to the same rules.
    await assert.rejects(client.invoke('add', [1, 2], undefined, { timout: 5 } as never), /unknown call option "timout"/);
    await assert.rejects(client.invoke('add', [1, 2], undefined, null as never), /call options must be an object \(got null\)/);
    await assert.rejects(client.invoke('add', [1, 2], undefined, { signal: notASignal }), {
      name: 'TypeError',
      message: 'signal must be an AbortSignal (from an AbortController, or AbortSignal.timeout(ms))',
    });
    assert.equal(client.pending, 0);
    assert.equal(await client.with({ timeout: 5000, idempotent: true, inherit: false }).call.add(1, 2), 3);
    await client.close();
  });

  it('leaves a process that refused bad socket options able to exit cleanly', async () => {
    const runtime = new URL('../src/runtime/index.js', import.meta.url).href;
    const script = `
      import { connectPipeline, serveRpc } from ${JSON.stringify(runtime)};
      for (const attempt of [
        () => connectPipeline({ connect: 'tcp://127.0.0.1:1', socket: { receiveBufferSize: 1 } }),
        () => serveRpc({}, { bind: 'tcp://127.0.0.1:0', socket: { linger: 'x' } }),
        () => serveRpc({}, { bind: 'tcp://127.0.0.1:0', sendQueueLimit: -1 }),
      ]) await attempt().then(() => console.log('accepted'), (error) => console.log(error.name));
    `;
    // zeromq.js left the socket of a throwing constructor open, and the process died of
    // SIGSEGV as it exited: execFile rejects for that, and for any exit code but 0.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 15_000 });
    assert.deepEqual(stdout.trim().split('\n'), ['TypeError', 'TypeError', 'RangeError']);
  });
});
