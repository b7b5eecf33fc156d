/**
 * Remote errors as a TypeScript caller expects them: a peer's TypeError is a TypeError
 * with the same message, Python's built-ins keep their args and read as str(exc), and
 * the stack is the caller's own. Real sockets; the live Python aiozmq peer both ways.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { builtins, connectRpc, GenericError, method, remoteErrorType, RpcError, RpcTimeoutError, serveRpc } from 'zrpc';
import { LineProcess } from '../bench/line-process.js';
import { endpoint, repoRoot } from './support/helpers.js';
import { PYTHON } from './support/python-peer.js';

const script = join(repoRoot, 'test/python/values_peer.py');

/** A type name that, written into a stack as it is, would forge a frame. */
class Forging extends Error {
  static readonly wireName = 'app.Forging\n    at forged (file:///x.js:1:1)';
}

const handler = {
  fail: method((kind: string) => {
    if (kind === 'timeout') throw new RpcTimeoutError('the database did not answer');
    if (kind === 'forging') throw new Forging('x');
    if (kind === 'type') throw new TypeError('note must not be boom');
    if (kind === 'range') throw new RangeError('out of range');
    if (kind === 'plain') throw new Error('plain failure');
    if (kind === 'reference') throw new ReferenceError('nope is not defined');
    throw new builtins.ValueError('bad value', 42);
  }),
};

describe('remote errors between TypeScript peers', () => {
  it('rebuilds TypeError, RangeError and Error as themselves, with the same message', async () => {
    await using server = await serveRpc(handler, { bind: endpoint('inproc') });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 5000 });
    await assert.rejects(client.call.fail('type'), (e: unknown) => {
      assert.ok(e instanceof TypeError, 'instanceof TypeError');
      assert.ok(e instanceof builtins.TypeError && e instanceof builtins.Exception && e instanceof GenericError && e instanceof RpcError);
      assert.equal(e.message, 'note must not be boom');
      assert.equal(e.name, 'TypeError');
      assert.deepEqual(e.arguments, ['note must not be boom']);
      assert.equal(e.excRepr, "TypeError('note must not be boom')");
      return true;
    });
    await assert.rejects(client.call.fail('range'), (e: unknown) => e instanceof RangeError && e instanceof builtins.ValueError && e.message === 'out of range');
    await assert.rejects(client.call.fail('reference'), (e: unknown) => e instanceof ReferenceError && e instanceof builtins.NameError);
    await assert.rejects(client.call.fail('plain'), (e: unknown) => {
      assert.ok(e instanceof Error && e instanceof builtins.Exception);
      assert.ok(!(e instanceof TypeError) && !(e instanceof RangeError));
      assert.equal(e.message, 'plain failure');
      return true;
    });
    await assert.rejects(client.call.fail('many'), (e: unknown) => e instanceof builtins.ValueError && e.message === "('bad value', 42)");
  });

  it("gives a rebuilt error the caller's own stack, naming the method and the remote type", async () => {
    await using server = await serveRpc(handler, { bind: endpoint('inproc') });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 5000 });
    async function placeOrder() {
      await client.call.fail('type');
    }
    await assert.rejects(placeOrder(), (e: unknown) => {
      const lines = (e as Error).stack!.split('\n');
      assert.equal(lines[0], 'TypeError: note must not be boom');
      assert.equal(lines[1], '    at remote call fail (raised builtins.TypeError)');
      assert.ok(lines.some((l) => l.includes('placeOrder') && l.includes('remote-errors.test.js')), (e as Error).stack);
      assert.ok(!lines.some((l) => l.includes('#onReply')), 'no frames of the reader');
      return true;
    });
    // The server's type name is escaped there: it cannot add frames.
    await assert.rejects(client.call.fail('forging'), (e: unknown) => {
      assert.equal((e as Error).stack!.split('\n')[1], '    at remote call fail (raised app.Forging\\n    at forged (file:///x.js:1:1))');
      return true;
    });
  });

  it('tells a rebuilt remote error, and the type it was raised as, from one raised on this side', async () => {
    await using server = await serveRpc(handler, { bind: endpoint('inproc') });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 5000 });
    const remote = await client.call.fail('type').catch((e: unknown) => e);
    assert.equal(remoteErrorType(remote), 'builtins.TypeError');
    // Rebuilt as the same class as a local timeout, and still known as the server's.
    const remoteTimeout = await client.call.fail('timeout').catch((e: unknown) => e);
    assert.ok(remoteTimeout instanceof RpcTimeoutError);
    assert.equal(remoteErrorType(remoteTimeout), 'builtins.TimeoutError');
    await using nobody = await connectRpc({ connect: endpoint(), timeout: 50 });
    const localTimeout = await nobody.call.fail('type').catch((e: unknown) => e);
    assert.ok(localTimeout instanceof RpcTimeoutError);
    assert.equal(remoteErrorType(localTimeout), undefined);
    assert.equal(remoteErrorType(new TypeError('x')), undefined);
    assert.equal(remoteErrorType('builtins.TypeError'), undefined);
  });
});

describe('remote errors and Python aiozmq', () => {
  it('reads Python built-ins with their args, str(exc) as message and repr apart', async () => {
    await using peer = new LineProcess(PYTHON, [script, 'serve-rpc']);
    await using client = await connectRpc({ connect: await peer.value('READY'), timeout: 5000 });
    await assert.rejects(client.call.fail('type'), (e: unknown) => e instanceof TypeError && e instanceof builtins.TypeError && e.message === 'note must not be boom');
    await assert.rejects(client.call.fail('value'), (e: unknown) => {
      assert.ok(e instanceof RangeError && e instanceof builtins.ValueError);
      assert.deepEqual(e.arguments, ['bad value', 42]);
      assert.equal(e.message, "('bad value', 42)");
      assert.equal(e.excRepr, "ValueError('bad value', 42)");
      return true;
    });
    await assert.rejects(client.call.fail('empty'), (e: unknown) => e instanceof builtins.Exception && e.message === '' && e.arguments.length === 0);
    await assert.rejects(client.call.fail('key'), (e: unknown) => e instanceof builtins.KeyError && e.message === 'missing');
  });

  it('sends JavaScript TypeError and RangeError as Python TypeError and ValueError', async () => {
    await using server = await serveRpc(handler, { bind: 'tcp://127.0.0.1:0' });
    await using peer = new LineProcess(PYTHON, [script, 'call-rpc', server.transport.bindings[0]!, 'errors']);
    assert.equal(await peer.value('type'), "RAISED builtins.TypeError ('note must not be boom',) note must not be boom");
    assert.equal(await peer.value('range'), "RAISED builtins.ValueError ('out of range',) out of range");
  });
});
