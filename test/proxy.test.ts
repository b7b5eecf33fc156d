/**
 * zrpc proxy: one address for many server processes. zrpc and Python clients call
 * through it, servers dial its backend, CURVE works on either side, and the CLI runs it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LineProcess } from '../bench/line-process.js';
import { connectRpc, generateKeyPair, method, runProxy, serveRpc } from 'zrpc';
import { recordingLogger, repoRoot, waitFor } from './support/helpers.js';
import { PYTHON } from './support/python-peer.js';
import { join } from 'node:path';

const script = (name: string) => fileURLToPath(new URL(`./support/${name}.js`, import.meta.url));
const local = 'tcp://127.0.0.1:0';

describe('zrpc proxy', () => {
  it('puts two server processes behind one address for zrpc and Python clients', async () => {
    await using proxy = await runProxy({ frontend: local, backend: local });
    const servers = [0, 1].map(() => new LineProcess(process.execPath, [script('fault-server'), proxy.backend[0]!, 'connect']));
    await Promise.all(servers.map((s) => s.value('READY')));
    await using client = await connectRpc({ connect: proxy.frontend[0]!, timeout: 5000 });
    const pids = new Set<number>();
    await waitFor(async () => (pids.add(Number(await client.call.who(1))), pids.size === 2), 10_000, 'both servers to answer');
    assert.deepEqual([...pids].sort(), servers.map((s) => s.pid).sort());
    assert.deepEqual(await Promise.all([1, 2, 3, 4].map((n) => client.call.add(n, 10))), [11, 12, 13, 14]);
    const code = [
      'import asyncio, aiozmq.rpc, sys',
      'async def main():',
      '    c = await aiozmq.rpc.connect_rpc(connect=sys.argv[1], timeout=5)',
      '    pids = set()',
      '    for i in range(10):',
      '        assert await c.call.add(i, 1) == i + 1',
      '    for i in range(10):',
      '        pids.add(await c.call.pid())',
      "    print('SERVERS', len(pids))",
      '    c.close(); await c.wait_closed()',
      'asyncio.run(main())',
    ].join('\n');
    const { stdout } = await promisify(execFile)(PYTHON, ['-c', code, proxy.frontend[0]!], { timeout: 20_000 });
    assert.match(stdout, /SERVERS 2/);
    for (const server of servers) await server.finish();
  });

  it('speaks CURVE on both sides: each hop is its own encrypted connection', async () => {
    const front = generateKeyPair();
    const back = generateKeyPair();
    const client = generateKeyPair();
    const server = generateKeyPair();
    await using proxy = await runProxy({
      frontend: local,
      backend: local,
      curve: { frontend: { secretKey: front.secretKey, allow: [client.publicKey] }, backend: { secretKey: back.secretKey } },
      logger: recordingLogger(),
    });
    await using _worker = await serveRpc(
      { add: method((a: number, b: number) => a + b) },
      { connect: proxy.backend[0]!, curve: { serverKey: back.publicKey, ...server } },
    );
    await using caller = await connectRpc({ connect: proxy.frontend[0]!, timeout: 5000, curve: { serverKey: front.publicKey, ...client } });
    assert.equal(await caller.call.add(2, 3), 5);
    // A client whose key is not allowed gets nothing through.
    const stranger = generateKeyPair();
    await using refused = await connectRpc({ connect: proxy.frontend[0]!, timeout: 300, curve: { serverKey: front.publicKey, ...stranger }, logger: recordingLogger() });
    await assert.rejects(refused.call.add(1, 1), { name: 'RpcTimeoutError' });
  });

  it('refuses bad options with a clear error', async () => {
    await assert.rejects(runProxy({ frontend: [], backend: local }), /needs a frontend endpoint/);
    await assert.rejects(runProxy({ frontend: local, backend: 'localhost:5556' }), /cannot bind "localhost:5556"/);
  });

  it('runs from the command line: zrpc proxy --frontend --backend', async () => {
    const cli = new LineProcess(process.execPath, [join(repoRoot, 'dist/cli/zrpc.js'), 'proxy', '--frontend', local, '--backend', local]);
    const line = await cli.line('zrpc: proxy running');
    const [, frontend, backend] = /clients connect to (\S+), servers to (\S+)/.exec(line)!;
    await using _worker = await serveRpc({ add: method((a: number, b: number) => a + b) }, { connect: backend! });
    await using client = await connectRpc({ connect: frontend!, timeout: 5000 });
    assert.equal(await client.call.add(20, 22), 42);
    process.kill(cli.pid, 'SIGTERM');
    assert.equal(await cli.finish(), 0);
  });
});
