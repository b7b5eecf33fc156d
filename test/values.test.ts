/**
 * Values as the types say: bigint where the schema says bigint, the exact translator
 * class first, and arity and undeclared properties on typed methods. Real sockets, and
 * the live Python aiozmq peer (test/python/values_peer.py) where Python has a side.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Type from 'typebox';
import { connectRpc, method, ParameterError, serveRpc, type RpcClient, type TranslationTable } from 'zrpc';
import { TypedCaller, typedHandler, type MethodSpecs } from 'zrpc/generated';
import { LineProcess } from '../bench/line-process.js';
import { endpoint, repoRoot } from './support/helpers.js';
import { PYTHON } from './support/python-peer.js';

const script = join(repoRoot, 'test/python/values_peer.py');

/** The Python peer of these tests: `serve-rpc` etc. print `READY <endpoint>` first. */
async function pythonServer(mode: string, ...rest: string[]) {
  const peer = new LineProcess(PYTHON, [script, mode, ...rest]);
  return { peer, endpoint: await peer.value('READY') };
}

const Money = Type.Object({ amount: Type.BigInt(), items: Type.Array(Type.BigInt()) });
const specs = {
  price: { params: [{ name: 'cents', schema: Type.BigInt() }], returns: Type.BigInt() },
  total: { params: [{ name: 'money', schema: Money }], returns: Type.Object({ sum: Type.BigInt(), note: Type.Union([Type.BigInt(), Type.String()]) }) },
  maybe: { params: [{ name: 'v', schema: Type.Union([Type.Number(), Type.BigInt()]) }], returns: Type.Union([Type.Number(), Type.BigInt()]) },
  keys: { params: [{ name: 'o', schema: Type.Object({ a: Type.Number() }) }], returns: Type.Array(Type.String()) },
  boom: { params: [] },
} satisfies MethodSpecs;

const seen: unknown[] = [];
const impl = {
  price: (cents: bigint) => (seen.push(cents), cents + 1n),
  total: (money: { amount: bigint; items: bigint[] }) => ({ sum: money.items.reduce((a, b) => a + b, money.amount), note: 3n }),
  maybe: (v: number | bigint) => v,
  keys: (o: object) => Object.keys(o),
  boom: () => {
    throw new TypeError('note must not be boom');
  },
};

/** A typed client over a plain RpcClient, as generated code builds one. */
function typed(client: RpcClient): TypedCaller {
  return new TypedCaller(client, (name, args, call) => client.invoke(name, args, undefined, call), specs, true);
}

describe('bigint where the schema says bigint', () => {
  it('gives the handler and the typed caller bigints, nested ones included', async () => {
    await using server = await serveRpc(typedHandler(impl, specs), { bind: endpoint('inproc') });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 5000 });
    const caller = typed(client);
    seen.length = 0;
    const price = await caller.call('price', [1999n]);
    assert.equal(seen[0], 1999n, 'the handler got a bigint');
    assert.equal(price, 2000n, 'the caller got a bigint');
    assert.equal((price as bigint) + 1n, 2001n);
    assert.deepEqual(await caller.call('total', [{ amount: 5n, items: [1n, 2n] }]), { sum: 8n, note: 3n });
    // Beyond 2^53 the wire already carries bigint; nothing to coerce.
    assert.equal(await caller.call('price', [2n ** 60n]), 2n ** 60n + 1n);
    // A union that takes number keeps the number: nothing is coerced that already fits.
    assert.equal(await caller.call('maybe', [7]), 7);
    assert.equal(await caller.call('maybe', [7n]), 7, 'sent as an int, kept as number since number fits');
  });

  it('untyped calls see plain numbers, and bad values still fail validation', async () => {
    await using server = await serveRpc(typedHandler(impl, specs), { bind: endpoint('inproc') });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 5000 });
    // The server takes 10 for a bigint; the untyped client gets what the wire holds, a number.
    assert.equal(await client.call.price(10), 11);
    assert.equal(await client.call.price(10n), 11);
    await assert.rejects(client.call.price(1.5), (e: unknown) => e instanceof ParameterError && /"cents"/.test(e.message));
    await assert.rejects(client.call.price('12'), ParameterError);
    await assert.rejects(client.call.total({ amount: 1, items: [1, 'x'] }), /at \/items\/1/);
  });

  it('accepts a Python caller\'s ints for bigint parameters, nested too', async () => {
    await using server = await serveRpc(typedHandler(impl, specs), { bind: 'tcp://127.0.0.1:0' });
    await using peer = new LineProcess(PYTHON, [script, 'call-rpc', server.transport.bindings[0]!, 'bigint']);
    assert.equal(await peer.value('price'), '2000');
    assert.equal(await peer.value('price_kw'), '8');
    assert.equal(await peer.value('total'), "{'sum': 8, 'note': 3}");
  });
});

