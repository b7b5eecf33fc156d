/**
 * An RPC client facing a malicious server: a raw ROUTER that answers with crafted
 * replies (hostile error bodies, bombs, wrong shapes, malformed and late replies,
 * oversized ones) or never answers. Every call settles, the client stays usable, RSS
 * stays under the stated bound and the log holds a handful of lines. Also: timeouts
 * that are long, infinite or invalid, and requests nobody waits for any more.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  GenericError,
  NotFoundError,
  Packer,
  ProtocolError,
  ConnectionLostError,
  RpcTimeoutError,
  SendQueueFullError,
  ServiceClosedError,
  connectRpc,
  method,
  serveRpc,
} from 'zrpc';
import { encodeReplyHeader } from '../src/runtime/wire/header.js';
import { bomb995, deepNesting, header15, longLengthBomb, mapHeader15, misbehavingRouter, nestedMapBomb, rssMiB } from './support/attacks.js';
import { endpoint, recordingLogger, waitFor } from './support/helpers.js';

const packer = new Packer();

/** `envelope`: the frames before the header (identity, and a zrpc client's context frame), echoed as aiozmq does. */
type Request = { envelope: Buffer[]; header: Buffer; name: string; args: unknown };
type Answer = Array<Buffer | Uint8Array | string> | undefined;

/** A ROUTER that answers each request with whatever `answer` returns (frames after the envelope), or not at all. */
async function evilServer(answer: (request: Request) => Answer | Answer[]) {
  const requests: Request[] = [];
  const router = await misbehavingRouter(async (frames, socket) => {
    const [header, name, args] = frames.slice(-4);
    const request = { envelope: frames.slice(0, -4), header: header!, name: name!.toString(), args: packer.decode(args!) };
    requests.push(request);
    const out = answer(request);
    if (!out) return;
    const list = Array.isArray(out[0]) || out[0] === undefined ? (out as Answer[]) : [out as Answer];
    for (const reply of list) if (reply) await socket.send([...request.envelope, ...reply]);
  });
  return { address: router.address, requests, [Symbol.asyncDispose]: () => router[Symbol.asyncDispose]() };
}

const errorReply = (request: Request, body: Uint8Array) => [encodeReplyHeader(0, request.header, true), body];
const okReply = (request: Request, body: Uint8Array) => [encodeReplyHeader(0, request.header, false), body];

class Picky extends Error {
  constructor(amount: unknown) {
    if (typeof amount !== 'number') throw new TypeError('Picky takes a number');
    super(`picky ${amount}`);
  }
}

