/**
 * The memory of sent frames is reused (wire/frame-memory.ts): large frames' buffers come
 * back once the collector has seen the frame go. Over inproc, ZeroMQ hands the receiver
 * the sender's own memory, so a buffer reused too early would change what the other
 * side holds. These tests hold received values across forced collections and many more
 * sends, and check that every byte stays as it arrived.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { connectRpc, method, Packer, serveRpc } from 'zrpc';
import { idleLargeBytes } from '../src/runtime/wire/frame-memory.js';
import { endpoint, waitFor } from './support/helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A payload of `size` bytes that says which call it belongs to. */
function payload(n: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) bytes[i] = (n + i) & 0xff;
  bytes.fill(n & 0xff, 1, 64);
  return bytes;
}

describe('frame memory', () => {
  it('keeps at most 64 MiB of idle buffers, and lets them all go once nobody asks for one for a while', async () => {
    const packer = new Packer();
    // 96 frames of 1 MiB, made and dropped: all of their buffers come back at once.
    for (let i = 0; i < 96; i++) packer.encodeFrame(new Uint8Array(2 ** 20));
    await waitFor(async () => (gc(), await settle(), idleLargeBytes() > 32 * 2 ** 20), 5000, 'the dropped frames\' buffers to come back');
    assert.ok(idleLargeBytes() <= 64 * 2 ** 20, `${idleLargeBytes()} bytes idle`);
    const started = performance.now();
    await waitFor(() => idleLargeBytes() === 0, 8000, 'the idle buffers to be let go');
    const waited = performance.now() - started;
    assert.ok(waited >= 500, `let go after ${waited.toFixed(0)} ms: not before the traffic had a chance to ask again`);
  });

  for (const transport of ['inproc', 'tcp'] as const) {
    it(`keeps every large value a peer holds intact while later frames reuse memory (${transport})`, async () => {
      const kept: Uint8Array[] = [];
      await using server = await serveRpc(
        {
          // The server keeps what arrived, as it arrived (a view of the received frame), and
          // answers a value of its own, which the client keeps.
          take: method((data: Uint8Array, n: number) => ((kept[n] = data), payload(n + 1000, data.byteLength))),
        },
        { bind: endpoint(transport) },
      );
      await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 10_000 });
      const answers: Uint8Array[] = [];
      const sizes = [5000, 65_536, 200_000];
      let n = 0;
      for (let round = 0; round < 6; round++) {
        await Promise.all(
          Array.from({ length: 40 }, async () => {
            const call = n++;
            answers[call] = (await client.call.take(payload(call, sizes[call % sizes.length]!), call)) as Uint8Array;
          }),
        );
        // Collections let frames that are gone give their buffers back for the next round.
        gc();
        await settle();
        gc();
      }
      assert.equal(kept.filter(Boolean).length, n);
      for (let call = 0; call < n; call++) {
        const size = sizes[call % sizes.length]!;
        assert.equal(Buffer.compare(kept[call]!, payload(call, size)), 0, `what the server keeps of call ${call}`);
        assert.equal(Buffer.compare(answers[call]!, payload(call + 1000, size)), 0, `what the client keeps of the answer to call ${call}`);
      }
    });
  }
});
