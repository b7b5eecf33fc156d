/**
 * Attacks on the hot path's shortcuts: what a reply shares with memory the app still
 * holds (zeromq.js sends over 128 bytes without copying), translators chosen once per
 * prototype (wire/packer.ts), and calls under no server timeout carried by their handler's
 * own promise (handlers/dispatch.ts). Real sockets where the network is involved.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Dealer } from 'zeromq';
import { decode as referenceDecode, encode as referenceEncode } from '@msgpack/msgpack';
import { connectRpc, EncodeError, method, Packer, serveRpc, type CallContext } from 'zrpc';
import { encodeRequestHeader, REPLY_HEADER_SIZE } from '../src/runtime/wire/header.js';
import { CANCEL_FRAME, isContextFrame } from '../src/runtime/wire/context-frame.js';
import { decodeName, nameHash } from '../src/runtime/handlers/dispatch.js';
import { endpoint, waitFor } from './support/helpers.js';
import { aliveAfterGc, stubbornService, watchRejections } from './support/attacks.js';

const packer = new Packer();
const withContext = { context: true } as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `n` bytes of `byte`. */
function filled(n: number, byte: number): Buffer {
  return Buffer.alloc(n, byte);
}

describe('a reply never shares memory the app still holds', () => {
  it('tcp: a handler that wipes its input after returning it does not change the reply (32 MiB echo)', async () => {
    const handler = {
      echo: method((b: Uint8Array) => {
        // The app is done with the bytes once it returned them: it wipes them on the next turn.
        setImmediate(() => b.fill(0));
        return b;
      }),
    };
    await using server = await serveRpc(handler, { bind: endpoint() });
    await using client = await connectRpc({ connect: server.transport.bindings[0], timeout: 20_000 });
    const sent = filled(32 * 2 ** 20, 0xab);
    const got = (await client.call.echo(sent)) as Uint8Array;
    assert.equal(got.byteLength, sent.byteLength);
    const zeros = Buffer.from(got.buffer, got.byteOffset, got.byteLength).indexOf(0);
    assert.equal(zeros, -1, `the reply was returned as 0xab bytes, but byte ${zeros} and on arrived as 0: the wipe after return reached the wire`);
  });

  it('inproc: a value the client already received does not change when the server later updates its state in place', async () => {
    let stored: Uint8Array | undefined;
    const handler = {
      put: method((b: Uint8Array) => void (stored = b)),
      get: method(() => stored),
      clear: method(() => void stored!.fill(0)),
    };
    await using server = await serveRpc(handler, { bind: endpoint('inproc') });
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    await client.call.put(filled(8192, 0x5a));
    const got = (await client.call.get()) as Uint8Array;
    assert.equal(got[100], 0x5a);
    await client.call.clear();
    assert.equal(got[100], 0x5a, "the client's received value changed under it: it is the server's stored memory");
  });

  it("inproc: the client mutating the value it got does not corrupt the server's state", async () => {
    let stored: Uint8Array | undefined;
    const handler = {
      put: method((b: Uint8Array) => void (stored = b)),
      get: method(() => stored),
      check: method(() => stored!.every((x) => x === 0x5a)),
    };
    await using server = await serveRpc(handler, { bind: endpoint('inproc') });
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    await client.call.put(filled(8192, 0x5a));
    const got = (await client.call.get()) as Uint8Array;
    got.fill(1); // the client's own copy, as far as it knows
    assert.equal(await client.call.check(), true, "the server's stored bytes were overwritten by the client's in-place edit of its reply");
  });

  it('tcp: a reply queued behind a slow reader keeps the bytes it had when returned', async () => {
    // The server holds one buffer it updates in place; `get` returns it. Replies queue in
    // ZeroMQ (ROUTER, default high-water mark) while the caller does not read; then the
    // buffer is updated; the queued replies must still carry what `get` returned.
    let state = filled(1024 * 1024, 0x11);
    let gets = 0;
    const handler = {
      put: method((b: Uint8Array) => void (state = b as Buffer)),
      get: method(() => (gets++, state)),
      bump: method(() => void state.fill(0x22)),
    };
    await using server = await serveRpc(handler, { bind: endpoint() });
    const address = server.transport.bindings[0]!;
    await using setup = await connectRpc({ connect: address });
    await setup.call.put(filled(1024 * 1024, 0x11)); // a received bin: `get` now replies in place
    const slow = new Dealer({ linger: 0, receiveHighWaterMark: 1, sendHighWaterMark: 0, receiveTimeout: 5000 });
    slow.connect(address);
    try {
      const n = 24;
      for (let id = 1; id <= n; id++) await slow.send([encodeRequestHeader(1, id), 'get', packer.encode([]), Buffer.from([0x80])]);
      await waitFor(() => gets === n, 10_000, 'every get to run');
      await sleep(300); // every get answered and queued somewhere between the server and the caller
      // The reply to bump queues behind the gets (one send queue), so it is awaited last.
      const bumped = setup.call.bump();
      await waitFor(() => state[0] === 0x22, 2000, 'the update');
      const bodies: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        const frames = await slow.receive();
        assert.equal(frames.at(-2)!.byteLength, REPLY_HEADER_SIZE);
        bodies.push(Buffer.from(packer.decode(frames.at(-1)!) as Uint8Array));
      }
      const changed = bodies.filter((b) => b.includes(0x22)).length;
      await bumped;
      assert.equal(changed, 0, `${changed} of ${n} replies to get carry bytes written after get returned`);
    } finally {
      slow.close();
    }
  });
});

