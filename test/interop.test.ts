/**
 * zrpc and the real Python aiozmq.rpc (Debian's python3-aiozmq), live, both ways, in
 * every pattern. Python prints repr() of what it received or got back, so each side's
 * view is asserted exactly.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Type from 'typebox';
import {
  AttrHandler,
  GenericError,
  NotFoundError,
  ParameterError,
  PyDate,
  PyDateTime,
  PyTime,
  PyTimedelta,
  PyTimezone,
  RpcTimeoutError,
  builtins,
  connectPipeline,
  connectPubSub,
  connectRpc,
  kwargs,
  method,
  serveRpc,
  servePipeline,
  servePubSub,
  type CallContext,
} from 'zrpc';
import { endpoint, waitFor } from './support/helpers.js';
import { PythonPeer, pythonServer } from './support/python-peer.js';

class OutOfStock extends Error {
  static readonly wireName = 'shop.OutOfStock';
}

class ZrpcApi extends AttrHandler {
  @method add(a: number, b = 1) {
    return a + b;
  }
  @method echo(value: unknown) {
    return value;
  }
  /** How JavaScript sees a map with non-string keys (aiozmq 1.0 cannot read one back). */
  @method keys(value: Map<unknown, unknown>) {
    return `Map ${[...value].map(([k, v]) => `${JSON.stringify(k)}=>${String(v)}`).join(' ')}`;
  }
  @method now() {
    return { date: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), day: new PyDate(2024, 2, 29), span: new PyTimedelta(1, 2, 3) };
  }
  @method fail(kind: string): never {
    if (kind === 'type') throw new TypeError('wrong type');
    if (kind === 'range') throw new RangeError('out of range');
    throw new OutOfStock('sku-1');
  }
  @method({ context: true })
  async slow(seconds: number, ctx: CallContext) {
    await new Promise((r) => {
      const t = setTimeout(r, seconds * 1000);
      ctx.signal.addEventListener('abort', () => clearTimeout(t));
    });
    return seconds;
  }
  readonly billing = { refund: method((id: string, amount = 0) => `${id}:${amount}`) };
  readonly order = method((sku: string, qty: number) => `${sku} x${qty}`, {
    params: [
      { name: 'sku', schema: Type.String() },
      { name: 'qty', schema: Type.Integer({ minimum: 1 }) },
    ],
  });
}

