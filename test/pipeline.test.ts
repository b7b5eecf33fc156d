import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AttrHandler, ServiceClosedError, connectPipeline, kwargs, method, servePipeline, type CallContext } from 'zrpc';
import { endpoint, waitFor } from './support/helpers.js';

class Jobs extends AttrHandler {
  readonly done: unknown[] = [];

  @method
  run(name: string, items: number[], flag = false): void {
    this.done.push({ name, items, flag });
  }

  @method({ context: true })
  async slow(ms: number, ctx: CallContext): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    this.done.push(ctx.method);
  }
}

describe('pipeline', () => {
  for (const kind of ['tcp', 'ipc', 'inproc'] as const) {
    it(`delivers notifications over ${kind}`, async () => {
      const jobs = new Jobs();
      await using server = await servePipeline({ jobs }, { bind: endpoint(kind) });
      await using client = await connectPipeline({ connect: server.transport.bindings[0] });
      await client.notify.jobs.run('x', [1, 2], kwargs({ flag: true }));
      await client.invoke('jobs.run', ['y', []]);
      await waitFor(() => jobs.done.length === 2, 3000, 'two jobs');
      assert.deepEqual(jobs.done, [
        { name: 'x', items: [1, 2], flag: true },
        { name: 'y', items: [], flag: false },
      ]);
    });
  }

  it('spreads work over several workers and loses nothing', async () => {
    const workers = [new Jobs(), new Jobs(), new Jobs()];
    const bind = endpoint();
    const client = await connectPipeline({ bind });
    const address = client.transport.bindings[0]!;
    const servers = await Promise.all(workers.map((w) => servePipeline(w, { connect: address })));
    try {
      await waitFor(async () => {
        // PUSH only round-robins over connected peers: wait until all three are in.
        await client.notify.run('probe', []);
        return workers.every((w) => w.done.length > 0);
      }, 5000, 'all workers connected');
      await Promise.all(Array.from({ length: 3000 }, (_, i) => client.notify.run('n', [i])));
      const real = () => workers.map((w) => w.done.filter((d) => (d as { name: string }).name === 'n'));
      await waitFor(() => real().flat().length === 3000, 5000, 'all 3000');
      const items = real().flat().map((d) => (d as { items: number[] }).items[0]);
      assert.deepEqual(new Set(items).size, 3000, 'each notification arrived once');
      for (const share of real()) assert.ok(share.length > 100, 'each worker took a share');
    } finally {
      await client.close();
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('runs async handlers and settles them on close', async () => {
    const jobs = new Jobs();
    const server = await servePipeline(jobs, { bind: endpoint() });
    const client = await connectPipeline({ connect: server.transport.bindings[0] });
    await client.notify.slow(10);
    await waitFor(() => jobs.done.length === 1, 2000, 'slow job');
    assert.deepEqual(jobs.done, ['slow']);
    await client.close();
    await assert.rejects(client.notify.run('late', []), (e) => e instanceof ServiceClosedError && /^cannot send run: it is closed/.test(e.message));
    await server.close();
  });
});
