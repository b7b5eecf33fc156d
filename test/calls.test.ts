/**
 * How calls are made, in all three patterns: one encoder (trailing "not given" args
 * trimmed, so the worker's default applies), aiozmq's checks before sending (empty
 * method name, topic type), and the warning when a one-way handler returns a value.
 * Real sockets, and the live Python aiozmq peer as worker and subscriber.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  connectPipeline,
  connectPubSub,
  connectRpc,
  method,
  PipelineClient,
  PubSubClient,
  servePipeline,
  servePubSub,
  serveRpc,
  type CallContext,
} from 'zrpc';
import { Dealer } from 'zeromq';
import { ErrorTranslator, NotFoundError, Packer } from 'zrpc';
import { LineProcess } from '../bench/line-process.js';
import { decodeReplyHeader, encodeRequestHeader } from '../src/runtime/wire/header.js';
import { endpoint, recordingLogger, repoRoot, waitFor } from './support/helpers.js';
import { PYTHON } from './support/python-peer.js';

const script = join(repoRoot, 'test/python/values_peer.py');

/** A one-way handler that records its calls; `record` has a default, as the Python worker's does. */
function recorder() {
  const calls: unknown[][] = [];
  const handler = {
    record: method((a: unknown, b: unknown = 'default') => void calls.push([a, b])),
    answer: method((n: number) => (calls.push(['answer', n]), n * 2)),
    later: method(async (n: number) => (calls.push(['later', n]), n)),
    none: method(() => void calls.push(['none'])),
    nil: method(() => (calls.push(['nil']), null)),
  };
  return { calls, handler };
}

/** Publishes `record('probe')` until the subscriber has seen one: the slow-joiner wait. */
async function untilSubscribed(client: PubSubClient, topic: string, seen: () => boolean): Promise<void> {
  await waitFor(async () => {
    await client.publish(topic).record('probe');
    return seen();
  }, 10_000, 'the subscription to reach the publisher');
}

describe('one call encoder', () => {
  it('trims trailing undefined in pipeline and pub/sub calls, so the default applies', async () => {
    const { calls, handler } = recorder();
    await using worker = await servePipeline(handler, { bind: endpoint('inproc') });
    await using push = await connectPipeline({ connect: worker.transport.bindings[0] });
    await push.notify.record(1, undefined);
    await push.invoke('record', [2, undefined, undefined]);
    await waitFor(() => calls.length === 2, 5000, 'two calls');
    assert.deepEqual(calls, [[1, 'default'], [2, 'default']]);

    const sub = recorder();
    await using subscriber = await servePubSub(sub.handler, { bind: endpoint('inproc'), subscribe: 't' });
    await using pub = await connectPubSub({ connect: subscriber.transport.bindings[0] });
    await untilSubscribed(pub, 't', () => sub.calls.length > 0);
    await pub.publish('t').record(3, undefined);
    await waitFor(() => sub.calls.some(([a]) => a === 3), 5000, 'the published call');
    assert.deepEqual(sub.calls.find(([a]) => a === 3), [3, 'default']);
  });

  it('lets a Python worker and subscriber use their own default, not None', async () => {
    await using worker = new LineProcess(PYTHON, [script, 'serve-pipeline']);
    await using push = await connectPipeline({ connect: await worker.value('READY') });
    // Refused here, as aiozmq refuses it: the worker never sees an empty name.
    await assert.rejects(push.notify(), RangeError);
    await push.notify.record(1, undefined);
    assert.equal(await worker.value('CALL record'), "1 'default'");
    assert.doesNotMatch(worker.stderr, /Call to '' caused error|NotFoundError/);

    await using subscriber = new LineProcess(PYTHON, [script, 'serve-pubsub', 'news']);
    await using pub = await connectPubSub({ connect: await subscriber.value('READY') });
    await untilSubscribed(pub, 'news', () => subscriber.lines.some((l) => l.startsWith('CALL record')));
    await pub.publish('news').record(7, undefined);
    await subscriber.line("CALL record 7 'default'");
  });
});