describe('holds: crafted frames to an echo, checked against a reference decoder', () => {
  it('replies decode to exactly the bytes the handler returned, whatever the frame around them', async () => {
    const handler = {
      echo: method((b: unknown) => b),
      first: method((xs: unknown[]) => xs[0]),
      field: method((m: Record<string, unknown>) => m.v),
      tail: method((b: Uint8Array, from: number) => b.subarray(from)),
    };
    await using server = await serveRpc(handler, { bind: endpoint() });
    const dealer = new Dealer({ linger: 0, receiveTimeout: 5000 });
    dealer.connect(server.transport.bindings[0]!);
    const bin16 = (d: Uint8Array) => Buffer.concat([Buffer.from([0xc5, d.length >> 8, d.length & 0xff]), d]);
    const bin32 = (d: Uint8Array) => { const h = Buffer.alloc(5); h[0] = 0xc6; h.writeUInt32BE(d.length, 1); return Buffer.concat([h, d]); };
    const data = (n: number, seed = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
    const cases: Array<[string, string, Buffer, Uint8Array]> = [];
    for (const n of [252, 253, 255, 256, 257, 300, 65535, 65536]) {
      cases.push([`bin16/32 ${n}`, 'echo', Buffer.concat([Buffer.from([0x91]), n <= 0xffff ? bin16(data(n)) : bin32(data(n))]), data(n)]);
      cases.push([`bin32 non-minimal ${n}`, 'echo', Buffer.concat([Buffer.from([0x91]), bin32(data(n))]), data(n)]);
    }
    cases.push(['nested in array', 'first', Buffer.concat([Buffer.from([0x91, 0x92]), bin16(data(400)), Buffer.from([0x01])]), data(400)]);
    cases.push(['nested in map', 'field', Buffer.concat([Buffer.from([0x91, 0x81, 0xa1, 0x76]), bin32(data(400))]), data(400)]);
    // A part whose preceding bytes the peer crafted: a right header, and a wrong one.
    const crafted = data(600, 7);
    crafted.set([0xc5, 0x01, 0xf4], 97); // 0x1f4 = 500: the length from offset 100
    cases.push(['part after a crafted right header', 'tail', Buffer.concat([Buffer.from([0x92]), bin16(crafted), Buffer.from([100])]), crafted.subarray(100)]);
    const wrong = data(600, 9);
    wrong.set([0xc6, 0, 0, 0x01, 0xf3], 95); // says 499: the part is 500
    cases.push(['part after a crafted wrong header', 'tail', Buffer.concat([Buffer.from([0x92]), bin16(wrong), Buffer.from([100])]), wrong.subarray(100)]);
    const both = data(600, 11);
    both.set([0xc6, 0, 0, 0xc5, 0x01, 0xf4].slice(1), 96); // bin16 right, the byte before c5 not c6
    cases.push(['part after bytes that are a bin16 header and no bin32 one', 'tail', Buffer.concat([Buffer.from([0x92]), bin16(both), Buffer.from([100])]), both.subarray(100)]);
    try {
      let id = 0;
      for (const [label, name, args, expected] of cases) {
        id++;
        await dealer.send([encodeRequestHeader(1, id), name, args, Buffer.from([0x80])]);
        const frames = await dealer.receive();
        assert.equal(frames.at(-2)![16], 0, `${label}: not an error reply`);
        const body = frames.at(-1)!;
        const value = referenceDecode(body);
        assert.ok(value instanceof Uint8Array && Buffer.from(value).equals(Buffer.from(expected)), `${label}: reply decodes to the bytes returned`);
        assert.ok(body[0] === 0xc4 || body[0] === 0xc5 || body[0] === 0xc6, `${label}: a bin`);
        if (label === 'bin32 non-minimal 300') console.log(`# ${label}: reply header ${body.subarray(0, 5).toString('hex')} (in place: the peer's header comes back)`);
      }
      // A declared length far past the frame is refused, not trusted.
      await dealer.send([encodeRequestHeader(1, 999), 'echo', Buffer.from([0x91, 0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]), Buffer.from([0x80])]);
      const refused = await dealer.receive();
      assert.equal(refused.at(-2)![16], 1, 'an error reply');
    } finally {
      dealer.close();
    }
  });
});

/** Two different names, `m` and `length` letters or digits, whose table keys are the same (a birthday search). */
function collidingNames(length: number): [string, string] {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const seen = new Map<number, string>();
  let seed = 12345;
  const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % alphabet.length;
  for (;;) {
    let name = 'm';
    for (let i = 0; i < length; i++) name += alphabet[next()];
    const hash = nameHash(Buffer.from(name));
    const other = seen.get(hash);
    if (other !== undefined && other !== name) return [other, name];
    seen.set(hash, name);
  }
}

describe('the table of names met (handlers/dispatch.ts)', () => {
  it('tells apart two names whose keys collide, whichever comes first, each time', () => {
    const [a, b] = collidingNames(6);
    assert.notEqual(a, b);
    assert.equal(nameHash(Buffer.from(a)), nameHash(Buffer.from(b)));
    for (let i = 0; i < 4; i++) {
      assert.equal(decodeName(Buffer.from(a)), a);
      assert.equal(decodeName(Buffer.from(b)), b);
    }
  });

  it('keeps its own copy of the bytes: a frame changed after it was read is read as it is now', () => {
    const frame = Buffer.from('lookup');
    assert.equal(decodeName(frame), 'lookup');
    frame[5] = 0x71; // 'q'
    assert.equal(decodeName(frame), 'lookuq');
  });

  it('never keeps invalid UTF-8: it is refused every time, also after a valid name of the same length', () => {
    assert.equal(decodeName(Buffer.from('ab')), 'ab');
    for (let i = 0; i < 3; i++) assert.throws(() => decodeName(Buffer.from([0xff, 0xfe])), /method name is not valid UTF-8/);
    assert.equal(decodeName(Buffer.from([0xef, 0xbf, 0xbd])), '\uFFFD', 'a real U+FFFD is a name');
  });

  it('keeps a name in memory of its own size: 1,000 names among other buffers hold well under 1 MiB', async () => {
    const { setFlagsFromString } = await import('node:v8');
    const { runInNewContext } = await import('node:vm');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // V8 frees the buffers a collection found dead as it sweeps, after the collection
    // itself: a few rounds, each with a turn of the loop, before reading the figure.
    const collected = async () => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      return process.memoryUsage().arrayBuffers;
    };
    const before = await collected();
    for (let i = 0; i < 1000; i++) {
      // Other small buffers in between move Node's shared pool on to a new 8 KiB block
      // for nearly every name: a copy kept in that pool would keep each block.
      Buffer.allocUnsafe(3000);
      assert.equal(decodeName(Buffer.from(`kept${i}`)), `kept${i}`);
    }
    const held = (await collected()) - before;
    assert.ok(held < 2 ** 20, `the names hold ${(held / 2 ** 20).toFixed(2)} MiB`);
  });

  it('stays bounded under a flood of names, and still reads every name right after it', () => {
    for (let i = 0; i < 5000; i++) assert.equal(decodeName(Buffer.from(`flood${i}`)), `flood${i}`);
    assert.equal(decodeName(Buffer.from('flood0')), 'flood0');
    const long = 'n'.repeat(65) + '.m';
    assert.equal(decodeName(Buffer.from(long)), long, 'past the longest kept, decoded each time');
  });

  it('tcp: a server with methods under two colliding names answers each by its own', async () => {
    const [a, b] = collidingNames(5);
    await using server = await serveRpc({ [a]: method(() => a), [b]: method(() => b) }, { bind: endpoint() });
    await using client = await connectRpc({ connect: server.transport.bindings[0] });
    const call = client.call as unknown as Record<string, () => Promise<unknown>>;
    for (let i = 0; i < 3; i++) assert.deepEqual([await call[a]!(), await call[b]!()], [a, b]);
  });
});

