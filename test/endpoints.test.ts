/**
 * Endpoints and dead servers: a malformed endpoint is named with the forms it may take,
 * in every option and transport method; a call to where nothing listens times out, and
 * closing that client lets the process exit without waiting on the queued request.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connectPipeline, connectPubSub, connectRpc, method, RpcTimeoutError, servePipeline, servePubSub, serveRpc } from 'zrpc';
import { endpoint, waitFor } from './support/helpers.js';

const run = promisify(execFile);

function namesEndpoint(text: string) {
  return (e: unknown) => {
    assert.ok(e instanceof TypeError, String(e));
    assert.ok(e.message.includes(JSON.stringify(text)), e.message);
    assert.match(e.message, /tcp:\/\/host:port, ipc:\/\/path or inproc:\/\/name/);
    return true;
  };
}

describe('endpoints', () => {
  it('names a malformed endpoint and the accepted forms, for every bind and connect option', async () => {
    const handler = { ping: method(() => 'pong') };
    for (const bad of ['localhost:5555', 'tcp://localhost', 'http://example.com:80', '']) {
      await assert.rejects(serveRpc(handler, { bind: bad }), namesEndpoint(bad));
      await assert.rejects(connectRpc({ connect: bad }), namesEndpoint(bad));
      await assert.rejects(servePipeline(handler, { connect: [endpoint('inproc'), bad] }), namesEndpoint(bad));
      await assert.rejects(connectPipeline({ bind: bad }), namesEndpoint(bad));
      await assert.rejects(servePubSub(handler, { bind: bad }), namesEndpoint(bad));
      await assert.rejects(connectPubSub({ connect: bad }), namesEndpoint(bad));
    }
    await assert.rejects(connectRpc({ connect: 5555 as never }), (e: unknown) => e instanceof TypeError && /bind and connect take an endpoint/.test(e.message));
    await assert.rejects(connectRpc({ connect: [5555] as never }), (e: unknown) => e instanceof TypeError && /an endpoint is a string/.test(e.message));
  });

  it('names the endpoint in transport.bind and transport.connect too, and keeps ZeroMQ\'s code', async () => {
    await using server = await serveRpc({}, { bind: 'tcp://127.0.0.1:0' });
    await assert.rejects(server.transport.bind('localhost:5555'), namesEndpoint('localhost:5555'));
    assert.throws(() => server.transport.connect('localhost:5555'), namesEndpoint('localhost:5555'));
    const taken = server.transport.bindings[0]!;
    await using other = await serveRpc({}, { bind: endpoint('inproc') });
    await assert.rejects(other.transport.bind(taken), (e: unknown) => {
      assert.ok(e instanceof Error && e.message.startsWith(`cannot bind "${taken}": `), String(e));
      assert.equal((e as Error & { code?: string }).code, 'EADDRINUSE');
      assert.equal((e as Error & { endpoint?: string }).endpoint, taken);
      assert.ok(e.cause instanceof Error);
      return true;
    });
    // The service is still usable after refusing an endpoint.
    assert.match(await other.transport.bind('tcp://127.0.0.1:0'), /^tcp:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('dead servers', () => {
  it('lets calls time out and the process exit at once after close, without ZeroMQ waiting on queued requests', async () => {
    // A bound-then-closed port: nothing listens there.
    const gone = await serveRpc({}, { bind: 'tcp://127.0.0.1:0' });
    const dead = gone.transport.bindings[0]!;
    await gone.close();
    const child = fileURLToPath(new URL('./support/timeout-child.js', import.meta.url));
    const { stdout, stderr } = await run(process.execPath, [child, dead], { timeout: 15_000 });
    assert.deepEqual(stdout.trim().split('\n'), ['timeout timeout timeout', 'closed']);
    assert.doesNotMatch(stderr, /Waiting for queued ZeroMQ messages/);
  });

  it('times out every call on the default timeout (one shared timer), and per-call timeouts apart', async () => {
    const handler = { hang: method((_n: number) => new Promise(() => {})), fast: method(() => 'fast') };
    await using server = await serveRpc(handler, { bind: endpoint('inproc') });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 200 });
    const first = client.call.hang(1);
    assert.equal(await client.call.fast(), 'fast');
    const own = client.withTimeout(50).call.hang(2);
    const later = client.call.hang(3);
    const results = await Promise.allSettled([first, own, later]);
    assert.deepEqual(
      results.map((r) => (r.status === 'rejected' && r.reason instanceof RpcTimeoutError ? r.reason.message : r.status)),
      ['call hang timed out after 200 ms', 'call hang timed out after 50 ms', 'call hang timed out after 200 ms'],
    );
    assert.equal(client.pending, 0);
    assert.equal(await client.call.fast(), 'fast', 'the client works on');
  });

  it('waits for ever with timeout: Infinity (no timer that overflows and fires at once)', async () => {
    let release!: (value: string) => void;
    const handler = { slow: method(() => new Promise<string>((resolve) => (release = resolve))) };
    await using server = await serveRpc(handler, { bind: endpoint('inproc') });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: Infinity });
    const reply = client.call.slow();
    await waitFor(() => server.running === 1, 5000, 'the handler to start');
    assert.equal(client.pending, 1);
    release('done');
    assert.equal(await reply, 'done');
  });
});
