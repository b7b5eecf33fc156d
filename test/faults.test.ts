/**
 * Faults with nothing lost: a server killed and restarted under load, a client gone
 * mid-call, slow consumers under HWM pressure, and a frozen peer found by heartbeats.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Pull, Subscriber } from 'zeromq';
import { LineProcess } from '../bench/line-process.js';
import {
  ConnectionLostError,
  RpcError,
  SendQueueFullError,
  ServiceClosedError,
  connectPipeline,
  connectPubSub,
  connectRpc,
  method,
  serveRpc,
  type CallContext,
} from 'zrpc';
import { endpoint, recordingLogger, waitFor } from './support/helpers.js';

const script = (name: string) => fileURLToPath(new URL(`./support/${name}.js`, import.meta.url));

describe('faults', () => {
  it('survives a server killed and restarted under load: every call settles, then calls work again', async () => {
    const address = endpoint('ipc');
    let server = new LineProcess(process.execPath, [script('fault-server'), address]);
    await server.value('READY');
    await using client = await connectRpc({ connect: address, timeout: 300 });
    const outcomes = { ok: 0, wrong: 0, timeout: 0, lost: 0, other: 0 };
    let running = true;
    const lane = async (k: number) => {
      while (running) {
        try {
          const sum = await client.call.add(k, 1);
          if (sum === k + 1) outcomes.ok++;
          else outcomes.wrong++;
        } catch (error) {
          if (error instanceof RpcError && error.name === 'RpcTimeoutError') outcomes.timeout++;
          // The calls the killed server held fail at once: its connection dropped.
          else if (error instanceof ConnectionLostError) outcomes.lost++;
          else outcomes.other++;
        }
      }
    };
    const lanes = Array.from({ length: 20 }, (_, k) => lane(k));
    await waitFor(() => outcomes.ok > 200, 10_000, 'load before the kill');
    process.kill(Number(await client.withTimeout(10_000).call.pid()), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    const okBeforeRestart = outcomes.ok;
    server = new LineProcess(process.execPath, [script('fault-server'), address]);
    await server.value('READY');
    await waitFor(() => outcomes.ok > okBeforeRestart + 200, 15_000, 'calls to succeed again on the same client');
    running = false;
    await Promise.all(lanes); // none hangs: each call ends by its timeout at the latest
    await server.finish();
    assert.equal(outcomes.wrong, 0, 'no call got a wrong answer');
    assert.equal(outcomes.other, 0, `only timeouts and lost connections while the server was down (${JSON.stringify(outcomes)})`);
    assert.ok(outcomes.timeout > 0, 'calls in the gap timed out');
    assert.equal(client.pending, 0);
  });

  it('finishes a call whose client left, and drops the reply quietly', async () => {
    const logger = recordingLogger();
    let finished = 0;
    const handler = {
      slow: method(async (ms: number, ctx: CallContext) => {
        await new Promise((r) => setTimeout(r, ms));
        finished++;
        return ctx.method;
      }, { context: true }),
    };
    await using server = await serveRpc(handler, { bind: endpoint(), logger });
    const leaving = await connectRpc({ connect: server.transport.bindings[0] });
    const call = leaving.call.slow(100);
    await waitFor(() => server.running === 1, 3000, 'the handler to start');
    await leaving.close();
    await assert.rejects(call, ServiceClosedError);
    await waitFor(() => finished === 1 && server.running === 0, 3000, 'the handler to finish');
    await using other = await connectRpc({ connect: server.transport.bindings[0], timeout: 3000 });
    assert.equal(await other.call.slow(1), 'slow');
    assert.deepEqual(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error'), []);
  });

  it('pipeline under HWM pressure: notifications wait (backpressure), then the bounded queue refuses', async () => {
    // Small kernel buffers too: loopback TCP autotuning lets a socket buffer grow to
    // several MiB, which on some machines held every queued message (CI saw 51 of 51).
    const pull = new Pull({ linger: 0, receiveHighWaterMark: 5, receiveBufferSize: 64 * 1024 });
    await using _pull = { [Symbol.asyncDispose]: async () => pull.close() };
    await pull.bind(endpoint());
    await using client = await connectPipeline({ connect: pull.lastEndpoint!, socket: { sendHighWaterMark: 5, sendBufferSize: 64 * 1024 }, sendQueueLimit: 50 });
    const settled = { sent: 0, full: 0 };
    // Big messages, so ZeroMQ's queues and the kernel's socket buffers fill quickly.
    const blob = new Uint8Array(256 * 1024);
    const notes = Array.from({ length: 500 }, (_, i) =>
      client.notify.take(i, blob).then(
        () => void settled.sent++,
        (error: unknown) => {
          if (error instanceof SendQueueFullError) settled.full++;
          else throw error;
        },
      ),
    );
    // One message in flight and 50 queued; the rest were refused as they were made.
    await waitFor(() => settled.full === 449, 5000, 'the refusals');
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(settled.sent < 51, `with nobody reading, ZeroMQ took only what its HWMs hold (${settled.sent})`);
    // The consumer wakes up: everything that was queued gets through.
    let received = 0;
    const reader = (async () => {
      for await (const _ of pull) if (++received === 51) return;
    })();
    await Promise.all(notes);
    await reader;
    assert.deepEqual(settled, { sent: 51, full: 449 });
    assert.equal(received, 51);
  });

  it('pub/sub under HWM pressure: publishing never blocks, a slow subscriber loses messages', async () => {
    await using client = await connectPubSub({ bind: endpoint(), socket: { sendHighWaterMark: 10 } });
    const sub = new Subscriber({ linger: 0, receiveHighWaterMark: 10 });
    sub.subscribe('');
    sub.connect(client.transport.bindings[0]!);
    const first = sub.receive();
    await waitFor(async () => (await client.publish('t').tick(0), (await Promise.race([first.then(() => true), new Promise((r) => setTimeout(r, 20, false))])) as boolean), 5000, 'subscription');
    // Big messages, so ZeroMQ's queues and the kernel's buffers fill long before the end.
    const blob = new Uint8Array(32 * 1024);
    await Promise.all(Array.from({ length: 2000 }, (_, i) => client.publish('t').tick(i, blob)));
    let received = 0;
    sub.receiveTimeout = 200;
    try {
      for (;;) (await sub.receive(), received++);
    } catch {
      // drained
    }
    assert.ok(received < 1000, `the subscriber got only what the HWMs and buffers held (${received} of 2000)`);
    sub.close();
  });

  it('notices a frozen peer through heartbeats', async () => {
    await using server = await serveRpc({}, { bind: endpoint(), heartbeat: { interval: 100, timeout: 300 } });
    const events: string[] = [];
    const socket = server.transport.socket;
    // The handshake, not the accept: heartbeats start only once it is done, and a peer
    // frozen before that is left to the 30 s handshake timeout (seen on a loaded machine).
    socket.events.on('handshake', () => events.push('handshake'));
    socket.events.on('disconnect', () => events.push('disconnect'));
    const peer = new LineProcess(process.execPath, [script('stopped-peer'), server.transport.bindings[0]!]);
    try {
      await peer.line('CONNECTED');
      await waitFor(() => events.includes('handshake'), 3000, 'the connection');
      process.kill(peerPid(peer), 'SIGSTOP');
      await waitFor(() => events.includes('disconnect'), 5000, 'the heartbeat to give up on the frozen peer');
    } finally {
      process.kill(peerPid(peer), 'SIGKILL');
      await peer.finish(1000).catch(() => {});
    }
  });
});

function peerPid(peer: LineProcess): number {
  return peer.pid;
}