describe('the shared frames of one-byte replies (wire/direct-frames.ts)', () => {
  it('tcp: each reply is the reference encoder\'s bytes, at the edges of the one-byte range and past them', async () => {
    const values: unknown[] = [-33, -32, -1, -0, 0, 1, 126, 127, 128, 255, 1.5, -0.5, Number.NaN, null, undefined, true, false, 2 ** 53, -(2 ** 31)];
    await using server = await serveRpc({ give: method((i: number) => values[i]) }, { bind: endpoint() });
    const dealer = new Dealer({ linger: 0, receiveTimeout: 5000 });
    dealer.connect(server.transport.bindings[0]!);
    try {
      // Twice over, so the second round reads frames the first one already sent.
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < values.length; i++) {
          await dealer.send([encodeRequestHeader(1, i), 'give', packer.encode([i]), Buffer.from([0x80])]);
          const frames = await dealer.receive();
          assert.equal(frames.at(-2)![16], 0, `${String(values[i])}: not an error reply`);
          const expected = Buffer.from(referenceEncode(values[i] === undefined ? null : values[i]));
          assert.deepEqual(frames.at(-1)!, expected, `${String(values[i])}: the reply body`);
        }
      }
    } finally {
      dealer.close();
    }
  });
});

describe('the directly written frames of short arrays of one-byte values (wire/direct-frames.ts)', () => {
  const edges: unknown[] = [-33, -32, -1, -0, 0, 1, 127, 128, 1.5, Number.NaN, null, undefined, true, false, 2 ** 53, 'a', [], {}];

  it("writes the reference encoder's bytes for every array of up to 16 items, one-byte or not", () => {
    const arrays: unknown[][] = [[], Array.from({ length: 15 }, (_, i) => i - 7), Array.from({ length: 16 }, () => 1), Array.from({ length: 15 }, () => null)];
    for (const a of edges) for (const b of edges) arrays.push([a, b], [a, 1, b]);
    // A hole reads as undefined, which both write as nil.
    arrays.push([1, , 2]);
    for (const value of arrays) {
      const expected = Buffer.from(referenceEncode(value, { ignoreUndefined: true }));
      assert.deepEqual(Buffer.from(packer.encodeFrame(value)), expected, `[${value.map(String).join(', ')}]`);
      assert.deepEqual(Buffer.from(packer.encode(value)), expected);
    }
  });

  it('leaves an array to the translator that takes it (an Array subclass registered as an ext type)', () => {
    class Pair extends Array<number> {}
    const pk = new Packer({ 7: [Pair, (p: Pair) => Uint8Array.of(p.length), (d) => d] });
    const pair = Pair.from([1, 2]) as Pair;
    assert.equal(Buffer.from(pk.encodeFrame(pair))[0], 0xd4, 'the Pair translator (ext 7, fixext 1) must run');
    assert.deepEqual(Buffer.from(pk.encodeFrame([1, 2])), Buffer.from([0x92, 0x01, 0x02]), 'a plain array is still an array');
  });

  it('reads each item once, without the encoder (an item behind a getter that changes is written as it was read)', () => {
    const reads: PropertyKey[] = [];
    const items = new Proxy([1, true, null], { get: (target, key, receiver) => (reads.push(key), Reflect.get(target, key, receiver)) });
    assert.deepEqual(Buffer.from(packer.encodeFrame(items)), Buffer.from([0x93, 0x01, 0xc3, 0xc0]));
    // The iterator is looked at (one of the array's own goes to the encoder), not used.
    assert.deepEqual(reads.filter((key) => key !== 'length' && key !== 'constructor' && key !== Symbol.iterator), ['0', '1', '2'], 'each item read once');
    let n = 0;
    const shifty = [7, 0];
    Object.defineProperty(shifty, 1, { get: () => (n++ === 0 ? 2 : 'changed'), enumerable: true });
    assert.deepEqual(referenceDecode(packer.encodeFrame(shifty)), [7, 2]);
  });

  it('gives each call a frame of its own: one sent and then rewritten in place changes no other', () => {
    const first = packer.encodeFrame([1, 2]);
    const second = packer.encodeFrame([1, 2]);
    assert.notEqual(first, second);
    first[1] = 0x7f;
    assert.deepEqual(Buffer.from(second), Buffer.from([0x92, 0x01, 0x02]));
  });

  it('tcp: a server reads such arguments as sent, and a reference client decodes the request frames alike', async () => {
    await using server = await serveRpc({ show: method((a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown) => [a, b, c, d, e, f].map(String).join(' ')) }, { bind: endpoint() });
    await using client = await connectRpc({ connect: server.transport.bindings[0]! });
    assert.equal(await client.call.show(-32, 127, true, false, null, 0), '-32 127 true false null 0');
    assert.deepEqual(referenceDecode(packer.encodeFrame([-32, 127, true, null])), [-32, 127, true, null]);
  });
});

