/**
 * Run by lifecycle.test.ts in its own process: serves and calls every pattern, closes
 * everything, and then must exit by itself (no stray timers or sockets).
 */
import { type CallContext, connectPipeline, connectPubSub, connectRpc, method, servePipeline, servePubSub, serveRpc } from 'zrpc';

const handler = {
  ping: method(() => 'pong'),
  sleep: method(
    (ms: number, ctx: CallContext) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        ctx.signal.addEventListener('abort', () => clearTimeout(timer));
      }),
    { context: true },
  ),
};
const rpc = await serveRpc(handler, { bind: 'tcp://127.0.0.1:0', timeout: 60_000 });
const client = await connectRpc({ connect: rpc.transport.bindings[0], timeout: 60_000 });
console.log(await client.call.ping());
const pending = client.call.sleep(60_000).catch((e: Error) => e.name);
const pipeline = await servePipeline(handler, { bind: 'tcp://127.0.0.1:0' });
const push = await connectPipeline({ connect: pipeline.transport.bindings[0] });
await push.notify.ping();
// A PUSH with no peer holds its message; close must not wait on it forever.
const orphan = await connectPipeline({ connect: 'tcp://127.0.0.1:1' });
void orphan.notify.ping().catch(() => {});
const sub = await servePubSub(handler, { bind: 'tcp://127.0.0.1:0', subscribe: '' });
const pub = await connectPubSub({ connect: sub.transport.bindings[0] });
await pub.publish('t').ping();
await Promise.all([client.close(), rpc.close(), push.close(), pipeline.close(), orphan.close(), pub.close(), sub.close()]);
console.log(await pending);
console.log('closed');
