/**
 * The runtime on its own, no generated code: a handler class, a server, and a client
 * calling it through the dynamic proxy. Run: npm run sample
 */
import { AttrHandler, NotFoundError, connectRpc, kwargs, method, serveRpc } from 'zrpc';

class Greeter extends AttrHandler {
  @method
  greet(name: string, punctuation = '!'): string {
    return `Hello, ${name}${punctuation}`;
  }

  readonly math = { add: method((a: number, b: number) => a + b) };
}

export async function main(): Promise<void> {
  await using server = await serveRpc(new Greeter(), { bind: 'tcp://127.0.0.1:0' });
  await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 2000 });

  console.log(await client.call.greet('zrpc'));
  console.log(await client.call.greet('Python', kwargs({ punctuation: '?' })));
  console.log('2 + 3 =', await client.call.math.add(2, 3));
  try {
    await client.call.math.divide(1, 0);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    console.log(`not found, as expected: ${error.method}`);
  }
}
