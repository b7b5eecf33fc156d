/**
 * The interceptors zrpc ships, on real sockets: per-method metrics (`callMetrics` from
 * `zrpc`), bounded whatever names callers send, and OpenTelemetry tracing
 * (`tracing` from `zrpc/otel`) carrying the trace from a caller through A -> B -> C.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  CallAbortedError,
  callMetrics,
  CallContext,
  connectPipeline,
  connectRpc,
  method,
  OTHER_METHOD,
  RpcTimeoutError,
  servePipeline,
  serveRpc,
  type Call,
  type CallRecord,
  type Interceptor,
} from 'zrpc';
import { tracing } from 'zrpc/otel';
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

  it("counts a call the server's timeout ended as a failure of that class, timed to the timeout (the handler ignoring it)", async () => {
    const records: CallRecord[] = [];
    const metrics = callMetrics({ onCall: (r) => records.push(r) });
    await using server = await serveRpc(service, { bind: endpoint(), timeout: 150, interceptors: [metrics.interceptor] });
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    await assert.rejects(client.call.slow(700), RpcTimeoutError);
    await waitFor(() => records.length === 1, 1000, 'the record of the timed-out call');
    const [record] = records;
    assert.equal(record!.ok, false);
    assert.equal(record!.errorType, 'RpcTimeoutError');
    assert.ok(record!.durationMs >= 140 && record!.durationMs < 500, `recorded ${record!.durationMs.toFixed(0)} ms for a call answered at 150 ms`);
    assert.equal(metrics.get('server', 'rpc', 'slow')?.errors, 1);
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

describe('tracing (zrpc/otel)', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('test');

  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
  });
  after(async () => {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  /** Servers A -> B -> C, each handler calling the next, tracing on every client and server. */
  async function chainOfThree() {
    const services: Array<{ close(): Promise<void> }> = [];
    const use = <T extends { close(): Promise<void> }>(service: T): T => (services.push(service), service);
    const seenByC: Array<string | Uint8Array | undefined> = [];
    const activeInB: Array<string | undefined> = [];
    const leaf = method((n: number, ctx: CallContext) => {
      seenByC.push(ctx.metadata.traceparent);
      if (n < 0) throw new RangeError('negative');
      return n * 2;
    }, { context: true });
    const c = use(await serveRpc({ leaf }, { bind: endpoint(), interceptors: [tracing()] }));
    const toC = use(await connectRpc({ connect: c.transport.bindings[0], timeout: 5000, interceptors: [tracing()] }));
    const mid = method(async (n: number) => {
      activeInB.push(trace.getActiveSpan()?.spanContext().spanId);
      return ((await toC.call.leaf(n)) as number) + 1;
    });
    const b = use(await serveRpc({ mid }, { bind: endpoint(), interceptors: [tracing()] }));
    const toB = use(await connectRpc({ connect: b.transport.bindings[0], timeout: 5000, interceptors: [tracing()] }));
    const a = use(await serveRpc({ top: method(async (n: number) => ((await toB.call.mid(n)) as number) + 1) }, { bind: endpoint(), interceptors: [tracing()] }));
    const toA = use(await connectRpc({ connect: a.transport.bindings[0], timeout: 5000, interceptors: [tracing()] }));
    return {
      toA,
      toB,
      seenByC,
      activeInB,
      async [Symbol.asyncDispose]() {
        for (const service of services.reverse()) await service.close();
      },
    };
  }

  /** The finished spans once there are `n`, each by the name of its kind and method: `client top`. */
  async function spans(n: number): Promise<Map<string, ReadableSpan>> {
    await waitFor(() => exporter.getFinishedSpans().length >= n, 3000, `${n} spans`);
    const finished = exporter.getFinishedSpans();
    assert.equal(finished.length, n, finished.map((s) => s.name).join(', '));
    return new Map(finished.map((s) => [`${SpanKind[s.kind].toLowerCase()} ${s.name}`, s]));
  }

  const id = (span: ReadableSpan) => span.spanContext().spanId;
  const parentId = (span: ReadableSpan) => span.parentSpanContext?.spanId;

  it("carries the caller's trace through A -> B -> C: client span -> server span -> nested client span -> ...", async () => {
    await using servers = await chainOfThree();
    const { toA, seenByC, activeInB } = servers;
    const result = await tracer.startActiveSpan('caller', async (span) => {
      try {
        return await toA.call.top(20);
      } finally {
        span.end();
      }
    });
    assert.equal(result, 42);

    const byName = await spans(7);
    const order = ['internal caller', 'client top', 'server top', 'client mid', 'server mid', 'client leaf', 'server leaf'];
    assert.deepEqual([...byName.keys()].sort(), [...order].sort());
    const chain = order.map((name) => byName.get(name)!);
    const traceId = chain[0]!.spanContext().traceId;
    assert.ok(chain.every((s) => s.spanContext().traceId === traceId), 'one trace, started by the caller');
    for (let i = 1; i < chain.length; i++) assert.equal(parentId(chain[i]!), id(chain[i - 1]!), `${order[i]} is a child of ${order[i - 1]}`);
    // What C received names the span of B's call to it.
    assert.deepEqual(seenByC, [`00-${traceId}-${id(byName.get('client leaf')!)}-01`]);
    // B's handler runs with its server span active: spans it starts itself are its children too.
    assert.deepEqual(activeInB, [id(byName.get('server mid')!)]);

    const client = byName.get('client leaf')!;
    const server = byName.get('server leaf')!;
    assert.deepEqual([client.attributes['rpc.system'], client.attributes['rpc.method'], client.status.code], ['zrpc', 'leaf', SpanStatusCode.UNSET]);
    assert.equal(server.instrumentationScope.name, 'zrpc');
    assert.ok(server.startTime[0] * 1e9 + server.startTime[1] >= client.startTime[0] * 1e9 + client.startTime[1], 'the server span starts inside the client span');
  });

  it("gives C the trace and the deadline of A's caller, and cancels C's handler when that caller aborts", async () => {
    const services: Array<{ close(): Promise<void> }> = [];
    const use = <T extends { close(): Promise<void> }>(service: T): T => (services.push(service), service);
    try {
      let seen: { traceparent: unknown; deadline: number | undefined; aborted: Promise<unknown> } | undefined;
      const hold = method((ctx: CallContext) => {
        const aborted = new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason)));
        seen = { traceparent: ctx.metadata.traceparent, deadline: ctx.deadline, aborted };
        return aborted.then(() => 'cancelled');
      }, { context: true });
      const c = use(await serveRpc({ hold }, { bind: endpoint(), interceptors: [tracing()] }));
      // B and A set no timeout of their own: what C sees comes from A's caller.
      const toC = use(await connectRpc({ connect: c.transport.bindings[0], interceptors: [tracing()] }));
      const b = use(await serveRpc({ mid: method(() => toC.call.hold()) }, { bind: endpoint(), interceptors: [tracing()] }));
      const toB = use(await connectRpc({ connect: b.transport.bindings[0], interceptors: [tracing()] }));
      const a = use(await serveRpc({ top: method(() => toB.call.mid()) }, { bind: endpoint(), interceptors: [tracing()] }));
      const toA = use(await connectRpc({ connect: a.transport.bindings[0], interceptors: [tracing()] }));

      const controller = new AbortController();
      const before = Date.now();
      const call = tracer.startActiveSpan('caller', (span) => {
        const traceId = span.spanContext().traceId;
        return { traceId, done: toA.with({ timeout: 4000, signal: controller.signal }).call.top().finally(() => span.end()) };
      });
      await waitFor(() => seen !== undefined, 3000, "C's handler to start");
      assert.match(String(seen!.traceparent), new RegExp(`^00-${call.traceId}-[0-9a-f]{16}-01$`), "C's traceparent is in the caller's trace");
      assert.ok(seen!.deadline !== undefined && seen!.deadline >= before + 4000 - 1000 && seen!.deadline <= Date.now() + 4000, `C's deadline is the caller's (${seen!.deadline! - before} ms after the call)`);
      controller.abort();
      await assert.rejects(call.done, CallAbortedError);
      const reason = await Promise.race([seen!.aborted, sleep(3000).then(() => 'not aborted within 3 s')]);
      assert.ok(reason instanceof CallAbortedError, `C's signal aborted with ${String(reason)}`);
    } finally {
      for (const service of services.reverse()) await service.close();
    }
  });

  it('records errors on every span they pass through, with the class of error each side saw', async () => {
    await using servers = await chainOfThree();
    const { toA } = servers;
    await assert.rejects(toA.call.top(-1), (e: unknown) => e instanceof Error && e.name === 'ValueError');
    const byName = await spans(6);
    const leaf = byName.get('server leaf')!;
    assert.equal(leaf.status.code, SpanStatusCode.ERROR);
    assert.equal(leaf.status.message, 'negative');
    assert.equal(leaf.attributes['error.type'], 'RangeError');
    assert.deepEqual(leaf.events.map((e) => [e.name, e.attributes?.['exception.type'], e.attributes?.['exception.message']]), [['exception', 'RangeError', 'negative']]);
    for (const name of ['client leaf', 'server mid', 'client mid', 'server top', 'client top']) {
      const span = byName.get(name)!;
      assert.equal(span.status.code, SpanStatusCode.ERROR, name);
      assert.equal(span.attributes['error.type'], 'ValueError', name);
    }
    // The chain has no caller span: the client's span is the root of the trace.
    assert.equal(byName.get('client top')!.parentSpanContext, undefined);
  });

  it("ends a server span when the server's timeout ends its call, with that error, not when a stubborn handler returns", async () => {
    await using server = await serveRpc(service, { bind: endpoint(), timeout: 150, interceptors: [tracing()] });
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    await assert.rejects(client.call.slow(700), RpcTimeoutError);
    const span = (await spans(1)).get('server slow')!;
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.attributes['error.type'], 'RpcTimeoutError');
    const ms = span.duration[0] * 1000 + span.duration[1] / 1e6;
    assert.ok(ms >= 140 && ms < 500, `the span lasted ${ms.toFixed(0)} ms for a call answered at 150 ms`);
    await sleep(700);
    assert.equal(exporter.getFinishedSpans().length, 1, 'the handler returning later ends nothing more');
  });

  it('without a context manager, nested calls still find their parent through the zrpc handler context', async () => {
    context.disable();
    try {
      await using servers = await chainOfThree();
      const { toB, seenByC } = servers;
      assert.equal(await toB.call.mid(1), 3);
      const byName = await spans(4);
      assert.equal(parentId(byName.get('client leaf')!), id(byName.get('server mid')!));
      assert.equal(parentId(byName.get('server leaf')!), id(byName.get('client leaf')!));
      assert.match(String(seenByC[0]), new RegExp(`^00-${byName.get('client mid')!.spanContext().traceId}-`));
    } finally {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    }
  });

  it('follows the stable RPC conventions when asked, names unknown methods _OTHER, and takes server attributes from the endpoint', async () => {
    const options = { conventions: 'stable', tracerProvider: provider } as const;
    await using server = await serveRpc({ billing: { refund: method((id: string) => `refunded ${id}`) } }, { bind: endpoint(), interceptors: [tracing(options)] });
    const address = server.transport.bindings[0]!;
    await using client = await connectRpc({ connect: address, timeout: 5000, interceptors: [tracing({ ...options, endpoint: address, attributes: { 'peer.service': 'billing' } })] });
    assert.equal(await client.call.billing.refund('r-1'), 'refunded r-1');
    await assert.rejects(client.invoke('billing.nothing'), (e: unknown) => (e as Error).name === 'NotFoundError');

    const byName = await spans(4);
    const refund = byName.get('client billing.refund')!;
    assert.deepEqual(refund.attributes, {
      'rpc.system.name': 'zrpc',
      'rpc.method': 'billing.refund',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(address.replace('tcp:', 'http:')).port),
      'network.transport': 'tcp',
      'peer.service': 'billing',
    });
    assert.deepEqual(byName.get('server billing.refund')!.attributes, { 'rpc.system.name': 'zrpc', 'rpc.method': 'billing.refund' });
    const unknown = byName.get('server _OTHER')!;
    assert.deepEqual([unknown.attributes['rpc.method'], unknown.attributes['rpc.method_original'], unknown.status.code], ['_OTHER', 'billing.nothing', SpanStatusCode.ERROR]);
    assert.equal(byName.get('client billing.nothing')!.attributes['error.type'], 'NotFoundError', 'the client keeps the name it called');

    // The experimental conventions, the default: service and method apart.
    exporter.reset();
    await using old = await connectRpc({ connect: address, timeout: 5000, interceptors: [tracing({ tracerProvider: provider })] });
    await old.call.billing.refund('r-2');
    const legacy = (await spans(2)).get('client billing/refund')!;
    assert.deepEqual(legacy.attributes, { 'rpc.system': 'zrpc', 'rpc.service': 'billing', 'rpc.method': 'refund' });
  });

  it('one-way calls: a PRODUCER span sends nothing; the CONSUMER span starts its own trace, parent of the calls its handler makes', async () => {
    await using back = await serveRpc(service, { bind: endpoint(), interceptors: [tracing()] });
    await using client = await connectRpc({ connect: back.transport.bindings[0], timeout: 5000, interceptors: [tracing()] });
    const seen: Call[] = [];
    const record: Interceptor = (next) => (call) => (seen.push(call), next(call));
    await using worker = await servePipeline(
      { job: method(async (n: number) => void (await client.call.add(n, 1))) },
      { bind: endpoint(), interceptors: [record, tracing()] },
    );
    await using sender = await connectPipeline({ connect: worker.transport.bindings[0], interceptors: [tracing()] });
    await tracer.startActiveSpan('caller', async (span) => {
      await sender.notify.job(1);
      span.end();
    });
    const byName = await spans(5);
    const producer = byName.get('producer job')!;
    const consumer = byName.get('consumer job')!;
    assert.equal(parentId(producer), id(byName.get('internal caller')!));
    assert.deepEqual(seen[0]!.metadata, {}, 'nothing travels with a one-way call');
    assert.equal(consumer.parentSpanContext, undefined);
    assert.notEqual(consumer.spanContext().traceId, producer.spanContext().traceId);
    assert.equal(parentId(byName.get('client add')!), id(consumer));
    assert.equal(parentId(byName.get('server add')!), id(byName.get('client add')!));
  });

  it('skips calls its filter refuses, and refuses bad options', async () => {
    await using server = await serveRpc(service, { bind: endpoint(), interceptors: [tracing()] });
    const seen: Call[] = [];
    await using client = await connectRpc({
      connect: server.transport.bindings[0],
      timeout: 5000,
      interceptors: [tracing({ filter: (call) => call.method !== 'add' }), (next) => (call) => (seen.push(call), next(call))],
    });
    assert.equal(await client.call.add(1, 2), 3);
    assert.deepEqual(seen[0]!.metadata, {}, 'no trace context sent for a filtered call');
    assert.deepEqual([...(await spans(1)).keys()], ['server add']);
    assert.throws(() => tracing({ conventions: 'new' as never }), /conventions must be/);
    assert.throws(() => tracing({ endpoint: 'http://x' }), /endpoint must be/);
  });
});
