/**
 * Malformed requests from a raw socket: the server answers what it can identify, drops
 * what it cannot, logs both, and keeps serving.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Dealer, Push } from 'zeromq';
import { Packer, ProtocolError, ErrorTranslator, method, serveRpc, servePipeline, connectRpc } from 'zrpc';
import { decodeReplyHeader, encodeRequestHeader } from '../src/runtime/wire/header.js';
import { endpoint, recordingLogger, waitFor } from './support/helpers.js';

const packer = new Packer();
const handler = { echo: method((x: unknown) => x) };

async function rawPeer() {
  const logger = recordingLogger();
  const server = await serveRpc(handler, { bind: endpoint(), logger, socket: { maxMessageSize: 4096 } });
  const dealer = new Dealer({ linger: 0, receiveTimeout: 2000 });
  dealer.connect(server.transport.bindings[0]!);
  return { logger, server, dealer, async [Symbol.asyncDispose]() { dealer.close(); await server.close(); } };
}

async function expectError(dealer: Dealer, id: number, pattern: RegExp) {
  const [header, body] = await dealer.receive();
  const fields = decodeReplyHeader(header!)!;
  assert.equal(fields.requestId, id);
  assert.equal(fields.isError, true);
  const error = new ErrorTranslator().fromWire(packer.decode(body!));
  assert.ok(error instanceof ProtocolError, String(error));
  assert.match(error.message, pattern);
}

describe('hostile input', () => {
  it('answers a ProtocolError when the request is identifiable', async () => {
    await using p = await rawPeer();
    const h = (id: number) => encodeRequestHeader(0, id);
    await p.dealer.send([h(1), 'echo', Buffer.from('c1', 'hex'), Buffer.from('80', 'hex')]);
    await expectError(p.dealer, 1, /echo: arguments are not valid msgpack/);
    await p.dealer.send([h(2), Buffer.from([0xff, 0xfe]), packer.encode([1]), Buffer.from('80', 'hex')]);
    await expectError(p.dealer, 2, /method name is not valid UTF-8/);
    await p.dealer.send([h(3), 'echo', packer.encode({ not: 'an array' }), Buffer.from('80', 'hex')]);
    await expectError(p.dealer, 3, /arguments must be a msgpack array/);
    await p.dealer.send([h(4), 'echo', packer.encode([1]), packer.encode([1, 2])]);
    await expectError(p.dealer, 4, /named arguments must be a msgpack map/);
    await p.dealer.send([h(5), 'echo', Buffer.from('dc ffff 01'.replaceAll(' ', ''), 'hex'), Buffer.from('80', 'hex')]);
    await expectError(p.dealer, 5, /not valid msgpack/);
  });

  it('drops and logs what it cannot answer, then serves a good call', async () => {
    await using p = await rawPeer();
    await p.dealer.send(['only one frame']);
    await p.dealer.send([Buffer.alloc(3), 'echo', packer.encode([1]), Buffer.from('80', 'hex')]);
    await p.dealer.send([Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)]);
    await p.dealer.send([encodeRequestHeader(0, 9), 'echo', packer.encode(['ok']), Buffer.from('80', 'hex')]);
    const [header, body] = await p.dealer.receive();
    assert.equal(decodeReplyHeader(header!)!.requestId, 9);
    assert.equal(packer.decode(body!), 'ok');
    // Three drops, one line: the rest are counted into the next line of the kind.
    assert.equal(p.logger.lines.filter((l) => /malformed request/.test(l.message)).length, 1);
  });

  it('survives messages over maxMessageSize: ZeroMQ drops the peer, others are served', async () => {
    await using p = await rawPeer();
    await p.dealer.send([encodeRequestHeader(0, 1), 'echo', packer.encode(['x'.repeat(10_000)]), Buffer.from('80', 'hex')]);
    const client = await connectRpc({ connect: p.server.transport.bindings[0], timeout: 2000 });
    assert.equal(await client.call.echo('still here'), 'still here');
    await client.close();
  });

  it('keeps a pipeline server running through malformed messages', async () => {
    const logger = recordingLogger();
    const seen: unknown[] = [];
    const server = await servePipeline({ take: method((x: unknown) => void seen.push(x)) }, { bind: endpoint(), logger, logExceptions: true });
    const push = new Push({ linger: 0 });
    push.connect(server.transport.bindings[0]!);
    try {
      await push.send(['take']);
      await push.send(['take', Buffer.from('c1', 'hex'), Buffer.from('80', 'hex')]);
      await push.send(['nope', packer.encode([]), Buffer.from('80', 'hex')]);
      await push.send(['take', packer.encode([42]), Buffer.from('80', 'hex')]);
      await waitFor(() => seen.length === 1, 2000, 'the good message');
      assert.deepEqual(seen, [42]);
      assert.ok(logger.lines.some((l) => /malformed message/.test(l.message)));
      assert.ok(logger.lines.some((l) => l.level === 'warn' && /refused a call to take: take: arguments are not valid msgpack/.test(l.message)));
      assert.ok(logger.lines.some((l) => l.level === 'warn' && /refused a call to nope: nope/.test(l.message)));
      // A call that was never made is the sender's mistake, not a handler's error.
      assert.equal(logger.lines.filter((l) => l.level === 'error').length, 0);
    } finally {
      push.close();
      await server.close();
    }
  });

  it('reports refused one-way calls without logExceptions, once a period, counting the rest', async () => {
    const logger = recordingLogger();
    const server = await servePipeline({ take: method((_x: number) => {}) }, { bind: endpoint(), logger });
    const push = new Push({ linger: 0 });
    push.connect(server.transport.bindings[0]!);
    try {
      for (let i = 0; i < 50; i++) await push.send(['take', packer.encode([1, 2, 3]), Buffer.from('80', 'hex')]);
      await push.send(['nope', packer.encode([]), Buffer.from('80', 'hex')]);
      await waitFor(() => logger.lines.some((l) => /refused a call to nope/.test(l.message)), 3000, 'the nope report');
      const refusals = logger.lines.filter((l) => /refused a call to take: take: too many positional arguments/.test(l.message));
      assert.equal(refusals.length, 1, 'fifty identical mistakes, one line');
      assert.equal(logger.lines.filter((l) => l.level === 'error').length, 0, 'handler errors stay quiet without logExceptions');
    } finally {
      push.close();
      await server.close();
    }
  });
});
