/**
 * Many servers behind one client: least-in-flight balancing, dead and draining servers
 * taking no calls, idempotent retries, health probes, and rolling restarts with drain().
 * Outcomes are counted, never timed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { LineProcess } from '../bench/line-process.js';
import {
  ConnectionLostError,
  HEALTH_METHOD,
  NotFoundError,
  RpcTimeoutError,
  connectRpc,
  method,
  serveRpc,
  type CallOptions,
  type RpcServer,
} from 'zrpc';
import { TypedCaller } from 'zrpc/generated';
import { generate } from '../src/codegen/index.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpoint, recordingLogger, waitFor } from './support/helpers.js';
import { pythonServer, PYTHON } from './support/python-peer.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const script = (name: string) => fileURLToPath(new URL(`./support/${name}.js`, import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A server that counts its calls, each taking `ms`. */
/** `work` takes `ms` milliseconds, or until `until` settles. */
async function countingServer(ms: number | Promise<void>, bind = endpoint()) {
  const counts = { calls: 0 };
  const server = await serveRpc(
    {
      work: method(async (n: number) => {
        counts.calls++;
        if (typeof ms !== 'number') await ms;
        else if (ms > 0) await sleep(ms);
        return n;
      }),
      hang: method(() => new Promise(() => {})),
    },
    { bind },
  );
  return { server, counts, address: server.transport.bindings[0]! };
}