describe('the directly written frames of byte strings, alone and in short arrays (wire/direct-frames.ts)', () => {
  const sizes = [0, 1, 255, 256, 65535, 65536, 70000];
  const bytesOf = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);

  it("writes the reference encoder's bytes for bins at each header's edges, alone and among other items", () => {
    const values: unknown[] = [];
    for (const n of sizes) {
      const bytes = bytesOf(n);
      values.push(bytes, Buffer.from(bytes), [bytes], [1, bytes, true], [bytes, bytes], [null, 'text', bytes]);
    }
    // A view into a larger buffer is written from its own offset, not the buffer's start.
    const backing = bytesOf(600);
    values.push(backing.subarray(100, 400), [7, backing.subarray(599)]);
    // Fifteen items take the direct path, sixteen and other typed arrays the encoder.
    values.push(Array.from({ length: 15 }, (_, i) => bytesOf(i)), Array.from({ length: 16 }, (_, i) => bytesOf(i)));
    values.push(new Float32Array([1.5, 2]), [new Uint16Array([1, 2])], new DataView(new ArrayBuffer(3)));
    for (const value of values) {
      const expected = Buffer.from(referenceEncode(value, { ignoreUndefined: true }));
      assert.deepEqual(Buffer.from(packer.encodeFrame(value)), expected);
      assert.deepEqual(Buffer.from(packer.encode(value)), expected);
    }
  });

  it('copies the bytes: changing them after the frame is made does not change the frame', () => {
    for (const n of [16, 70000]) {
      const bytes = bytesOf(n);
      const alone = packer.encodeFrame(bytes);
      const inArray = packer.encodeFrame([1, bytes]);
      bytes.fill(0xee);
      assert.deepEqual(Buffer.from(referenceDecode(alone) as Uint8Array), Buffer.from(bytesOf(n)));
      assert.deepEqual(Buffer.from((referenceDecode(inArray) as Uint8Array[])[1]!), Buffer.from(bytesOf(n)));
    }
  });

  it('leaves bytes to the translator that takes them, alone or as an item, and an array of them to its own', () => {
    class Tagged extends Uint8Array {}
    class Bytes extends Array<Uint8Array> {}
    const pk = new Packer({
      5: [Tagged, (t: Tagged) => Uint8Array.of(t.length), (d) => d],
      6: [Bytes, (b: Bytes) => Uint8Array.of(b.length), (d) => d],
    });
    const tagged = Tagged.of(1, 2, 3);
    assert.deepEqual(Buffer.from(pk.encodeFrame(tagged)), Buffer.from([0xd4, 5, 3]), 'the Tagged translator (fixext 1)');
    assert.deepEqual(Buffer.from(pk.encodeFrame([1, tagged])), Buffer.from([0x92, 1, 0xd4, 5, 3]));
    assert.deepEqual(Buffer.from(pk.encodeFrame(Bytes.of(Uint8Array.of(9)) as Bytes)), Buffer.from([0xd4, 6, 1]));
    assert.deepEqual(Buffer.from(pk.encodeFrame([Uint8Array.of(9)])), Buffer.from([0x91, 0xc4, 1, 9]), 'a plain Uint8Array is still bin');
  });

  it('refuses what the encoder refuses: a Proxy of a Uint8Array, alone or as an item', () => {
    const proxy = new Proxy(Uint8Array.of(1, 2), {});
    assert.throws(() => packer.encode(proxy), EncodeError);
    assert.throws(() => packer.encodeFrame(proxy), EncodeError);
    assert.throws(() => packer.encodeFrame([1, proxy]), EncodeError);
  });

  it('reads each item once: a getter that changes from bytes to something else is written as first read', () => {
    let n = 0;
    const shifty: unknown[] = [1, null];
    Object.defineProperty(shifty, 1, { get: () => (n++ === 0 ? Uint8Array.of(4, 5) : 'changed'), enumerable: true });
    assert.deepEqual(Buffer.from(packer.encodeFrame(shifty)), Buffer.from([0x92, 0x01, 0xc4, 2, 4, 5]));
    assert.equal(n, 1);
  });

  it('keeps no item alive: bytes in an array that went to the encoder instead (a string after them) can be collected', async () => {
    const refs: Array<WeakRef<object>> = [];
    (() => {
      for (let i = 0; i < 20; i++) {
        const big = new Uint8Array(1 << 20);
        refs.push(new WeakRef(big));
        packer.encodeFrame([big, 'not direct']);
        packer.encodeFrame([big, big]);
      }
    })();
    const alive = await aliveAfterGc(refs);
    assert.equal(alive, 0, `${alive} buffers (1 MiB each) are still held by the encoder's scratch list`);
  });

  it('keeps no item alive after a throw: bytes read before a throwing getter, or before a detached view, can be collected', async () => {
    const refs: Array<WeakRef<object>> = [];
    (() => {
      for (let i = 0; i < 4; i++) {
        // The library's encoder throws here too: only what the scratch list holds afterwards is at stake.
        const before = new Uint8Array(1 << 20);
        refs.push(new WeakRef(before));
        const throwing: unknown[] = [before, 1];
        Object.defineProperty(throwing, 1, { get: () => { throw new Error('a getter that throws'); } });
        assert.throws(() => packer.encodeFrame(throwing), /a getter that throws/);
        const after = new Uint8Array(1 << 20);
        refs.push(new WeakRef(after));
        const detached = new Uint8Array(new ArrayBuffer(4));
        structuredClone(detached.buffer, { transfer: [detached.buffer] });
        assert.throws(() => packer.encodeFrame([detached, after]), TypeError);
        assert.throws(() => packer.encode([detached, after]), TypeError, 'the library refuses it alike');
      }
    })();
    // Later arrays of one-byte values only, as most argument lists are: they overwrite no slot.
    packer.encodeFrame([1, 2]);
    const alive = await aliveAfterGc(refs);
    assert.equal(alive, 0, `${alive} buffers (1 MiB each) are still held by the encoder's scratch list after encodeFrame threw`);
  });

  it("reads an array's length once: a Proxy whose length changes gets a frame of one length, never a wrong type byte", () => {
    const shifting = () => {
      let reads = 0;
      const target = Array.from({ length: 40 }, (_, i) => (i < 20 ? i : Uint8Array.of(i)));
      return new Proxy(target, { get: (t, key, r) => (key === 'length' ? (reads++ === 0 ? 3 : 40) : Reflect.get(t, key, r)) });
    };
    const frame = Buffer.from(packer.encodeFrame(shifting()));
    // 0x93 and the three items the first length promised (the direct path reads it once);
    // before, it read it again, wrote 0x90 + 40 (0xb8, a str header) and ran past its scratch list.
    assert.equal(frame[0], 0x93, `type byte 0x${frame[0]!.toString(16)}`);
    assert.deepEqual(frame, Buffer.from([0x93, 0, 1, 2]));
    // An array with an iterator of its own goes to the encoder, which writes what it yields.
    const reversed = Object.assign([1, Uint8Array.of(2)], { *[Symbol.iterator]() { yield Uint8Array.of(2); yield 1; } });
    assert.deepEqual(Buffer.from(packer.encodeFrame(reversed)), Buffer.from(packer.encode(reversed)));
    assert.deepEqual(Buffer.from(packer.encodeFrame(reversed)), Buffer.from([0x92, 0xc4, 1, 2, 1]));
    // A length that is no count goes to the encoder, which writes what it iterates.
    const fractional = new Proxy([1, 2, 3], { get: (t, key, r) => (key === 'length' ? 2.5 : Reflect.get(t, key, r)) });
    assert.deepEqual(Buffer.from(packer.encodeFrame(fractional)), Buffer.from(packer.encode(fractional)));
  });

  it('tcp: a server and a client exchange bytes of every header size through these frames', async () => {
    await using server = await serveRpc({ wrap: method((a: Uint8Array, b: Uint8Array) => [b.byteLength, a, b]) }, { bind: endpoint() });
    await using client = await connectRpc({ connect: server.transport.bindings[0]!, timeout: 10_000 });
    for (const n of sizes) {
      const got = (await client.call.wrap(bytesOf(n), bytesOf(n + 1))) as [number, Uint8Array, Uint8Array];
      assert.equal(got[0], n + 1);
      assert.deepEqual(Buffer.from(got[1]), Buffer.from(bytesOf(n)));
      assert.deepEqual(Buffer.from(got[2]), Buffer.from(bytesOf(n + 1)));
    }
  });
});

