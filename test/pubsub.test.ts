import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectPubSub, method, servePubSub, type CallContext, type PubSubClient } from 'zrpc';
import { endpoint, waitFor } from './support/helpers.js';

function recorder() {
  const seen: Array<{ topic: string; item: unknown }> = [];
  const probes = { count: 0 };
  const handler = {
    feed: {
      item: method((item: unknown, ctx: CallContext) => {
        // Probes from the slow-joiner wait are counted apart, as some land after it ends.
        if (item === 'probe') probes.count++;
        else seen.push({ topic: Buffer.from(ctx.peer!).toString(), item });
      }, { context: true }),
    },
  };
  return { seen, probes, handler };
}

/** Publishes probes until the subscriber has seen one: the slow-joiner wait, without sleeping. */
async function untilSubscribed(client: PubSubClient, topic: string, probes: { count: number }): Promise<void> {
  await waitFor(async () => {
    await client.publish(topic).feed.item('probe');
    return probes.count > 0;
  }, 5000, 'subscription to reach the publisher');
}

describe('publish/subscribe', () => {
  for (const kind of ['tcp', 'ipc', 'inproc'] as const) {
    it(`delivers published calls by topic prefix over ${kind}`, async () => {
      const { seen, probes, handler } = recorder();
      await using server = await servePubSub(handler, { bind: endpoint(kind), subscribe: ['news', Buffer.from('sport')] });
      await using client = await connectPubSub({ connect: server.transport.bindings[0] });
      await untilSubscribed(client, 'news', probes);
      await client.publish('news.world').feed.item(1);
      await client.publish('weather').feed.item(2);
      await client.publish(Buffer.from('sport')).feed.item(3);
      await client.invoke('news', 'feed.item', [4]);
      await waitFor(() => seen.length === 3, 3000, 'three items');
      assert.deepEqual(seen, [
        { topic: 'news.world', item: 1 },
        { topic: 'sport', item: 3 },
        { topic: 'news', item: 4 },
      ]);
    });
  }

  it('fans out to every subscriber, and subscriptions change at run time', async () => {
    const a = recorder();
    const b = recorder();
    const client = await connectPubSub({ bind: endpoint() });
    const address = client.transport.bindings[0]!;
    const sa = await servePubSub(a.handler, { connect: address, subscribe: '' });
    const sb = await servePubSub(b.handler, { connect: address, subscribe: 't' });
    try {
      await untilSubscribed(client, 't', a.probes);
      await untilSubscribed(client, 't', b.probes);
      for (let i = 0; i < 100; i++) await client.publish('t').feed.item(i);
      await waitFor(() => a.seen.length === 100 && b.seen.length === 100, 3000, 'both got 100');
      sb.unsubscribe('t');
      sb.subscribe('other');
      await waitFor(async () => {
        await client.publish('other').feed.item('x');
        return b.seen.some((s) => s.topic === 'other');
      }, 3000, 'new subscription');
      const count = b.seen.filter((s) => s.topic === 't').length;
      await client.publish('t').feed.item('after');
      await waitFor(() => a.seen.some((s) => s.item === 'after'), 3000, 'a still subscribed');
      assert.equal(b.seen.filter((s) => s.topic === 't').length, count, 'b no longer gets t');
    } finally {
      await client.close();
      await sa.close();
      await sb.close();
    }
  });

  it('publishes with no topic as an empty first frame', async () => {
    const { seen, probes, handler } = recorder();
    await using server = await servePubSub(handler, { bind: endpoint(), subscribe: '' });
    await using client = await connectPubSub({ connect: server.transport.bindings[0] });
    await untilSubscribed(client, '', probes);
    await client.publish().feed.item('x');
    await waitFor(() => seen.length > 0, 3000, 'delivery');
    assert.deepEqual(seen, [{ topic: '', item: 'x' }]);
  });
});
