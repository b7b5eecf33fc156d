/**
 * Hostile inputs shared by the attack tests and `npm run soak -- --attack`: msgpack
 * bombs built byte by byte (each declares far more than it carries), hostile values to
 * throw, and the measuring helpers the tests state their bounds with.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Dealer, Router } from 'zeromq';
import { decodeReplyHeader, encodeRequestHeader } from '../../src/runtime/wire/header.js';
import { ExtData } from '../../src/runtime/wire/packer.js';
import { method, type CallContext } from 'zrpc';

const MiB = 2 ** 20;
export { MiB };

const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

/** `depth` array32 headers, each declaring `declared` items, then `pad` nils. */
export function nestedArrayBomb(depth: number, declared = 0xffffffff, pad = 0): Buffer {
  const out: number[] = [];
  for (let i = 0; i < depth; i++) out.push(0xdd, ...u32(declared));
  for (let i = 0; i < pad; i++) out.push(0xc0);
  return Buffer.from(out);
}

/** `depth` map32 headers each declaring `declared` entries, a fixstr key before each inner one. */
export function nestedMapBomb(depth: number, declared = 0xffffffff): Buffer {
  const out: number[] = [];
  for (let i = 0; i < depth; i++) out.push(0xdf, ...u32(declared), 0xa1, 0x6b);
  out.push(0xc0);
  return Buffer.from(out);
}

/**
 * The 995-byte bomb: 199 array32 headers (5 bytes each), every one declaring
 * 0xffffffff items. One under the depth limit of 200, so only the byte budget refuses it.
 */
export const bomb995 = nestedArrayBomb(199);

/** 300 array16 headers of one item each, nil-padded to 995 bytes: only the depth limit refuses it. */
export const deepBomb995 = Buffer.concat([Buffer.from(Array.from({ length: 300 }, () => [0xdc, 0x00, 0x01]).flat()), Buffer.alloc(95, 0xc0)]);

/** 15 bytes: one array32 header of 0xffffffff items and ten nils. */
export const header15 = nestedArrayBomb(1, 0xffffffff, 10);

/** 15 bytes: one map32 header of 0xffffffff entries and ten nils. */
export const mapHeader15 = Buffer.from([0xdf, ...u32(0xffffffff), ...Array(10).fill(0xc0)]);

/** A str32 (0xdb) or bin32 (0xc6) that declares `declared` bytes and carries `carried`. */
export function longLengthBomb(kind: 'str' | 'bin', declared = 0x7fffffff, carried = 8): Buffer {
  return Buffer.from([kind === 'str' ? 0xdb : 0xc6, ...u32(declared), ...Array(carried).fill(0x61)]);
}

/** `depth` one-item arrays (fixarray 0x91) around a nil. */
export function deepNesting(depth: number): Buffer {
  return Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0xc0])]);
}

/** An array32 holding `count` copies of `item` (raw msgpack bytes). */
export function arrayOf(count: number, item: readonly number[]): Buffer {
  const out = Buffer.alloc(5 + count * item.length);
  out[0] = 0xdd;
  out.writeUInt32BE(count, 1);
  for (let i = 0, at = 5; i < count; i++) for (const b of item) out[at++] = b;
  return out;
}

/**
 * Messages of about `bytes` bytes, one per shape, to measure what decoding keeps per
 * message byte. Each is valid msgpack that the decoder accepts.
 */
export function decodeShapes(bytes = MiB): Record<string, Buffer> {
  const str = Buffer.alloc(5 + bytes, 0x61);
  str[0] = 0xdb;
  str.writeUInt32BE(bytes, 1);
  return {
    // [[[[]]]] repeated: four arrays in four bytes.
    'nested arrays': arrayOf(bytes >> 2, [0x91, 0x91, 0x91, 0x90]),
    // {"k": {"k": {}}} repeated: three maps in seven bytes.
    'nested maps': arrayOf(Math.floor(bytes / 7), [0x81, 0xa1, 0x6b, 0x81, 0xa1, 0x6b, 0x80]),
    'long string': str,
    // fixext1 with code 5 (no translator): one ExtData and its own one-byte copy each.
    'ext values': arrayOf(Math.floor(bytes / 3), [0xd4, 0x05, 0x00]),
    'empty arrays': arrayOf(bytes, [0x90]),
    'empty maps': arrayOf(bytes, [0x80]),
  };
}

