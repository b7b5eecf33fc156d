/**
 * The interceptors zrpc ships, on real sockets: per-method metrics (`callMetrics` from
 * `zrpc`), bounded whatever names callers send.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  callMetrics,
  connectPipeline,
  connectRpc,
  method,
  OTHER_METHOD,
  servePipeline,
  serveRpc,
  type Call,
  type CallRecord,
} from 'zrpc';
import { endpoint, waitFor } from './support/helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const service = {
  add: method((a: number, b: number) => a + b),
  fail: method(() => {
    throw new RangeError('no');
  }),
  slow: method(async (ms: number) => {
    await sleep(ms);
    return ms;
  }),
};

describe('callMetrics', () => {
  it('counts calls, errors by class and latency per method, on the client and the server', async () => {
    const records: CallRecord[] = [];
    const metrics = callMetrics({ onCall: (r) => records.push(r) });
    await using server = await serveRpc(service, { bind: endpoint(), interceptors: [metrics.interceptor] });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 5000, interceptors: [metrics.interceptor] });
    for (let i = 0; i < 5; i++) assert.equal(await client.call.add(i, 1), i + 1);
    for (let i = 0; i < 2; i++) await assert.rejects(client.call.fail(), RangeError);
    assert.equal(await client.call.slow(40), 40);

    const rows = metrics.snapshot();
    assert.deepEqual(rows.map((r) => `${r.side} ${r.pattern} ${r.method} ${r.count}/${r.errors}`), [
      'client rpc add 5/0',
      'client rpc fail 2/2',
      'client rpc slow 1/0',
      'server rpc add 5/0',
      'server rpc fail 2/2',
      'server rpc slow 1/0',
    ]);
    // The server sees what its handler raised; the client, the error it was answered with.
    assert.deepEqual(metrics.get('server', 'rpc', 'fail')!.errorTypes, { RangeError: 2 });
    assert.deepEqual(metrics.get('client', 'rpc', 'fail')!.errorTypes, { ValueError: 2 });
    for (const side of ['client', 'server'] as const) {
      const { latency } = metrics.get(side, 'rpc', 'slow')!;
      assert.ok(latency.min >= 35 && latency.max < 2000, `${side} slow took ${latency.min} ms`);
      assert.equal(latency.p50, latency.min, 'one call: every percentile is that call');
      assert.equal(latency.p99, latency.max);
    }
    const add = metrics.get('server', 'rpc', 'add')!.latency;
    assert.ok(add.min <= add.p50 && add.p50 <= add.p90 && add.p90 <= add.p99 && add.p99 <= add.max);
    assert.ok(Math.abs(add.mean * 5 - add.sum) < 1e-9);
    assert.ok(metrics.get('client', 'rpc', 'slow')!.latency.min >= metrics.get('server', 'rpc', 'slow')!.latency.min, 'the client waits at least as long as the handler runs');

    assert.equal(records.length, 16);
    const failed = records.find((r) => r.side === 'server' && !r.ok)!;
    assert.deepEqual([failed.method, failed.originalMethod, failed.errorType, failed.error instanceof RangeError], ['fail', 'fail', 'RangeError', true]);
    assert.ok(records.every((r) => r.durationMs >= 0 && (r.ok ? r.errorType === undefined && r.error === undefined : true)));

    metrics.reset();
    assert.deepEqual(metrics.snapshot(), []);
  });

  it('counts one-way calls on both sides, and survives an onCall that throws', async () => {
    const metrics = callMetrics({
      onCall: () => {
        throw new Error('a broken exporter');
      },
    });
    const got: number[] = [];
    await using server = await servePipeline({ push: method((n: number) => void got.push(n)) }, { bind: endpoint(), interceptors: [metrics.interceptor] });
    await using client = await connectPipeline({ connect: server.transport.bindings[0], interceptors: [metrics.interceptor] });
    for (let i = 0; i < 3; i++) await client.notify.push(i);
    await waitFor(() => metrics.get('server', 'pipeline', 'push')?.count === 3, 3000, 'three notifications handled');
    assert.deepEqual(got, [0, 1, 2]);
    assert.equal(metrics.get('client', 'pipeline', 'push')!.count, 3);
  });

  it('reports percentiles within 5% from a fixed amount of memory', async () => {
    const metrics = callMetrics();
    const call: Call = { side: 'server', pattern: 'rpc', method: 'm', args: [], kwargs: undefined, metadata: {}, deadline: undefined, signal: undefined, context: undefined };
    // Durations 1..1000 ms, in a shuffled order, through a clock the test controls.
    const durations = Array.from({ length: 1000 }, (_, i) => i + 1).sort((a, b) => ((a * 7919) % 1000) - ((b * 7919) % 1000));
    const now = performance.now;
    let clock = 0;
    try {
      performance.now = () => clock;
      const step = metrics.interceptor(async () => {
        clock += durations.shift()!;
        return undefined;
      });
      while (durations.length > 0) await step(call);
    } finally {
      performance.now = now;
    }
    const { latency, count } = metrics.get('server', 'rpc', 'm')!;
    assert.equal(count, 1000);
    assert.deepEqual([latency.min, latency.max, latency.mean, latency.sum], [1, 1000, 500.5, 500500]);
    for (const [got, exact] of [[latency.p50, 500], [latency.p90, 900], [latency.p99, 990]] as const) {
      assert.ok(Math.abs(got - exact) / exact < 0.05, `${got} is within 5% of ${exact}`);
    }
  });

  it('keeps a bounded number of rows under a flood of unknown and distinct method names', async () => {
    const records: CallRecord[] = [];
    const metrics = callMetrics({ maxMethods: 3, onCall: (r) => records.push(r) });
    const many = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`m${i}`, method(() => i)]));
    await using server = await serveRpc(many, { bind: endpoint(), interceptors: [metrics.interceptor] });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 10_000 });
    // Unknown names first: they take no row, so the real methods still get theirs.
    const flood = await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => client.invoke(`no_such_${i}`)));
    assert.ok(flood.every((r) => r.status === 'rejected' && (r.reason as Error).name === 'NotFoundError'));
    for (let i = 0; i < 6; i++) assert.equal(await client.invoke(`m${i}`), i);

    const rows = metrics.snapshot();
    assert.deepEqual(rows.map((r) => `${r.method} ${r.count}/${r.errors}`), ['_OTHER 1003/1000', 'm0 1/0', 'm1 1/0', 'm2 1/0']);
    assert.equal(OTHER_METHOD, '_OTHER');
    assert.deepEqual(metrics.get('server', 'rpc', OTHER_METHOD)!.errorTypes, { NotFoundError: 1000 });
    const folded = records.filter((r) => r.method === OTHER_METHOD);
    assert.equal(new Set(folded.map((r) => r.originalMethod)).size, 1003, 'onCall still gets the name as called');

    // A hundred thousand distinct names straight through the interceptor: still four rows, plus one per side.
    const step = metrics.interceptor(async () => undefined);
    for (let i = 0; i < 100_000; i++) {
      await step({ side: i % 2 ? 'client' : 'server', pattern: 'rpc', method: `n${i}`, args: [], kwargs: undefined, metadata: {}, deadline: undefined, signal: undefined, context: undefined });
    }
    await step({ side: 'server', pattern: 'rpc', method: 'x'.repeat(100_000), args: [], kwargs: undefined, metadata: {}, deadline: undefined, signal: undefined, context: undefined });
    assert.deepEqual(metrics.snapshot().map((r) => `${r.side} ${r.method}`), ['client _OTHER', 'server _OTHER', 'server m0', 'server m1', 'server m2']);
  });

  it('refuses bad options', () => {
    assert.throws(() => callMetrics({ maxMethods: -1 }), /maxMethods must be a whole number/);
    assert.throws(() => callMetrics({ onCall: 'log' as never }), /onCall must be a function/);
  });
});
