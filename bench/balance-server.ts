/**
 * A server for the many-servers bench: `node balance-server.js <bind|connect> <endpoint> <ms>`
 * answers `work(n)` after `ms` milliseconds (0: at once) and prints `READY <endpoint>`.
 */
import { method, serveRpc } from 'zrpc';

const [mode, endpoint, ms] = process.argv.slice(2);
const delay = Number(ms);
const work = delay > 0 ? (n: number) => new Promise((resolve) => setTimeout(() => resolve(n), delay)) : (n: number) => n;
const server = await serveRpc({ work: method(work) }, mode === 'connect' ? { connect: endpoint! } : { bind: endpoint! });
console.log(`READY ${mode === 'connect' ? endpoint : server.transport.bindings[0]}`);
process.stdin.resume();
process.stdin.on('end', () => void server.close());