/** A datetime-code ext (123..127) carrying `pickle`. */
export function pickleExt(code: number, pickle: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0xc7, pickle.byteLength, code]), pickle]);
}

/** Pickles no datetime ever is: too long, too deep a stack, too big a memo. */
export const hostilePickles: Record<string, Buffer> = {
  'over 512 bytes': Buffer.concat([Buffer.from([0x80, 0x05]), Buffer.alloc(600, 0x4e), Buffer.from([0x2e])]),
  // PROTO 5, then 100 MARKs: the stack only grows.
  'deep stack': Buffer.concat([Buffer.from([0x80, 0x05]), Buffer.alloc(100, 0x28), Buffer.from([0x2e])]),
  // PROTO 5, then EMPTY_TUPLE + MEMOIZE + POP 100 times.
  'big memo': Buffer.concat([Buffer.from([0x80, 0x05]), Buffer.from(Array.from({ length: 100 }, () => [0x29, 0x94, 0x30]).flat()), Buffer.from([0x29, 0x2e])]),
};

/** One request as a DEALER sends it: header, name, args, kwargs. */
export function request(id: number, name: string | Buffer, args: Uint8Array, kwargs: Uint8Array = Buffer.from([0x80])): Array<Buffer | Uint8Array | string> {
  return [encodeRequestHeader(0, id), name, args, kwargs];
}

/**
 * Values a handler may throw instead of an Error: each makes some naive error path
 * throw (reading `message`, calling `toString`, `instanceof`, JSON, printing).
 */
export function hostileThrowables(): Array<[label: string, value: unknown]> {
  const revocable = Proxy.revocable({}, {});
  revocable.revoke();
  const trap = () => {
    throw new Error('trap');
  };
  const throwingGetter = { get message(): string { throw new Error('getter'); } };
  const badError = new Error('base');
  Object.defineProperty(badError, 'message', { get: trap });
  Object.defineProperty(badError, 'args', { get: trap });
  const badConstructor = new Error('x');
  Object.defineProperty(badConstructor, 'constructor', { get: trap });
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  return [
    ['a string', 'plain string'],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['{ toString: 0 }', { toString: 0 }],
    ['an object whose getters throw', throwingGetter],
    ['a proxy whose traps throw', new Proxy({}, { get: trap, getPrototypeOf: trap, ownKeys: trap, getOwnPropertyDescriptor: trap, has: trap })],
    ['a revoked proxy', revocable.proxy],
    ['a huge array', new Array(1_000_000).fill('x'.repeat(100))],
    ['a Map with object keys', new Map<unknown, unknown>([[{ a: 1 }, 'v'], [[1, 2], { b: 2 }]])],
    ['a bigint', 2n ** 100n],
    ['an ExtData', new ExtData(5, Uint8Array.of(1, 2, 3))],
    ['a symbol', Symbol('s')],
    ['a cyclic array', cyclic],
    ['an Error whose message and args getters throw', badError],
    ['an Error with a throwing constructor getter', badConstructor],
    ['an Error whose args are a proxy', Object.assign(new Error('p'), { args: new Proxy([], { get: trap }) })],
  ];
}