describe('translator choice per prototype', () => {
  it("applies a translator registered for a Buffer subclass, even to a received bin given that class's prototype", () => {
    class Sealed extends Buffer {}
    const pk = new Packer({ 9: [Sealed, (b: Uint8Array) => Uint8Array.of(b.byteLength & 0xff), (d) => d] });
    const own = Buffer.alloc(304);
    own.set([0x91, 0xc5, 0x01, 0x2c]);
    const [bin] = pk.decode(own) as [Buffer];
    Object.setPrototypeOf(bin, Sealed.prototype);
    const sent = Buffer.from(pk.encode(bin));
    assert.equal(sent[0], 0xd4, `the Sealed translator (ext 9, fixext 1) must run; got header ${sent.subarray(0, 3).toString('hex')}`);
    // The same value made by the app, not received, is translated.
    const made = Object.setPrototypeOf(Buffer.alloc(300), Sealed.prototype) as Buffer;
    assert.equal(Buffer.from(pk.encode(made))[0], 0xd4);
  });

  it('honours Symbol.hasInstance on a translator class, as instanceof does (a branded, duck-typed class)', () => {
    const brand = Symbol.for('test.money');
    class Money {
      static [Symbol.hasInstance](value: unknown): boolean {
        return typeof value === 'object' && value !== null && brand in value;
      }
    }
    const pk = new Packer({ 5: [Money, () => Uint8Array.of(1), (d) => d] });
    // A Money made by another copy of the library (another prototype), or a branded plain object.
    const plain = { [brand]: true, cents: 5 };
    const sent = Buffer.from(pk.encode(plain));
    assert.equal(sent[0], 0xd4, `instanceof Money holds, so the Money translator must run; got ${sent.toString('hex')}`);
  });

  it('accepts a bound class as a translator (instanceof works with bound functions)', () => {
    class Point {
      constructor(readonly x = 0) {}
    }
    const Bound = Point.bind(null) as unknown as typeof Point;
    assert.ok(new Point() instanceof Bound);
    let pk: Packer | undefined;
    assert.doesNotThrow(() => (pk = new Packer({ 4: [Bound, () => Uint8Array.of(1), (d) => d] })));
    assert.equal(Buffer.from(pk!.encode(new Point()))[0], 0xd4);
    assert.deepEqual(pk!.decode(pk!.encode({ a: 1 })), { a: 1 });
  });

  it('follows a prototype chain changed after the first encode', () => {
    class Base {}
    class Later {}
    const pk = new Packer({ 6: [Base, () => Uint8Array.of(6), (d) => d] });
    assert.throws(() => pk.encode(new Later()), /cannot encode an instance of Later/);
    Object.setPrototypeOf(Later.prototype, Base.prototype); // a mixin applied at run time
    assert.ok(new Later() instanceof Base);
    assert.equal(Buffer.from(pk.encode(new Later()))[0], 0xd4, 'instanceof Base now holds');
  });

  it('does not keep prototypes it met alive (a class made per call can be collected)', async () => {
    const pk = new Packer({ 7: [Map, () => Uint8Array.of(7), (d) => d] });
    const refs: Array<WeakRef<object>> = [];
    (() => {
      for (let i = 0; i < 50; i++) {
        const proto = { big: new Uint8Array(1 << 20) };
        refs.push(new WeakRef(proto));
        assert.throws(() => pk.encode(Object.create(proto)));
      }
    })();
    const alive = await aliveAfterGc(refs);
    assert.equal(alive, 0, `${alive} prototypes (1 MiB each) are still held by the packer`);
  });
});

