/**
 * Generated code, compiled by tsc and run over real sockets: the samples' modules
 * (compiled with the project) and the golden kitchen module (compiled here).
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import Type from 'typebox';
import { CallAbortedError, ParameterError, PyDate, PyTimedelta, ReturnValueError, RpcTimeoutError, connectRpc, method, serveRpc } from 'zrpc';
import { TypedCaller } from 'zrpc/generated';
import { validatorWork } from '../src/runtime/handlers/validation.js';
import { generate } from '../src/codegen/index.js';
import { OutOfStock, connectShop, serveShop, type OrderLine, type ShopHandler } from '../samples/generated/shop.js';
import { connectThumbnails, serveThumbnails, type ResizeJob } from '../samples/generated/jobs.js';
import { connectPrices, servePrices, type Tick } from '../samples/generated/feed.js';
import { endpoint, repoRoot, waitFor } from './support/helpers.js';

function shopImpl(calls: string[]): ShopHandler {
  return {
    order(lines: OrderLine[], currency = 'EUR', note) {
      calls.push('order');
      if (lines.some((l) => l.qty > 5)) throw new OutOfStock('not enough', lines[0]!.sku);
      return { id: 'r-1', total: lines.length, currency, placedAt: new Date(Date.UTC(2024, 0, 2)), lines, ...(note ? { note } : {}) };
    },
    stock: (sku: string) => (sku === 'bad' ? ('lots' as unknown as number) : 3),
    billing: {
      refund: async (_id: string, amount: number, ctx) => {
        await new Promise((resolve) => {
          const t = setTimeout(resolve, amount);
          ctx.signal.addEventListener('abort', () => clearTimeout(t));
        });
        return amount;
      },
      history: () => [{ amount: 1, at: new Date(0) }],
    },
  };
}

describe('generated request/reply (shop)', () => {
  it('calls typed methods and namespaces, with Dates both ways', async () => {
    const calls: string[] = [];
    await using server = await serveShop(shopImpl(calls), { bind: endpoint() });
    await using shop = await connectShop({ connect: server.transport.bindings[0], timeout: 2000 });
    const receipt = await shop.order([{ sku: 'APL-1', qty: 2 }], 'USD', 'note');
    assert.equal(receipt.currency, 'USD');
    assert.ok(receipt.placedAt instanceof Date);
    assert.equal(receipt.placedAt.toISOString(), '2024-01-02T00:00:00.000Z');
    assert.deepEqual(receipt.lines, [{ sku: 'APL-1', qty: 2 }]);
    assert.equal(await shop.stock('APL-1'), 3);
    assert.equal(await shop.billing.refund('r-1', 1), 1);
    assert.equal((await shop.billing.history('r-1'))[0]!.at.getTime(), 0);
  });

  it('raises declared errors as their generated classes', async () => {
    await using server = await serveShop(shopImpl([]), { bind: endpoint() });
    await using shop = await connectShop({ connect: server.transport.bindings[0], timeout: 2000 });
    await assert.rejects(shop.order([{ sku: 'APL-1', qty: 9 }]), (e: unknown) => {
      assert.ok(e instanceof OutOfStock);
      assert.equal(e.message, 'not enough');
      assert.deepEqual(e.args, ['not enough', 'APL-1']);
      return true;
    });
  });

  it('checks arguments on the server, and on the client when asked', async () => {
    const calls: string[] = [];
    await using server = await serveShop(shopImpl(calls), { bind: endpoint() });
    await using shop = await connectShop({ connect: server.transport.bindings[0], timeout: 2000 });
    const badLine = { sku: 'nope', qty: 1 };
    await assert.rejects(shop.order([badLine]), (e: unknown) => e instanceof ParameterError && /order: parameter "lines" at \/0\/sku: must match pattern/.test(e.message));
    await assert.rejects(shop.order([{ sku: 'APL-1', qty: 1.5 }]), /parameter "lines" at \/0\/qty: must be integer/);
    // Several tags on one line all apply (`/** @integer @minimum 1 */ qty`).
    await assert.rejects(shop.order([{ sku: 'APL-1', qty: 0 }]), /parameter "lines" at \/0\/qty: must be >= 1 \(got 0\)/);
    await assert.rejects(shop.order([{ sku: 'APL-1', qty: 1 }], 'GBP' as 'EUR'), /parameter "currency"/);
    assert.deepEqual(calls, [], 'no invalid call reached the implementation');
    await assert.rejects(shop.stock('bad'), (e: unknown) => e instanceof ReturnValueError && /stock: return value must be number \(got "lots"\)/.test(e.message));

    await using checked = await connectShop({ connect: server.transport.bindings[0], checkArguments: true });
    const sent = server.running;
    await assert.rejects(checked.order([badLine]), (e: unknown) => e instanceof ParameterError && /must match pattern/.test(e.message));
    await assert.rejects(checked.billing.refund('r', -1), /parameter "amount" must be greater or equal to 0|parameter "amount" .*0/);
    assert.equal(server.running, sent);
    assert.equal((await checked.order([{ sku: 'APL-1', qty: 1 }])).id, 'r-1');
  });

  it('compiles validators on a client only when it checks arguments', async () => {
    // Specs of their own, so that no server in this process has compiled their schemas.
    const specs = { add: { params: [{ name: 'a', schema: Type.Number() }, { name: 'b', schema: Type.Number() }], returns: Type.Number() } };
    await using server = await serveRpc({ add: method((a: number, b: number) => a + b) }, { bind: endpoint() });
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    const send = (name: string, args: unknown[]) => client.invoke(name, args);
    const before = validatorWork.compiled;
    assert.equal(await new TypedCaller(client, send, specs).call('add', [1, 2]), 3);
    // A surplus argument is refused by count alone, still without a validator.
    await assert.rejects(new TypedCaller(client, send, specs).call('add', [1, 2], undefined, 1), /add: too many positional arguments \(takes 2, got 3\)/);
    assert.equal(validatorWork.compiled, before, 'no validator compiled for an unchecked client');
    await assert.rejects(new TypedCaller(client, send, specs, true).call('add', [1, 'x']), /parameter "b" must be number/);
    assert.equal(validatorWork.compiled, before + 3, 'both parameters and the return value, once checked');
  });

  it('rejects (never throws) for an implementation missing a method, naming it', async () => {
    const { stock: _, ...partial } = shopImpl([]);
    let served: Promise<unknown> | undefined;
    assert.doesNotThrow(() => (served = serveShop(partial as ShopHandler, { bind: endpoint() })));
    await assert.rejects(served!, /the implementation has no method stock/);
  });

  it('honours per-call timeouts and signals, and with()/withTimeout() views', async () => {
    await using server = await serveShop(shopImpl([]), { bind: endpoint() });
    await using shop = await connectShop({ connect: server.transport.bindings[0] });
    await assert.rejects(shop.billing.refund('r', 500, { timeout: 20 }), RpcTimeoutError);
    await assert.rejects(shop.withTimeout(20).billing.refund('r', 500), RpcTimeoutError);
    await assert.rejects(shop.with({ signal: AbortSignal.abort('stop') }).stock('x'), CallAbortedError);
    assert.equal(await shop.withTimeout(1000).billing.refund('r', 1), 1);
  });
});

describe('generated pipeline (jobs) and pub/sub (feed)', () => {
  it('delivers typed notifications to a typed worker', async () => {
    const done: string[] = [];
    await using worker = await serveThumbnails(
      {
        render: (job: ResizeJob) => void done.push(`${job.imageId}:${job.widths.join(',')}`),
        purge: (id: string, ...widths: number[]) => void done.push(`purge ${id} ${widths.join(',')}`),
      },
      { bind: endpoint() },
    );
    await using jobs = await connectThumbnails({ connect: worker.transport.bindings[0], checkArguments: true });
    await jobs.render({ imageId: 'a', widths: [1, 2] });
    await jobs.purge('a', 1, 2, 3);
    await assert.rejects(jobs.render({ imageId: 'b', widths: [] }), /must not have fewer than 1 items/);
    await waitFor(() => done.length === 2, 3000, 'two jobs');
    assert.deepEqual(done, ['a:1,2', 'purge a 1,2,3']);
  });

  it('publishes typed calls by topic', async () => {
    const seen: string[] = [];
    let probes = 0;
    await using feed = await connectPrices({ bind: endpoint() });
    await using desk = await servePrices(
      {
        tick: (t: Tick) => void (t.symbol === 'probe' ? probes++ : seen.push(`${t.symbol} ${t.price} ${t.at.toISOString()}`)),
        close: (day: PyDate, prices: Record<string, number>) => void seen.push(`close ${day} ${JSON.stringify(prices)}`),
      },
      { connect: feed.transport.bindings[0], subscribe: 'EQ.' },
    );
    await waitFor(async () => {
      await feed.publish('EQ.x').tick({ symbol: 'probe', price: 1, at: new Date() });
      return probes > 0;
    }, 5000, 'subscription');
    await feed.publish('EQ.A').tick({ symbol: 'A', price: 2, at: new Date(0) });
    await feed.publish('FX.B').tick({ symbol: 'B', price: 3, at: new Date(0) });
    await feed.publish('EQ.').close(new PyDate(2024, 12, 24), { A: 2.5 });
    await waitFor(() => seen.length === 2, 3000, 'two messages');
    assert.deepEqual(seen, ['A 2 1970-01-01T00:00:00.000Z', 'close 2024-12-24 {"A":2.5}']);
    void desk;
  });
});

describe('generated kitchen module (golden input, compiled here)', () => {
  const outDir = join(repoRoot, 'dist/golden-e2e');
  // The module is compiled at test time, so it is used through this narrow view.
  interface Kitchen {
    serveKitchen(impl: object, options: object): Promise<AsyncDisposable & { transport: { bindings: string[] } }>;
    connectKitchen(options: object): Promise<AsyncDisposable & Record<string, (...args: unknown[]) => Promise<unknown>> & { admin: { ping(): Promise<unknown>; audit: { log(l: string): Promise<unknown> } } }>;
    NotAllowed: new (...args: unknown[]) => Error;
  }
  let kitchen: Kitchen;
  type PointClass = new (x: number, y: number) => { x: number; y: number };
  let Point: PointClass;

  before(async () => {
    await generate({ inputs: ['test/golden/inputs/kitchen.ts', 'test/golden/inputs/common.ts', 'test/golden/inputs/point.ts'], outDir, cwd: repoRoot });
    const file = join(outDir, 'kitchen.ts');
    const program = ts.createProgram([file, join(repoRoot, 'test/golden/inputs/point.ts')], {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      skipLibCheck: true,
      types: [],
      rootDir: repoRoot,
      outDir: join(outDir, 'js'),
    });
    const emitted = program.emit();
    assert.deepEqual(ts.getPreEmitDiagnostics(program).concat(emitted.diagnostics).map((d) => d.messageText), []);
    kitchen = (await import(pathToFileURL(join(outDir, 'js/dist/golden-e2e/kitchen.js')).href)) as Kitchen;
    Point = ((await import(pathToFileURL(join(outDir, 'js/test/golden/inputs/point.js')).href)) as { Point: PointClass }).Point;
  });

  it('round-trips every mapped type through a generated server and client', async () => {
    const everything = {
      n: 1.5, percent: 50, code: 'abc', count: 1, slug: 'abc', flag: true, nothing: null, maybe: 2, orUndefined: 'x',
      literal: 'on', color: 'red', level: 2, list: [1, 2], frozen: ['a'], pair: [1, 'a'], optionalTail: [1],
      restTail: ['a', 1, 2], inline: { x: 1 }, byKey: { a: true }, both: { a: 1, b: 'b' },
      when: new Date(Date.UTC(2024, 1, 3, 4, 5, 6, 7)), bytes: new Uint8Array([1, 2, 255]), big: 2n ** 60n, anything: { deep: [null] },
      day: new PyDate(2024, 2, 29), span: new PyTimedelta(1, 2, 3), id: 'id-1', money: { amount: 10n ** 18n, currency: 'EUR' },
      page: { items: [{ label: 'root', children: [{ label: 'leaf', children: [] }] }] }, fixed: 7,
    };
    const impl = {
      echo: (value: unknown) => value,
      add: (a: number, b = 1) => a + b,
      tree: (depth: number) => ({ label: `d${depth}`, children: depth > 0 ? [{ label: 'c', children: [] }] : [] }),
      list: (folder: { name: string }, ...names: string[]) => ({ items: names.map((name) => ({ name, parent: folder.name === 'root' ? null : { name: folder.name, files: [] } })) }),
      cook: () => {
        throw new kitchen.NotAllowed('closed');
      },
      admin: { ping: () => 'pong', audit: { log: (line: string) => line.length > 0 } },
      move: (p: { x: number; y: number }, dx: number) => new Point(p.x + dx, p.y),
    };
    await using server = await kitchen.serveKitchen(impl, { bind: endpoint() });
    await using client = await kitchen.connectKitchen({ connect: server.transport.bindings[0], timeout: 3000 });
    const back = (await client.echo!(everything)) as Record<string, unknown>;
    assert.equal((back.when as Date).getTime(), everything.when.getTime());
    assert.deepEqual({ ...back, when: undefined, bytes: [...(back.bytes as Uint8Array)] }, { ...everything, when: undefined, bytes: [1, 2, 255] });
    assert.equal(await client.add!(2), 3);
    assert.equal(await client.add!(2, 5), 7);
    await assert.rejects(client.add!(2, -1), /parameter "b" must be greater or equal to 0|parameter "b"/);
    assert.deepEqual(await client.tree!(1), { label: 'd1', children: [{ label: 'c', children: [] }] });
    assert.deepEqual(await client.list!({ name: 'root', files: [] }, 'a', 'b'), { items: [{ name: 'a', parent: null }, { name: 'b', parent: null }] });
    await assert.rejects(client.cook!('soup'), (e: unknown) => e instanceof kitchen.NotAllowed && e.message === 'closed');
    const moved = (await client.move!(new Point(1, 2), 3)) as { x: number; y: number };
    assert.ok(moved instanceof Point, 'the translated class came back as itself');
    assert.deepEqual([moved.x, moved.y], [4, 2]);
    await assert.rejects(client.move!({ x: 1, y: 2 }, 3), /parameter "p" must be a Point/);
    assert.equal(await client.admin.ping(), 'pong');
    assert.equal(await client.admin.audit.log('x'), true);
    await assert.rejects(client.echo!({ ...everything, percent: 101 }), /parameter "value" at \/percent/);
    await assert.rejects(client.echo!({ ...everything, page: { items: [{ label: 1, children: [] }] } }), /at \/page\/items\/0\/label/);
  });

  it('keeps small bigints bigint both ways, nested ones included', async () => {
    // 5n and 10n travel as plain msgpack ints; the schemas say bigint, so both ends rebuild them.
    const seen: unknown[] = [];
    const impl = {
      echo: (value: { big: unknown; money: { amount: unknown } }) => (seen.push(value.big, value.money.amount), value),
      add: (a: number) => a, tree: () => ({ label: '', children: [] }), list: () => ({ items: [] }), cook: () => {},
      admin: { ping: () => 'pong', audit: { log: () => true } }, move: (p: unknown) => p,
    };
    await using server = await kitchen.serveKitchen(impl, { bind: endpoint() });
    await using client = await kitchen.connectKitchen({ connect: server.transport.bindings[0], timeout: 3000 });
    const value = {
      n: 1, percent: 1, code: 'abc', count: 1, slug: 'abc', flag: true, nothing: null, orUndefined: 'x', literal: 'on', color: 'red', level: 2,
      list: [], frozen: [], pair: [1, 'a'], optionalTail: [1], restTail: ['a'], inline: { x: 1 }, byKey: {}, both: { a: 1, b: 'b' },
      when: new Date(0), bytes: new Uint8Array(), big: 5n, anything: null, day: new PyDate(2024, 1, 1), span: new PyTimedelta(0, 0, 0),
      id: 'i', money: { amount: 10n, currency: 'EUR' }, page: { items: [] }, fixed: 7,
    };
    const back = (await client.echo!(value)) as { big: unknown; money: { amount: unknown } };
    assert.deepEqual(seen, [5n, 10n], 'the handler got bigints');
    assert.equal(back.big, 5n);
    assert.equal(back.money.amount, 10n);
    assert.equal((back.big as bigint) + 1n, 6n);
  });
});