describe('many servers', () => {
  it('sends each call to the server with the fewest in flight: a busy server gets few', async () => {
    const busy = await countingServer(100);
    const free = await countingServer(0);
    await using client = await connectRpc({ connect: [busy.address, free.address], timeout: 5000 });
    await waitFor(() => client.servers.every((s) => s.connected), 3000, 'both connections');
    const lane = async () => {
      for (let i = 0; i < 10; i++) assert.equal(await client.call.work(i), i);
    };
    await Promise.all(Array.from({ length: 4 }, lane));
    assert.equal(busy.counts.calls + free.counts.calls, 40);
    assert.ok(busy.counts.calls < free.counts.calls / 2, `busy ${busy.counts.calls}, free ${free.counts.calls}`);
    await busy.server.close();
    await free.server.close();
  });

  it('gives a dead endpoint no calls: every call to a live and a dead endpoint succeeds', async () => {
    const live = await countingServer(0);
    await using client = await connectRpc({ connect: [endpoint('ipc'), live.address], timeout: 2000 });
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => client.call.work(i)));
    assert.deepEqual(
      results.map((r) => r.status),
      Array(20).fill('fulfilled'),
    );
    assert.equal(live.counts.calls, 20);
    await live.server.close();
  });

  it('adds a server with transport.connect and retires one with transport.disconnect, losing no call', async () => {
    const first = await countingServer(5);
    const second = await countingServer(5);
    await using client = await connectRpc({ connect: first.address, timeout: 5000 });
    assert.equal(await client.call.work(1), 1);
    client.transport.connect(second.address);
    await waitFor(() => client.servers.length === 2 && client.servers.every((s) => s.connected), 3000, 'the second connection');
    const during = Promise.all(Array.from({ length: 20 }, (_, i) => client.call.work(i)));
    client.transport.disconnect(first.address); // its calls are still answered; nothing new goes there
    assert.deepEqual(await during, Array.from({ length: 20 }, (_, i) => i));
    const before = first.counts.calls;
    await Promise.all(Array.from({ length: 10 }, (_, i) => client.call.work(i)));
    assert.equal(first.counts.calls, before);
    assert.deepEqual(client.transport.connections, [second.address]);
    assert.deepEqual(client.servers.map((s) => s.endpoint), [second.address]);
    assert.throws(() => client.transport.disconnect(first.address), /not connected to/);
    await first.server.close();
    await second.server.close();
  });

  it('balances over a Python aiozmq server among the endpoints, and the probe proves it alive', async () => {
    const { peer, endpoint: python } = await pythonServer('serve-rpc');
    await using _peer = peer;
    const node = await serveRpc({ add: method((a: number, b = 1) => a + b) }, { bind: endpoint() });
    await using client = await connectRpc({ connect: [python, node.transport.bindings[0]!], timeout: 5000 });
    await waitFor(() => client.servers.every((s) => s.connected), 3000, 'both connections');
    const sums = await Promise.all(Array.from({ length: 20 }, (_, i) => client.call.add(i, 2)));
    assert.deepEqual(sums, Array.from({ length: 20 }, (_, i) => i + 2));
    // aiozmq knows no health method, and says so: an answer all the same.
    await assert.rejects(client.invoke(HEALTH_METHOD, [], undefined, {}), NotFoundError);
    await node.close();
  });

  it('retries an idempotent call on another server after an attempt timeout; a plain one fails by its own timeout', async () => {
    // The same method on two servers: one never answers it.
    const frozen = await serveRpc({ work: method((_n: number) => new Promise(() => {})) }, { bind: endpoint() });
    const good = await countingServer(0);
    const logger = recordingLogger();
    await using client = await connectRpc({ connect: [frozen.transport.bindings[0]!, good.address], timeout: 3000, logger });
    await waitFor(() => client.servers.every((s) => s.connected), 3000, 'both connections');
    // Calls at once: least-in-flight puts half of them on the frozen server. An attempt
    // timeout of 400 ms, not 100: a stall that long on a loaded machine sent a call
    // answered by the good server back to the frozen one, which was then suspect too early.
    const idempotent = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => client.invoke('work', [i], undefined, { idempotent: true, attemptTimeout: 400 })));
    assert.deepEqual(
      idempotent.map((o) => (o.status === 'fulfilled' ? o.value : String(o.reason))),
      [0, 1, 2, 3],
    );
    const plain = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => client.withTimeout(800).call.work(i)));
    const timedOut = plain.filter((o) => o.status === 'rejected' && o.reason instanceof RpcTimeoutError).length;
    assert.ok(timedOut > 0 && timedOut < 4, `plain calls on the frozen server time out, the others succeed (${timedOut} timed out)`);
    assert.equal(plain.filter((o) => o.status === 'fulfilled').length, 4 - timedOut);
    assert.equal(client.pending, 0);
    await frozen.close();
    await good.server.close();
  });

  it('answers zrpc:health without touching handlers, and from aiozmq too', async () => {
    let touched = 0;
    const server = await serveRpc({ work: method(() => touched++) }, { bind: endpoint() });
    await using client = await connectRpc({ connect: server.transport.bindings[0]!, timeout: 3000 });
    assert.deepEqual(await client.invoke(HEALTH_METHOD), { status: 'serving', running: 0 });
    const code = [
      'import asyncio, aiozmq.rpc, sys',
      'async def main():',
      '    c = await aiozmq.rpc.connect_rpc(connect=sys.argv[1], timeout=5)',
      "    print('HEALTH', (await getattr(c.call, 'zrpc:health')())['status'])",
      '    c.close(); await c.wait_closed()',
      'asyncio.run(main())',
    ].join('\n');
    const { stdout } = await promisify(execFile)(PYTHON, ['-c', code, server.transport.bindings[0]!], { timeout: 15_000 });
    assert.match(stdout, /HEALTH serving/);
    assert.equal(touched, 0);
    await server.close();
  });

  it('drain(): running calls finish, new ones are refused as draining (aiozmq sees the error), then it closes', async () => {
    const address = endpoint('ipc');
    // The running call ends when the test says: a fixed 300 ms once ran out before the
    // Python peer started on a loaded machine, and the server closed under a later call.
    let finish!: () => void;
    const slow = await countingServer(new Promise<void>((resolve) => (finish = resolve)), address);
    await using client = await connectRpc({ connect: address, timeout: 10_000 });
    const running = client.call.work(7);
    await waitFor(() => slow.server.running === 1, 3000, 'the call to start');
    const drained = slow.server.drain({ quiet: 50 });
    assert.equal(slow.server.draining, true);
    assert.deepEqual(slow.server.health, { status: 'draining', running: 1 });
    const code = [
      'import asyncio, aiozmq.rpc, sys',
      'async def main():',
      '    c = await aiozmq.rpc.connect_rpc(connect=sys.argv[1], timeout=5)',
      "    print('HEALTH', (await getattr(c.call, 'zrpc:health')())['status'])",
      '    try:',
      '        await c.call.work(1)',
      '    except Exception as e:',
      "        print('REFUSED', repr(e))",
      '    c.close(); await c.wait_closed()',
      'asyncio.run(main())',
    ].join('\n');
    const { stdout } = await promisify(execFile)(PYTHON, ['-c', code, address], { timeout: 15_000 });
    assert.match(stdout, /HEALTH draining/);
    assert.match(stdout, /REFUSED .*zrpc\.ServerDraining/);
    // A zrpc client with no other server keeps the refused call for the next one.
    const refused = client.call.work(8);
    await waitFor(() => client.servers[0]?.state === 'draining', 5000, 'the refusal');
    finish();
    assert.equal(await running, 7);
    await drained;
    assert.equal(slow.server.closed, true);
    assert.equal(slow.counts.calls, 1);
    const next = await countingServer(0, address);
    assert.equal(await refused, 8);
    await next.server.close();
  });

  it('loses no call in a rolling restart with drain(), idempotent or not', async () => {
    const addresses = [endpoint('ipc'), endpoint('ipc')];
    const servers: RpcServer[] = [];
    const handler = { work: method(async (n: number) => (await sleep(5), n)) };
    for (const address of addresses) servers.push(await serveRpc(handler, { bind: address }));
    await using client = await connectRpc({ connect: addresses, timeout: 5000 });
    await waitFor(() => client.servers.every((s) => s.connected), 3000, 'both connections');
    const outcomes = { ok: 0, failed: [] as string[] };
    let running = true;
    const lane = async (k: number) => {
      for (let i = 0; running; i++) {
        try {
          assert.equal(await client.call.work(k * 1000 + i), k * 1000 + i);
          outcomes.ok++;
        } catch (error) {
          outcomes.failed.push(String(error));
        }
      }
    };
    const lanes = Array.from({ length: 8 }, (_, k) => lane(k));
    for (let k = 0; k < servers.length; k++) {
      const before = outcomes.ok;
      await waitFor(() => outcomes.ok > before + 100, 10_000, 'load');
      await servers[k]!.drain({ quiet: 100 });
      servers[k] = await serveRpc(handler, { bind: addresses[k]! });
      await waitFor(() => servers[k]!.running > 0 || client.servers[k]!.inFlight > 0, 10_000, 'the restarted server to get calls');
    }
    running = false;
    await Promise.all(lanes);
    for (const server of servers) await server.close();
    assert.deepEqual(outcomes.failed, []);
    assert.ok(outcomes.ok > 200);
  });

  it('three servers under load, one SIGKILLed: idempotent calls all succeed, others fail clearly, none hangs; the restart gets calls', async () => {
    const addresses = [endpoint('ipc'), endpoint('ipc'), endpoint('ipc')];
    const start = async (address: string) => {
      const child = new LineProcess(process.execPath, [script('fault-server'), address]);
      await child.value('READY');
      return child;
    };
    const children = await Promise.all(addresses.map(start));
    await using client = await connectRpc({ connect: addresses, timeout: 1500 });
    await waitFor(() => client.servers.every((s) => s.connected), 5000, 'three connections');
    const idem = { ok: 0, wrong: 0, failed: [] as string[] };
    const plain = { ok: 0, wrong: 0, lost: 0, timeout: 0, other: [] as string[] };
    let running = true;
    const idempotentLane = async (k: number) => {
      while (running) {
        try {
          const sum = await client.invoke('slowAdd', [k, 1, 20], undefined, { idempotent: true });
          sum === k + 1 ? idem.ok++ : idem.wrong++;
        } catch (error) {
          idem.failed.push(String(error));
        }
      }
    };
    const plainLane = async (k: number) => {
      while (running) {
        try {
          const sum = await client.call.slowAdd(k, 2, 20);
          sum === k + 2 ? plain.ok++ : plain.wrong++;
        } catch (error) {
          if (error instanceof ConnectionLostError) plain.lost++;
          else if (error instanceof RpcTimeoutError) plain.timeout++;
          else plain.other.push(String(error));
        }
      }
    };
    const lanes = [...Array.from({ length: 6 }, (_, k) => idempotentLane(k)), ...Array.from({ length: 6 }, (_, k) => plainLane(k))];
    await waitFor(() => idem.ok > 100 && plain.ok > 100, 15_000, 'load before the kill');
    const victim = Number(await client.call.pid());
    // Plain calls held on every server, the victim included: the lanes' own calls in
    // flight on it were plain ones only most of the time (least-in-flight spreads these).
    const held = Array.from({ length: 12 }, () =>
      client.call.who(800).then(
        () => 'answered',
        (error: unknown) => (error instanceof ConnectionLostError ? 'lost' : String(error)),
      ),
    );
    await sleep(100); // sent: a call still unsent when its server goes is moved, not lost
    process.kill(victim, 'SIGKILL');
    const index = children.findIndex((child) => child.pid === victim);
    assert.ok(index >= 0);
    await waitFor(() => client.servers.filter((s) => s.connected).length === 2, 5000, 'the dead connection to drop');
    const okAfterKill = idem.ok;
    await waitFor(() => idem.ok > okAfterKill + 50, 10_000, 'calls to go on with two servers');
    children[index] = await start(addresses[index]!);
    await waitFor(() => client.servers[index]!.connected, 5000, 'the restarted server to be connected');
    const pids = new Set<number>();
    await waitFor(async () => (pids.add(Number(await client.call.who(5))), pids.size === 3), 10_000, 'the restarted server to get calls');
    assert.ok(!pids.has(victim));
    running = false;
    await Promise.all(lanes);
    for (const child of children) await child.finish();
    assert.deepEqual(idem.failed, [], 'idempotent calls are retried elsewhere');
    assert.equal(idem.wrong + plain.wrong, 0);
    assert.deepEqual(plain.other, [], `plain calls fail only as lost or timed out (${JSON.stringify(plain)})`);
    const heldOutcomes = await Promise.all(held);
    assert.ok(heldOutcomes.includes('lost'), `the killed server's plain calls fail as lost (${heldOutcomes.join()})`);
    assert.ok(
      heldOutcomes.every((o) => o === 'answered' || o === 'lost' || o.includes('RpcTimeoutError')),
      heldOutcomes.join(),
    );
    assert.equal(client.pending, 0);
  });

  it('takes a frozen server out when its heartbeats stop, and back when it wakes', async () => {
    const addresses = [endpoint('ipc'), endpoint('ipc')];
    const children = addresses.map((address) => new LineProcess(process.execPath, [script('fault-server'), address]));
    await Promise.all(children.map((child) => child.value('READY')));
    await using client = await connectRpc({ connect: addresses, timeout: 3000, heartbeat: { interval: 100, timeout: 300 } });
    await waitFor(() => client.servers.every((s) => s.connected), 5000, 'both connections');
    const frozen = children[0]!;
    process.kill(frozen.pid, 'SIGSTOP');
    try {
      await waitFor(() => !client.servers[0]!.connected, 5000, 'the heartbeat to give up on the frozen server');
      const pids = await Promise.all(Array.from({ length: 20 }, () => client.call.who(1)));
      assert.deepEqual(new Set(pids), new Set([children[1]!.pid]), 'no call goes to the frozen server');
    } finally {
      process.kill(frozen.pid, 'SIGCONT');
    }
    await waitFor(() => client.servers[0]!.connected, 5000, 'the woken server to be connected again');
    const seen = new Set<number>();
    await waitFor(async () => (seen.add(Number(await client.call.who(5))), seen.size === 2), 10_000, 'the woken server to get calls');
    for (const child of children) await child.finish();
  });

  it('generated clients know their @idempotent methods', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zrpc-idem-'));
    await writeFile(join(dir, 'api.ts'), '/** @rpc */\nexport interface Store {\n  /** @idempotent */\n  get(key: string): string;\n  put(key: string, value: string): void;\n}\n');
    const result = await generate({ inputs: ['api.ts'], outDir: 'out', cwd: dir, project: false });
    const text = result.files[0]!.content;
    assert.match(text, /'get': \{\n(.*\n)*?\s+idempotent: true,\n\s+\},/);
    assert.equal(text.match(/idempotent: true/g)?.length, 1);
    // The caller a generated client stands on marks those calls so.
    const seen: CallOptions[] = [];
    const caller = new TypedCaller(
      { close: async () => {}, transport: undefined as never },
      async (_name, _args, options) => void seen.push(options),
      { get: { params: [], idempotent: true }, put: { params: [] } },
    );
    await caller.call('get', []);
    await caller.call('put', []);
    await caller.call('get', [], { idempotent: false });
    assert.deepEqual(
      seen.map((o) => o.idempotent),
      [true, undefined, false],
    );
  });
});
