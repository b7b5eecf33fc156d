/**
 * Run by endpoints.test.ts in its own process: calls an endpoint where nothing listens,
 * lets the calls time out, closes the client, and must then exit at once, without
 * ZeroMQ's "Waiting for queued ZeroMQ messages to be delivered" (printed when exit is
 * held up by messages that still wait for a peer).
 */
import { connectRpc, RpcTimeoutError } from 'zrpc';

const client = await connectRpc({ connect: process.argv[2]!, timeout: 50 });
const results = await Promise.allSettled([client.call.ping(), client.call.add(1, 2), client.with({ timeout: 20 }).call.ping()]);
console.log(results.map((r) => (r.status === 'rejected' && r.reason instanceof RpcTimeoutError ? 'timeout' : 'other')).join(' '));
await client.close();
console.log('closed');