describe('interop: zrpc client, Python aiozmq server', () => {
  it('calls with positional and named arguments, through namespaces', async () => {
    const { peer, endpoint } = await pythonServer('serve-rpc');
    await using _ = peer;
    await using client = await connectRpc({ connect: endpoint, timeout: 5000 });
    assert.equal(await client.call.add(1, 2), 3);
    assert.equal(await client.call.add(1, kwargs({ b: 41 })), 42);
    assert.equal(await client.call.add(kwargs({ a: 2 })), 3);
    assert.equal(await client.call.billing.refund('r1', kwargs({ amount: 5 })), 'r1:5');
    assert.equal(await client.call.describe(1, 'two', kwargs({ k: null })), "(1, 'two') {'k': None}");
  });

  it('sends values Python reads as the right types', async () => {
    const { peer, endpoint } = await pythonServer('serve-rpc');
    await using _ = peer;
    await using client = await connectRpc({ connect: endpoint, timeout: 5000 });
    const seen = await client.call.describe(
      2n ** 64n - 1n,
      -(2n ** 63n),
      1.5,
      'héllo',
      Buffer.from([0, 1, 255]),
      null,
      [1, [2]],
      { k: [true] },
      new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)),
      new PyDateTime(2024, 1, 2, 3, 4, 5, 678901),
      new PyDate(2024, 2, 29),
      new PyTime(13, 14, 15, 16, PyTimezone.utc),
      new PyTimedelta(-1, 5, 7),
      PyTimezone.ofMinutes(-480, 'PST'),
    );
    assert.equal(
      seen,
      '(18446744073709551615, -9223372036854775808, 1.5, \'héllo\', b\'\\x00\\x01\\xff\', None, (1, (2,)), ' +
        "{'k': (True,)}, " +
        'datetime.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc), ' +
        'datetime.datetime(2024, 1, 2, 3, 4, 5, 678901), ' +
        'datetime.date(2024, 2, 29), ' +
        'datetime.time(13, 14, 15, 16, tzinfo=datetime.timezone.utc), ' +
        'datetime.timedelta(days=-1, seconds=5, microseconds=7), ' +
        "datetime.timezone(datetime.timedelta(days=-1, seconds=57600), 'PST'))",
    );
  });

  it('receives Python values as documented JavaScript forms', async () => {
    const { peer, endpoint } = await pythonServer('serve-rpc');
    await using _ = peer;
    await using client = await connectRpc({ connect: endpoint, timeout: 5000 });
    const v = (await client.call.values()) as Record<string, unknown>;
    const naive = v.datetime_naive as PyDateTime;
    assert.ok(naive instanceof Date && naive instanceof PyDateTime);
    assert.equal(naive.toISOString(), '2024-01-02T03:04:05.678Z');
    assert.equal(naive.microsecond, 678901);
    assert.equal(naive.tzinfo, null);
    const ist = v.datetime_ist as PyDateTime;
    assert.equal(ist.toISOString(), '2024-01-01T21:34:05.000Z');
    assert.equal(ist.tzinfo!.offsetMilliseconds, 330 * 60_000);
    assert.ok((v.date as PyDate).equals(new PyDate(2024, 2, 29)));
    assert.ok((v.time as PyTime).equals(new PyTime(13, 14, 15, 16, PyTimezone.utc)));
    assert.ok((v.timedelta as PyTimedelta).equals(new PyTimedelta(-1, 5, 7)));
    assert.ok((v.tz as PyTimezone).equals(PyTimezone.ofMinutes(-480, 'PST')));
    assert.equal(v.big, 2n ** 64n - 1n);
    assert.equal(v.neg, -(2n ** 63n));
    assert.equal(v.float, 1.5);
    assert.deepEqual([...(v.bytes as Uint8Array)], [0, 1, 255]);
    assert.deepEqual([...(v.int_keys as Map<number, string>)], [[1, 'one'], [2, 'two']]);
    assert.deepEqual([...(v.tuple_keys as Map<unknown, string>)], [[[1, 2], 'a']]);
    assert.equal(v.none, null);
    assert.deepEqual(v.nested, [1, [2, [3, 4]], { k: [true, false] }]);
    // And back: every one of them returns to Python as it came.
    assert.equal(await client.call.describe(naive), '(datetime.datetime(2024, 1, 2, 3, 4, 5, 678901),)');
    assert.equal(await client.call.describe(ist), '(datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(seconds=19800))),)');
  });

  it('re-raises Python errors as documented classes, args kept', async () => {
    const { peer, endpoint } = await pythonServer('serve-rpc');
    await using _ = peer;
    await using client = await connectRpc({ connect: endpoint, timeout: 5000 });
    await assert.rejects(client.call.fail('value'), (e: unknown) => e instanceof builtins.ValueError && assert.deepEqual(e.arguments, ['bad value', 42]) === undefined);
    await assert.rejects(client.call.fail('key'), (e: unknown) => e instanceof builtins.KeyError && e instanceof builtins.LookupError && e.arguments[0] === 'missing');
    await assert.rejects(client.call.fail('type'), builtins.TypeError);
    await assert.rejects(client.call.fail('zero'), (e: unknown) => e instanceof builtins.ZeroDivisionError && e instanceof builtins.ArithmeticError);
    await assert.rejects(client.call.fail('custom'), (e: unknown) => e instanceof GenericError && e.excType === 'shop.errors.CustomError' && e.arguments.length === 2);
    await assert.rejects(client.call.nope(), (e: unknown) => e instanceof NotFoundError && e.method === 'nope');
    await assert.rejects(client.call.add(1, 2, 3), (e: unknown) => e instanceof ParameterError && /too many positional arguments/.test(e.message));
  });

  it('times out on the client, drops the late reply and goes on', async () => {
    const { peer, endpoint } = await pythonServer('serve-rpc');
    await using _ = peer;
    await using client = await connectRpc({ connect: endpoint });
    await assert.rejects(client.withTimeout(100).call.sleep(0.3), RpcTimeoutError);
    assert.equal(client.pending, 0);
    // aiozmq 1.0 accepts a server `timeout` but never applies it, so the server side
    // of a timeout is only tested against zrpc servers.
    assert.equal(await client.call.sleep(0.01), 0.01);
  });

  it('notifies a Python pipeline server', async () => {
    const { peer, endpoint } = await pythonServer('serve-pipeline');
    await using _ = peer;
    await using client = await connectPipeline({ connect: endpoint });
    await client.notify.record(1, 'two', Buffer.from([3]), kwargs({ when: new PyDate(2024, 2, 29) }));
    await client.notify.ns.deep({ list: [1, [2, 3]] });
    assert.equal(await peer.value('CALL'), "(1, 'two', b'\\x03') {'when': datetime.date(2024, 2, 29)}");
    assert.equal(await peer.value('CALL ns.deep'), "{'list': (1, (2, 3))}");
  });

  it('publishes to a Python pub/sub server by topic prefix', async () => {
    const { peer, endpoint } = await pythonServer('serve-pubsub', 'news', 'sport');
    await using _ = peer;
    await using client = await connectPubSub({ connect: endpoint });
    await waitFor(async () => {
      await client.publish('news').record('probe');
      return peer.lines.some((l) => l.startsWith('CALL'));
    }, 10_000, 'subscription');
    await client.publish('weather').record('not subscribed');
    await client.publish('sport.tennis').record('match', kwargs({ set: 3 }));
    await waitFor(() => peer.lines.some((l) => l.includes("'match'")), 5000, 'the sport call');
    assert.ok(peer.lines.includes("CALL ('match',) {'set': 3}"));
    assert.ok(!peer.lines.some((l) => l.includes('not subscribed')));
  });
});

