/**
 * A server in its own process, for the fault tests to kill: `node fault-server.js <endpoint> [connect]`
 * binds the endpoint, or with `connect` dials it (a proxy's backend).
 */
import { method, serveRpc } from 'zrpc';

const [endpoint, mode] = process.argv.slice(2);
const handler = {
  add: method((a: number, b: number) => a + b),
  pid: method(() => process.pid),
  /** `add` after `ms` milliseconds, so calls are in flight when the process is killed. */
  slowAdd: method((a: number, b: number, ms: number) => new Promise((resolve) => setTimeout(() => resolve(a + b), ms))),
  /** Which process answered, after `ms` milliseconds. */
  who: method((ms: number) => new Promise((resolve) => setTimeout(() => resolve(process.pid), ms))),
};
const server = await serveRpc(handler, mode === 'connect' ? { connect: endpoint!, socket: { linger: 0 } } : { bind: endpoint!, socket: { linger: 0 } });
console.log(`READY ${mode === 'connect' ? endpoint : server.transport.bindings[0]}`);
process.stdin.resume();
process.stdin.on('end', () => void server.close());
