import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EncodeError, ExtData, Packer, type TranslationTable } from 'zrpc';
import { decode as referenceDecode } from '@msgpack/msgpack';
import { aliveAfterGc } from './support/attacks.js';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}
class Point3 extends Point {}

const points: TranslationTable = {
  0: [Point, (p: Point) => new Packer().encode([p.x, p.y]), (b) => new Point(...(new Packer().decode(b) as [number, number]))],
};

describe('packer', () => {
  it('gives every encoded message bytes of its own, small ones from shared memory and large ones from reused buffers included', () => {
    const packer = new Packer();
    // Sizes around the small-frame limit, enough messages to fill several shared pools.
    const sizes = [1, 15, 16, 17, 127, 128, 129, 1000, 4090, 4096, 4097, 9000];
    const sent = Array.from({ length: 3000 }, (_, i) => {
      const value = new Uint8Array(sizes[i % sizes.length]!).fill(i & 0xff);
      return { value, bytes: packer.encode(value) };
    });
    const holds = (i: number) => Buffer.compare(packer.decode(sent[i]!.bytes) as Uint8Array, sent[i]!.value) === 0;
    for (let i = 0; i < sent.length; i++) assert.ok(holds(i), `message ${i} (${sent[i]!.value.byteLength} bytes) changed after later encodes`);
    // Overwriting one message leaves its neighbours as they were.
    sent[100]!.bytes.fill(0xee);
    assert.ok(holds(99) && holds(101));
  });

  it('round-trips a translated class through its ext code', () => {
    const packer = new Packer(points);
    const bytes = packer.encode({ at: new Point(1, 2) });
    const value = packer.decode(bytes) as { at: Point };
    assert.ok(value.at instanceof Point);
    assert.deepEqual([value.at.x, value.at.y], [1, 2]);
  });

  it("picks the exact class's translator first, then the first code in ascending order (aiozmq's rule)", () => {
    const packer = new Packer({
      5: [Point3, () => new Uint8Array([3]), () => 'three'],
      2: [Point, () => new Uint8Array([2]), () => 'two'],
    });
    assert.equal(packer.decode(packer.encode(new Point3(0, 0, ))), 'three');
    assert.equal(packer.decode(packer.encode(new Point(0, 0))), 'two');
    class Point4 extends Point3 {}
    assert.equal(packer.decode(packer.encode(new Point4(0, 0))), 'two', 'no entry of its own: the lowest code it is an instance of');
  });

  it('passes unknown ext codes through as ExtData that re-encodes to the same bytes', () => {
    const packer = new Packer();
    const bytes = Buffer.from('d40a07', 'hex');
    const value = packer.decode(bytes);
    assert.ok(value instanceof ExtData);
    assert.equal(value.type, 10);
    assert.equal(Buffer.from(packer.encode(value)).toString('hex'), 'd40a07');
  });

  it('keeps integers exact: number when safe, bigint beyond', () => {
    const packer = new Packer();
    for (const n of [0, 1, -1, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1), 1.5]) assert.equal(packer.decode(packer.encode(n)), n);
    for (const n of [2n ** 53n, 2n ** 64n - 1n, -(2n ** 63n)]) assert.equal(packer.decode(packer.encode(n)), n);
    // A safe integer written as uint64 (as Python does past 32 bits) still reads as a number.
    assert.equal(packer.decode(Buffer.from('cf0000000100000000', 'hex')), 2 ** 32);
  });

  it('reads one-byte values the same on its fast path as the full decoder does', () => {
    const packer = new Packer();
    for (let b = 0; b < 256; b++) {
      const one = Buffer.from([b]);
      let expected: unknown;
      try {
        expected = referenceDecode(one, { useBigInt64: true });
      } catch {
        assert.throws(() => packer.decode(one));
        continue;
      }
      assert.deepEqual(packer.decode(one), expected, `byte 0x${b.toString(16)}`);
    }
  });

  it('reads short arrays of one-byte values the same on its fast path as the full decoder does', () => {
    const packer = new Packer();
    const bytes = [0x00, 0x7f, 0xe0, 0xff, 0xc0, 0xc2, 0xc3, 0xc1, 0xcc, 0x90, 0xa0];
    for (let n = 0; n <= 16; n++) {
      for (let trial = 0; trial < 50; trial++) {
        const body = Array.from({ length: n }, (_, i) => bytes[(i * 7 + trial * 3) % bytes.length]!);
        for (const head of [0x90 + n, 0x90 + Math.max(0, n - 1)]) {
          const one = Buffer.from([head, ...body]);
          let expected: unknown;
          try {
            expected = referenceDecode(one, { useBigInt64: true });
          } catch {
            assert.throws(() => packer.decode(one), `${one.toString('hex')} is refused`);
            continue;
          }
          assert.deepEqual(packer.decode(one), expected, one.toString('hex'));
        }
      }
    }
  });

  it('reads bins, alone and in short arrays, the same on its fast path as the full decoder, malformed ones included', () => {
    const packer = new Packer();
    const bin = (type: number, length: number, have = length) => {
      const size = type === 0xc4 ? 1 : type === 0xc5 ? 2 : 4;
      const header = Buffer.alloc(1 + size);
      header[0] = type;
      header.writeUIntBE(length, 1, size);
      return Buffer.concat([header, Buffer.alloc(have, 0xab)]);
    };
    // Each header form, minimal or not, whole, cut short, or declaring past the frame.
    const items: Buffer[] = [Buffer.from([0x01]), Buffer.from([0xc0]), Buffer.from([0xa1, 0x61]), Buffer.from([0xc1])];
    for (const type of [0xc4, 0xc5, 0xc6]) {
      for (const length of [0, 1, 254]) items.push(bin(type, length), bin(type, length + 1, length));
      items.push(bin(type, 0).subarray(0, 2));
    }
    items.push(bin(0xc5, 300), bin(0xc6, 70000), bin(0xc6, 0xffffffff, 3));
    const frames: Buffer[] = [...items];
    for (const a of items) {
      frames.push(Buffer.concat([Buffer.from([0x91]), a]), Buffer.concat([Buffer.from([0x92, 0x05]), a]));
      for (const b of items) frames.push(Buffer.concat([Buffer.from([0x92]), a, b]));
      // One item too many, one too few, and a byte after the array.
      frames.push(Buffer.concat([Buffer.from([0x91]), a, a]), Buffer.concat([Buffer.from([0x93]), a, a]), Buffer.concat([Buffer.from([0x91]), a, Buffer.from([0x00])]));
    }
    for (const frame of frames) {
      let expected: unknown;
      try {
        expected = referenceDecode(frame, { useBigInt64: true });
      } catch {
        assert.throws(() => packer.decode(frame), `${frame.subarray(0, 24).toString('hex')} is refused`);
        continue;
      }
      const got = packer.decode(frame);
      assert.deepEqual(got, expected, frame.subarray(0, 24).toString('hex'));
      // A bin is a view of the frame, of the frame's own class, as the library's is.
      const firstBin = (v: unknown): unknown => (Array.isArray(v) ? v.find((x) => x instanceof Uint8Array) : v);
      if (firstBin(expected) instanceof Uint8Array) {
        assert.equal(Object.getPrototypeOf(firstBin(got)), Object.getPrototypeOf(firstBin(expected)));
        assert.equal((firstBin(got) as Uint8Array).buffer, frame.buffer);
      }
    }
  });

  it('holds no large frame once decoded, refused or not, while later frames take the fast path', async () => {
    const packer = new Packer();
    const refs: Array<WeakRef<object>> = [];
    (() => {
      // A request the library reads (a map), and one it refuses at its end: bytes a peer chose.
      const accepted = Buffer.from(packer.encode([{ blob: new Uint8Array(1 << 22) }]));
      refs.push(new WeakRef(accepted));
      assert.equal((packer.decode(accepted) as [{ blob: Uint8Array }])[0].blob.byteLength, 1 << 22);
      const refused = Buffer.alloc(1 << 22, 0x01);
      refused[0] = 0xdc; // array 16, of 0xffff items: one byte short at the end
      refused.writeUInt16BE(0xffff, 1);
      refs.push(new WeakRef(refused));
      assert.throws(() => packer.decode(refused));
    })();
    // Then only what the fast path reads: bins, alone or in short arrays, and small ints.
    for (let i = 0; i < 100; i++) {
      packer.decode(Buffer.from([0x92, 0xc4, 1, i, 0xc4, 0]));
      packer.decode(Buffer.from([0xc4, 1, i]));
      packer.decode(Buffer.from([0x92, 1, 2]));
    }
    const alive = await aliveAfterGc(refs);
    assert.equal(alive, 0, `${alive} frames of 4 MiB are still held by the library's decoder (its last input)`);
  });

  it('applies every decode limit to bins and short arrays on its fast path', () => {
    const frames = {
      bin: Buffer.from([0xc4, 3, 1, 2, 3]),
      binItem: Buffer.from([0x92, 0x01, 0xc4, 3, 1, 2, 3]),
      pair: Buffer.from([0x92, 0x01, 0x02]),
    };
    assert.throws(() => new Packer({}, { maxBinLength: 2 }).decode(frames.bin), /bin length \(3\) > maxBinLength \(2\)/);
    assert.throws(() => new Packer({}, { maxBinLength: 2 }).decode(frames.binItem), /maxBinLength/);
    assert.deepEqual(new Packer({}, { maxBinLength: 3 }).decode(frames.binItem), [1, Buffer.from([1, 2, 3])]);
    assert.throws(() => new Packer({}, { maxArrayLength: 1 }).decode(frames.pair), /maxArrayLength/);
    assert.throws(() => new Packer({}, { maxItems: 1 }).decode(frames.pair), /maxItems/);
    assert.throws(() => new Packer({}, { maxDepth: 0 }).decode(frames.pair), /Max depth/);
    assert.deepEqual(new Packer({}, { maxDepth: 1, maxItems: 2, maxArrayLength: 2 }).decode(frames.pair), [1, 2]);
  });

  it('decodes maps with non-string keys to Map and encodes Map back', () => {
    const packer = new Packer();
    const map = new Map<unknown, unknown>([[1, 'one'], ['s', { nested: new Map([[[1, 2], true]]) }]]);
    const decoded = packer.decode(packer.encode(map)) as Map<unknown, unknown>;
    assert.ok(decoded instanceof Map);
    assert.equal(decoded.get(1), 'one');
    const nested = (decoded.get('s') as { nested: Map<unknown, unknown> }).nested;
    assert.deepEqual([...nested], [[[1, 2], true]]);
    // A string-keyed map stays a plain object.
    assert.deepEqual(packer.decode(packer.encode({ a: 1 })), { a: 1 });
    // What the reference decoder makes of our Map: the same entries.
    assert.deepEqual(referenceDecode(packer.encode(new Map([['k', 1]]))), { k: 1 });
  });

  it('refuses class instances with no translator instead of sending an empty map', () => {
    const packer = new Packer();
    assert.throws(() => packer.encode([new Date(0)]), (e: unknown) => e instanceof EncodeError && /instance of Date/.test((e as Error).message));
    assert.throws(() => packer.encode(new Point(1, 2)), /register a translator for it in translationTable/);
    assert.throws(() => new Packer({ 128: points[0]! }), /outside 0\.\.127/);
  });

  it('throws on malformed msgpack and honours decode limits', () => {
    const packer = new Packer({}, { maxStrLength: 4, maxArrayLength: 3 });
    assert.throws(() => packer.decode(Buffer.from('c1', 'hex')));
    assert.throws(() => packer.decode(Buffer.from('dd', 'hex')));
    assert.throws(() => packer.decode(packer.encode('hello')), /maxStrLength/);
    assert.throws(() => packer.decode(packer.encode([1, 2, 3, 4])), /maxArrayLength/);
    assert.throws(() => packer.decode(Buffer.from('82a1610181a162', 'hex')));
  });

  it('leaves undefined properties out of maps, like JSON', () => {
    const packer = new Packer();
    assert.deepEqual(packer.decode(packer.encode({ a: 1, b: undefined })), { a: 1 });
    assert.deepEqual(packer.decode(packer.encode([1, undefined])), [1, null]);
  });

  it('refuses __proto__ keys rather than polluting prototypes', () => {
    const packer = new Packer();
    assert.throws(() => packer.decode(Buffer.from('81a95f5f70726f746f5f5f01', 'hex')), /__proto__/);
  });
});