describe('interop: Python aiozmq client, zrpc server', () => {
  it('serves Python calls: arguments, values, errors, validation and timeouts', async () => {
    await using server = await serveRpc(new ZrpcApi(), { bind: endpoint(), timeout: 5000 });
    const peer = new PythonPeer(['call-rpc', server.transport.bindings[0]!]);
    await using _ = peer;
    assert.equal(await peer.value('add'), '3');
    assert.equal(await peer.value('add_kwargs'), '42');
    assert.equal(await peer.value('add_all_kwargs'), '5');
    assert.equal(await peer.value('ns'), "'r1:5'");
    assert.equal(
      await peer.value('echo_values'),
      "{'when': datetime.datetime(2024, 1, 2, 3, 4, 5, 678901), " +
        "'ist': datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(seconds=19800))), " +
        "'date': datetime.date(2024, 2, 29), 'time': datetime.time(13, 14, 15, 16), " +
        "'delta': datetime.timedelta(days=-1, seconds=5), " +
        "'tz': datetime.timezone(datetime.timedelta(days=-1, seconds=57600)), " +
        "'big': 18446744073709551615, 'bytes': b'\\x00\\xff', 't': (1, 2)}",
    );
    assert.equal(await peer.value('echo_bytes'), 'True');
    assert.equal(await peer.value('echo_big_bytes'), 'True');
    assert.equal(await peer.value('int_keys'), `"Map 1=>one [1,2]=>a"`.replaceAll('"', "'"));
    assert.equal(
      await peer.value('now'),
      "{'date': datetime.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc), " +
        "'day': datetime.date(2024, 2, 29), 'span': datetime.timedelta(days=1, seconds=2, microseconds=3)}",
    );
    assert.equal(await peer.value('not_found'), "RAISED aiozmq.rpc.base.NotFoundError ('nope',)");
    assert.equal(await peer.value('bad_params'), "RAISED aiozmq.rpc.base.ParametersError ('add: too many positional arguments (takes 2, got 3)',)");
    assert.equal(await peer.value('bad_kwarg'), "RAISED aiozmq.rpc.base.ParametersError (\"add: got an unexpected keyword argument 'c'\",)");
    assert.match(await peer.value('validation'), /^RAISED aiozmq\.rpc\.base\.ParametersError \('order: parameter "qty" .*\(got 0\)',\)$/);
    assert.equal(await peer.value('type_error'), "RAISED builtins.TypeError ('wrong type',)");
    assert.equal(await peer.value('range_error'), "RAISED builtins.ValueError ('out of range',)");
    assert.equal(await peer.value('custom'), "RAISED __main__.ShopError ('sku-1',)");
    assert.match(await peer.value('timeout'), /^RAISED (asyncio\.exceptions|builtins)\.TimeoutError \(\)$/);
    assert.equal(await peer.finish(), 0);
  });

  it('runs Python pipeline notifications', async () => {
    const calls: unknown[] = [];
    const handler = {
      record: method((a: unknown, b: unknown, c: unknown, when: unknown) => void calls.push([a, b, c, when])),
      ns: { deep: method((value: unknown) => void calls.push(['deep', value])) },
    };
    await using server = await servePipeline(handler, { bind: endpoint() });
    const peer = new PythonPeer(['notify', server.transport.bindings[0]!]);
    await using _ = peer;
    await waitFor(() => calls.length === 2, 10_000, 'two notifications');
    assert.equal(await peer.finish(), 0);
    assert.deepEqual(calls[0], [1, 'two', Buffer.from([3]), new PyDate(2024, 2, 29)]);
    assert.deepEqual(calls[1], ['deep', new Map([[[1, 2], 'a']])]);
  });

  it('runs Python pub/sub publications by topic', async () => {
    const calls: Array<[string, unknown[]]> = [];
    let probes = 0;
    const handler = {
      probe: method(() => void probes++),
      record: method((value: unknown, when: unknown, ctx: CallContext) => void calls.push([Buffer.from(ctx.peer!).toString(), [value, when]]), { context: true }),
      ns: { deep: method((value: unknown, ctx: CallContext) => void calls.push([Buffer.from(ctx.peer!).toString(), [value]]), { context: true }) },
    };
    await using server = await servePubSub(handler, { bind: endpoint(), subscribe: 'feed' });
    const peer = new PythonPeer(['publish', server.transport.bindings[0]!, 'feed']);
    await using _ = peer;
    await waitFor(() => probes > 0, 10_000, 'a probe');
    peer.send('go');
    await waitFor(() => calls.length === 2, 10_000, 'two publications');
    assert.equal(await peer.finish(), 0);
    assert.equal(calls[0]![0], 'feed');
    assert.equal(calls[0]![1][0], 7);
    assert.equal((calls[0]![1][1] as Date).toISOString(), '2024-01-02T00:00:00.000Z');
    assert.deepEqual(calls[1], ['feed.sub', [[1, 2]]]);
  });
});
