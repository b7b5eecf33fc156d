/**
 * What one message can make the decoder allocate: crafted headers that declare far more
 * than they carry are refused before anything is allocated, and what a valid message
 * keeps on the heap is bounded by a small factor of its length, whatever its shape.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError } from '@msgpack/msgpack';
import { createPacker } from '../src/runtime/wire/translators.js';
import { PickleError } from 'zrpc';
import {
  MiB,
  bomb995,
  decodeShapes,
  deepBomb995,
  deepNesting,
  gc,
  header15,
  hostilePickles,
  longLengthBomb,
  mapHeader15,
  nestedArrayBomb,
  nestedMapBomb,
  pickleExt,
} from './support/attacks.js';

const packer = createPacker(undefined);

/**
 * Heap bytes (V8 heap plus external memory, where Uint8Array copies live) kept per
 * message byte by the worst shape: 2x the measured worst, 64 B/B for a MiB of empty
 * maps (then nested arrays 52, ext values 48, empty arrays 40, nested maps 25, a long
 * string 1; Node 20, x64). CPU per MiB is reported, not asserted.
 */
const MAX_HEAP_PER_BYTE = 128;

/**
 * Heap kept by decoding `bytes`, with the value held across the GC. A call of its own,
 * so no stale reference from the caller's frame (the last shape's value) is counted.
 */
function measure(bytes: Uint8Array): { kept: number; cpuMs: number } {
  // A fresh packer: a decoder keeps its last value until the next decode.
  const fresh = createPacker(undefined);
  gc();
  const before = process.memoryUsage();
  const cpu = process.cpuUsage();
  const value = fresh.decode(bytes);
  const used = process.cpuUsage(cpu);
  gc();
  const after = process.memoryUsage();
  assert.ok(value !== undefined);
  return { kept: after.heapUsed + after.external - before.heapUsed - before.external, cpuMs: (used.user + used.system) / 1000 };
}

function refuses(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => packer.decode(bytes), (error: unknown) => {
    assert.ok(error instanceof DecodeError || error instanceof RangeError, `${String(error)}`);
    assert.match((error as Error).message, pattern);
    return true;
  });
}

describe('decoder bounds', () => {
  it('refuses the 995-byte bomb: 199 nested array32 headers of 0xffffffff items', () => {
    assert.equal(bomb995.byteLength, 995);
    refuses(bomb995, /declares 4294967295 items, more than the 990 bytes left/);
  });

  it('refuses 199 nested headers even when each declares only what is left for it alone', () => {
    // Each header alone fits (declares the bytes after it), but the owed items of the
    // enclosing arrays push the sum past the message: the second header is refused.
    const depth = 199;
    const total = depth * 5 + 1000;
    const bytes = nestedArrayBomb(depth, 0, 1000);
    for (let i = 0; i < depth; i++) bytes.writeUInt32BE(total - (i + 1) * 5, i * 5 + 1);
    refuses(bytes, /more than the \d+ bytes left/);
  });

  it('refuses nesting past the depth limit: 300 array16 headers in 995 bytes, and 5000 one-item arrays', () => {
    assert.equal(deepBomb995.byteLength, 995);
    refuses(deepBomb995, /Max depth exceeded/);
    refuses(deepNesting(5000), /Max depth exceeded/);
    // One under the limit is fine: the limit is the only thing refusing 5000.
    assert.ok(Array.isArray(packer.decode(deepNesting(199))));
  });

  it('refuses 15-byte array and map headers of 0xffffffff items, and nested maps', () => {
    assert.equal(header15.byteLength, 15);
    refuses(header15, /an array declares 4294967295 items/);
    assert.equal(mapHeader15.byteLength, 15);
    refuses(mapHeader15, /a map declares 4294967295 entries/);
    refuses(nestedMapBomb(150), /a map declares 4294967295 entries/);
    // A map of n entries needs 2n bytes: 5 entries in 10 bytes passes the count check
    // (and then fails for its content), 6 do not.
    refuses(Buffer.from([0xdf, 0, 0, 0, 6, ...Array(10).fill(0xc0)]), /a map declares 6 entries, more than the 10 bytes/);
  });

  it('refuses str32 and bin32 lengths past the end of the message', () => {
    refuses(longLengthBomb('str'), /Insufficient data|Max length exceeded/);
    refuses(longLengthBomb('bin'), /Insufficient data|Max length exceeded/);
    refuses(longLengthBomb('str', 1000, 999), /Insufficient data/);
    refuses(longLengthBomb('bin', 1000, 999), /Insufficient data/);
  });

  it('refuses datetime pickles over 512 bytes, with a deep stack or a big memo', () => {
    for (const [label, pickle] of Object.entries(hostilePickles)) {
      for (const code of [123, 127]) {
        const ext = pickle.byteLength > 255 ? Buffer.concat([Buffer.from([0xc8, pickle.byteLength >> 8, pickle.byteLength & 0xff, code]), pickle]) : pickleExt(code, pickle);
        assert.throws(() => packer.decode(ext), PickleError, `${label} on code ${code}`);
      }
    }
    assert.throws(() => packer.decode(Buffer.concat([Buffer.from([0xc8, 2, 0x58, 125]), hostilePickles['over 512 bytes']!])), /over|512/);
  });

  it('keeps at most a bounded number of heap bytes per message byte, whatever the shape', (t) => {
    const results: string[] = [];
    let worst = 0;
    for (const [shape, bytes] of Object.entries(decodeShapes(MiB))) {
      const { kept, cpuMs } = measure(bytes);
      const factor = kept / bytes.byteLength;
      worst = Math.max(worst, factor);
      const msPerMiB = cpuMs / (bytes.byteLength / MiB);
      results.push(`${shape}: ${factor.toFixed(1)} heap B per message B, ${msPerMiB.toFixed(0)} ms CPU per MiB`);
    }
    t.diagnostic(results.join('; '));
    assert.ok(worst <= MAX_HEAP_PER_BYTE, `worst shape kept ${worst.toFixed(1)} B per message byte (bound ${MAX_HEAP_PER_BYTE}): ${results.join('; ')}`);
  });
});
