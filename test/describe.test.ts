/**
 * `zrpc:describe`: a request/reply server's description of itself, over real sockets,
 * read by zrpc and by Python's aiozmq; walking a handler runs none of its getters.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Type from 'typebox';
import { AttrHandler, connectRpc, describeHandler, method, NotFoundError, Packer, PyDate, serveRpc, type CallContext } from 'zrpc';
import { Wire } from 'zrpc/generated';
import { endpoint } from './support/helpers.js';
import { PythonPeer } from './support/python-peer.js';

class Billing extends AttrHandler {
  @method
  refund(id: string, amount = 0): string {
    return `${id}:${amount}`;
  }
}

class Api extends AttrHandler {
  readonly billing = new Billing();
  getterRan = 0;

  @method
  add(a: number, b = 1): number {
    return a + b;
  }

  @method({ context: true })
  slow(n: number, ctx: CallContext): number {
    return ctx ? n : 0;
  }

  /** Not marked: not listed. */
  hidden(): void {}

  get trap(): unknown {
    this.getterRan++;
    throw new Error('a getter ran');
  }
}

const typed = {
  when: method((at: Date, data: Uint8Array, day: PyDate) => [at, data, day], {
    params: [
      { name: 'at', schema: Wire.Date() },
      { name: 'data', schema: Wire.Bytes(), doc: 'raw bytes' },
      { name: 'day', schema: Wire.Instance(PyDate), optional: true },
    ],
    returns: Type.Array(Type.Unknown()),
    doc: 'Echoes its arguments.',
    throws: [{ name: 'Late', doc: 'when it is too late' }],
  }),
  [Symbol('hidden')]: method(() => 1),
};

describe('zrpc:describe', () => {
  it('lists methods, parameters and namespaces of a class handler, running no getter', async () => {
    const api = new Api();
    await using server = await serveRpc(api, { bind: endpoint() });
    await using client = await connectRpc({ connect: server.transport.bindings[0]!, timeout: 5000 });
    const description = await client.invoke('zrpc:describe');
    assert.deepEqual(description, {
      zrpc: 1,
      pattern: 'rpc',
      methods: [
        { name: 'add', params: [{ name: 'a' }, { name: 'b', optional: true }] },
        { name: 'billing.refund', params: [{ name: 'id' }, { name: 'amount', optional: true }] },
        { name: 'slow', params: [{ name: 'n' }] },
      ],
    });
    assert.equal(api.getterRan, 0);
  });

  it('gives JSON Schemas, docs and errors, with the Wire types marked, as plain msgpack', async () => {
    await using server = await serveRpc(typed, { bind: endpoint() });
    await using client = await connectRpc({ connect: server.transport.bindings[0]!, timeout: 5000 });
    const description = await client.invoke('zrpc:describe');
    const expected = {
      zrpc: 1,
      pattern: 'rpc',
      methods: [
        {
          name: 'when',
          params: [
            { name: 'at', schema: { 'x-zrpc': 'date', description: 'a Date' } },
            { name: 'data', schema: { 'x-zrpc': 'bytes', description: 'bytes' }, doc: 'raw bytes' },
            { name: 'day', optional: true, schema: { 'x-zrpc': 'instance:PyDate', description: 'a PyDate' } },
          ],
          returns: { type: 'array', items: {} },
          doc: 'Echoes its arguments.',
          throws: [{ name: 'Late', doc: 'when it is too late' }],
        },
      ],
    };
    assert.deepEqual(description, expected);
    // Plain data: it survives JSON, so nothing in it needs a translator or a class.
    assert.deepEqual(JSON.parse(JSON.stringify(description)), expected);
    assert.deepEqual(new Packer().decode(new Packer().encode(description)), expected);
  });

  it('is answered NotFoundError when the server says describe: false', async () => {
    await using server = await serveRpc(new Api(), { bind: endpoint(), describe: false });
    await using client = await connectRpc({ connect: server.transport.bindings[0]!, timeout: 5000 });
    await assert.rejects(client.invoke('zrpc:describe'), NotFoundError);
    assert.equal(await client.invoke('add', [1, 2]), 3);
  });

  it('is bounded: deep namespaces, many methods and cycles are cut, not followed', () => {
    const root: Record<string, unknown> = { self: undefined };
    root.self = root;
    let level: Record<string, unknown> = root;
    for (let i = 0; i < 30; i++) level = level.next = { fn: method(() => i) };
    for (let i = 0; i < 50; i++) root[`m${i}`] = method(() => i);
    const small = describeHandler(root, 'rpc', { maxDepth: 3, maxMethods: 10 });
    assert.equal(small.truncated, true);
    assert.equal(small.methods.length, 10);
    const deep = describeHandler(root, 'rpc', { maxDepth: 3, maxMethods: 1000 });
    assert.equal(deep.truncated, true);
    assert.deepEqual(deep.methods.filter((m) => m.name.endsWith('.fn')).map((m) => m.name), ['next.fn', 'next.next.fn', 'next.next.next.fn']);
    assert.equal(deep.methods.length, 53);
  });

  it('is read by a Python aiozmq client, through getattr', async () => {
    await using server = await serveRpc(typed, { bind: endpoint() });
    await using peer = new PythonPeer(['describe', server.transport.bindings[0]!]);
    const description = JSON.parse(await peer.value('DESCRIBED'));
    assert.equal(description.pattern, 'rpc');
    assert.deepEqual(description.methods[0].params[0], { name: 'at', schema: { 'x-zrpc': 'date', description: 'a Date' } });
    assert.deepEqual(description.methods[0].throws, [{ name: 'Late', doc: 'when it is too late' }]);
  });
});