describe('calls under no server timeout, carried by their handler', () => {
  it('a cancelled call that ends late does not unregister a later call with the same id (a client that reuses ids)', async () => {
    const finishers: Array<(v: string) => void> = [];
    const aborted: unknown[] = [];
    const handler = {
      stubborn: method((ctx: CallContext) => {
        const n = finishers.length;
        ctx.signal.addEventListener('abort', () => (aborted[n] = ctx.signal.reason));
        return new Promise<string>((resolve) => finishers.push(resolve));
      }, withContext),
    };
    await using server = await serveRpc(handler, { bind: endpoint() });
    const dealer = new Dealer({ linger: 0 });
    dealer.connect(server.transport.bindings[0]!);
    try {
      const call = (id: number) => dealer.send([encodeRequestHeader(1, id), 'stubborn', packer.encode([]), Buffer.from([0x80])]);
      const cancel = (id: number) => dealer.send([CANCEL_FRAME, encodeRequestHeader(1, id), 'zrpc:cancel', Buffer.from([0x90]), Buffer.from([0x80])]);
      await call(9);
      await waitFor(() => finishers.length === 1, 2000, 'call A to run');
      await cancel(9);
      assert.ok(isContextFrame((await dealer.receive())[0]!), 'cancel of A acknowledged');
      // The caller is done with id 9 (it cancelled it): it uses it again.
      await call(9);
      await waitFor(() => finishers.length === 2, 2000, 'call B to run');
      finishers[0]!('A, too late'); // A's handler ends now, ignoring its signal
      await sleep(20);
      await cancel(9); // the caller gives up on B
      assert.ok(isContextFrame((await dealer.receive())[0]!), 'cancel of B acknowledged');
      await sleep(20);
      const bAborted = aborted[1] !== undefined;
      finishers[1]!('B, too late');
      await call(10);
      await waitFor(() => finishers.length === 3, 2000, 'call C to run');
      finishers[2]!('C');
      const next = await dealer.receive();
      const replyTo = next.at(-2)!.readUInt32LE(4);
      assert.deepEqual(
        { bAborted, replyTo },
        { bAborted: true, replyTo: 10 },
        "B's cancel must abort B's signal, and the next reply must be C's (10), not the cancelled B's (9)",
      );
    } finally {
      dealer.close();
    }
  });

  it('a restarted zrpc client with a stable routingId can still cancel its calls while a cancelled call of its former self runs on', async () => {
    const { handler, finishers, aborted } = stubbornService();
    await using server = await serveRpc(handler, { bind: endpoint() });
    const address = server.transport.bindings[0]!;
    const options = { connect: address, socket: { routingId: 'worker-7' } };
    // A ROUTER refuses a second peer of one identity while it still holds the first.
    const firstGone = new Promise((resolve) => server.transport.socket.events.on('disconnect', resolve));
    {
      // The first incarnation gives up on a call (its timeout): the server is told.
      await using first = await connectRpc({ ...options, timeout: 100 });
      await assert.rejects(first.call.stubborn());
      await waitFor(() => aborted[0] === true, 2000, 'the first call to be cancelled');
    }
    // The event comes from ZeroMQ's I/O thread; the ROUTER lets go of the identity a
    // little later, in its own thread.
    await firstGone;
    await sleep(200);
    // The process restarts with the same identity; its ids start over.
    await using second = await connectRpc(options);
    const controller = new AbortController();
    const call = second.withSignal(controller.signal).call.stubborn();
    call.catch(() => {});
    await waitFor(() => finishers.length === 2, 5000, 'the second call to run');
    finishers[0]!('the first, long after'); // the old call's handler ends at last
    await sleep(20);
    controller.abort(); // the new incarnation gives up on its call
    try {
      await waitFor(() => aborted[1] === true, 5000, "the second call's cancel (without it, its handler runs on and its reply is sent)");
    } finally {
      finishers[1]!('x');
    }
  });

  it('holds: a cancel storm over many stubborn calls sends no reply for any, and a later call is answered', async () => {
    const rejections = watchRejections();
    const finishers: Array<(v: string) => void> = [];
    const handler = {
      stubborn: method(() => new Promise<string>((resolve) => finishers.push(resolve))),
      quick: method(async () => 'ok'),
    };
    await using server = await serveRpc(handler, { bind: endpoint() });
    const dealer = new Dealer({ linger: 0, receiveTimeout: 3000 });
    dealer.connect(server.transport.bindings[0]!);
    try {
      const n = 300;
      for (let id = 1; id <= n; id++) await dealer.send([encodeRequestHeader(1, id), 'stubborn', packer.encode([]), Buffer.from([0x80])]);
      await waitFor(() => finishers.length === n, 5000, 'every call to run');
      for (let round = 0; round < 3; round++) {
        for (let id = 1; id <= n; id++) await dealer.send([CANCEL_FRAME, encodeRequestHeader(1, id), 'zrpc:cancel', Buffer.from([0x90]), Buffer.from([0x80])]);
      }
      let acks = 0;
      while (acks < 3 * n) {
        const frames = await dealer.receive();
        assert.ok(isContextFrame(frames[0]!), 'only acknowledgements so far');
        acks++;
      }
      assert.equal(server.running, 0);
      for (const finish of finishers) finish('late');
      await dealer.send([encodeRequestHeader(1, 9999), 'quick', packer.encode([]), Buffer.from([0x80])]);
      const next = await dealer.receive();
      assert.equal(next.at(-2)!.readUInt32LE(4), 9999, 'no reply for a cancelled call');
    } finally {
      dealer.close();
    }
    assert.deepEqual(rejections.stop(), []);
  });

  it('holds: close while many calls run (no timeout, handlers ignoring the signal) is prompt, and their late ends raise nothing', async () => {
    const rejections = watchRejections();
    const finishers: Array<(v: unknown) => void> = [];
    const handler = {
      stubborn: method(() => new Promise((resolve) => finishers.push(resolve))),
      failing: method(() => new Promise((_, reject) => finishers.push(() => reject(new Error('late failure'))))),
    };
    const server = await serveRpc(handler, { bind: endpoint() });
    const dealer = new Dealer({ linger: 0 });
    dealer.connect(server.transport.bindings[0]!);
    const n = 400;
    for (let id = 1; id <= n; id++) await dealer.send([encodeRequestHeader(1, id), id % 2 ? 'stubborn' : 'failing', packer.encode([]), Buffer.from([0x80])]);
    await waitFor(() => finishers.length === n, 5000, 'every call to run');
    const started = performance.now();
    await server.close();
    assert.ok(performance.now() - started < 2000, 'close did not wait for the handlers');
    assert.equal(server.running, 0);
    for (const finish of finishers) finish('late');
    await sleep(50);
    dealer.close();
    assert.deepEqual(rejections.stop(), []);
  });
});
