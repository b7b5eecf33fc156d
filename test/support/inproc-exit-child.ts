/**
 * Run by lifecycle.test.ts in its own process: RPC clients that dial an inproc endpoint
 * nobody ever binds, each closed at once. The process must then exit by itself, and none
 * of them may leave descriptors behind (an open connection monitor each once did both).
 */
import { connectRpc } from 'zrpc';

const CLIENTS = 400;
for (let i = 0; i < CLIENTS; i++) {
  const client = await connectRpc({ connect: 'inproc://nobody-binds-this' });
  await client.close();
}
console.log(`closed ${CLIENTS}`);
