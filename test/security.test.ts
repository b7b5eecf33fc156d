/**
 * CURVE on real sockets: encrypted calls work; a wrong server key, an unknown client key
 * and a plain client are refused, and none of their calls reach a handler.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { RpcTimeoutError, connectPipeline, connectRpc, generateKeyPair, method, servePipeline, serveRpc } from 'zrpc';
import { endpoint, recordingLogger, repoRoot, waitFor } from './support/helpers.js';

function counting() {
  const calls = { count: 0 };
  return { calls, handler: { ping: method(() => (calls.count++, 'pong')) } };
}

describe('CURVE security', () => {
  const server = generateKeyPair();
  const alice = generateKeyPair();
  const mallory = generateKeyPair();

  it('encrypts calls between a keyed client and server', async () => {
    const { calls, handler } = counting();
    await using rpc = await serveRpc(handler, { bind: endpoint(), curve: { secretKey: server.secretKey } });
    await using client = await connectRpc({ connect: rpc.transport.bindings[0], timeout: 3000, curve: { serverKey: server.publicKey, ...alice } });
    assert.equal(await client.call.ping(), 'pong');
    assert.equal(calls.count, 1);
  });

  it('refuses a wrong server key, an unknown client key and a plain client, logging each peer once', async () => {
    const { calls, handler } = counting();
    const logger = recordingLogger();
    await using rpc = await serveRpc(handler, { bind: endpoint(), logger, curve: { secretKey: server.secretKey, allow: [alice.publicKey] } });
    const address = rpc.transport.bindings[0]!;
    const attempts = [
      { serverKey: generateKeyPair().publicKey, ...alice }, // talks to an impostor key
      { serverKey: server.publicKey, ...mallory }, // not on the allow-list
      undefined, // no CURVE at all
    ];
    for (const curve of attempts) {
      await using client = await connectRpc({ connect: address, timeout: 300, ...(curve ? { curve } : {}) });
      await assert.rejects(client.call.ping(), RpcTimeoutError);
      await assert.rejects(client.call.ping(), RpcTimeoutError);
    }
    assert.equal(calls.count, 0, 'no refused call reached the handler');
    await using good = await connectRpc({ connect: address, timeout: 3000, curve: { serverKey: server.publicKey, ...alice } });
    assert.equal(await good.call.ping(), 'pong');
    const refusals = logger.lines.filter((l) => /refused a connection: client key not allowed/.test(l.message));
    assert.equal(refusals.length, 1, 'mallory logged once although ZeroMQ retried the handshake');
    assert.equal(refusals[0]!.fields?.peer, mallory.publicKey);
  });

  it('keeps allow-lists of several servers apart, and one-way patterns too', async () => {
    const seen: string[] = [];
    const bob = generateKeyPair();
    await using forAlice = await servePipeline({ take: method((x: string) => void seen.push(`alice-only ${x}`)) }, { bind: endpoint(), curve: { secretKey: server.secretKey, allow: [alice.publicKey] } });
    const logger = recordingLogger();
    await using forBob = await servePipeline({ take: method((x: string) => void seen.push(`bob-only ${x}`)) }, { bind: endpoint(), logger, curve: { secretKey: server.secretKey, allow: [bob.publicKey] } });
    await using a = await connectPipeline({ connect: forAlice.transport.bindings[0], curve: { serverKey: server.publicKey, ...alice } });
    await using b = await connectPipeline({ connect: forBob.transport.bindings[0], curve: { serverKey: server.publicKey, ...alice } });
    await a.notify.take('1');
    void b.notify.take('2'); // alice is not on bob's server's list: this never arrives
    await waitFor(() => seen.length > 0, 3000, 'alice delivery');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(seen, ['alice-only 1']);
    await waitFor(() => logger.lines.some((l) => /refused a connection/.test(l.message)), 3000, 'the refusal to be logged');
  });

  it('logs handshakes that fail before ZAP (plain clients, wrong server keys), rate-limited', async () => {
    const { calls, handler } = counting();
    const logger = recordingLogger();
    await using rpc = await serveRpc(handler, { bind: endpoint(), logger, curve: { secretKey: server.secretKey } });
    const address = rpc.transport.bindings[0]!;
    for (const curve of [undefined, { serverKey: generateKeyPair().publicKey, ...alice }]) {
      await using client = await connectRpc({ connect: address, timeout: 300, ...(curve ? { curve } : {}) });
      await assert.rejects(client.call.ping(), RpcTimeoutError);
    }
    await waitFor(() => logger.lines.some((l) => /CURVE handshake failed/.test(l.message)), 3000, 'a handshake failure line');
    const lines = logger.lines.filter((l) => /CURVE handshake failed/.test(l.message));
    // ZeroMQ retries each refused handshake every 100 ms: one line, the rest counted.
    assert.equal(lines.length, 1);
    assert.equal(calls.count, 0);
  });

  it('rejects malformed keys with a clear error', async () => {
    const overflowing = '#####' + server.publicKey.slice(5);
    await assert.rejects(serveRpc({}, { bind: endpoint(), curve: { secretKey: overflowing } }), /curve\.secretKey must be a 40-character Z85 key .*characters 0\.\.4 that overflow 32 bits/);
    await assert.rejects(serveRpc({}, { bind: endpoint(), curve: { secretKey: server.secretKey, allow: ['x'.repeat(41)] } }), /curve\.allow\[0\] .*has 41 characters/);
    await assert.rejects(serveRpc({}, { bind: endpoint(), curve: { secretKey: 'short' } }), /curve\.secretKey must be a 40-character Z85 key/);
    await assert.rejects(connectRpc({ connect: 'tcp://127.0.0.1:1', curve: { serverKey: server.publicKey, publicKey: alice.publicKey, secretKey: 'not a key' } }), /curve\.secretKey/);
  });

  it('zrpc keygen prints a key pair that works', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(repoRoot, 'dist/cli/zrpc.js'), 'keygen']);
    const keys = Object.fromEntries(stdout.trim().split('\n').map((l) => l.split('=') as [string, string]).map(([k, ...v]) => [k, v.join('=')]));
    const { calls, handler } = counting();
    await using rpc = await serveRpc(handler, { bind: endpoint(), curve: { secretKey: keys.secretKey!, allow: [alice.publicKey] } });
    await using client = await connectRpc({ connect: rpc.transport.bindings[0], timeout: 3000, curve: { serverKey: keys.publicKey!, ...alice } });
    assert.equal(await client.call.ping(), 'pong');
    assert.equal(calls.count, 1);
  });
});
