/** A server in its own process, for faults.test.ts to kill: `node fault-server.js <endpoint>`. */
import { method, serveRpc } from 'zrpc';

const server = await serveRpc(
  { add: method((a: number, b: number) => a + b), pid: method(() => process.pid) },
  { bind: process.argv[2]!, socket: { linger: 0 } },
);
console.log(`READY ${server.transport.bindings[0]}`);
process.stdin.resume();
process.stdin.on('end', () => void server.close());