describe('RPC client facing a malicious server', () => {
  it('rejects every call whose error reply is hostile or malformed, with the rebuilt class or ProtocolError', async () => {
    const bodies: Array<[label: string, body: Uint8Array, expected: new (...args: any[]) => Error]> = [
      ['toString: 0 in args, a number for repr', packer.encode(['x', [{ toString: 0 }], 5]), GenericError],
      ['args the user class constructor refuses', packer.encode(['Picky', ['not a number'], "Picky('x')"]), ProtocolError],
      ['the user class with good args', packer.encode(['Picky', [3], 'Picky(3)']), Picky],
      ['not an array', packer.encode('just text'), ProtocolError],
      ['a map', packer.encode({ type: 'x' }), ProtocolError],
      ['nil', packer.encode(null), ProtocolError],
      ['two items', packer.encode(['x', []]), ProtocolError],
      ['four items', packer.encode(['x', [], 'r', 'extra']), ProtocolError],
      ['a number for the type', packer.encode([1, [], 'r']), ProtocolError],
      ['a map for the args', packer.encode(['x', { a: 1 }, 'r']), ProtocolError],
      ['a million args', packer.encode(['x', new Array(1_000_000).fill(1), 'r']), GenericError],
      ['NotFoundError with an object for its name', packer.encode(['aiozmq.rpc.base.NotFoundError', [{ toString: 0 }], '']), NotFoundError],
      ['an object-model type name', packer.encode(['constructor', [], '']), GenericError],
      ['__proto__ as type name', packer.encode(['__proto__', [1], '']), GenericError],
      ['hasOwnProperty as type name', packer.encode(['hasOwnProperty', [1], '']), GenericError],
      ['builtins.ValueError with a map key arg', packer.encode(['builtins.ValueError', [new Map([[1, 2]])], '']), RangeError],
      ['the 995-byte bomb', bomb995, ProtocolError],
      ['a 15-byte header', header15, ProtocolError],
      ['a 15-byte map header', mapHeader15, ProtocolError],
      ['nested map headers', nestedMapBomb(150), ProtocolError],
      ['a long str32', longLengthBomb('str'), ProtocolError],
      ['5000 deep', deepNesting(5000), ProtocolError],
    ];
    await using server = await evilServer((request) => errorReply(request, bodies[request.args as unknown as number]![1]));
    await using client = await connectRpc({ connect: server.address, timeout: 10_000, errorTable: { Picky } });
    for (let i = 0; i < bodies.length; i++) {
      const [label, , expected] = bodies[i]!;
      await assert.rejects(client.invoke('m', [i]).catch((e) => Promise.reject(e)), (error: Error) => {
        assert.ok(error instanceof expected, `${label}: got ${error.name}: ${error.message.slice(0, 200)}`);
        // Whatever the body, the message stays a line.
        assert.ok(error.message.length < 1000, `${label}: a message of ${error.message.length} characters`);
        return true;
      });
    }
    // Bombs as the body of a normal reply too.
    await using ok = await evilServer((request) => okReply(request, [bomb995, header15, deepNesting(5000)][request.args as unknown as number]!));
    await using other = await connectRpc({ connect: ok.address, timeout: 10_000 });
    for (let i = 0; i < 3; i++) await assert.rejects(other.invoke('m', [i]), ProtocolError);
    assert.equal(client.pending + other.pending, 0);
  });

  it('drops 10,000 malformed and 10,000 late replies in two log lines, RSS +64 MiB at most, and still gets its answer', async () => {
    const logger = recordingLogger();
    const junk = (request: Request): Answer[] => {
      const header = encodeReplyHeader(0, request.header, false);
      const out: Answer[] = [];
      for (let i = 0; i < 2500; i++) {
        out.push([header]); // one frame
        out.push([header.subarray(0, 10), packer.encode(1)]); // short header
        const flagged = Buffer.from(header);
        flagged[16] = 2; // neither reply nor error
        out.push([flagged, packer.encode(1)]);
        out.push([header, packer.encode(1), packer.encode(2)]); // three frames
      }
      for (let i = 0; i < 10_000; i++) {
        const late = Buffer.from(header);
        late.writeUInt32LE((late.readUInt32LE(4) + 1 + i) >>> 0, 4); // ids nobody waits for
        out.push([late, packer.encode('late')]);
      }
      out.push(okReply(request, packer.encode('the answer')));
      return out;
    };
    await using server = await evilServer(junk);
    await using client = await connectRpc({ connect: server.address, timeout: 20_000, logger });
    const before = rssMiB();
    assert.equal(await client.call.m(), 'the answer');
    const grown = rssMiB() - before;
    assert.ok(grown < 64, `RSS grew ${grown.toFixed(1)} MiB`);
    console.log(`# RSS +${grown.toFixed(1)} MiB (bound 64)`);
    const kinds = logger.lines.map((l) => l.message);
    assert.ok(logger.lines.length <= 2, `${logger.lines.length} lines: ${kinds.join(' | ')}`);
  });

  it('answers 10,000 calls with bombs: each rejects with ProtocolError, RSS +128 MiB at most', async () => {
    const bombs = [bomb995, header15, mapHeader15, nestedMapBomb(150), longLengthBomb('bin'), deepNesting(5000)];
    let k = 0;
    await using server = await evilServer((request) => (k++ % 2 ? errorReply : okReply)(request, bombs[k % bombs.length]!));
    await using client = await connectRpc({ connect: server.address, timeout: 20_000 });
    const before = rssMiB();
    const outcomes = await Promise.allSettled(Array.from({ length: 10_000 }, (_, i) => client.call.m(i)));
    assert.equal(outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof ProtocolError).length, 10_000);
    // Both ends in this process: the client's 10,000 pending calls and settled errors,
    // and the malicious server's record of every request (measured: +69 MiB).
    const grown = rssMiB() - before;
    assert.ok(grown < 128, `RSS grew ${grown.toFixed(1)} MiB`);
    console.log(`# RSS +${grown.toFixed(1)} MiB (bound 128)`);
  });

  it('survives a reply over its maxMessageSize: ZeroMQ drops the connection, calls time out, the process goes on', async () => {
    let n = 0;
    await using server = await evilServer((request) => okReply(request, n++ === 0 ? packer.encode('x'.repeat(2 * 2 ** 20)) : packer.encode('fine')));
    const before = rssMiB();
    await using client = await connectRpc({ connect: server.address, timeout: 300, socket: { maxMessageSize: 2 ** 20 } });
    // The connection is dropped under the call: it fails as lost (or by its timeout).
    const lost = (e: unknown) => e instanceof ConnectionLostError || e instanceof RpcTimeoutError;
    await assert.rejects(client.call.m(), lost);
    // libzmq treats an oversized message as a protocol error and does not redial that
    // peer, so this client's later calls time out too (they never hang)...
    await assert.rejects(client.call.m(), lost);
    assert.equal(client.pending, 0);
    assert.ok(rssMiB() - before < 32, 'the 2 MiB reply was never taken in');
    // ...while a new client is answered.
    await using fresh = await connectRpc({ connect: server.address, timeout: 5000 });
    assert.equal(await fresh.call.m(), 'fine');
  });

  it('settles every pending call at close, when the server never answers', async () => {
    await using server = await evilServer(() => undefined);
    const client = await connectRpc({ connect: server.address, timeout: Infinity });
    const calls = Array.from({ length: 1000 }, (_, i) => client.call.m(i));
    await waitFor(() => server.requests.length === 1000, 10_000, 'the requests to arrive');
    assert.equal(client.pending, 1000);
    await client.close();
    const outcomes = await Promise.allSettled(calls);
    assert.ok(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof ServiceClosedError));
    assert.equal(client.pending, 0);
  });

  it('takes 2**31 and Infinity as long and never; refuses negative and NaN timeouts with a RangeError naming the option', async () => {
    await using server = await evilServer(() => undefined);
    for (const timeout of [2 ** 31, 2 ** 40, Infinity]) {
      await using client = await connectRpc({ connect: server.address, timeout });
      const call = client.call.m();
      const perCall = client.withTimeout(timeout).call.m();
      let settled = false;
      void Promise.allSettled([call, perCall]).then(() => (settled = true));
      // Node fires a timer of more than 2**31-1 ms after 1 ms: these must still be waiting.
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(settled, false, `timeout ${timeout}: a call settled early`);
      assert.equal(client.pending, 2);
      await client.close();
      await assert.rejects(call, ServiceClosedError);
    }
    const named = /timeout/;
    for (const bad of [-1, NaN, -Infinity]) {
      await assert.rejects(connectRpc({ connect: server.address, timeout: bad }), (e: Error) => e instanceof RangeError && named.test(e.message));
      await assert.rejects(serveRpc({ m: method(() => 1) }, { bind: endpoint(), timeout: bad }), (e: Error) => e instanceof RangeError && named.test(e.message));
      await using client = await connectRpc({ connect: server.address, timeout: 1000 });
      assert.throws(() => client.withTimeout(bad), (e: Error) => e instanceof RangeError && named.test(e.message));
      await assert.rejects(client.invoke('m', [], undefined, { timeout: bad }), (e: Error) => e instanceof RangeError && named.test(e.message));
      await assert.rejects(
        connectRpc({ connect: server.address, heartbeat: { interval: bad } }),
        (e: Error) => e instanceof RangeError && /heartbeat\.interval/.test(e.message),
      );
    }
    await assert.rejects(connectRpc({ connect: server.address, heartbeat: { interval: 2 ** 31 } }), /heartbeat\.interval/);
  });

  it('never delivers a call that timed out before any server was there', async () => {
    const address = endpoint('ipc');
    let ran = 0;
    const client = await connectRpc({ connect: address, timeout: 100 });
    try {
      const outcomes = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => client.call.count(i)));
      assert.ok(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof RpcTimeoutError));
      // Past the 250 ms send timeout of the one request that was in flight.
      await new Promise((r) => setTimeout(r, 400));
      await using server = await serveRpc({ count: method((_i: number) => void ran++), echo: method((x: unknown) => x) }, { bind: address });
      // A good call on the same client: requests go in order, so any old one would be first.
      await waitFor(async () => {
        try {
          return (await client.withTimeout(1000).call.echo('now')) === 'now';
        } catch {
          return false;
        }
      }, 10_000, 'the server to answer');
      assert.equal(ran, 0, 'a call nobody waited for ran');
      assert.equal(server.running, 0);
    } finally {
      await client.close();
    }
  });

  it('fails calls past sendQueueBytes with SendQueueFullError', async () => {
    const client = await connectRpc({ connect: endpoint('ipc'), timeout: 300, sendQueueBytes: 10_000 });
    try {
      const pad = 'p'.repeat(4096);
      const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => client.call.m(pad)));
      const full = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof SendQueueFullError).length;
      const timedOut = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof RpcTimeoutError).length;
      // No server is ever ready: two wait in the client (8 KiB), the rest are refused.
      assert.equal(full, 4, `${full} refused`);
      assert.equal(timedOut, 2);
    } finally {
      await client.close();
    }
  });
});