let collect: (() => void) | undefined;
/** A full GC, with no command-line flag needed. */
export function gc(): void {
  if (!collect) {
    setFlagsFromString('--expose_gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
  collect();
}

/**
 * How many of `refs` still reach their object after a few full GCs, each with a turn of
 * the loop (finalization and sweeping run after the collection itself).
 */
export async function aliveAfterGc(refs: ReadonlyArray<WeakRef<object>>): Promise<number> {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return refs.filter((r) => r.deref() !== undefined).length;
}

/** RSS now, in MiB, after a GC. */
export function rssMiB(): number {
  gc();
  return process.memoryUsage().rss / MiB;
}

/** Heap kept (V8 heap plus external memory) now, in MiB, after a GC: what is retained, not what was touched. */
export function heapMiB(): number {
  gc();
  const { heapUsed, external } = process.memoryUsage();
  return (heapUsed + external) / MiB;
}

/** Records every unhandled rejection while a test runs; `stop()` returns them. */
export function watchRejections(): { stop(): unknown[] } {
  const seen: unknown[] = [];
  const on = (reason: unknown) => void seen.push(reason);
  process.on('unhandledRejection', on);
  return {
    stop() {
      process.off('unhandledRejection', on);
      return seen;
    },
  };
}

/**
 * A raw DEALER speaking the request framing by hand, so tests can send what no zrpc
 * client would; replies are collected by request id as they come.
 */
export class RawDealer {
  readonly socket: Dealer;
  readonly replies = new Map<number, { isError: boolean; body: Buffer }>();
  #reading: Promise<void>;

  constructor(address: string) {
    const socket = new Dealer({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 });
    socket.connect(address);
    this.socket = socket;
    this.#reading = (async () => {
      for await (const [header, body] of socket) {
        const fields = decodeReplyHeader(header!);
        if (fields) this.replies.set(fields.requestId, { isError: fields.isError, body: body! });
      }
    })().catch(() => {});
  }

  send(frames: Array<Buffer | Uint8Array | string>): Promise<void> {
    return this.socket.send(frames);
  }

  async close(): Promise<void> {
    if (!this.socket.closed) this.socket.close();
    await this.#reading;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Handler methods that throw (`sync`, `async`) or return (`returns`) the `i`th hostile
 * value; `method` is passed in so this module stays free of the runtime's entry point.
 */
export function throwingMethods<M>(throwables: ReadonlyArray<[string, unknown]>, method: (fn: (i: number) => unknown) => M) {
  return {
    sync: method((i: number) => {
      throw throwables[i]![1];
    }),
    async: method(async (i: number) => {
      await null;
      throw throwables[i]![1];
    }),
    returns: method((i: number) => throwables[i]![1]),
  };
}

/**
 * A ROUTER on a free loopback port that hands each message (routing identity first) to
 * `onMessage`, which may answer whatever it likes: the server of attacks on clients.
 */
export async function misbehavingRouter(onMessage: (frames: Buffer[], router: Router) => Promise<void> | void) {
  const router = new Router({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 });
  await router.bind('tcp://127.0.0.1:*');
  const reading = (async () => {
    for await (const frames of router) await onMessage(frames, router);
  })().catch(() => {});
  return {
    address: router.lastEndpoint!,
    async [Symbol.asyncDispose]() {
      router.close();
      await reading;
    },
  };
}

/**
 * A service whose `stubborn` calls ignore their signal and end only when the test ends
 * them: `finishers[n]` ends call n, and `aborted[n]` says whether its signal fired.
 */
export function stubbornService(): {
  handler: { stubborn: (ctx: CallContext) => Promise<string> };
  finishers: Array<(value: string) => void>;
  aborted: boolean[];
} {
  const finishers: Array<(value: string) => void> = [];
  const aborted: boolean[] = [];
  const handler = {
    stubborn: method((ctx: CallContext) => {
      const n = finishers.length;
      aborted[n] = false;
      ctx.signal.addEventListener('abort', () => (aborted[n] = true));
      return new Promise<string>((resolve) => finishers.push(resolve));
    }, { context: true }),
  };
  return { handler, finishers, aborted };
}