describe('checks before sending, as aiozmq makes them', () => {
  it('refuses an empty method name in every pattern, unsent', async () => {
    const { calls, handler } = recorder();
    await using server = await serveRpc(handler, { bind: endpoint('inproc') });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 5000 });
    await assert.rejects(client.call(), (e: unknown) => e instanceof RangeError && e.message === 'method name is empty');
    await assert.rejects(client.invoke(''), RangeError);
    assert.equal(client.pending, 0, 'nothing waits for a reply');

    await using worker = await servePipeline(handler, { bind: endpoint('inproc') });
    await using push = await connectPipeline({ connect: worker.transport.bindings[0] });
    await assert.rejects(push.notify(), RangeError);
    await assert.rejects(push.invoke(''), RangeError);
    // The next call is the first to arrive: nothing was sent before it.
    await push.notify.record('after');
    await waitFor(() => calls.length > 0, 5000, 'the call after');
    assert.deepEqual(calls, [['after', 'default']]);
  });

  it('still answers NotFoundError to an empty name sent by a raw peer', async () => {
    await using server = await serveRpc({ record: method(() => 'x') }, { bind: endpoint('inproc') });
    const dealer = new Dealer({ linger: 0, receiveTimeout: 5000 });
    dealer.connect(server.transport.bindings[0]!);
    try {
      await dealer.send([encodeRequestHeader(0, 1), '', new Packer().encode([]), Buffer.from([0x80])]);
      const [header, body] = await dealer.receive();
      assert.equal(decodeReplyHeader(header!)!.isError, true);
      assert.ok(new ErrorTranslator().fromWire(new Packer().decode(body!)) instanceof NotFoundError);
    } finally {
      dealer.close();
    }
  });

  it('refuses a topic that is neither text nor bytes with a TypeError', async () => {
    const { calls, handler } = recorder();
    await using subscriber = await servePubSub(handler, { bind: endpoint('inproc'), subscribe: '' });
    await using pub = await connectPubSub({ connect: subscriber.transport.bindings[0] });
    await untilSubscribed(pub, 'probe', () => calls.length > 0);
    for (const topic of [null, 123, { t: 1 }, ['a']]) {
      assert.throws(() => pub.publish(topic as never), (e: unknown) => e instanceof TypeError && /topic must be a string or bytes/.test(e.message));
      await assert.rejects(pub.invoke(topic as never, 'record', ['bad']), TypeError);
    }
    await assert.rejects(pub.publish('')(), RangeError, 'and the name check holds for pub/sub too');
    await pub.publish(new Uint8Array([0x61])).record('bytes topic');
    await waitFor(() => calls.some(([a]) => a === 'bytes topic'), 5000, 'the bytes-topic call');
    assert.ok(!calls.some(([a]) => a === 'bad'), 'no refused call was published');
  });
});

describe('one-way handlers that return a value', () => {
  for (const pattern of ['pipeline', 'pubsub'] as const) {
    it(`${pattern}: warns once per method, as aiozmq warns "returned not None"`, async () => {
      const { calls, handler } = recorder();
      const logger = recordingLogger();
      const options = { bind: endpoint('inproc'), logger };
      await using server = pattern === 'pipeline' ? await servePipeline(handler, options) : await servePubSub(handler, { ...options, subscribe: '' });
      const connect = { connect: server.transport.bindings[0] };
      await using client = pattern === 'pipeline' ? await connectPipeline(connect) : await connectPubSub(connect);
      const send = (name: string, args: unknown[]): Promise<void> =>
        client instanceof PipelineClient ? client.invoke(name, args) : client.invoke('t', name, args);
      if (client instanceof PubSubClient) await untilSubscribed(client, 'p', () => calls.length > 0);
      for (let i = 0; i < 3; i++) {
        await send('answer', [i]);
        await send('later', [i]);
        await send('none', []);
        await send('nil', []);
      }
      // Late probes may still land; the twelve calls are counted apart from them.
      await waitFor(() => calls.filter(([a]) => a !== 'probe').length === 12, 5000, 'twelve calls');
      const warnings = logger.lines.filter((l) => l.level === 'warn' && /returned a value/.test(l.message));
      assert.deepEqual(warnings.map((w) => w.fields?.method).sort(), ['answer', 'later']);
    });
  }
});

describe('one-way handlers: ctx still comes after declared parameters', () => {
  it('is unaffected by trimming (a context-taking handler with a default)', async () => {
    const seen: unknown[] = [];
    const handler = { f: method((a: number, b = 5, ctx?: CallContext) => void seen.push(a, b, ctx?.method), { context: true }) };
    await using worker = await servePipeline(handler, { bind: endpoint('inproc') });
    await using push = await connectPipeline({ connect: worker.transport.bindings[0] });
    await push.notify.f(1, undefined);
    await waitFor(() => seen.length === 3, 5000, 'the call');
    assert.deepEqual(seen, [1, 5, 'f']);
  });
});