class A {
  constructor(readonly x: number) {}
}
class B extends A {}
const translators: TranslationTable = {
  1: [A, (a: A) => Buffer.from(String(a.x)), (data: Uint8Array) => new A(Number(Buffer.from(data).toString()))],
  2: [B, (b: B) => Buffer.from(String(b.x)), (data: Uint8Array) => new B(Number(Buffer.from(data).toString()))],
};

describe('translators: the exact class first, as aiozmq', () => {
  it('sends a subclass under its own code, not its base class\'s', async () => {
    const handler = { which: method((v: A) => `${v.constructor.name}(${v.x})`), make: method((x: number) => new B(x)) };
    await using server = await serveRpc(handler, { bind: endpoint('inproc'), translationTable: translators });
    await using client = await connectRpc({ connect: server.transport.bindings[0], translationTable: translators, timeout: 5000 });
    assert.equal(await client.call.which(new B(3)), 'B(3)');
    assert.equal(await client.call.which(new A(4)), 'A(4)');
    const made = await client.call.make(5);
    assert.ok(made instanceof B);
    // A class with no entry of its own still takes the first code it is an instance of.
    class C extends B {}
    assert.equal(await client.call.which(new C(6)), 'A(6)');
  });

  it('agrees with Python aiozmq both ways', async () => {
    const { peer, endpoint: python } = await pythonServer('serve-rpc');
    await using _ = peer;
    await using client = await connectRpc({ connect: python, translationTable: translators, timeout: 5000 });
    assert.equal(await client.call.which(new B(3)), 'B(3)', 'zrpc sent B as code 2');
    assert.equal(await client.call.which(new A(4)), 'A(4)');
    assert.ok((await client.call.make_b(5)) instanceof B, 'Python sent B as code 2');

    const handler = { which: method((v: A) => `${v.constructor.name}(${v.x})`), make_b: method((x: number) => new B(x)) };
    await using server = await serveRpc(handler, { bind: 'tcp://127.0.0.1:0', translationTable: translators });
    await using caller = new LineProcess(PYTHON, [script, 'call-rpc', server.transport.bindings[0]!, 'translators']);
    assert.equal(await caller.value('which_b'), "'B(3)'");
    assert.equal(await caller.value('which_a'), "'A(4)'");
    assert.equal(await caller.value('make_b'), 'B(5)');
  });
});

describe('arity and undeclared properties of typed methods', () => {
  it('refuses extra positional arguments at both ends', async () => {
    await using server = await serveRpc(typedHandler(impl, specs), { bind: endpoint('inproc') });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 5000 });
    await assert.rejects(client.call.price(1, 2), (e: unknown) => e instanceof ParameterError && /too many positional arguments \(takes 1, got 2\)/.test(e.message));
    const caller = typed(client);
    // What a generated method passes for `price(1n, 2n)` from plain JavaScript: one surplus argument.
    await assert.rejects(caller.call('price', [1n], undefined, 1), /price: too many positional arguments \(takes 1, got 2\)/);
    // ... and for `price(1n, 2n)` on an RPC method, where the 2n lands in `options`.
    await assert.rejects(caller.call('price', [1n], 2n as never), /takes 1, got 2/);
  });

  it('passes properties a schema does not declare through to the handler', async () => {
    await using server = await serveRpc(typedHandler(impl, specs), { bind: endpoint('inproc') });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 5000 });
    assert.deepEqual(await typed(client).call('keys', [{ a: 1, extra: true }]), ['a', 'extra']);
  });
});
